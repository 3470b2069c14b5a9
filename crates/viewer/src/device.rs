//! A new device, a lost one, a key to rotate: the reader's side of the runbook (README, "Readers'
//! keys: new device, lost device, rotation").
//!
//! The help panel says what to do in each case. "Replace this browser's key" makes a new
//! protected key beside the current one (`protect::new_pending_key`) and shows its signed
//! enrolment request and fingerprint; the current key keeps working until the new key's
//! certificate is pasted into "Install a certificate", which then makes the new key this
//! browser's key (the old record is deleted) and locks, so that the new key is unlocked with its
//! own factor. The same form takes a renewed certificate for the current key (a change of name,
//! issuer or validity needs the reader's confirmation, `trust.rs`).

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::app::{self, el, set_hidden, set_text, status};
use crate::enrol::{self, Installed};
use crate::keystore::KeyStore;
use crate::protect::{self, PENDING_REQUEST};
use obscura_seal::EnrolmentRequest;

fn show_request(request: &str, fingerprint: &str) {
    el("device-request").unchecked_into::<web_sys::HtmlTextAreaElement>().set_value(request);
    set_text("device-fp", fingerprint);
    set_hidden("device-pending", false);
}

/// Wires the panel's buttons (once, at boot).
pub(crate) fn install_handlers() {
    let toggle = Closure::<dyn FnMut()>::new(|| {
        let panel = el("device-help");
        panel.set_hidden(!panel.hidden());
    });
    el("device-help-toggle").set_onclick(Some(toggle.as_ref().unchecked_ref()));
    toggle.forget();
    let replace = Closure::<dyn FnMut()>::new(|| {
        wasm_bindgen_futures::spawn_local(async {
            if let Err(e) = replace_key().await {
                set_text("device-error", &e);
            }
        })
    });
    el("replace-key").set_onclick(Some(replace.as_ref().unchecked_ref()));
    replace.forget();
    let submit = Closure::<dyn FnMut(web_sys::Event)>::new(|e: web_sys::Event| {
        e.prevent_default();
        wasm_bindgen_futures::spawn_local(async {
            if let Err(e) = install_certificate().await {
                set_text("device-error", &format!("Refused: {e}."));
            }
        })
    });
    el("install-certificate-form").set_onsubmit(Some(submit.as_ref().unchecked_ref()));
    submit.forget();
}

/// Shows the pending replacement's request, if one waits for its certificate (at boot).
pub(crate) async fn show_pending(keys: &KeyStore) -> Result<(), String> {
    let (Some(request), Some(key)) =
        (keys.get(PENDING_REQUEST).await?.as_string(), protect::pending_public_key(keys).await?)
    else {
        return Ok(());
    };
    show_request(&request, &key.fingerprint());
    set_hidden("device-help", false);
    Ok(())
}

async fn replace_key() -> Result<(), String> {
    set_text("device-error", "");
    if app::reader_public_key().is_none() {
        return Err("Unlock your key first: the new key is made beside it, and it keeps working until the new one is \
                    certified."
            .into());
    }
    let keys = KeyStore::open().await?;
    if protect::pending_public_key(&keys).await?.is_some() {
        return show_pending(&keys).await; // one replacement at a time
    }
    let phase = app::phase();
    let new = protect::new_pending_key(&keys).await;
    if let Some(p) = phase {
        app::set_phase(p);
    }
    let new = new?;
    let me = obscura_seal::Identity::public_key(&new.identity).clone();
    let now = crate::app::now_secs();
    let request = EnrolmentRequest::new(me, &new.signer, "Reader", now).await.map_err(|e| e.to_string())?;
    drop(new);
    keys.put(PENDING_REQUEST, &JsValue::from_str(&request.to_json())).await?;
    show_request(&request.to_json(), &request.fingerprint());
    if let Some(fp) = app::reader_public_key().map(|k| k.fingerprint()) {
        set_text("reader-fp", &fp);
    }
    status(&format!(
        "A new key is ready: give your administrator its request and read out its fingerprint: {}",
        request.fingerprint()
    ));
    Ok(())
}

async fn install_certificate() -> Result<(), String> {
    set_text("device-error", "");
    let field = el("install-certificate").unchecked_into::<web_sys::HtmlTextAreaElement>();
    let (Some(me), Some(org)) = (app::reader_public_key(), app::organisation()) else {
        return Err("unlock your key first".into());
    };
    let keys = KeyStore::open().await?;
    match enrol::install(&keys, &org, &me, &field.value()).await? {
        Installed::Current => {
            field.set_value("");
            status("The certificate is installed");
            app::relist().await
        }
        Installed::Replacement => {
            field.set_value("");
            set_hidden("device-pending", true);
            set_hidden("device-help", true);
            crate::lock::lock(crate::lock::Why::Replaced);
            Ok(())
        }
    }
}

//! Enrolment: the reader key's certificate from the organisation.
//!
//! The viewer makes an enrolment request (FORMAT.md §4.1) signed by the reader's signing key and
//! shows it with the reader key's fingerprint. In demo mode the demo server certifies it at once;
//! otherwise the reader hands it to an administrator (`obscura reader certify`, after comparing
//! the fingerprint read out over a trusted channel) and pastes the certificate back here. A
//! certificate is accepted only if it chains to the configured organisation key, is for the reader
//! role, is valid now, and certifies exactly this browser's key (so it shows the same fingerprint).

use crate::app::{el, now_secs, set_hidden, set_text};
use crate::keystore::KeyStore;
use crate::net::FetchClient;
use crate::protect::{self, ReaderKeys, CERTIFICATE_RECORD};
use crate::trust;
use obscura_seal::{Certificate, EnrolmentRequest, Identity, PublicKey, Role};
use wasm_bindgen::{JsCast, JsValue};

/// Checks a certificate for this reader: chained to `org`, role reader, valid now, for `me`.
fn accept(cert: &Certificate, org: &PublicKey, me: &PublicKey) -> Result<(), String> {
    cert.verify(org, Role::Reader, now_secs()).map_err(|e| match e {
        obscura_seal::SealError::CertificateExpired { not_after, .. } => format!(
            "this certificate expired on {}: ask your administrator to renew it (they certify the request below \
             again with `obscura reader certify`)",
            crate::app::utc(not_after)
        ),
        e => format!("this certificate is not valid for this organisation: {e}"),
    })?;
    if &cert.public_key != me {
        return Err(format!(
            "this certificate is for another key (fingerprint {}), not this browser's ({})",
            cert.public_key.fingerprint(),
            me.fingerprint()
        ));
    }
    Ok(())
}

/// Makes sure this reader holds a valid certificate from the organisation, asking the demo server
/// for one in demo mode, the reader (and their administrator) otherwise.
pub async fn ensure_certificate(
    keys: &KeyStore,
    org: &PublicKey,
    demo: bool,
    reader: &ReaderKeys,
) -> Result<Certificate, String> {
    let me = reader.identity.public_key();
    let stored = keys.get(CERTIFICATE_RECORD).await?;
    let stored: Option<Certificate> = stored.as_string().and_then(|s| Certificate::from_json(&s).ok());
    let problem = match &stored {
        Some(c) => match accept(c, org, me) {
            Ok(()) => return Ok(c.clone()),
            Err(e) => Some(e),
        },
        None => None,
    };
    let subject = if demo { "Demo reader" } else { "Reader" };
    let request =
        EnrolmentRequest::new(me.clone(), &reader.signer, subject, now_secs()).await.map_err(|e| e.to_string())?;
    let cert = if demo {
        set_text("status", "Enrolling this reader key with the demo organisation…");
        let answer = FetchClient
            .request("api/enrol", "POST", Some(&request.to_json()))
            .await
            .map_err(|e| format!("enrolment failed: {e}"))?;
        let v: serde_json::Value =
            serde_json::from_slice(&answer).map_err(|e| format!("enrolment answer is not JSON: {e}"))?;
        let c: Certificate = serde_json::from_value(v["certificate"].clone())
            .map_err(|e| format!("enrolment answer has no certificate: {e}"))?;
        accept(&c, org, me).map_err(|e| format!("the demo server's certificate is refused: {e}"))?;
        c
    } else {
        wait_for_certificate(&request, org, me, problem).await
    };
    // A new certificate for the same key that says something else is never taken silently.
    if let Some(old) = stored.filter(|old| &old.public_key == me) {
        let changes = trust::certificate_changes(&old, &cert);
        if !changes.is_empty() {
            trust::confirm_change(&changes).await?;
        }
    }
    keys.put(CERTIFICATE_RECORD, &JsValue::from_str(&cert.to_json())).await?;
    Ok(cert)
}

/// What a certificate installed outside enrolment did.
pub enum Installed {
    /// It renewed (or changed, confirmed by the reader) the current key's certificate.
    Current,
    /// It certified the pending replacement key, which is now this browser's key.
    Replacement,
}

/// Checks a pasted certificate outside enrolment: for this browser's key (a renewal; a change
/// needs the reader's confirmation) or for the pending replacement key (which then becomes this
/// browser's key, the old one being deleted), and stores it.
pub async fn install(keys: &KeyStore, org: &PublicKey, me: &PublicKey, text: &str) -> Result<Installed, String> {
    let cert = Certificate::from_json(text.trim()).map_err(|e| format!("this is not a certificate: {e}"))?;
    if let Some(pending) = protect::pending_public_key(keys).await?.filter(|p| p == &cert.public_key) {
        accept(&cert, org, &pending)?;
        protect::promote_pending(keys).await?;
        keys.put(CERTIFICATE_RECORD, &JsValue::from_str(&cert.to_json())).await?;
        return Ok(Installed::Replacement);
    }
    accept(&cert, org, me)?;
    let stored = keys.get(CERTIFICATE_RECORD).await?;
    if let Some(old) = stored.as_string().and_then(|s| Certificate::from_json(&s).ok()) {
        let changes = trust::certificate_changes(&old, &cert);
        if !changes.is_empty() {
            trust::confirm_change(&changes).await?;
        }
    }
    keys.put(CERTIFICATE_RECORD, &JsValue::from_str(&cert.to_json())).await?;
    Ok(Installed::Current)
}

/// Shows the request and waits until a valid certificate for it is pasted.
async fn wait_for_certificate(
    request: &EnrolmentRequest,
    org: &PublicKey,
    me: &PublicKey,
    problem: Option<String>,
) -> Certificate {
    el("enrolment-request").unchecked_into::<web_sys::HtmlTextAreaElement>().set_value(&request.to_json());
    set_text("enrol-fp", &request.fingerprint());
    set_text(
        "enrol-error",
        problem.as_deref().map(|p| format!("The stored certificate: {p}.")).as_deref().unwrap_or(""),
    );
    set_hidden("enrol", false);
    protect::set_phase("not-enrolled");
    set_text(
        "status",
        &format!(
            "This browser's reader key is not enrolled yet. Give your administrator the request below and read out this fingerprint: {}",
            request.fingerprint()
        ),
    );
    loop {
        protect::next_action(&["certificate-form"]).await;
        let field = el("certificate").unchecked_into::<web_sys::HtmlTextAreaElement>();
        let checked = Certificate::from_json(field.value().trim())
            .map_err(|e| format!("this is not a certificate: {e}"))
            .and_then(|c| accept(&c, org, me).map(|()| c));
        match checked {
            Ok(c) => {
                field.set_value("");
                set_text("enrol-error", "");
                set_hidden("enrol", true);
                return c;
            }
            Err(e) => set_text("enrol-error", &format!("Refused: {e}.")),
        }
    }
}

//! What the viewer trusts, and what it does when that changes.
//!
//! The organisation key in config.json is the trust anchor (every manifest, gateway and reader
//! certificate must chain to it). config.json comes from the viewer's own origin, but a hospital
//! re-keys rarely and an attacker who could change config.json would gain everything, so the
//! anchor is **pinned** in the key store (public data) once this browser holds a certificate
//! under it. If config.json later names another organisation key, the viewer refuses to go on and
//! says why; only an explicit "re-enrol with the new organisation", which needs the second factor
//! first, replaces the pin (and drops the certificate of the old organisation).
//!
//! A new certificate for the same reader key that says something else than the stored one
//! (subject, issuer, validity) is shown to the reader, who must confirm it: a renewal they asked
//! for is expected, anything else is for their administrator to explain.

use crate::app::{set_hidden, set_text, status, utc};
use crate::keystore::KeyStore;
use crate::protect::{self, CERTIFICATE_RECORD};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use obscura_seal::{Certificate, PublicKey};
use wasm_bindgen::JsValue;

/// The pinned organisation key (base64 SEC1) in the key store.
pub const ORGANISATION_RECORD: &str = "organisation";

async fn pinned(keys: &KeyStore) -> Result<Option<PublicKey>, String> {
    let stored = keys.get(ORGANISATION_RECORD).await?;
    let Some(text) = stored.as_string() else { return Ok(None) };
    let key = B64
        .decode(text)
        .ok()
        .and_then(|b| PublicKey::from_sec1(&b).ok())
        .ok_or("this browser's pinned organisation key is damaged: ask your administrator")?;
    Ok(Some(key))
}

/// Pins `org` when nothing is pinned yet (called once this browser holds a certificate under it).
pub async fn pin_organisation(keys: &KeyStore, org: &PublicKey) -> Result<(), String> {
    if pinned(keys).await?.is_none() {
        keys.put(ORGANISATION_RECORD, &JsValue::from_str(&B64.encode(org.as_sec1()))).await?;
    }
    Ok(())
}

/// Refuses an organisation key other than the pinned one, loudly, until the reader chooses to
/// re-enrol with the new organisation: then `true` (the caller asks for the second factor and
/// calls [`re_enrol`]). `false` when the key is the pinned one or nothing is pinned yet.
pub async fn check_organisation(keys: &KeyStore, org: &PublicKey) -> Result<bool, String> {
    let Some(pin) = pinned(keys).await? else { return Ok(false) };
    if &pin == org {
        return Ok(false);
    }
    set_text("org-pinned-fp", &pin.fingerprint());
    set_text("org-new-fp", &org.fingerprint());
    set_hidden("org-changed", false);
    protect::set_phase("org-changed");
    status(
        "Refused: this viewer is configured with another organisation key than the one this browser was enrolled with",
    );
    protect::next_action(&["org-re-enrol"]).await;
    set_hidden("org-changed", true);
    Ok(true)
}

/// Re-enrolment with a new organisation, after the second factor: the new key is pinned and the
/// old organisation's certificate dropped (a new enrolment request follows).
pub async fn re_enrol(keys: &KeyStore, org: &PublicKey) -> Result<(), String> {
    keys.delete(CERTIFICATE_RECORD).await?;
    keys.put(ORGANISATION_RECORD, &JsValue::from_str(&B64.encode(org.as_sec1()))).await?;
    Ok(())
}

/// How `new` differs from `old` (both for the same key), one line each; empty when it does not.
pub fn certificate_changes(old: &Certificate, new: &Certificate) -> Vec<String> {
    let mut changes = Vec::new();
    if old.subject != new.subject {
        changes.push(format!("name: \"{}\" → \"{}\"", old.subject, new.subject));
    }
    if old.issuer != new.issuer {
        changes.push(format!("issuer: {} → {}", old.issuer, new.issuer));
    }
    if (old.not_before, old.not_after) != (new.not_before, new.not_after) {
        changes.push(format!(
            "valid: {} – {} → {} – {}",
            utc(old.not_before),
            utc(old.not_after),
            utc(new.not_before),
            utc(new.not_after)
        ));
    }
    changes
}

/// Asks the reader to confirm a certificate that changed for their key. `Ok` when confirmed.
pub async fn confirm_change(changes: &[String]) -> Result<(), String> {
    set_text("cert-change-what", &changes.join("\n"));
    set_hidden("cert-change", false);
    let before = protect::phase();
    protect::set_phase("certificate-changed");
    status("A new certificate for your key differs from the one this browser had: check it");
    let choice = protect::next_action(&["cert-accept", "cert-reject"]).await;
    set_hidden("cert-change", true);
    protect::set_phase(before);
    if choice == "cert-accept" {
        Ok(())
    } else {
        Err("you refused the new certificate, so the one this browser had stays. Ask your administrator why it \
             changed"
            .into())
    }
}

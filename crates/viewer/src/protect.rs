//! The reader's private keys at rest, bound to a second factor (docs/KEYS.md).
//!
//! At enrolment the viewer generates the ECDH P-256 reader key and an ECDSA P-256 signing key,
//! **extractable once**: each is `wrapKey`ed (PKCS#8 inside WebCrypto, AES-256-GCM) under a
//! wrapping key derived from the second factor — the WebAuthn PRF output of a passkey or security
//! key, or Argon2id of a passphrase — and only the wrapped blobs, public keys and the factor's
//! public parameters are stored (one JSON record, FORMAT.md §10). The extractable keys are dropped
//! at once; in every session (boot, unlock) the factor is asked again and the keys are `unwrapKey`ed
//! as **non-extractable** CryptoKeys held in memory only. A copy of the browser profile therefore
//! holds nothing that opens a study without the factor.
//!
//! This module also runs the screens that ask for the factor: the first-run choice and the unlock
//! screen (`#protect` in index.html).

use crate::keystore::KeyStore;
use crate::passkey::{self, PasskeyError};
use crate::webcrypto::{self, KeyKind, WebCryptoIdentity, WebCryptoSigner};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use obscura_seal::{PasscodeCost, PublicKey};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::CryptoKey;
use zeroize::Zeroizing;

/// The IndexedDB record of the protected keys (a JSON string).
pub const RECORD: &str = "protected-reader";
/// Where viewers before the protection kept the reader's CryptoKey itself (non-extractable, but
/// in clear in the profile): it cannot be wrapped now, so it is replaced.
const LEGACY_RECORD: &str = "reader";
/// A replacement key waiting for its certificate ("Replace this browser's key"): the same record
/// format; it becomes [`RECORD`] when its certificate is installed, and the current key keeps
/// working until then.
pub const PENDING_RECORD: &str = "pending-reader";
/// The enrolment request of the pending key (public), shown again until its certificate comes.
pub const PENDING_REQUEST: &str = "pending-request";
/// The certificate of the reader key (public; `enrol.rs`), dropped with the key it certifies.
pub const CERTIFICATE_RECORD: &str = "certificate";
/// Format of the key record.
const RECORD_FORMAT: u32 = 1;
/// HKDF `info` of the wrapping key, and prefix of the wrapped keys' associated data.
pub const WRAP_INFO: &[u8] = b"obscura/v1/reader-key-wrap";
/// Shortest passphrase accepted at enrolment, in characters. With Argon2id at 64 MiB an attacker
/// holding the profile tests a few guesses per second per core; 12 characters chosen by a person
/// still leave that out of reach for most, where 8 would not (docs/KEYS.md).
pub const MIN_PASSPHRASE_CHARS: usize = 12;
/// Argon2id cost of a new passphrase: RFC 9106's second recommended option (64 MiB, 3 passes),
/// one lane because the page computes it on one thread (an unlock took ≈0.3 s in headless
/// Chromium on 2 shared cores, docs/KEYS.md).
pub const PASSPHRASE_COST: PasscodeCost = PasscodeCost::DEFAULT;

/// The stored record: public keys, the factor's public parameters, the wrapped private keys.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyRecord {
    format: u32,
    /// The ECDH reader key (base64 SEC1): the one certificates certify.
    reader_public_key: PublicKey,
    /// The ECDSA signing key (base64 SEC1).
    signing_public_key: PublicKey,
    protection: Protection,
    reader_key: WrappedKey,
    signing_key: WrappedKey,
    /// Unix seconds.
    created: i64,
}

/// Where the wrapping key comes from.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case", deny_unknown_fields)]
enum Protection {
    /// Argon2id of a passphrase under a random 16-byte salt (base64).
    Passphrase { argon2id: PasscodeCost, salt: String },
    /// The WebAuthn PRF of a random 32-byte salt (base64) on credential `credential_id` (base64)
    /// of relying party `rp_id`.
    WebauthnPrf { credential_id: String, rp_id: String, salt: String },
}

/// One private key, `wrapKey("pkcs8")` under AES-256-GCM.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WrappedKey {
    /// 12 random bytes (base64).
    iv: String,
    /// PKCS#8 ciphertext and 16-byte tag (base64).
    wrapped: String,
}

fn field(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

fn b64<const N: usize>(s: &str, what: &str) -> Result<[u8; N], String> {
    B64.decode(s).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| format!("the key record's {what} is damaged"))
}

impl KeyRecord {
    /// The associated data of a wrapped key: the label, then every other field of the record,
    /// so that no public key, parameter or blob of the record can be swapped without the unwrap
    /// failing (FORMAT.md §10).
    fn aad(&self, which: &str) -> Vec<u8> {
        let mut out = WRAP_INFO.to_vec();
        out.push(0);
        field(&mut out, &self.format.to_be_bytes());
        field(&mut out, which.as_bytes());
        field(&mut out, self.reader_public_key.as_sec1());
        field(&mut out, self.signing_public_key.as_sec1());
        field(&mut out, &serde_json::to_vec(&self.protection).expect("serializes"));
        field(&mut out, &self.created.to_be_bytes());
        out
    }

    fn salt(&self) -> &str {
        match &self.protection {
            Protection::Passphrase { salt, .. } | Protection::WebauthnPrf { salt, .. } => salt,
        }
    }
}

/// The reader's keys for this session: non-extractable CryptoKeys in memory only.
pub struct ReaderKeys {
    /// The ECDH reader key (unwraps study keys).
    pub identity: WebCryptoIdentity,
    /// The ECDSA signing key (signs enrolment requests).
    pub signer: WebCryptoSigner,
}

thread_local! {
    /// What the key screens show (test state, before the app exists).
    static PHASE: RefCell<&'static str> = const { RefCell::new("booting") };
    /// The last error the key screens showed (test state).
    static ERROR: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The session's private keys, for the debug state (their properties only).
    static SESSION: RefCell<Option<(CryptoKey, CryptoKey)>> = const { RefCell::new(None) };
}

/// Sets the phase the key screens report (and the app's, once it runs: after a lock the same
/// screens ask for the factor again).
pub(crate) fn set_phase(phase: &'static str) {
    PHASE.with(|p| *p.borrow_mut() = phase);
    crate::app::set_phase(phase);
}

/// The phase the key screens report.
pub(crate) fn phase() -> &'static str {
    PHASE.with(|p| *p.borrow())
}

/// Drops this module's references to the session's private keys (the lock; the app drops its own).
pub(crate) fn forget_session() {
    SESSION.with(|s| *s.borrow_mut() = None);
}

/// The key screens' phase, and the properties of the session's private keys (never the keys).
pub(crate) fn debug() -> serde_json::Value {
    let describe = |k: &CryptoKey| {
        let algorithm = k.algorithm().ok().and_then(|a| js_sys::Reflect::get(&a, &"name".into()).ok());
        let usages: Vec<String> = js_sys::Array::from(&k.usages()).iter().filter_map(|u| u.as_string()).collect();
        serde_json::json!({
            "type": k.type_(), "extractable": k.extractable(),
            "algorithm": algorithm.and_then(|a| a.as_string()), "usages": usages,
        })
    };
    let keys = SESSION.with(|s| {
        s.borrow().as_ref().map(|(r, s)| serde_json::json!({ "reader": describe(r), "signing": describe(s) }))
    });
    serde_json::json!({
        "phase": PHASE.with(|p| *p.borrow()),
        "error": ERROR.with(|e| e.borrow().clone()),
        "session": keys,
    })
}

fn show_error(message: Option<&str>) {
    ERROR.with(|e| *e.borrow_mut() = message.map(str::to_string));
    crate::app::set_text("protect-error", message.unwrap_or(""));
}

fn status(text: &str) {
    crate::app::set_text("status", text);
}

fn input(id: &str) -> web_sys::HtmlInputElement {
    crate::app::el(id).unchecked_into()
}

/// Reads a password field and clears it at once (the value must not linger in the DOM).
fn take_secret(id: &str) -> Zeroizing<String> {
    let field = input(id);
    let value = Zeroizing::new(field.value());
    field.set_value("");
    value
}

/// Waits for the first of `ids` to be used: a form's submit or a button's click. Returns its id.
pub(crate) async fn next_action(ids: &[&'static str]) -> &'static str {
    let (tx, rx) = futures_channel::oneshot::channel::<&'static str>();
    let tx = std::rc::Rc::new(RefCell::new(Some(tx)));
    let mut handlers = Vec::new();
    for &id in ids {
        let tx = tx.clone();
        let cb = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            e.prevent_default();
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(id);
            }
        });
        let el = crate::app::el(id);
        if el.tag_name() == "FORM" {
            el.set_onsubmit(Some(cb.as_ref().unchecked_ref()));
        } else {
            el.set_onclick(Some(cb.as_ref().unchecked_ref()));
        }
        handlers.push(cb);
    }
    let which = rx.await.unwrap_or("");
    for &id in ids {
        let el = crate::app::el(id);
        el.set_onsubmit(None);
        el.set_onclick(None);
    }
    drop(handlers);
    which
}

/// The reader's keys for this session: unlocks the stored record with its factor, or (first run,
/// a record of an older viewer, a forgotten factor) enrols new protected keys. Waits for the
/// reader as long as needed.
pub async fn reader_keys(keys: &KeyStore) -> Result<ReaderKeys, String> {
    loop {
        let stored = keys.get(RECORD).await?;
        let mut reason = None;
        if let Some(text) = stored.as_string() {
            match serde_json::from_str::<KeyRecord>(&text) {
                Ok(record) if record.format == RECORD_FORMAT => {
                    if let Some(k) = unlock_screen(keys, &record).await? {
                        set_phase("unlocked");
                        return Ok(k);
                    }
                    continue; // the reader chose to start over
                }
                Ok(record) => {
                    reason = Some(format!(
                        "This browser's key record has format {}, which this viewer does not know: update the viewer, or create a new key below (it must be enrolled again).",
                        record.format
                    ))
                }
                Err(e) => {
                    reason = Some(format!(
                        "This browser's key record cannot be read ({e}): create a new key below (it must be enrolled again)."
                    ))
                }
            }
        } else if keys.get(LEGACY_RECORD).await?.is_object() {
            reason = Some(
                "This browser holds a reader key made by an older Obscura viewer, stored without a second factor: it cannot be protected after the fact. Create a new, protected key below; it must be enrolled again (in demo mode this happens by itself), and the old one is deleted.".into(),
            );
        }
        let k = first_run(keys, reason, RECORD).await?;
        set_phase("unlocked");
        return Ok(k);
    }
}

fn show_screen(first_run: bool) {
    crate::app::set_hidden("protect", false);
    crate::app::set_hidden("protect-first", !first_run);
    crate::app::set_hidden("unlock", first_run);
}

fn hide_screen() {
    crate::app::set_hidden("protect", true);
    show_error(None);
}

/// The unlock screen; `None` when the reader chose to create a new key instead.
async fn unlock_screen(keys: &KeyStore, record: &KeyRecord) -> Result<Option<ReaderKeys>, String> {
    let passphrase = matches!(record.protection, Protection::Passphrase { .. });
    show_screen(false);
    crate::app::set_text(
        "unlock-what",
        if passphrase {
            "Your reader key is locked. Enter your passphrase to open it for this session."
        } else {
            "Your reader key is locked. Use the security key or passkey you protected it with."
        },
    );
    crate::app::set_hidden("unlock-passphrase-label", !passphrase);
    crate::app::set_hidden("unlock-submit", !passphrase);
    crate::app::set_hidden("unlock-passkey", passphrase);
    crate::app::set_text("reader-fp", &record.reader_public_key.fingerprint());
    loop {
        set_phase("locked");
        status("Locked: this browser's reader key needs its second factor");
        let action = next_action(&["unlock", "unlock-passkey", "protect-reset"]).await;
        if action == "protect-reset" {
            let confirmed = web_sys::window()
                .and_then(|w| {
                    w.confirm_with_message(
                        "Delete this browser's reader key and create a new one? The new key must be enrolled (certified) again.",
                    )
                    .ok()
                })
                .unwrap_or(false);
            if confirmed {
                keys.delete(RECORD).await?;
                keys.delete(CERTIFICATE_RECORD).await?;
                hide_screen();
                return Ok(None);
            }
            continue;
        }
        set_phase("unlocking");
        show_error(None);
        let ikm = match &record.protection {
            Protection::Passphrase { argon2id, salt } => {
                let secret = take_secret("unlock-passphrase");
                if secret.is_empty() {
                    show_error(Some("Enter your passphrase."));
                    continue;
                }
                status("Deriving the key from your passphrase (a few seconds)…");
                crate::net::sleep_ms(30).await; // let the status paint before the page is busy
                obscura_seal::argon2id(&secret, &b64::<16>(salt, "salt")?, *argon2id)
                    .map_err(|e| format!("the key record's passphrase parameters are refused: {e}"))?
            }
            Protection::WebauthnPrf { credential_id, rp_id, salt } => {
                status("Waiting for your security key or passkey…");
                let id = B64.decode(credential_id).map_err(|_| "the key record's credential id is damaged")?;
                match passkey::evaluate(&id, rp_id, &b64::<32>(salt, "salt")?).await {
                    Ok(out) => out,
                    Err(e) => {
                        show_error(Some(&passkey_unlock_help(&e, rp_id)));
                        continue;
                    }
                }
            }
        };
        match unwrap_keys(record, &ikm).await {
            Ok(k) => {
                hide_screen();
                return Ok(Some(k));
            }
            Err(_) if passphrase => {
                show_error(Some("Wrong passphrase: the key did not open. Try again."));
            }
            Err(e) => {
                show_error(Some(&format!(
                    "The security key answered, but its secret does not open this browser's key ({e}): it is another credential. Use the one you protected the key with."
                )));
            }
        }
    }
}

fn passkey_unlock_help(e: &PasskeyError, rp_id: &str) -> String {
    match e {
        PasskeyError::NotAllowed(_) => format!(
            "{e}. Connect or unlock the security key or passkey you protected this key with, then press \"Use your security key / passkey\" again. Without it this browser's reader key cannot be opened; if it is lost, create a new key (your administrator certifies it again)."
        ),
        PasskeyError::Unavailable(_) => format!(
            "{e}. This key was protected with a passkey for {rp_id}: open the viewer at that address in a browser with passkeys."
        ),
        _ => e.to_string(),
    }
}

/// Unwraps both private keys as non-extractable CryptoKeys. Fails when the factor is wrong (or
/// the record was altered).
async fn unwrap_keys(record: &KeyRecord, ikm: &[u8; 32]) -> Result<ReaderKeys, String> {
    let wrapping =
        webcrypto::derive_wrapping_key(ikm, &B64.decode(record.salt()).unwrap_or_default(), WRAP_INFO).await?;
    let reader = unwrap_one(record, &record.reader_key, "reader", KeyKind::ReaderEcdh, &wrapping).await?;
    let signing = unwrap_one(record, &record.signing_key, "signing", KeyKind::SigningEcdsa, &wrapping).await?;
    SESSION.with(|s| *s.borrow_mut() = Some((reader.clone(), signing.clone())));
    Ok(ReaderKeys {
        identity: WebCryptoIdentity::new(reader, record.reader_public_key.clone()),
        signer: WebCryptoSigner::new(signing, record.signing_public_key.clone()),
    })
}

async fn unwrap_one(
    record: &KeyRecord,
    w: &WrappedKey,
    which: &str,
    kind: KeyKind,
    wrapping: &CryptoKey,
) -> Result<CryptoKey, String> {
    let iv = b64::<12>(&w.iv, "IV")?;
    let blob = B64.decode(&w.wrapped).map_err(|_| "the key record's wrapped key is damaged".to_string())?;
    webcrypto::unwrap_private_key(&blob, wrapping, &iv, &record.aad(which), kind).await
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).expect("the browser's CSPRNG");
    b
}

/// Why a new passphrase is refused, if it is.
fn new_passphrase_problem(p: &str, again: &str) -> Option<String> {
    if p.chars().count() < MIN_PASSPHRASE_CHARS {
        return Some(format!(
            "Choose a passphrase of at least {MIN_PASSPHRASE_CHARS} characters (a few words are easiest to remember)."
        ));
    }
    if p != again {
        return Some("The two passphrases differ: type the same one twice.".into());
    }
    None
}

/// The first-run choice: a passkey (where WebAuthn PRF may work) or a passphrase.
async fn first_run(keys: &KeyStore, reason: Option<String>, target: &str) -> Result<ReaderKeys, String> {
    show_screen(true);
    crate::app::set_text("protect-reason", reason.as_deref().unwrap_or(""));
    crate::app::set_hidden("protect-reason", reason.is_none());
    let passkeys = passkey::supported().await;
    crate::app::set_hidden("protect-passkey-choice", !passkeys);
    crate::app::set_text("reader-fp", "none yet");
    loop {
        set_phase("choose-protection");
        status("First use in this browser: choose how to protect your reader key");
        let action = next_action(&["new-passkey", "new-passphrase-form"]).await;
        set_phase("enrolling");
        show_error(None);
        let (protection, ikm) = if action == "new-passkey" {
            status("Waiting for your security key or passkey…");
            let salt = random::<32>();
            let made = match passkey::create(&salt).await {
                Ok((id, rp_id, first)) => {
                    let first = match first {
                        Some(f) => Ok(f),
                        // The authenticator gave no PRF output at creation: ask once more.
                        None => passkey::evaluate(&id, &rp_id, &salt).await,
                    };
                    first.map(|f| (id, rp_id, f))
                }
                Err(e) => Err(e),
            };
            match made {
                Ok((id, rp_id, first)) => {
                    (Protection::WebauthnPrf { credential_id: B64.encode(id), rp_id, salt: B64.encode(salt) }, first)
                }
                Err(e) => {
                    show_error(Some(&format!("{e}. Try again, or choose a passphrase.")));
                    continue;
                }
            }
        } else {
            let p = take_secret("new-passphrase");
            let again = take_secret("new-passphrase-again");
            if let Some(problem) = new_passphrase_problem(&p, &again) {
                show_error(Some(&problem));
                continue;
            }
            status("Deriving the key from your passphrase (a few seconds)…");
            crate::net::sleep_ms(30).await;
            let salt = random::<16>();
            let ikm = obscura_seal::argon2id(&p, &salt, PASSPHRASE_COST).map_err(|e| e.to_string())?;
            (Protection::Passphrase { argon2id: PASSPHRASE_COST, salt: B64.encode(salt) }, ikm)
        };
        status("Creating your reader keys (they never leave this browser)…");
        let k = enrol(keys, protection, &ikm, target).await?;
        hide_screen();
        return Ok(k);
    }
}

/// Generates both key pairs extractable, wraps them under the factor's key, stores the record
/// (replacing an older viewer's key and any certificate), then opens it like any later session.
async fn enrol(
    keys: &KeyStore,
    protection: Protection,
    ikm: &Zeroizing<[u8; 32]>,
    target: &str,
) -> Result<ReaderKeys, String> {
    let (reader, reader_public) = webcrypto::generate_key_pair(KeyKind::ReaderEcdh, true).await?;
    let (signing, signing_public) = webcrypto::generate_key_pair(KeyKind::SigningEcdsa, true).await?;
    let public = |raw: Vec<u8>| PublicKey::from_sec1(&raw).map_err(|e| e.to_string());
    let mut record = KeyRecord {
        format: RECORD_FORMAT,
        reader_public_key: public(webcrypto::export_public(&reader_public).await?)?,
        signing_public_key: public(webcrypto::export_public(&signing_public).await?)?,
        protection,
        reader_key: WrappedKey { iv: B64.encode(random::<12>()), wrapped: String::new() },
        signing_key: WrappedKey { iv: B64.encode(random::<12>()), wrapped: String::new() },
        created: (js_sys::Date::now() / 1000.0) as i64,
    };
    let wrapping =
        webcrypto::derive_wrapping_key(ikm, &B64.decode(record.salt()).unwrap_or_default(), WRAP_INFO).await?;
    let iv = |w: &WrappedKey| b64::<12>(&w.iv, "IV");
    let reader_blob =
        webcrypto::wrap_private_key(&reader, &wrapping, &iv(&record.reader_key)?, &record.aad("reader")).await?;
    let signing_blob =
        webcrypto::wrap_private_key(&signing, &wrapping, &iv(&record.signing_key)?, &record.aad("signing")).await?;
    // The extractable keys go now: from here on only the wrapped blobs exist.
    drop((reader, signing));
    record.reader_key.wrapped = B64.encode(reader_blob);
    record.signing_key.wrapped = B64.encode(signing_blob);
    if target == RECORD {
        keys.delete(LEGACY_RECORD).await?;
        keys.delete(CERTIFICATE_RECORD).await?;
    }
    keys.put(target, &JsValue::from_str(&serde_json::to_string(&record).expect("serializes"))).await?;
    // This session, too, uses the non-extractable keys unwrapped from what was stored.
    unwrap_keys(&record, ikm).await
}

/// "Replace this browser's key": a new protected key (the reader chooses its factor, as on first
/// use), stored as [`PENDING_RECORD`] beside the current one, which keeps working. Returns the new
/// keys for this moment only (to sign the enrolment request); the session keeps the current ones.
pub async fn new_pending_key(keys: &KeyStore) -> Result<ReaderKeys, String> {
    let current = SESSION.with(|s| s.borrow().clone());
    let before = phase();
    let reason = "Replace this browser's key: choose how to protect the new key. Your current key keeps working until \
                  the new one's certificate is installed.";
    let made = first_run(keys, Some(reason.into()), PENDING_RECORD).await;
    SESSION.with(|s| *s.borrow_mut() = current);
    PHASE.with(|p| *p.borrow_mut() = before);
    made
}

/// The public reader key of the pending replacement, if there is one.
pub async fn pending_public_key(keys: &KeyStore) -> Result<Option<PublicKey>, String> {
    let stored = keys.get(PENDING_RECORD).await?;
    Ok(stored.as_string().and_then(|t| serde_json::from_str::<KeyRecord>(&t).ok()).map(|r| r.reader_public_key))
}

/// The pending key's certificate was installed: it becomes this browser's key (the old record
/// goes; the caller stores the certificate).
pub async fn promote_pending(keys: &KeyStore) -> Result<(), String> {
    let stored = keys.get(PENDING_RECORD).await?;
    keys.put(RECORD, &stored).await?;
    keys.delete(PENDING_RECORD).await?;
    keys.delete(PENDING_REQUEST).await?;
    Ok(())
}

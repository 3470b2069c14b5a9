//! WebAuthn PRF: a passkey or security key as the second factor that protects the reader's keys
//! at rest (`protect.rs`, docs/KEYS.md).
//!
//! The authenticator computes a PRF (CTAP2 `hmac-secret`) of a salt we keep in the key record;
//! the 32-byte output exists only while the session is unlocked and never leaves this tab. The
//! assertion itself is not verified (there is no server to verify it against): what protects the
//! key is that only the authenticator, after user verification, can compute that output.
//! The calls go through `js_sys::Reflect` because the PRF extension is not in web-sys' typed
//! dictionaries.

use crate::webcrypto::js_object;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

/// How long the browser waits for the reader to touch or unlock the authenticator.
const TIMEOUT_MS: u32 = 120_000;

/// Why a passkey could not be used, worded for the reader.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// This browser has no WebAuthn, or it is refused on this page (an IP address, plain http).
    #[error("passkeys are not available here: {0}")]
    Unavailable(String),
    /// The reader cancelled, the request timed out, or no authenticator holding the credential answered.
    #[error("the security key or passkey did not answer ({0}): it was cancelled, it timed out, or it is not the one this key was protected with")]
    NotAllowed(String),
    /// The authenticator made a credential but cannot evaluate the PRF extension.
    #[error("this security key or passkey cannot derive keys (it lacks the WebAuthn PRF extension); protect the key with a passphrase instead")]
    NoPrf,
    /// Anything else the browser reported.
    #[error("the browser refused the passkey request: {0}")]
    Other(String),
}

fn credentials() -> Result<JsValue, PasskeyError> {
    let navigator = web_sys::window().ok_or_else(|| PasskeyError::Unavailable("no window".into()))?.navigator();
    let c = Reflect::get(&navigator, &"credentials".into()).unwrap_or(JsValue::UNDEFINED);
    if c.is_undefined() || !has_public_key_credential() {
        return Err(PasskeyError::Unavailable("this browser has no WebAuthn".into()));
    }
    Ok(c)
}

fn has_public_key_credential() -> bool {
    Reflect::get(&js_sys::global(), &"PublicKeyCredential".into()).map(|c| c.is_function()).unwrap_or(false)
}

/// Whether to offer a passkey at all: WebAuthn exists, the page is not at an IP address, and the
/// browser does not say it lacks PRF (`PublicKeyCredential.getClientCapabilities()`, where it
/// exists; otherwise creation tells).
pub async fn supported() -> bool {
    if !has_public_key_credential() || host_is_ip_address() {
        return false;
    }
    let pkc = Reflect::get(&js_sys::global(), &"PublicKeyCredential".into()).unwrap_or(JsValue::UNDEFINED);
    let Ok(caps) = Reflect::get(&pkc, &"getClientCapabilities".into()) else { return true };
    let Some(caps) = caps.dyn_ref::<Function>() else { return true };
    let Ok(promise) = caps.call0(&pkc) else { return true };
    match JsFuture::from(Promise::from(promise)).await {
        Ok(c) => Reflect::get(&c, &"extension:prf".into()).ok().and_then(|v| v.as_bool()).unwrap_or(true),
        Err(_) => true,
    }
}

/// WebAuthn refuses IP addresses as relying party ids: a viewer opened at one cannot use passkeys.
fn host_is_ip_address() -> bool {
    let host = web_sys::window().and_then(|w| w.location().hostname().ok()).unwrap_or_default();
    host.starts_with('[') || host.parse::<std::net::IpAddr>().is_ok()
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).expect("the browser's CSPRNG");
    b
}

fn error_of(e: JsValue) -> PasskeyError {
    let name = Reflect::get(&e, &"name".into()).ok().and_then(|n| n.as_string()).unwrap_or_default();
    let message = crate::webcrypto::js_error(e);
    match name.as_str() {
        "NotAllowedError" | "AbortError" => PasskeyError::NotAllowed(message),
        "SecurityError" | "NotSupportedError" => PasskeyError::Unavailable(message),
        _ => PasskeyError::Other(if name.is_empty() { message } else { format!("{name}: {message}") }),
    }
}

async fn call(method: &str, options: &Object) -> Result<JsValue, PasskeyError> {
    let c = credentials()?;
    let f: Function = Reflect::get(&c, &method.into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| PasskeyError::Unavailable(format!("navigator.credentials.{method} is missing")))?;
    let promise = f.call1(&c, options).map_err(error_of)?;
    JsFuture::from(Promise::from(promise)).await.map_err(error_of)
}

fn prf_inputs(salt: &[u8; 32]) -> Object {
    let first = js_object(&[("first", Uint8Array::from(&salt[..]).into())]);
    js_object(&[("prf", js_object(&[("eval", first.into())]).into())])
}

/// The PRF output `results.first` of a credential, if the authenticator gave one; the JS copy is
/// overwritten once read.
fn prf_first(credential: &JsValue) -> Result<Option<Zeroizing<[u8; 32]>>, PasskeyError> {
    let f: Function = Reflect::get(credential, &"getClientExtensionResults".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| PasskeyError::Other("the credential has no extension results".into()))?;
    let results = f.call0(credential).map_err(error_of)?;
    let prf = Reflect::get(&results, &"prf".into()).unwrap_or(JsValue::UNDEFINED);
    let first = Reflect::get(&prf, &"results".into())
        .ok()
        .filter(|r| r.is_object())
        .and_then(|r| Reflect::get(&r, &"first".into()).ok())
        .filter(|f| f.is_object());
    let Some(first) = first else {
        return Ok(None);
    };
    let view = Uint8Array::new(&first);
    if view.length() != 32 {
        return Err(PasskeyError::NoPrf);
    }
    let mut out = Zeroizing::new([0u8; 32]);
    view.copy_to(&mut out[..]);
    view.fill(0, 0, 32);
    Ok(Some(out))
}

/// Whether the authenticator says it supports PRF for a credential just made.
fn prf_enabled(credential: &JsValue) -> bool {
    let results = Reflect::get(credential, &"getClientExtensionResults".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .and_then(|f| f.call0(credential).ok());
    results
        .and_then(|r| Reflect::get(&r, &"prf".into()).ok())
        .and_then(|p| Reflect::get(&p, &"enabled".into()).ok())
        .and_then(|e| e.as_bool())
        .unwrap_or(false)
}

/// A new credential on a security key or passkey (user verification required, a discoverable
/// credential preferred), asking for the PRF of `salt` at once. Returns the credential id, the
/// relying party id it is bound to (this page's host), and the PRF output when the authenticator
/// gives it at creation (otherwise [`evaluate`] asks for it).
pub async fn create(salt: &[u8; 32]) -> Result<(Vec<u8>, String, Option<Zeroizing<[u8; 32]>>), PasskeyError> {
    let rp_id = web_sys::window()
        .and_then(|w| w.location().hostname().ok())
        .ok_or_else(|| PasskeyError::Unavailable("no host name".into()))?;
    let user = js_object(&[
        ("id", Uint8Array::from(&random::<16>()[..]).into()),
        ("name", "Obscura reader key".into()),
        ("displayName", "Obscura reader key".into()),
    ]);
    let params: Array = [-7, -257]
        .iter()
        .map(|alg| JsValue::from(js_object(&[("type", "public-key".into()), ("alg", (*alg).into())])))
        .collect();
    let public_key = js_object(&[
        ("rp", js_object(&[("name", "Obscura".into()), ("id", rp_id.as_str().into())]).into()),
        ("user", user.into()),
        ("challenge", Uint8Array::from(&random::<32>()[..]).into()),
        ("pubKeyCredParams", params.into()),
        (
            "authenticatorSelection",
            js_object(&[("residentKey", "preferred".into()), ("userVerification", "required".into())]).into(),
        ),
        ("attestation", "none".into()),
        ("timeout", TIMEOUT_MS.into()),
        ("extensions", prf_inputs(salt).into()),
    ]);
    let credential = call("create", &js_object(&[("publicKey", public_key.into())])).await?;
    if credential.is_null() || credential.is_undefined() {
        return Err(PasskeyError::NotAllowed("no credential was made".into()));
    }
    let id = Uint8Array::new(&Reflect::get(&credential, &"rawId".into()).map_err(error_of)?).to_vec();
    let first = prf_first(&credential)?;
    if first.is_none() && !prf_enabled(&credential) {
        return Err(PasskeyError::NoPrf);
    }
    Ok((id, rp_id, first))
}

/// Asks the authenticator holding `credential_id` for the PRF of `salt` (user verification
/// required).
pub async fn evaluate(credential_id: &[u8], rp_id: &str, salt: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, PasskeyError> {
    let allow: Array = std::iter::once(JsValue::from(js_object(&[
        ("type", "public-key".into()),
        ("id", Uint8Array::from(credential_id).into()),
    ])))
    .collect();
    let public_key = js_object(&[
        ("challenge", Uint8Array::from(&random::<32>()[..]).into()),
        ("rpId", rp_id.into()),
        ("allowCredentials", allow.into()),
        ("userVerification", "required".into()),
        ("timeout", TIMEOUT_MS.into()),
        ("extensions", prf_inputs(salt).into()),
    ]);
    let credential = call("get", &js_object(&[("publicKey", public_key.into())])).await?;
    if credential.is_null() || credential.is_undefined() {
        return Err(PasskeyError::NotAllowed("no credential was used".into()));
    }
    prf_first(&credential)?.ok_or(PasskeyError::NoPrf)
}

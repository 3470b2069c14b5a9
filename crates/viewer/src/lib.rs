//! The Obscura viewer, compiled to WebAssembly.
//!
//! This is the one crate that talks to the browser: it implements the core crates' small traits
//! over browser APIs — [`webcrypto::WebCryptoIdentity`] (ECDH with a non-extractable key through
//! `crypto.subtle.deriveBits`), [`webcrypto::WebCryptoAead`] (bulk AES-GCM in WebCrypto),
//! [`net::FetchClient`] (DICOMweb over `fetch`) — keeps the reader's keys in IndexedDB wrapped
//! under a second factor ([`protect`]: a passkey's WebAuthn PRF ([`passkey`]) or a passphrase),
//! enrols them ([`enrol`], [`keystore`]), draws through `obscura-render` on a canvas ([`gpu`]), and runs the UI ([`app`];
//! a share link opens one study read-only without any key, `share`), locks after an idle timeout,
//! with Lock and on Log out (`lock`: every key and all cleartext dropped), pins the organisation key
//! and has changed certificates confirmed (`trust`), and guides a new or lost device and a key
//! replacement (`device`).
//! Cleartext (study keys, PHI, pixels) lives only in WASM memory and GPU textures; the only
//! things written to browser storage are wrapped (encrypted) private keys, public keys,
//! certificates and manifest versions.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod decoder;
mod device;
pub mod enrol;
pub mod gpu;
pub mod keystore;
mod lock;
pub mod net;
pub mod passkey;
pub mod pipeline;
pub mod protect;
mod room;
mod share;
mod trust;
pub mod webcrypto;

use wasm_bindgen::prelude::*;

/// Starts the viewer in the current page (called by `www/app.js`).
#[wasm_bindgen]
pub async fn boot() -> Result<(), JsValue> {
    report_panics();
    app::boot().await.map_err(|e| JsValue::from_str(&e))
}

/// A panic aborts the module ("unreachable" and nothing else): say what it was, and tell the
/// reader that the page has to be reloaded.
fn report_panics() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("obscura: {info}").into());
        app::show_fatal(&format!("The viewer stopped on an internal error ({info}). Reload the page."));
    }));
}

/// Opens the study of a share link read-only, without a reader key (called by `www/app.js` with
/// the `#share=…` fragment it has already taken out of the address bar and the history).
#[wasm_bindgen(js_name = bootShare)]
pub async fn boot_share(fragment: String) -> Result<(), JsValue> {
    report_panics();
    share::boot(fragment).await.map_err(|e| JsValue::from_str(&e))
}

/// Test hook: a JSON snapshot of the viewer's public state (phase, slice, counts, error).
#[wasm_bindgen(js_name = debugState)]
pub fn debug_state() -> JsValue {
    app::debug_state()
}

/// Test hook: renders the current slice at 1:1 through the GPU pipeline and returns one gray
/// byte per image pixel (or `null` when no slice is displayed).
#[wasm_bindgen(js_name = readBack)]
pub async fn read_back() -> Result<JsValue, JsValue> {
    app::read_back().await.map_err(|e| JsValue::from_str(&e))
}

/// Benchmark hook: the frames drawn since the last call (`[{t, ms, slices, shown}]` as JSON),
/// then forgets them.
#[wasm_bindgen(js_name = frameLog)]
pub fn frame_log() -> JsValue {
    room::take_frame_log()
}

/// Test hook: destroys the GPU device, to show that the viewer recovers without reloading.
#[wasm_bindgen(js_name = loseGpu)]
pub fn lose_gpu() {
    app::lose_gpu()
}

/// Test hook: the store URL of the sealed object behind slice `index` of the open study.
#[wasm_bindgen(js_name = sealedUrlForSlice)]
pub fn sealed_url_for_slice(index: usize) -> Option<String> {
    app::sealed_url_for_slice(index)
}

//! The browser benchmarks behind `cargo xtask bench crypto` (decryption, this file) and
//! `cargo xtask bench codecs` (decoding, [`codecs`]); not part of the product.
//!
//! `www/bench.js` asks [`prepare`] to seal an object here with `seal_object` (default 256 KiB
//! chunks), then times, alternating, our stream code with the viewer's WebCrypto backend
//! ([`run`] `"ours-object"`, `"ours-chunks"`, …) against raw `crypto.subtle.decrypt` called from JS
//! on the same chunks with the same key and nonces. The `"wasm-*"` variants are a decomposition:
//! the same WebCrypto calls as `WebCryptoCipher::open_chunk`, made from wasm, with and without
//! the copy out of the JS heap and the zeroing of the JS buffer. The `"proto-*"` variants
//! prototype a stream API that decrypts straight into the output buffer.
//!
//! Every call into `obscura-seal`'s stream API is in [`open_with_stream_code`]: the study key is
//! handed to the WebCrypto backend (a non-extractable HKDF key), then the object is opened.
#![cfg(target_arch = "wasm32")]

pub mod codecs;
pub mod pacs;

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};
use js_sys::Uint8Array;
use obscura_seal::rand_core::OsRng;
use obscura_seal::stream::chunk_nonce;
use obscura_seal::{open_object, seal_object, AeadBackend, ObjectId, ObjectLayout, ObjectOpener, SealError, StudyKey};
use obscura_viewer::webcrypto::{js_object, subtle, WebCryptoAead};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::CryptoKey;
use zeroize::Zeroizing;

/// The sealed object under test, with what is needed to check the results.
struct Sealed {
    key: StudyKey,
    id: ObjectId,
    plaintext: Vec<u8>,
    sealed: Vec<u8>,
    layout: ObjectLayout,
}

/// What a run produced; kept until [`release`] so that dropping (and zeroizing) it is timed apart.
enum Output {
    Whole(Zeroizing<Vec<u8>>),
    Chunks(Vec<Zeroizing<Vec<u8>>>),
    Plain(Vec<Vec<u8>>),
    Js(Vec<JsValue>),
}

impl Output {
    fn len(&self) -> usize {
        match self {
            Output::Whole(v) => v.len(),
            Output::Chunks(c) => c.iter().map(|v| v.len()).sum(),
            Output::Plain(c) => c.iter().map(Vec::len).sum(),
            Output::Js(c) => c.iter().map(|b| Uint8Array::new(b).length() as usize).sum(),
        }
    }
    fn concat(&self) -> Vec<u8> {
        match self {
            Output::Whole(v) => v.to_vec(),
            Output::Chunks(c) => c.iter().flat_map(|v| v.iter().copied()).collect(),
            Output::Plain(c) => c.concat(),
            Output::Js(c) => c.iter().flat_map(|b| Uint8Array::new(b).to_vec()).collect(),
        }
    }
}

thread_local! {
    static STATE: RefCell<Option<Rc<Sealed>>> = const { RefCell::new(None) };
    static LAST: RefCell<Option<Output>> = const { RefCell::new(None) };
}

fn state() -> Result<Rc<Sealed>, JsValue> {
    STATE.with(|s| s.borrow().clone()).ok_or_else(|| JsValue::from_str("call prepare() first"))
}

fn err(e: SealError) -> JsValue {
    JsValue::from_str(&e.to_string())
}

/// How the stream code is driven.
#[derive(Clone, Copy)]
enum How {
    /// `open_object`: the whole object into one buffer, as the viewer does.
    Object,
    /// `ObjectOpener::open_chunk` for each chunk, `in_flight` of them awaited together.
    Chunks { in_flight: usize },
}

/// The one joint with `obscura-seal`'s stream API (the marked lines).
async fn open_with_stream_code(s: &Sealed, how: How) -> Result<Output, SealError> {
    match how {
        How::Object => {
            let key = WebCryptoAead.import_study_key(s.key.clone()).await?; // stream API
            Ok(Output::Whole(open_object(&key, &s.id, &s.sealed).await?)) // stream API
        }
        How::Chunks { in_flight } => {
            let key = WebCryptoAead.import_study_key(s.key.clone()).await?; // stream API
            let opener = ObjectOpener::new(&key, &s.id, &s.sealed).await?; // stream API
            let layout = *opener.layout();
            let opener = &opener;
            let chunks = stream::iter(0..layout.chunk_count())
                .map(|i| {
                    let r = layout.chunk_range(i);
                    opener.open_chunk(i, &s.sealed[r.start as usize..r.end as usize])
                })
                .buffered(in_flight)
                .try_collect()
                .await?;
            Ok(Output::Chunks(chunks))
        }
    }
}

/// What the decomposition variants do with each decrypted chunk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Keep the ArrayBuffer in JS.
    JsBuffer,
    /// Copy it into wasm memory.
    Copy,
    /// Copy it into wasm memory, then zero the JS buffer (what `WebCryptoCipher::open_chunk` does).
    CopyAndZero,
}

/// The object key imported raw into WebCrypto (non-extractable, decrypt only), as the decomposition
/// and prototype variants use it.
async fn import_object_key(subtle: &web_sys::SubtleCrypto, s: &Sealed) -> Result<CryptoKey, JsValue> {
    let okey = s.key.object_key(&s.id);
    let raw = Uint8Array::from(&okey[..]);
    let usages: js_sys::Array = [JsValue::from_str("decrypt")].into_iter().collect();
    let p = subtle.import_key_with_str("raw", &raw, "AES-GCM", false, &usages)?;
    raw.fill(0, 0, 32);
    Ok(JsFuture::from(p).await?.unchecked_into())
}

/// The WebCrypto calls of `WebCryptoCipher` made directly, bypassing the stream code: an object
/// key imported raw (non-extractable), one sequential `decrypt` per chunk on a view of wasm memory.
async fn webcrypto_from_wasm(s: &Sealed, keep: Keep) -> Result<Output, JsValue> {
    let subtle = subtle()?;
    let key = import_object_key(&subtle, s).await?;
    let header = &s.sealed[..obscura_seal::HEADER_LEN];
    let (mut js, mut plain) = (Vec::new(), Vec::new());
    for i in 0..s.layout.chunk_count() {
        let r = s.layout.chunk_range(i);
        let nonce = chunk_nonce(i, s.layout.is_last(i));
        let algo = js_object(&[
            ("name", "AES-GCM".into()),
            ("iv", Uint8Array::from(&nonce[..]).into()),
            ("additionalData", Uint8Array::from(header).into()),
            ("tagLength", 128.into()),
        ]);
        let p = subtle.decrypt_with_object_and_u8_array(&algo, &key, &s.sealed[r.start as usize..r.end as usize])?;
        let buf = JsFuture::from(p).await?;
        match keep {
            Keep::JsBuffer => js.push(buf),
            Keep::Copy | Keep::CopyAndZero => {
                let view = Uint8Array::new(&buf);
                plain.push(view.to_vec());
                if keep == Keep::CopyAndZero {
                    view.fill(0, 0, view.length());
                }
            }
        }
    }
    Ok(if keep == Keep::JsBuffer { Output::Js(js) } else { Output::Plain(plain) })
}

/// A prototype of a stream API that decrypts each chunk straight into the caller's output buffer
/// (no intermediate `Vec` per chunk, so nothing to copy again or zeroize per chunk), with
/// `in_flight` decrypts outstanding: what `open_object` would cost with such an API. Bench-local,
/// bypasses the stream code; the JS buffer is still zeroed after the copy.
async fn webcrypto_into_output(s: &Sealed, in_flight: usize) -> Result<Output, JsValue> {
    let subtle = subtle()?;
    let key = import_object_key(&subtle, s).await?;
    let header = Uint8Array::from(&s.sealed[..obscura_seal::HEADER_LEN]);
    let mut out = Zeroizing::new(vec![0u8; s.layout.plaintext_len() as usize]);
    let mut chunks = stream::iter(0..s.layout.chunk_count())
        .map(|i| {
            let r = s.layout.chunk_range(i);
            let nonce = chunk_nonce(i, s.layout.is_last(i));
            let algo = js_object(&[
                ("name", "AES-GCM".into()),
                ("iv", Uint8Array::from(&nonce[..]).into()),
                ("additionalData", header.clone().into()),
                ("tagLength", 128.into()),
            ]);
            let p = subtle.decrypt_with_object_and_u8_array(&algo, &key, &s.sealed[r.start as usize..r.end as usize]);
            async move { JsFuture::from(p?).await.map(|b| (i, b)) }
        })
        .buffered(in_flight);
    while let Some(next) = chunks.next().await {
        let (i, buf) = next?;
        let p = s.layout.chunk_plaintext_range(i);
        let view = Uint8Array::new(&buf);
        if u64::from(view.length()) != p.end - p.start {
            return Err(JsValue::from_str("chunk length"));
        }
        view.copy_to(&mut out[p.start as usize..p.end as usize]);
        view.fill(0, 0, view.length());
    }
    Ok(Output::Whole(out))
}

/// Makes a `len`-byte pseudo-random object and seals it with `chunk_size`-byte chunks.
#[wasm_bindgen]
pub fn prepare(len: u32, chunk_size: u32) -> Result<(), JsValue> {
    let key = StudyKey::generate(&mut OsRng);
    let id = ObjectId::generate(&mut OsRng);
    let mut plaintext = vec![0u8; len as usize];
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    for c in plaintext.chunks_mut(8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let v = x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
        c.copy_from_slice(&v[..c.len()]);
    }
    let sealed = seal_object(&key, &id, &plaintext, chunk_size).map_err(err)?;
    let layout = obscura_seal::ObjectHeader::parse(&sealed).and_then(|h| h.layout()).map_err(err)?;
    STATE.with(|s| *s.borrow_mut() = Some(Rc::new(Sealed { key, id, plaintext, sealed, layout })));
    Ok(())
}

/// A copy of the sealed object in the JS heap (for the raw path).
#[wasm_bindgen]
pub fn sealed() -> Result<Uint8Array, JsValue> {
    Ok(Uint8Array::from(&state()?.sealed[..]))
}

/// The raw object key, `HKDF(salt = object id, ikm = study key, info = "obscura/v1/object-key")`
/// (bench only: lets the raw path import the same key).
#[wasm_bindgen(js_name = objectKey)]
pub fn object_key() -> Result<Vec<u8>, JsValue> {
    let s = state()?;
    Ok(s.key.object_key(&s.id).to_vec())
}

/// The raw study key (bench only: lets the raw path derive the object key with WebCrypto HKDF).
#[wasm_bindgen(js_name = studyKey)]
pub fn study_key() -> Result<Vec<u8>, JsValue> {
    Ok(state()?.key.as_bytes().to_vec())
}

/// The object id (the HKDF salt).
#[wasm_bindgen(js_name = objectId)]
pub fn object_id() -> Result<Vec<u8>, JsValue> {
    Ok(state()?.id.0.to_vec())
}

/// Runs one variant and returns the plaintext bytes it produced (kept until [`release`]).
#[wasm_bindgen]
pub async fn run(variant: String) -> Result<f64, JsValue> {
    let s = state()?;
    let out = match variant.as_str() {
        "ours-object" => open_with_stream_code(&s, How::Object).await.map_err(err)?,
        "ours-chunks" => open_with_stream_code(&s, How::Chunks { in_flight: 1 }).await.map_err(err)?,
        "ours-chunks-pipelined" => open_with_stream_code(&s, How::Chunks { in_flight: 4 }).await.map_err(err)?,
        "wasm-decrypt" => webcrypto_from_wasm(&s, Keep::JsBuffer).await?,
        "wasm-decrypt-copy" => webcrypto_from_wasm(&s, Keep::Copy).await?,
        "wasm-decrypt-copy-zero" => webcrypto_from_wasm(&s, Keep::CopyAndZero).await?,
        "proto-into-output" => webcrypto_into_output(&s, 1).await?,
        "proto-into-output-pipelined" => webcrypto_into_output(&s, 4).await?,
        other => return Err(JsValue::from_str(&format!("unknown variant {other}"))),
    };
    let n = out.len();
    LAST.with(|l| *l.borrow_mut() = Some(out));
    Ok(n as f64)
}

fn now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}

/// Main-thread costs our path adds to the WebCrypto work, each over the whole object in chunk-sized
/// pieces (milliseconds, no WebCrypto involved): zeroing a chunk's JS buffer (`fill(0)`), copying it
/// into a new wasm `Vec` (`to_vec`), appending it to the output (`extend_from_slice`), zeroizing the
/// per-chunk `Vec` (`Zeroizing` drop), and zeroizing the whole output (as `zeroize` does it for bytes,
/// one volatile byte store at a time, and, for comparison, as volatile `u64` stores).
#[wasm_bindgen(js_name = mainThreadCosts)]
pub fn main_thread_costs() -> Result<js_sys::Object, JsValue> {
    let s = state()?;
    let cs = s.layout.chunk_size() as usize;
    let total = s.plaintext.len();
    let chunks = s.layout.chunk_count() as usize;
    let js = Uint8Array::new_with_length(cs as u32);
    js.copy_from(&s.plaintext[..cs.min(total)]);

    let t = now();
    for _ in 0..chunks {
        js.fill(0, 0, js.length());
    }
    let fill = now() - t;

    let t = now();
    let mut pieces = Vec::with_capacity(chunks);
    for _ in 0..chunks {
        pieces.push(js.to_vec());
    }
    let to_vec = now() - t;

    let t = now();
    let mut out = Vec::with_capacity(total);
    for p in &pieces {
        out.extend_from_slice(p);
    }
    let extend = now() - t;

    let mut pieces: Vec<Zeroizing<Vec<u8>>> = pieces.into_iter().map(Zeroizing::new).collect();
    let t = now();
    for p in pieces.iter_mut() {
        zeroize::Zeroize::zeroize(&mut **p);
    }
    let zeroize_chunks = now() - t;

    let t = now();
    let (head, words, tail) = bytemuck::pod_align_to_mut::<u8, u64>(&mut out);
    zeroize::Zeroize::zeroize(head);
    zeroize::Zeroize::zeroize(words);
    zeroize::Zeroize::zeroize(tail);
    let zeroize_words = now() - t;

    let mut out = Zeroizing::new(out);
    let t = now();
    zeroize::Zeroize::zeroize(&mut *out);
    let zeroize_output = now() - t;

    Ok(js_object(&[
        ("jsFill", fill.into()),
        ("toVec", to_vec.into()),
        ("extend", extend.into()),
        ("zeroizeChunks", zeroize_chunks.into()),
        ("zeroizeOutput", zeroize_output.into()),
        ("zeroizeOutputWords", zeroize_words.into()),
    ]))
}

/// Drops the last run's output (zeroizing what is `Zeroizing`).
#[wasm_bindgen]
pub fn release() {
    LAST.with(|l| l.borrow_mut().take());
}

/// Whether the last run's output is the plaintext.
#[wasm_bindgen(js_name = lastMatches)]
pub fn last_matches() -> Result<bool, JsValue> {
    let s = state()?;
    Ok(LAST.with(|l| l.borrow().as_ref().map(|o| o.concat() == s.plaintext)).unwrap_or(false))
}

/// Whether `bytes` (the raw path's output, concatenated) is the plaintext.
#[wasm_bindgen(js_name = matchesPlaintext)]
pub fn matches_plaintext(bytes: &[u8]) -> Result<bool, JsValue> {
    Ok(bytes == &state()?.plaintext[..])
}

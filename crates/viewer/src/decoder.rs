//! Decoding off the main thread: a small pool of module Web Workers (`www/decode-worker.js`), each
//! running this same wasm module's [`worker_decode`], so that scrolling and drawing never wait on
//! a codec.
//!
//! Cleartext crosses into each worker and back as transferred `ArrayBuffer`s (never copied by
//! JavaScript, never stored): the decrypted object goes in, the worker zero-fills it after
//! decoding; the pixels come back and are zero-filled once copied into this module's memory
//! (docs/DECISIONS.md, "Decoding in workers"). If workers cannot start, decoding happens inline.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures_channel::oneshot;
use js_sys::{Array, Object, Uint16Array, Uint32Array, Uint8Array};
use obscura_imaging::{Attributes, DecodedImage, Frame};
use obscura_reading::cache::{CacheValue, CachedImage};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use zeroize::Zeroize;

use crate::keystore::field;
use crate::webcrypto::js_object;

/// One decoded object, ready for the renderer and the reading tools: the whole image (every
/// frame, its LUTs) and its header. Its buffers are zeroised when it is dropped or evicted.
/// (Public, with [`DecodePool`], for `cargo xtask bench pacs`, which times this decode path.)
pub struct Decoded {
    /// The image.
    pub image: CachedImage,
    /// Its header.
    pub attributes: Attributes,
}

impl Zeroize for Decoded {
    fn zeroize(&mut self) {
        self.image.zeroize();
    }
}

impl CacheValue for Decoded {
    fn byte_size(&self) -> usize {
        self.image.byte_size()
    }
}

thread_local! {
    /// How many decoded images exist in this thread (the lock checks that none is left).
    static LIVE_DECODED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many decoded images the page still holds (cache, loaders, anything).
pub fn live_decoded() -> usize {
    LIVE_DECODED.with(|n| n.get())
}

impl Decoded {
    fn new(image: CachedImage, attributes: Attributes) -> Self {
        LIVE_DECODED.with(|n| n.set(n.get() + 1));
        Decoded { image, attributes }
    }
}

impl Drop for Decoded {
    fn drop(&mut self) {
        self.zeroize();
        LIVE_DECODED.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

fn zeroize_frames(frames: &mut [Frame]) {
    for f in frames {
        match f {
            Frame::U8(v) => v.zeroize(),
            Frame::U16(v) => v.zeroize(),
            Frame::U32(v) => v.zeroize(),
        }
    }
}

/// Decodes DICOM bytes (on whatever thread this runs): the image and its header.
pub fn decode_for_display(plain: &[u8]) -> Result<Decoded, String> {
    let mut image = obscura_imaging::decode(plain).map_err(|e| format!("cannot decode the image: {e}"))?;
    if image.frames.is_empty() {
        return Err("the image has no frames".into());
    }
    let attributes = match obscura_imaging::read_attributes(plain) {
        Ok(a) => a,
        Err(e) => {
            zeroize_frames(&mut image.frames);
            return Err(format!("cannot read the image's header: {e}"));
        }
    };
    Ok(Decoded::new(CachedImage(image), attributes))
}

/// The worker side: decodes `bytes` (then zero-fills them) and returns `{header: UTF-8 JSON bytes
/// of the image without frames and of its attributes, frames: [typed arrays], kind: "u8" | "u16"
/// | "u32"}`; the caller transfers the header's and the frames' buffers.
#[wasm_bindgen(js_name = workerDecode)]
pub fn worker_decode(bytes: &Uint8Array) -> Result<JsValue, JsValue> {
    let mut plain = bytes.to_vec();
    bytes.fill(0, 0, bytes.length());
    let result = decode_for_display(&plain);
    plain.zeroize();
    let d = result.map_err(|e| JsValue::from_str(&e))?;
    // The header holds PHI: bytes that are transferred and zero-filled, never a JS string.
    let mut header_json =
        serde_json::to_vec(&(&d.image.0, &d.attributes)).map_err(|e| JsValue::from_str(&e.to_string()))?;
    let header = Uint8Array::from(&header_json[..]);
    header_json.zeroize();
    let frames = Array::new();
    let mut kind = "u16";
    for f in &d.image.0.frames {
        let array: JsValue = match f {
            Frame::U8(v) => {
                kind = "u8";
                Uint8Array::from(&v[..]).into()
            }
            Frame::U16(v) => Uint16Array::from(&v[..]).into(),
            Frame::U32(v) => {
                kind = "u32";
                Uint32Array::from(&v[..]).into()
            }
        };
        frames.push(&array);
    }
    Ok(js_object(&[("header", header.into()), ("frames", frames.into()), ("kind", kind.into())]).into())
}
type Pending = Rc<RefCell<HashMap<u32, oneshot::Sender<Result<Decoded, String>>>>>;

/// A fixed set of decode workers, used round-robin.
pub struct DecodePool {
    workers: Vec<web_sys::Worker>,
    pending: Pending,
    /// Set when a worker failed (its script did not load, or it crashed): decode inline from then on.
    broken: Rc<Cell<bool>>,
    next_worker: Cell<usize>,
    next_id: Cell<u32>,
    // keep the message handlers alive as long as the workers
    _handlers: Vec<Closure<dyn FnMut(web_sys::MessageEvent)>>,
    _error_handlers: Vec<Closure<dyn FnMut(web_sys::Event)>>,
}

fn from_reply(reply: &JsValue) -> Result<Decoded, String> {
    // Copy every frame into this module's memory and zero-fill the transferred buffers.
    let frames_js: Array = field(reply, "frames").dyn_into().map_err(|_| "decode worker sent no frames")?;
    let kind = field(reply, "kind").as_string().unwrap_or_default();
    let mut frames = Vec::with_capacity(frames_js.length() as usize);
    for f in frames_js.iter() {
        let frame = match kind.as_str() {
            "u8" => {
                let a: Uint8Array = f.dyn_into().map_err(|_| "decode worker sent a bad frame")?;
                let v = a.to_vec();
                a.fill(0, 0, a.length());
                Frame::U8(v)
            }
            "u32" => {
                let a: Uint32Array = f.dyn_into().map_err(|_| "decode worker sent a bad frame")?;
                let v = a.to_vec();
                a.fill(0, 0, a.length());
                Frame::U32(v)
            }
            _ => {
                let a: Uint16Array = f.dyn_into().map_err(|_| "decode worker sent a bad frame")?;
                let v = a.to_vec();
                a.fill(0, 0, a.length());
                Frame::U16(v)
            }
        };
        frames.push(frame);
    }
    let header: Uint8Array = field(reply, "header").dyn_into().map_err(|_| "decode worker sent no header")?;
    let mut header_json = header.to_vec();
    header.fill(0, 0, header.length());
    let parsed: Result<(DecodedImage, Attributes), _> = serde_json::from_slice(&header_json);
    header_json.zeroize();
    let (mut image, attributes) = match parsed {
        Ok(p) => p,
        Err(e) => {
            zeroize_frames(&mut frames);
            return Err(format!("decode worker sent an unreadable header: {e}"));
        }
    };
    image.frames = frames;
    Ok(Decoded::new(CachedImage(image), attributes))
}

impl DecodePool {
    /// Starts `count` workers; `None` when the browser refuses module workers.
    pub fn start(count: usize) -> Option<Self> {
        let pending: Pending = Rc::default();
        let broken = Rc::new(Cell::new(false));
        let mut workers = Vec::new();
        let mut handlers = Vec::new();
        let mut error_handlers = Vec::new();
        for _ in 0..count.max(1) {
            let opts = web_sys::WorkerOptions::new();
            opts.set_type(web_sys::WorkerType::Module);
            let worker = web_sys::Worker::new_with_options("www/decode-worker.js", &opts).ok()?;
            let pending_for_worker = pending.clone();
            let handler = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                let data = e.data();
                let Some(id) = field(&data, "id").as_f64() else { return };
                let Some(tx) = pending_for_worker.borrow_mut().remove(&(id as u32)) else { return };
                let result = if field(&data, "ok").as_bool() == Some(true) {
                    from_reply(&field(&data, "image"))
                } else {
                    Err(field(&data, "error").as_string().unwrap_or_else(|| "the decode worker failed".into()))
                };
                let _ = tx.send(result);
            });
            worker.set_onmessage(Some(handler.as_ref().unchecked_ref()));
            let (pending_for_error, broken_for_error) = (pending.clone(), broken.clone());
            let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| {
                broken_for_error.set(true);
                // every waiting slice is told, and decodes inline instead
                pending_for_error.borrow_mut().clear();
            });
            worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            workers.push(worker);
            handlers.push(handler);
            error_handlers.push(on_error);
        }
        Some(DecodePool {
            workers,
            pending,
            broken,
            next_worker: Cell::new(0),
            next_id: Cell::new(0),
            _handlers: handlers,
            _error_handlers: error_handlers,
        })
    }

    /// Whether the pool can no longer be used (decode inline instead).
    pub fn is_broken(&self) -> bool {
        self.broken.get()
    }

    /// Decodes a copy of `plain` in a worker (the caller zeroises `plain`). `Err(None)` when
    /// the worker failed (the caller decodes inline), `Err(Some(message))` when the image does not
    /// decode.
    pub async fn decode(&self, plain: &[u8]) -> Result<Decoded, Option<String>> {
        let id = self.next_id.get().wrapping_add(1);
        self.next_id.set(id);
        let (tx, rx) = oneshot::channel();
        self.pending.borrow_mut().insert(id, tx);
        let bytes = Uint8Array::from(plain);
        let buffer = bytes.buffer();
        let message: Object = js_object(&[("id", id.into()), ("bytes", buffer.clone().into())]);
        let worker = &self.workers[self.next_worker.get() % self.workers.len()];
        self.next_worker.set(self.next_worker.get().wrapping_add(1));
        if let Err(e) = worker.post_message_with_transfer(&message, &Array::of1(&buffer)) {
            self.pending.borrow_mut().remove(&id);
            bytes.fill(0, 0, bytes.length());
            let _ = crate::webcrypto::js_error(e);
            self.broken.set(true);
            return Err(None);
        }
        // a dropped sender means the worker failed, not the image
        rx.await.map_err(|_| None)?.map_err(Some)
    }
}

/// Slices the viewer fetches and decodes at once (its loaders).
pub const LOADERS: usize = 4;

thread_local! {
    static SHARED_POOL: RefCell<Option<Option<Rc<DecodePool>>>> = const { RefCell::new(None) };
}

/// The page's decode workers: started on first use, one per spare core and at most one per
/// loader (`None` when the browser refused them).
pub fn shared_pool() -> Option<Rc<DecodePool>> {
    SHARED_POOL.with(|p| {
        p.borrow_mut()
            .get_or_insert_with(|| {
                let cores = web_sys::window().map_or(2.0, |w| w.navigator().hardware_concurrency()) as usize;
                DecodePool::start(cores.saturating_sub(1).clamp(1, LOADERS)).map(Rc::new)
            })
            .clone()
    })
}

/// Decodes in a worker of the shared pool; here, on the page, when workers are unavailable.
pub async fn decode(plain: &[u8]) -> Result<Decoded, String> {
    if let Some(pool) = shared_pool().filter(|p| !p.is_broken()) {
        match pool.decode(plain).await {
            Ok(d) => return Ok(d),
            Err(Some(message)) => return Err(message),
            Err(None) => {} // the worker failed: decode here
        }
    }
    decode_for_display(plain)
}

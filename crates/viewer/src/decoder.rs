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
use js_sys::{Array, Object, Reflect, Uint16Array, Uint8Array};
use obscura_imaging::Window;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use zeroize::Zeroize;

use crate::keystore::field;
use crate::webcrypto::js_object;

/// One decoded slice, ready for the renderer. Its pixels are zeroised when it is dropped.
/// (Public, with [`DecodePool`], for `cargo xtask bench pacs`, which times this decode path.)
pub struct Decoded {
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Stored values (16-bit; signed ones as their two's-complement bits).
    pub pixels: Vec<u16>,
    /// Whether the stored values are signed.
    pub signed: bool,
    /// Rescale Slope.
    pub slope: f32,
    /// Rescale Intercept.
    pub intercept: f32,
    /// The file's first VOI window, if any.
    pub window: Option<Window>,
}

impl Drop for Decoded {
    fn drop(&mut self) {
        self.pixels.zeroize();
    }
}

/// Decodes DICOM bytes (on whatever thread this runs) into what the renderer displays.
pub fn decode_for_display(plain: &[u8]) -> Result<Decoded, String> {
    let image = obscura_imaging::decode(plain).map_err(|e| format!("cannot decode the image: {e}"))?;
    if image.frames.is_empty() {
        return Err("the image has no frames".into());
    }
    let pixels = image.gray16(0).ok_or(
        "colour, palette and 32-bit images are not displayed yet (the pixels decode; display comes with the reading-room tools)",
    )?;
    let decoded = Decoded {
        width: image.columns,
        height: image.rows,
        pixels,
        signed: image.signed,
        slope: image.rescale_slope as f32,
        intercept: image.rescale_intercept as f32,
        window: image.window(),
    };
    let mut image = image;
    for f in &mut image.frames {
        match f {
            obscura_imaging::Frame::U8(v) => v.zeroize(),
            obscura_imaging::Frame::U16(v) => v.zeroize(),
            obscura_imaging::Frame::U32(v) => v.zeroize(),
        }
    }
    Ok(decoded)
}

/// The worker side: decodes `bytes` (then zero-fills them) and returns `{width, height, signed,
/// slope, intercept, center?, width_w?, pixels: Uint16Array}`; the caller transfers `pixels`.
#[wasm_bindgen(js_name = workerDecode)]
pub fn worker_decode(bytes: &Uint8Array) -> Result<JsValue, JsValue> {
    let mut plain = bytes.to_vec();
    bytes.fill(0, 0, bytes.length());
    let result = decode_for_display(&plain);
    plain.zeroize();
    let d = result.map_err(|e| JsValue::from_str(&e))?;
    let pixels = Uint16Array::from(&d.pixels[..]);
    let obj = js_object(&[
        ("width", d.width.into()),
        ("height", d.height.into()),
        ("signed", d.signed.into()),
        ("slope", d.slope.into()),
        ("intercept", d.intercept.into()),
        ("pixels", pixels.into()),
    ]);
    if let Some(w) = d.window {
        Reflect::set(&obj, &"center".into(), &w.center.into())?;
        Reflect::set(&obj, &"windowWidth".into(), &w.width.into())?;
    }
    Ok(obj.into())
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

fn from_reply(image: &JsValue) -> Result<Decoded, String> {
    let num = |name: &str| field(image, name).as_f64();
    let pixels: Uint16Array = field(image, "pixels").dyn_into().map_err(|_| "decode worker sent no pixels")?;
    let copied = pixels.to_vec();
    pixels.fill(0, 0, pixels.length());
    let window = match (num("center"), num("windowWidth")) {
        (Some(c), Some(w)) => Some(Window { center: c, width: w }),
        _ => None,
    };
    Ok(Decoded {
        width: num("width").unwrap_or(0.0) as u32,
        height: num("height").unwrap_or(0.0) as u32,
        pixels: copied,
        signed: field(image, "signed").as_bool().unwrap_or(false),
        slope: num("slope").unwrap_or(1.0) as f32,
        intercept: num("intercept").unwrap_or(0.0) as f32,
        window,
    })
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

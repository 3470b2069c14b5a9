//! The decode side of `cargo xtask bench codecs`: `www/codecs.js` hands each DICOM Part 10 file to
//! [`decode_dicom`], which parses and decodes it with `obscura_imaging::decode` (what the viewer
//! does with each decrypted file), and reads the stored values back with
//! [`decoded_stored_values`] (outside the timing) to compare them with Cornerstone's output.

use std::cell::RefCell;

use js_sys::Int32Array;
use obscura_imaging::{decode, DecodedImage};
use wasm_bindgen::prelude::*;

thread_local! {
    static DECODED: RefCell<Option<DecodedImage>> = const { RefCell::new(None) };
}

/// Parses and decodes one DICOM Part 10 file (copied into wasm memory by the binding, as the
/// viewer's decrypted bytes are in wasm memory), keeps the image for [`decoded_stored_values`]
/// and returns its number of frames. The error is the `ImagingError` text (e.g. for a transfer
/// syntax this build does not decode yet).
#[wasm_bindgen(js_name = decodeDicom)]
pub fn decode_dicom(bytes: &[u8]) -> Result<u32, JsValue> {
    DECODED.with(|d| d.borrow_mut().take());
    let image = decode(bytes).map_err(|e| JsValue::from_str(&e.to_string()))?;
    let frames = image.frames.len() as u32;
    DECODED.with(|d| *d.borrow_mut() = Some(image));
    Ok(frames)
}

/// The stored values of frame 0 of the last [`decode_dicom`], with the image's signedness
/// (samples interleaved for colour).
#[wasm_bindgen(js_name = decodedStoredValues)]
pub fn decoded_stored_values() -> Result<Int32Array, JsValue> {
    DECODED.with(|d| {
        let d = d.borrow();
        let image = d.as_ref().ok_or_else(|| JsValue::from_str("call decodeDicom() first"))?;
        let n = image.frames.first().map_or(0, |f| f.len());
        let values: Vec<i32> = (0..n).map(|i| image.stored_value(0, i) as i32).collect();
        Ok(Int32Array::from(&values[..]))
    })
}

//! Pixel decoding: DICOM Part 10 bytes to each frame's stored values, with everything the
//! display pipeline needs (rescale, Modality / VOI LUTs, windows, palette).

use std::error::Error as StdError;

use dicom_core::value::Value as DicomValue;
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;
use dicom_object::{DefaultDicomObject, OpenFileOptions};

use crate::codec::{frame_codestreams, Codec};
use crate::lut::{self, Lut, Palette};
use crate::pixel_module::{PixelModule, SourcePhotometric};
use crate::samples;
use crate::ImagingError;

/// Largest decoded image (all frames) this decoder will allocate, in bytes.
///
/// A browser tab dies at about 1–1.5 GB; anything larger is either a corrupt
/// header or an object the gateway must split.
pub const MAX_DECODED_BYTES: u64 = 1 << 30;

/// Photometric interpretation of a [`DecodedImage`], after decoding.
///
/// YBR colour (YBR_FULL, YBR_FULL_422, YBR_RCT, YBR_ICT) is delivered converted to RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Photometric {
    /// Grayscale, minimum value displayed white (invert after VOI).
    Monochrome1,
    /// Grayscale, minimum value displayed black.
    Monochrome2,
    /// Interleaved RGB samples.
    Rgb,
    /// One index per pixel into the image's [`Palette`].
    PaletteColor,
}

/// A VOI window (Window Center / Window Width), in modality units (e.g. HU).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Window {
    /// Window Center (0028,1050).
    pub center: f64,
    /// Window Width (0028,1051), > 0.
    pub width: f64,
}

/// VOI LUT Function (0028,1056): how a window maps modality values to output (PS3.3 C.11.2.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum VoiFunction {
    /// `LINEAR` (the default): the DICOM linear function with its half-value offsets.
    #[default]
    Linear,
    /// `LINEAR_EXACT`: a straight line from `center − width/2` to `center + width/2`.
    LinearExact,
    /// `SIGMOID`: `1 / (1 + exp(−4 (x − center) / width))`.
    Sigmoid,
}

/// Presentation LUT Shape (2050,0020) of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PresentationLutShape {
    /// `IDENTITY`: VOI output is shown as it is (MONOCHROME2 polarity).
    Identity,
    /// `INVERSE`: VOI output is inverted.
    Inverse,
}

/// One decoded frame: stored values at the width of BitsAllocated (BitsAllocated 1 → one byte
/// 0/1 per pixel), samples interleaved per pixel, row-major.
///
/// Each value holds the BitsStored bits of the stored value (shifted down from HighBit, the
/// unused high bits masked off) and, when the image is signed, sign-extended to the container
/// (an `i16` value `v` is stored as `v as u16`).
#[derive(Clone, PartialEq, Eq)]
pub enum Frame {
    /// BitsAllocated 1 or 8.
    U8(Vec<u8>),
    /// BitsAllocated 16.
    U16(Vec<u16>),
    /// BitsAllocated 32.
    U32(Vec<u32>),
}

impl Frame {
    /// Number of samples in this frame.
    pub fn len(&self) -> usize {
        match self {
            Frame::U8(v) => v.len(),
            Frame::U16(v) => v.len(),
            Frame::U32(v) => v.len(),
        }
    }

    /// Whether the frame holds no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw container value of sample `index` (no sign interpretation).
    fn raw(&self, index: usize) -> Option<u32> {
        match self {
            Frame::U8(v) => v.get(index).map(|&x| u32::from(x)),
            Frame::U16(v) => v.get(index).map(|&x| u32::from(x)),
            Frame::U32(v) => v.get(index).copied(),
        }
    }
}

impl std::fmt::Debug for Frame {
    // Never print pixel data (it is patient data and large).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Frame::U8(v) => write!(f, "U8(<{} samples>)", v.len()),
            Frame::U16(v) => write!(f, "U16(<{} samples>)", v.len()),
            Frame::U32(v) => write!(f, "U32(<{} samples>)", v.len()),
        }
    }
}

/// A decoded DICOM image: geometry, value interpretation and frames.
///
/// It serialises (serde) without its frames: a viewer sends the header part between threads as
/// data and moves the pixel buffers separately.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DecodedImage {
    /// Rows (height in pixels).
    pub rows: u32,
    /// Columns (width in pixels).
    pub columns: u32,
    /// 1 for grayscale and palette images, 3 for RGB.
    pub samples_per_pixel: u16,
    /// Photometric interpretation of the frames.
    pub photometric: Photometric,
    /// Bits Allocated (0028,0100): the width of one stored value (1, 8, 16 or 32).
    pub bits_allocated: u16,
    /// Bits Stored (0028,0101).
    pub bits_stored: u16,
    /// Whether stored values are signed (Pixel Representation 1).
    pub signed: bool,
    /// Rescale Slope (0028,1053), 1 when absent.
    pub rescale_slope: f64,
    /// Rescale Intercept (0028,1052), 0 when absent.
    pub rescale_intercept: f64,
    /// Modality LUT Sequence (0028,3000): when present it replaces the rescale.
    pub modality_lut: Option<Lut>,
    /// Every Window Center / Width pair of the object, in order (the first is the default).
    pub windows: Vec<Window>,
    /// VOI LUT Function (0028,1056) of the windows.
    pub voi_function: VoiFunction,
    /// VOI LUT Sequence (0028,3010) items: used when the object has no window.
    pub voi_luts: Vec<Lut>,
    /// Presentation LUT Shape (2050,0020), when the object has one.
    pub presentation_lut_shape: Option<PresentationLutShape>,
    /// The Palette Color LUTs of a [`Photometric::PaletteColor`] image.
    pub palette: Option<Palette>,
    /// The frames, in order.
    #[serde(skip)]
    pub frames: Vec<Frame>,
}

impl DecodedImage {
    /// Number of pixels in one frame (`rows × columns`).
    pub fn pixel_count(&self) -> usize {
        self.rows as usize * self.columns as usize
    }

    /// The first window of the object, if any.
    pub fn window(&self) -> Option<Window> {
        self.windows.first().copied()
    }

    /// Stored value at sample `index` of `frame`, interpreted with the image's signedness, or
    /// `None` if `frame` or `index` is out of range.
    ///
    /// For gray and palette frames `index` is a pixel index (`row * columns + column`); for RGB
    /// frames it is a sample index into the interleaved samples.
    pub fn get_stored_value(&self, frame: usize, index: usize) -> Option<i64> {
        let raw = self.frames.get(frame)?.raw(index)?;
        Some(if !self.signed {
            i64::from(raw)
        } else {
            match self.bits_allocated {
                8 => i64::from(raw as u8 as i8),
                16 => i64::from(raw as u16 as i16),
                32 => i64::from(raw as i32),
                _ => i64::from(raw),
            }
        })
    }

    /// Frame `frame`'s stored values as bytes at their native width, little endian (the
    /// output of `obscura decode`). `None` if `frame` is out of range.
    pub fn stored_bytes(&self, frame: usize) -> Option<Vec<u8>> {
        Some(match self.frames.get(frame)? {
            Frame::U8(v) => v.clone(),
            Frame::U16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Frame::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        })
    }

    /// Stored value at `index` of `frame` (see [`get_stored_value`](Self::get_stored_value)).
    ///
    /// # Panics
    /// If `frame` or `index` is out of range, like slice indexing.
    pub fn stored_value(&self, frame: usize, index: usize) -> i64 {
        self.get_stored_value(frame, index).unwrap_or_else(|| {
            panic!(
                "stored_value({frame}, {index}) out of range ({} frames of {} samples)",
                self.frames.len(),
                self.frames.first().map_or(0, Frame::len)
            )
        })
    }

    /// Modality value (Modality LUT, or `stored × slope + intercept`: e.g. Hounsfield units)
    /// at `index` of `frame`.
    ///
    /// # Panics
    /// If `frame` or `index` is out of range.
    pub fn modality_value(&self, frame: usize, index: usize) -> f64 {
        self.to_modality(self.stored_value(frame, index))
    }

    /// Applies the Modality LUT or the rescale to a stored value.
    pub fn to_modality(&self, stored: i64) -> f64 {
        match &self.modality_lut {
            Some(l) => f64::from(l.lookup(stored)),
            None => stored as f64 * self.rescale_slope + self.rescale_intercept,
        }
    }

    /// The object's first window, or one spanning the modality value range of `frame` when the
    /// object has none (for colour: the full range of the samples).
    pub fn window_or_auto(&self, frame: usize) -> Window {
        if let Some(w) = self.window() {
            return w;
        }
        if self.photometric == Photometric::Rgb || self.photometric == Photometric::PaletteColor {
            let top = ((1u64 << self.bits_stored.min(32)) - 1) as f64;
            return Window { center: top / 2.0, width: top.max(1.0) };
        }
        match self.modality_range(frame) {
            Some((lo, hi)) => Window { center: (lo + hi) / 2.0, width: (hi - lo).max(1.0) },
            None => Window { center: 0.0, width: 1.0 },
        }
    }

    /// The modality values (Modality LUT or rescale) of the smallest and largest stored value of
    /// gray frame `frame`: the frame's value range for a monotonic transform. `None` for colour and palette images and an empty or missing frame.
    pub fn modality_range(&self, frame: usize) -> Option<(f64, f64)> {
        if !matches!(self.photometric, Photometric::Monochrome1 | Photometric::Monochrome2) {
            return None;
        }
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for i in 0..self.frames.get(frame).map_or(0, Frame::len) {
            if let Some(s) = self.get_stored_value(frame, i) {
                lo = lo.min(s);
                hi = hi.max(s);
            }
        }
        if lo > hi {
            return None;
        }
        // the mapped extremes: a negative slope or a decreasing Modality LUT swaps them
        let (a, b) = (self.to_modality(lo), self.to_modality(hi));
        Some((a.min(b), a.max(b)))
    }

    /// Frame `frame` of a gray image with BitsAllocated ≤ 16 as 16-bit patterns (8-bit values
    /// widened, sign-extended when signed): what the renderer's 16-bit texture takes. `None` for
    /// colour, palette and 32-bit images.
    pub fn gray16(&self, frame: usize) -> Option<Vec<u16>> {
        if !matches!(self.photometric, Photometric::Monochrome1 | Photometric::Monochrome2) {
            return None;
        }
        self.values16(frame).map(std::borrow::Cow::into_owned)
    }

    /// Frame `frame` of a one-sample image (gray or palette) with BitsAllocated ≤ 16 as 16-bit
    /// patterns: borrowed when the frame is 16-bit, else 8-bit values widened (sign-extended when
    /// signed). `None` for RGB, 32-bit images and a missing frame.
    pub fn values16(&self, frame: usize) -> Option<std::borrow::Cow<'_, [u16]>> {
        use std::borrow::Cow;
        if self.samples_per_pixel != 1 {
            return None;
        }
        match self.frames.get(frame)? {
            Frame::U8(v) if self.signed => Some(Cow::Owned(v.iter().map(|&x| x as i8 as i16 as u16).collect())),
            Frame::U8(v) => Some(Cow::Owned(v.iter().map(|&x| u16::from(x)).collect())),
            Frame::U16(v) => Some(Cow::Borrowed(v)),
            Frame::U32(_) => None,
        }
    }
}

/// Render an error and its sources as one line.
pub(crate) fn error_chain(e: &dyn StdError) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let msg = src.to_string();
        if !s.contains(&msg) {
            s.push_str(": ");
            s.push_str(&msg);
        }
        cur = src.source();
    }
    s
}

fn has_dicm_magic(bytes: &[u8]) -> bool {
    (bytes.len() >= 132 && &bytes[128..132] == b"DICM") || bytes.starts_with(b"DICM")
}

/// Parse DICOM Part 10 bytes (with or without the 128-byte preamble).
///
/// With `header_only`, stop before Pixel Data.
pub(crate) fn open(bytes: &[u8], header_only: bool) -> Result<DefaultDicomObject, ImagingError> {
    if !has_dicm_magic(bytes) {
        return Err(ImagingError::NotDicom {
            detail: format!("no DICM magic at byte 128 or 0 in {} bytes", bytes.len()),
        });
    }
    crate::guard::check(bytes, header_only)?;
    let opts = OpenFileOptions::new();
    let opts = if header_only { opts.read_until(tags::PIXEL_DATA) } else { opts };
    match opts.from_reader(bytes) {
        Ok(obj) => Ok(obj),
        Err(e) => {
            let detail = error_chain(&e);
            if !header_only && OpenFileOptions::new().read_until(tags::PIXEL_DATA).from_reader(bytes).is_ok() {
                Err(ImagingError::Truncated { detail })
            } else {
                Err(ImagingError::NotDicom { detail })
            }
        }
    }
}

fn floats(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Vec<f64> {
    obj.get(tag)
        .and_then(|e| e.to_multi_float64().ok())
        .map(|v| v.into_iter().filter(|x| x.is_finite()).collect())
        .unwrap_or_default()
}

fn code_string(obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_matches(|c: char| c == ' ' || c == '\0').to_ascii_uppercase())
        .unwrap_or_default()
}

/// The first item of a sequence.
fn first_item(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<&InMemDicomObject> {
    match obj.get(tag)?.value() {
        DicomValue::Sequence(s) => s.items().first(),
        _ => None,
    }
}

/// Rescale, windows and VOI function: from the top level, else from the Shared Functional Groups
/// of an enhanced multi-frame object (per-frame values are not applied).
struct ValueTransforms {
    slope: f64,
    intercept: f64,
    windows: Vec<Window>,
    voi_function: VoiFunction,
}

fn value_transforms(obj: &InMemDicomObject) -> ValueTransforms {
    let shared = first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let rescale_src = if obj.get(tags::RESCALE_SLOPE).is_some() || obj.get(tags::RESCALE_INTERCEPT).is_some() {
        Some(obj)
    } else {
        shared.and_then(|s| first_item(s, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE))
    };
    let (slope, intercept) = rescale_src
        .map(|o| {
            let s = floats(o, tags::RESCALE_SLOPE).first().copied().unwrap_or(1.0);
            let i = floats(o, tags::RESCALE_INTERCEPT).first().copied().unwrap_or(0.0);
            if s == 0.0 {
                (1.0, 0.0)
            } else {
                (s, i)
            }
        })
        .unwrap_or((1.0, 0.0));
    let voi_src = if obj.get(tags::WINDOW_CENTER).is_some() {
        Some(obj)
    } else {
        shared.and_then(|s| first_item(s, tags::FRAME_VOILUT_SEQUENCE))
    };
    let (windows, voi_function) = voi_src
        .map(|o| {
            let centers = floats(o, tags::WINDOW_CENTER);
            let widths = floats(o, tags::WINDOW_WIDTH);
            let windows = centers
                .iter()
                .zip(&widths)
                .filter(|(_, &w)| w > 0.0)
                .map(|(&center, &width)| Window { center, width })
                .collect();
            let f = match code_string(o, tags::VOILUT_FUNCTION).as_str() {
                "LINEAR_EXACT" => VoiFunction::LinearExact,
                "SIGMOID" => VoiFunction::Sigmoid,
                _ => VoiFunction::Linear,
            };
            (windows, f)
        })
        .unwrap_or_default();
    ValueTransforms { slope, intercept, windows, voi_function }
}

/// Decode DICOM Part 10 bytes to each frame's stored values.
///
/// Accepts files with or without the 128-byte preamble. Transfer syntaxes: Implicit / Explicit VR
/// Little Endian, Explicit VR Big Endian, Deflated, RLE Lossless and the JPEG family (see the
/// crate documentation for the list this build decodes).
///
/// # Errors
/// A typed [`ImagingError`] for anything that is not a decodable image; this
/// function is not meant to panic on any input.
pub fn decode(bytes: &[u8]) -> Result<DecodedImage, ImagingError> {
    let obj = open(bytes, false)?;
    decode_object(&obj)
}

/// Decode an already parsed DICOM object (see [`decode`]).
///
/// # Errors
/// As [`decode`].
pub fn decode_object(obj: &DefaultDicomObject) -> Result<DecodedImage, ImagingError> {
    let pixel_data = obj.get(tags::PIXEL_DATA).ok_or(ImagingError::MissingPixelData)?;
    let pm = PixelModule::read(obj)?;
    let total = pm.decoded_frame_bytes() * u64::from(pm.frames);
    if total > MAX_DECODED_BYTES {
        return Err(ImagingError::TooLarge { bytes: total, limit: MAX_DECODED_BYTES });
    }
    let ts_uid = obj.meta().transfer_syntax().trim_end_matches(['\0', ' ']).to_string();
    let decode_err = |detail: String| ImagingError::Decode { transfer_syntax: ts_uid.clone(), detail };

    let mut frames = Vec::with_capacity(pm.frames as usize);
    let mut ybr = pm.photometric.is_ybr();
    match pixel_data.value() {
        DicomValue::Primitive(p) => {
            if matches!(pm.photometric, SourcePhotometric::YbrRct | SourcePhotometric::YbrIct) {
                return Err(ImagingError::InvalidAttribute {
                    name: "PhotometricInterpretation",
                    detail: "YBR_RCT / YBR_ICT are only valid for JPEG 2000 pixel data".into(),
                });
            }
            let bytes = p.to_bytes();
            for i in 0..pm.frames {
                frames.push(samples::native_frame(&bytes, &pm, i)?);
            }
        }
        DicomValue::PixelSequence(seq) => {
            let codec =
                Codec::of(&ts_uid).ok_or_else(|| ImagingError::UnsupportedTransferSyntax { uid: ts_uid.clone() })?;
            let extended: Option<Vec<u64>> = obj.get(tags::EXTENDED_OFFSET_TABLE).and_then(|e| match e.value() {
                DicomValue::Primitive(p) => {
                    let b = p.to_bytes();
                    Some(b.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect())
                }
                _ => None,
            });
            let streams = frame_codestreams(codec, seq.offset_table(), extended.as_deref(), seq.fragments(), pm.frames)
                .map_err(decode_err)?;
            for (i, stream) in streams.iter().enumerate() {
                let (frame, still_ybr) =
                    codec.decode_frame(stream, &pm).map_err(|d| decode_err(format!("frame {i}: {d}")))?;
                if frame.len() as u64 != pm.frame_samples() {
                    return Err(decode_err(format!(
                        "frame {i} decodes to {} samples, the header says {}",
                        frame.len(),
                        pm.frame_samples()
                    )));
                }
                ybr = still_ybr;
                frames.push(samples::normalise(frame, &pm, false));
            }
        }
        _ => {
            return Err(ImagingError::InvalidAttribute {
                name: "PixelData",
                detail: "is a sequence of items, not pixel data".into(),
            })
        }
    }
    if ybr {
        for f in &mut frames {
            samples::ybr_frame_to_rgb(f)?;
        }
    }

    let vt = value_transforms(obj);
    let gray = matches!(pm.photometric, SourcePhotometric::Monochrome1 | SourcePhotometric::Monochrome2);
    let modality_lut = if gray { lut::modality_lut(obj, pm.signed)? } else { None };
    // a VOI LUT's input is the modality value: signed when stored values or the rescale can go negative
    let voi_signed = pm.signed || vt.intercept < 0.0 || vt.slope < 0.0;
    let voi_luts = if gray { lut::voi_luts(obj, voi_signed)? } else { Vec::new() };
    let palette =
        if pm.photometric == SourcePhotometric::PaletteColor { Some(lut::palette(obj, pm.signed)?) } else { None };
    let presentation_lut_shape = match code_string(obj, tags::PRESENTATION_LUT_SHAPE).as_str() {
        "IDENTITY" => Some(PresentationLutShape::Identity),
        "INVERSE" => Some(PresentationLutShape::Inverse),
        _ => None,
    };
    let photometric = match pm.photometric {
        SourcePhotometric::Monochrome1 => Photometric::Monochrome1,
        SourcePhotometric::Monochrome2 => Photometric::Monochrome2,
        SourcePhotometric::PaletteColor => Photometric::PaletteColor,
        _ => Photometric::Rgb,
    };
    let (rescale_slope, rescale_intercept) = if gray { (vt.slope, vt.intercept) } else { (1.0, 0.0) };
    Ok(DecodedImage {
        rows: pm.rows,
        columns: pm.columns,
        samples_per_pixel: pm.samples_per_pixel,
        photometric,
        bits_allocated: pm.bits_allocated,
        bits_stored: pm.bits_stored,
        signed: pm.signed,
        rescale_slope,
        rescale_intercept,
        modality_lut,
        windows: if gray { vt.windows } else { Vec::new() },
        voi_function: vt.voi_function,
        voi_luts,
        presentation_lut_shape,
        palette,
        frames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_or_auto_spans_values() {
        let img = DecodedImage {
            rows: 1,
            columns: 2,
            samples_per_pixel: 1,
            photometric: Photometric::Monochrome2,
            bits_allocated: 16,
            bits_stored: 16,
            signed: true,
            rescale_slope: 1.0,
            rescale_intercept: -1024.0,
            modality_lut: None,
            windows: Vec::new(),
            voi_function: VoiFunction::Linear,
            voi_luts: Vec::new(),
            presentation_lut_shape: None,
            palette: None,
            frames: vec![Frame::U16(vec![24, 2024])],
        };
        let w = img.window_or_auto(0);
        assert_eq!((w.center, w.width), (0.0, 2000.0));
        assert_eq!(img.modality_range(0), Some((-1000.0, 1000.0)));
        assert_eq!(img.modality_range(1), None);
        assert_eq!(img.get_stored_value(0, 2), None);
        assert_eq!(img.get_stored_value(1, 0), None);
        assert_eq!(img.gray16(0), Some(vec![24, 2024]));
    }
}

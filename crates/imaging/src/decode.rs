//! Pixel decoding to display-ready frames.

use std::error::Error as StdError;

use dicom_core::value::Value as DicomValue;
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use dicom_pixeldata::{PhotometricInterpretation, PixelDecoder, PlanarConfiguration};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::ImagingError;

/// Largest decoded image (all frames) this decoder will allocate, in bytes.
///
/// A browser tab dies at about 1–1.5 GB; anything larger is either a corrupt
/// header or an object the gateway must split.
pub const MAX_DECODED_BYTES: u64 = 1 << 30;

/// Photometric interpretation of a [`DecodedImage`], after decoding.
///
/// Colour images are always delivered as interleaved RGB (YBR is converted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Photometric {
    /// Grayscale, minimum value displayed white (invert after VOI).
    Monochrome1,
    /// Grayscale, minimum value displayed black.
    Monochrome2,
    /// Interleaved 8-bit RGB.
    Rgb,
}

/// A VOI window (Window Center / Window Width), in modality units (e.g. HU).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Window {
    /// Window Center (0028,1050).
    pub center: f64,
    /// Window Width (0028,1051), > 0.
    pub width: f64,
}

/// One decoded frame.
#[derive(Clone, PartialEq, Eq)]
pub enum Frame {
    /// Grayscale stored pixel values, row-major, one per pixel.
    ///
    /// Each value is the stored value as a 16-bit pattern: shifted down so the
    /// stored bits are the low `bits_stored` bits, masked, and, when the image is
    /// signed, sign-extended to 16 bits (an `i16` value `v` is stored as
    /// `v as u16`). 8-bit images are widened the same way.
    Gray16(Vec<u16>),
    /// Interleaved RGB, 3 bytes per pixel, row-major.
    Rgb8(Vec<u8>),
}

impl Frame {
    /// Number of samples (pixels for gray, bytes for RGB) in this frame.
    pub fn len(&self) -> usize {
        match self {
            Frame::Gray16(v) => v.len(),
            Frame::Rgb8(v) => v.len(),
        }
    }

    /// Whether the frame holds no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for Frame {
    // Never print pixel data (it is patient data and large).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Frame::Gray16(v) => write!(f, "Gray16(<{} samples>)", v.len()),
            Frame::Rgb8(v) => write!(f, "Rgb8(<{} bytes>)", v.len()),
        }
    }
}

/// A decoded DICOM image: geometry, value interpretation and frames.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedImage {
    /// Rows (height in pixels).
    pub rows: u32,
    /// Columns (width in pixels).
    pub columns: u32,
    /// 1 for grayscale, 3 for RGB.
    pub samples_per_pixel: u16,
    /// Photometric interpretation of the frames.
    pub photometric: Photometric,
    /// Bits Allocated (0028,0100) of the source: the width of one stored value (8 for RGB frames).
    pub bits_allocated: u16,
    /// Bits Stored (0028,0101) of the source (8 for RGB frames).
    pub bits_stored: u16,
    /// Whether gray stored values are signed (Pixel Representation 1).
    pub signed: bool,
    /// Rescale Slope (0028,1053), 1 when absent.
    pub rescale_slope: f64,
    /// Rescale Intercept (0028,1052), 0 when absent.
    pub rescale_intercept: f64,
    /// First Window Center/Width pair of the object, if any.
    pub window: Option<Window>,
    /// The frames, in order.
    pub frames: Vec<Frame>,
}

impl DecodedImage {
    /// Number of pixels in one frame (`rows × columns`).
    pub fn pixel_count(&self) -> usize {
        self.rows as usize * self.columns as usize
    }

    /// Stored value at `index` of `frame`, interpreted with the image's signedness,
    /// or `None` if `frame` or `index` is out of range.
    ///
    /// For gray frames `index` is a pixel index (`row * columns + column`); for
    /// RGB frames it is a sample index into the interleaved bytes.
    pub fn get_stored_value(&self, frame: usize, index: usize) -> Option<i32> {
        match self.frames.get(frame)? {
            Frame::Gray16(v) => {
                let raw = *v.get(index)?;
                Some(if self.signed { i32::from(raw as i16) } else { i32::from(raw) })
            }
            Frame::Rgb8(v) => v.get(index).map(|&b| i32::from(b)),
        }
    }

    /// Frame `frame`'s stored values as bytes at their native width, little endian:
    /// BitsAllocated 8 → one byte per sample, 16 → two (the signed ones as `i16`), sign-extended
    /// from BitsStored; RGB as interleaved bytes. `None` if `frame` is out of range.
    pub fn stored_bytes(&self, frame: usize) -> Option<Vec<u8>> {
        Some(match self.frames.get(frame)? {
            Frame::Gray16(v) if self.bits_allocated <= 8 => v.iter().map(|&x| x as u8).collect(),
            Frame::Gray16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Frame::Rgb8(v) => v.clone(),
        })
    }

    /// Stored value at `index` of `frame` (see [`get_stored_value`](Self::get_stored_value)).
    ///
    /// # Panics
    /// If `frame` or `index` is out of range, like slice indexing.
    pub fn stored_value(&self, frame: usize, index: usize) -> i32 {
        self.get_stored_value(frame, index).unwrap_or_else(|| {
            panic!(
                "stored_value({frame}, {index}) out of range ({} frames of {} samples)",
                self.frames.len(),
                self.frames.first().map_or(0, Frame::len)
            )
        })
    }

    /// Modality value (`stored × slope + intercept`, e.g. Hounsfield units) at
    /// `index` of `frame`.
    ///
    /// # Panics
    /// If `frame` or `index` is out of range.
    pub fn modality_value(&self, frame: usize, index: usize) -> f64 {
        self.to_modality(self.stored_value(frame, index))
    }

    /// Apply the modality rescale to a stored value.
    pub fn to_modality(&self, stored: i32) -> f64 {
        f64::from(stored) * self.rescale_slope + self.rescale_intercept
    }

    /// The object's window, or one spanning the modality value range of `frame`
    /// when the object has none (for RGB: the full 0..255 range).
    pub fn window_or_auto(&self, frame: usize) -> Window {
        if let Some(w) = self.window {
            return w;
        }
        let (lo, hi) = match self.frames.get(frame) {
            Some(Frame::Gray16(v)) if !v.is_empty() => {
                let mut lo = i32::MAX;
                let mut hi = i32::MIN;
                for &raw in v {
                    let s = if self.signed { i32::from(raw as i16) } else { i32::from(raw) };
                    lo = lo.min(s);
                    hi = hi.max(s);
                }
                let (a, b) = (self.to_modality(lo), self.to_modality(hi));
                (a.min(b), a.max(b))
            }
            _ => (0.0, 255.0),
        };
        Window { center: (lo + hi) / 2.0, width: (hi - lo).max(1.0) }
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

fn get_uint(obj: &DefaultDicomObject, tag: dicom_core::Tag, name: &'static str) -> Result<Option<u32>, ImagingError> {
    match obj.get(tag) {
        None => Ok(None),
        Some(e) if e.value().multiplicity() == 0 => Ok(None),
        Some(e) => e
            .to_int::<u32>()
            .map(Some)
            .map_err(|err| ImagingError::InvalidAttribute { name, detail: error_chain(&err) }),
    }
}

fn require_uint(obj: &DefaultDicomObject, tag: dicom_core::Tag, name: &'static str) -> Result<u32, ImagingError> {
    get_uint(obj, tag, name)?.ok_or(ImagingError::MissingAttribute { name })
}

fn invalid(name: &'static str, detail: impl Into<String>) -> ImagingError {
    ImagingError::InvalidAttribute { name, detail: detail.into() }
}

/// Image pixel module as read from the header, validated.
struct Header {
    rows: u32,
    columns: u32,
    samples_per_pixel: u16,
    bits_allocated: u16,
    bits_stored: u16,
    high_bit: u16,
    signed: bool,
    frames: u32,
}

impl Header {
    fn read(obj: &DefaultDicomObject) -> Result<Self, ImagingError> {
        let rows = require_uint(obj, tags::ROWS, "Rows")?;
        let columns = require_uint(obj, tags::COLUMNS, "Columns")?;
        let spp = get_uint(obj, tags::SAMPLES_PER_PIXEL, "SamplesPerPixel")?.unwrap_or(1);
        let ba = require_uint(obj, tags::BITS_ALLOCATED, "BitsAllocated")?;
        let bs = get_uint(obj, tags::BITS_STORED, "BitsStored")?.unwrap_or(ba);
        let hb = get_uint(obj, tags::HIGH_BIT, "HighBit")?.unwrap_or(bs.saturating_sub(1));
        let pr = get_uint(obj, tags::PIXEL_REPRESENTATION, "PixelRepresentation")?.unwrap_or(0);
        let frames = get_uint(obj, tags::NUMBER_OF_FRAMES, "NumberOfFrames")?.unwrap_or(1);

        if rows == 0 || columns == 0 {
            return Err(invalid("Rows", format!("image is {rows}×{columns} pixels")));
        }
        if spp != 1 && spp != 3 {
            return Err(ImagingError::UnsupportedImage {
                detail: format!("SamplesPerPixel {spp} (only 1 and 3 are supported)"),
            });
        }
        if ba != 8 && ba != 16 {
            return Err(ImagingError::UnsupportedImage {
                detail: format!("BitsAllocated {ba} (only 8 and 16 are supported)"),
            });
        }
        if bs == 0 || bs > ba {
            return Err(invalid("BitsStored", format!("{bs} with BitsAllocated {ba}")));
        }
        if hb >= ba || hb + 1 < bs {
            return Err(invalid("HighBit", format!("{hb} with BitsStored {bs} and BitsAllocated {ba}")));
        }
        if pr > 1 {
            return Err(invalid("PixelRepresentation", format!("{pr} (must be 0 or 1)")));
        }
        if frames == 0 {
            return Err(invalid("NumberOfFrames", "0"));
        }
        Ok(Header {
            rows,
            columns,
            samples_per_pixel: spp as u16,
            bits_allocated: ba as u16,
            bits_stored: bs as u16,
            high_bit: hb as u16,
            signed: pr == 1,
            frames,
        })
    }

    fn frame_samples(&self) -> u64 {
        u64::from(self.rows) * u64::from(self.columns) * u64::from(self.samples_per_pixel)
    }

    fn total_bytes(&self) -> u64 {
        self.frame_samples() * u64::from(self.frames) * u64::from(self.bits_allocated / 8)
    }
}

/// Decode DICOM Part 10 bytes to display-ready frames.
///
/// Accepts files with or without the 128-byte preamble. Supports the native
/// (uncompressed) transfer syntaxes, Deflated Explicit VR LE, JPEG Lossless
/// (`1.2.840.10008.1.2.4.57`, `.70`), JPEG baseline/extended 8-bit and RLE Lossless.
///
/// Gray images yield [`Frame::Gray16`] holding exact stored values (see there);
/// colour images yield [`Frame::Rgb8`].
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
    let header = Header::read(obj)?;
    let total = header.total_bytes();
    if total > MAX_DECODED_BYTES {
        return Err(ImagingError::TooLarge { bytes: total, limit: MAX_DECODED_BYTES });
    }

    let ts_uid = obj.meta().transfer_syntax().trim_end_matches(['\0', ' ']).to_string();
    let ts = TransferSyntaxRegistry
        .get(&ts_uid)
        .ok_or_else(|| ImagingError::UnsupportedTransferSyntax { uid: ts_uid.clone() })?;
    if !ts.can_decode_all() {
        return Err(ImagingError::UnsupportedTransferSyntax { uid: ts_uid });
    }

    match pixel_data.value() {
        DicomValue::Primitive(p) => {
            let actual = p.calculate_byte_len() as u64;
            if actual < total {
                return Err(ImagingError::PixelDataLength { expected: total, actual });
            }
        }
        DicomValue::PixelSequence(seq) => {
            if seq.fragments().is_empty() {
                return Err(ImagingError::PixelDataLength { expected: total, actual: 0 });
            }
            if ts_uid.starts_with("1.2.840.10008.1.2.4.5")
                || ts_uid.starts_with("1.2.840.10008.1.2.4.6")
                || ts_uid.starts_with("1.2.840.10008.1.2.4.70")
            {
                check_jpeg_headers(seq.fragments(), &header, &ts_uid)?;
            }
            if ts_uid == "1.2.840.10008.1.2.5" {
                check_rle(seq.fragments(), &header, &ts_uid)?;
            }
        }
        _ => return Err(invalid("PixelData", "is a sequence of items, not pixel data")),
    }

    let px = obj
        .decode_pixel_data()
        .map_err(|e| ImagingError::Decode { transfer_syntax: ts_uid.clone(), detail: error_chain(&e) })?;

    let data = px.data();
    if (data.len() as u64) < total {
        return Err(ImagingError::PixelDataLength { expected: total, actual: data.len() as u64 });
    }

    let rescale = px.rescale().ok().and_then(|r| r.first().copied());
    let (rescale_slope, rescale_intercept) = match rescale {
        Some(r) if r.slope.is_finite() && r.intercept.is_finite() && r.slope != 0.0 => (r.slope, r.intercept),
        _ => (1.0, 0.0),
    };
    let window = px
        .window()
        .ok()
        .flatten()
        .and_then(|w| w.first().copied())
        .filter(|w| w.center.is_finite() && w.width.is_finite() && w.width > 0.0)
        .map(|w| Window { center: w.center, width: w.width });

    let frame_bytes = (header.frame_samples() * u64::from(header.bits_allocated / 8)) as usize;
    let chunks = data.chunks_exact(frame_bytes).take(header.frames as usize);

    if header.samples_per_pixel == 1 {
        let photometric = match px.photometric_interpretation() {
            PhotometricInterpretation::Monochrome1 => Photometric::Monochrome1,
            PhotometricInterpretation::Monochrome2 => Photometric::Monochrome2,
            other => {
                return Err(ImagingError::UnsupportedImage {
                    detail: format!("single-sample photometric interpretation {other}"),
                })
            }
        };
        let frames = chunks.map(|c| Frame::Gray16(gray_frame(c, &header))).collect();
        Ok(DecodedImage {
            rows: header.rows,
            columns: header.columns,
            samples_per_pixel: 1,
            photometric,
            bits_allocated: header.bits_allocated,
            bits_stored: header.bits_stored,
            signed: header.signed,
            rescale_slope,
            rescale_intercept,
            window,
            frames,
        })
    } else {
        let pi = px.photometric_interpretation().clone();
        let ybr = match pi {
            PhotometricInterpretation::Rgb => false,
            PhotometricInterpretation::YbrFull => true,
            other => {
                return Err(ImagingError::UnsupportedImage {
                    detail: format!("colour photometric interpretation {other} in this transfer syntax"),
                })
            }
        };
        let planar = px.planar_configuration() == PlanarConfiguration::PixelFirst;
        let frames = chunks.map(|c| Frame::Rgb8(rgb_frame(c, &header, planar, ybr))).collect();
        Ok(DecodedImage {
            rows: header.rows,
            columns: header.columns,
            samples_per_pixel: 3,
            photometric: Photometric::Rgb,
            bits_allocated: 8,
            bits_stored: 8,
            signed: false,
            rescale_slope: 1.0,
            rescale_intercept: 0.0,
            window,
            frames,
        })
    }
}

/// Convert one frame of native-order samples to stored values as u16 patterns.
fn gray_frame(bytes: &[u8], h: &Header) -> Vec<u16> {
    let shift = u32::from(h.high_bit + 1 - h.bits_stored);
    let bs = u32::from(h.bits_stored);
    let mask: u32 = if bs >= 32 { u32::MAX } else { (1u32 << bs) - 1 };
    let sign_bit: u32 = 1u32 << (bs - 1);
    let fix = |raw: u32| -> u16 {
        let v = (raw >> shift) & mask;
        let v = if h.signed && v & sign_bit != 0 { v | !mask } else { v };
        v as u16
    };
    if h.bits_allocated == 16 {
        if shift == 0 && bs == 16 {
            bytes.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect()
        } else {
            bytes.chunks_exact(2).map(|b| fix(u32::from(u16::from_le_bytes([b[0], b[1]])))).collect()
        }
    } else {
        bytes.iter().map(|&b| fix(u32::from(b))).collect()
    }
}

fn ybr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let y = f32::from(y);
    let cb = f32::from(cb) - 128.0;
    let cr = f32::from(cr) - 128.0;
    let c = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    [c(y + 1.402 * cr), c(y - 0.344_136 * cb - 0.714_136 * cr), c(y + 1.772 * cb)]
}

/// Convert one frame of colour samples to interleaved 8-bit RGB.
fn rgb_frame(bytes: &[u8], h: &Header, planar: bool, ybr: bool) -> Vec<u8> {
    let n = h.rows as usize * h.columns as usize;
    // first to 8-bit samples, still in source layout
    let samples: Vec<u8> = if h.bits_allocated == 16 {
        let shift = u32::from(h.high_bit + 1).saturating_sub(8);
        bytes.chunks_exact(2).map(|b| (u32::from(u16::from_le_bytes([b[0], b[1]])) >> shift) as u8).collect()
    } else {
        bytes.to_vec()
    };
    let mut out = if planar {
        let mut out = vec![0u8; n * 3];
        for (i, px) in out.chunks_exact_mut(3).enumerate() {
            px[0] = samples[i];
            px[1] = samples[n + i];
            px[2] = samples[2 * n + i];
        }
        out
    } else {
        samples
    };
    if ybr {
        for px in out.chunks_exact_mut(3) {
            let rgb = ybr_to_rgb(px[0], px[1], px[2]);
            px.copy_from_slice(&rgb);
        }
    }
    out
}

/// Validate every JPEG frame header (SOF) against the DICOM header before
/// handing the stream to the codec, which would otherwise index out of bounds
/// on a mismatched or hostile stream.
fn check_jpeg_headers(fragments: &[Vec<u8>], h: &Header, ts_uid: &str) -> Result<(), ImagingError> {
    let bad = |detail: String| ImagingError::Decode { transfer_syntax: ts_uid.to_string(), detail };
    let mut sofs = 0usize;
    for frag in fragments {
        let mut i = 0usize;
        while i + 1 < frag.len() {
            if frag[i] != 0xFF {
                i += 1;
                continue;
            }
            let m = frag[i + 1];
            let is_sof = matches!(m, 0xC0..=0xCF) && !matches!(m, 0xC4 | 0xC8 | 0xCC);
            if !is_sof {
                i += 1;
                continue;
            }
            let Some(seg) = frag.get(i + 4..i + 10) else {
                return Err(bad("JPEG frame header is cut off".into()));
            };
            let precision = u16::from(seg[0]);
            let height = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
            let width = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
            let comps = u16::from(seg[5]);
            if height != h.rows || width != h.columns {
                return Err(bad(format!(
                    "JPEG frame is {width}×{height} but the DICOM header says {}×{}",
                    h.columns, h.rows
                )));
            }
            if comps != h.samples_per_pixel {
                return Err(bad(format!(
                    "JPEG frame has {comps} components but SamplesPerPixel is {}",
                    h.samples_per_pixel
                )));
            }
            let ok_precision = match h.bits_allocated {
                8 => precision == 8,
                _ => (9..=16).contains(&precision) && comps == 1 || precision > 8 && comps == 3,
            };
            if !ok_precision {
                return Err(bad(format!("JPEG precision {precision} does not fit BitsAllocated {}", h.bits_allocated)));
            }
            sofs += 1;
            i += 10;
        }
    }
    if sofs == 0 {
        return Err(bad("no JPEG frame header (SOF marker) found".into()));
    }
    Ok(())
}

/// Validate RLE Lossless fragments (header, segment offsets, decoded segment
/// lengths) before the codec sees them: dicom-rs' RLE adapter indexes out of
/// bounds on a bad header or a short segment.
fn check_rle(fragments: &[Vec<u8>], h: &Header, ts_uid: &str) -> Result<(), ImagingError> {
    let bad = |detail: String| ImagingError::Decode { transfer_syntax: ts_uid.to_string(), detail };
    if (fragments.len() as u64) < u64::from(h.frames) {
        return Err(bad(format!("{} RLE fragments for {} frames", fragments.len(), h.frames)));
    }
    let needed_segments = usize::from(h.samples_per_pixel) * usize::from(h.bits_allocated / 8);
    let segment_len = h.rows as usize * h.columns as usize;
    for (f, frag) in fragments.iter().enumerate() {
        if frag.len() < 64 {
            return Err(bad(format!("RLE frame {f} is shorter than its 64-byte header")));
        }
        let word =
            |i: usize| u32::from_le_bytes([frag[4 * i], frag[4 * i + 1], frag[4 * i + 2], frag[4 * i + 3]]) as usize;
        let n = word(0);
        if n < needed_segments || n > 15 {
            return Err(bad(format!("RLE frame {f} has {n} segments, {needed_segments} expected")));
        }
        let mut offsets: Vec<usize> = (1..=n).map(word).collect();
        offsets.push(frag.len());
        if offsets[0] != 64 || offsets.windows(2).any(|w| w[0] > w[1]) {
            return Err(bad(format!("RLE frame {f} has invalid segment offsets")));
        }
        for s in 0..needed_segments {
            let seg = &frag[offsets[s]..offsets[s + 1]];
            if packbits_len(seg, segment_len) < segment_len {
                return Err(bad(format!("RLE frame {f} segment {s} decodes to fewer than {segment_len} bytes")));
            }
        }
    }
    Ok(())
}

/// Number of bytes a PackBits segment decodes to (stops once `want` is reached).
fn packbits_len(seg: &[u8], want: usize) -> usize {
    let mut i = 0usize;
    let mut out = 0usize;
    while i < seg.len() && out < want {
        let n = seg[i] as i8;
        i += 1;
        if n >= 0 {
            let count = n as usize + 1;
            if i + count > seg.len() {
                break;
            }
            i += count;
            out += count;
        } else if n != -128 {
            if i >= seg.len() {
                break;
            }
            i += 1;
            out += 1 + n.unsigned_abs() as usize;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(ba: u16, bs: u16, hb: u16, signed: bool) -> Header {
        Header {
            rows: 1,
            columns: 4,
            samples_per_pixel: 1,
            bits_allocated: ba,
            bits_stored: bs,
            high_bit: hb,
            signed,
            frames: 1,
        }
    }

    fn le(v: &[u16]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn twelve_bit_signed_is_masked_and_sign_extended() {
        // garbage in the top 4 bits must be ignored; 0x800 is -2048 in 12 bits
        let raw = le(&[0xF7FF, 0x0800, 0xAFFF, 0x0001]);
        let out = gray_frame(&raw, &header(16, 12, 11, true));
        let as_i16: Vec<i16> = out.iter().map(|&v| v as i16).collect();
        assert_eq!(as_i16, vec![2047, -2048, -1, 1]);
    }

    #[test]
    fn twelve_bit_unsigned_is_masked() {
        let raw = le(&[0xF7FF, 0x0800, 0xAFFF, 0x0001]);
        let out = gray_frame(&raw, &header(16, 12, 11, false));
        assert_eq!(out, vec![0x7FF, 0x800, 0xFFF, 1]);
    }

    #[test]
    fn high_bit_not_at_top_of_stored_bits_shifts_down() {
        // 12 bits stored in bits 4..15 (HighBit 15)
        let raw = le(&[0x7FF0, 0x8000, 0xFFF0, 0x0010]);
        let out = gray_frame(&raw, &header(16, 12, 15, true));
        let as_i16: Vec<i16> = out.iter().map(|&v| v as i16).collect();
        assert_eq!(as_i16, vec![2047, -2048, -1, 1]);
    }

    #[test]
    fn eight_bit_widened_and_signed() {
        let raw = [0x00u8, 0x7F, 0x80, 0xFF];
        assert_eq!(gray_frame(&raw, &header(8, 8, 7, false)), vec![0, 127, 128, 255]);
        let s: Vec<i16> = gray_frame(&raw, &header(8, 8, 7, true)).iter().map(|&v| v as i16).collect();
        assert_eq!(s, vec![0, 127, -128, -1]);
    }

    #[test]
    fn sixteen_bit_fast_path() {
        let raw = le(&[0, 1, 0x8000, 0xFFFF]);
        assert_eq!(gray_frame(&raw, &header(16, 16, 15, true)), vec![0, 1, 0x8000, 0xFFFF]);
    }

    #[test]
    fn planar_rgb_and_ybr() {
        let h = Header {
            rows: 1,
            columns: 2,
            samples_per_pixel: 3,
            bits_allocated: 8,
            bits_stored: 8,
            high_bit: 7,
            signed: false,
            frames: 1,
        };
        // planar: RR GG BB
        let planar = [1u8, 2, 3, 4, 5, 6];
        assert_eq!(rgb_frame(&planar, &h, true, false), vec![1, 3, 5, 2, 4, 6]);
        // YBR_FULL gray and pure white stay gray / white
        let ybr = [128u8, 128, 128, 255, 128, 128];
        assert_eq!(rgb_frame(&ybr, &h, false, true), vec![128, 128, 128, 255, 255, 255]);
    }

    #[test]
    fn jpeg_header_mismatch_is_an_error() {
        let h = header(16, 16, 15, true);
        // SOF3, precision 16, 2 rows x 4 columns (DICOM header says 1 x 4)
        let frag = vec![0xFF, 0xD8, 0xFF, 0xC3, 0, 11, 16, 0, 2, 0, 4, 1, 1, 0x11, 0];
        let err = check_jpeg_headers(&[frag], &h, "1.2.840.10008.1.2.4.70").unwrap_err();
        assert!(matches!(err, ImagingError::Decode { .. }), "{err:?}");
        let ok = vec![0xFF, 0xD8, 0xFF, 0xC3, 0, 11, 16, 0, 1, 0, 4, 1, 1, 0x11, 0];
        check_jpeg_headers(&[ok], &h, "1.2.840.10008.1.2.4.70").unwrap();
        let none = vec![0xFF, 0xD8, 0x00];
        assert!(check_jpeg_headers(&[none], &h, "1.2.840.10008.1.2.4.70").is_err());
    }

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
            window: None,
            frames: vec![Frame::Gray16(vec![24, 2024])],
        };
        let w = img.window_or_auto(0);
        assert_eq!((w.center, w.width), (0.0, 2000.0));
        assert_eq!(img.get_stored_value(0, 2), None);
        assert_eq!(img.get_stored_value(1, 0), None);
    }
}

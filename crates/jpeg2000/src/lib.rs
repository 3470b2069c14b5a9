//! JPEG 2000 decoding for DICOM, pure Rust and `#![forbid(unsafe_code)]`: Part 1 (transfer
//! syntaxes 1.2.840.10008.1.2.4.90 and .91) and HTJ2K (Part 15; .201, .202, .203) through one
//! pipeline, a vendored copy of [hayro-jpeg2000](https://crates.io/crates/hayro-jpeg2000) 0.5.0
//! (packets, progressions, tiles, precincts, IDWT, MCT) with OpenJPH's HT block decoder (via
//! [openjph-core](https://crates.io/crates/openjph-core) 0.1.0) plugged in, and what they lacked
//! done here: the codestream's *signed* flag, clamping to the bit depth, OpenJPEG's
//! floating-point recipe for the 9/7 wavelet and ICT on Part 1 streams and OpenJPH's on HTJ2K
//! ones (so irreversible streams too decode bit-exact against `opj_decompress` /
//! `ojph_expand`), and a main-header parser that checks every stream against the caller's
//! limits ([`DecodeOptions::max_pixels`], the DICOM header's geometry) before any of it is
//! decoded. Output samples are the stored values, components interleaved per pixel. No C, no
//! imports in `wasm32-unknown-unknown`. See `README.md` for the measurements.
//!
//! ```
//! # fn main() -> Result<(), obscura_jpeg2000::J2kError> {
//! let data = include_bytes!("../tests/data/opj_ct_37x23_s12_lossless.j2k");
//! let header = obscura_jpeg2000::read_header(data)?;
//! assert_eq!((header.width, header.height, header.precision, header.signed), (37, 23, 12, true));
//! let opts = obscura_jpeg2000::DecodeOptions { max_pixels: 4096 * 4096, expected: None };
//! let image = obscura_jpeg2000::decode(data, &opts)?;
//! let obscura_jpeg2000::Samples::U16(samples) = &image.samples else { unreachable!() };
//! assert_eq!(samples.len(), 37 * 23);
//! let first = samples[0] as i16; // signed samples are two's complement at 16 bits
//! assert!((-2048..2048).contains(&first));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod error;
mod hayro;
mod header;
mod ht;
mod part1;

pub use error::J2kError;

/// How to decode: the caller's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Most pixels (width × height) a frame may have; larger ones are refused before anything
    /// is allocated for them.
    pub max_pixels: u64,
    /// The geometry the DICOM header announces; any difference is an error before decoding.
    pub expected: Option<Expected>,
}

impl Default for DecodeOptions {
    /// 64 Mi pixels (8192 × 8192), no expected geometry.
    fn default() -> Self {
        Self { max_pixels: 8192 * 8192, expected: None }
    }
}

/// What the DICOM header says a frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    /// Columns (0028,0011).
    pub width: u32,
    /// Rows (0028,0010).
    pub height: u32,
    /// Samples per Pixel (0028,0002).
    pub components: u8,
    /// Bits Stored (0028,0101), compared with the codestream's component precision.
    pub precision: u8,
}

/// What a frame's main header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Image width (Xsiz − XOsiz).
    pub width: u32,
    /// Image height (Ysiz − YOsiz).
    pub height: u32,
    /// Number of components (all have the same precision and signedness).
    pub components: u8,
    /// Bits per sample, 1 to 16.
    pub precision: u8,
    /// Whether samples are signed (two's complement).
    pub signed: bool,
    /// Whether the wavelet is the reversible 5/3 (else the irreversible 9/7).
    pub reversible: bool,
    /// Whether code-blocks are HTJ2K (Part 15).
    pub high_throughput: bool,
    /// Whether the first three components carry a colour transform (RCT if reversible, else ICT).
    pub mct: bool,
}

/// A decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The frame's main header.
    pub header: FrameHeader,
    /// `width × height × components` samples, components interleaved per pixel, row-major,
    /// after the inverse colour transform when the codestream has one.
    pub samples: Samples,
}

/// Decoded samples at their container width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Samples {
    /// Precision ≤ 8. Signed samples as `i8` bit patterns.
    U8(Vec<u8>),
    /// Precision 9 to 16. Signed samples as `i16` bit patterns (sign-extended).
    U16(Vec<u16>),
}

/// Reads the main header of a raw codestream or JP2 file (cheap: no tile data is touched).
///
/// The header is validated as far as it can be without the caller's limits: at most 4
/// components, precision ≤ 16, no sub-sampling, at most 65535 tiles, sane COD/COC.
pub fn read_header(data: &[u8]) -> Result<FrameHeader, J2kError> {
    Ok(header::parse(data)?.frame)
}

/// Decodes one frame (a raw codestream or a JP2 file).
pub fn decode(data: &[u8], opts: &DecodeOptions) -> Result<Image, J2kError> {
    let main = header::parse(data)?;
    header::check_limits(&main.frame, opts)?;
    let cs = &data[main.codestream_start..main.codestream_end];
    let samples = part1::decode(cs, &main)?;
    Ok(Image { header: main.frame, samples })
}

/// Packs interleaved samples, given in the *unsigned* domain (level shift applied), clamped
/// to `[0, 2^p − 1]` and moved to the signed domain when the stream is signed.
pub(crate) fn pack(h: &FrameHeader, values: impl ExactSizeIterator<Item = i32>) -> Samples {
    let p = u32::from(h.precision);
    let max = (1i32 << p) - 1;
    let shift = if h.signed { 1i32 << (p - 1) } else { 0 };
    if p <= 8 {
        Samples::U8(values.map(|v| (v.clamp(0, max) - shift) as u8).collect())
    } else {
        Samples::U16(values.map(|v| (v.clamp(0, max) - shift) as u16).collect())
    }
}

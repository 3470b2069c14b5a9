//! A pure-Rust JPEG decoder for the JPEG processes DICOM uses, bit-exact with IJG libjpeg.
//!
//! `obscura-jpeg` decodes baseline 8-bit (transfer syntax 1.2.840.10008.1.2.4.50), extended
//! sequential Huffman 8- and 12-bit (.51) and lossless (.57 with any predictor 1–7, .70)
//! codestreams with precision 2–16 and any point transform, with 1, 3 or 4 components,
//! interleaved or not, any integral sampling factors (4:4:4, 4:2:2, 4:2:0, 4:1:1, ...), restart
//! intervals, 8- and 16-bit quantization tables, and the fill bytes and junk real files carry. For
//! the DCT processes it reproduces libjpeg's `jpeg_idct_islow` integer IDCT, its default "fancy"
//! upsampling and its YCbCr→RGB tables, so its output equals DCMTK's `dcmdjpeg` and libjpeg-turbo
//! sample for sample (one exception, not a DICOM subsampling: 4:4:0 chroma, which libjpeg-turbo
//! upsamples with a filter of its own; this crate replicates rows as IJG 6b and DCMTK do). The colour transform is the caller's choice ([`ColorTransform`], from
//! DICOM's Photometric Interpretation), never guessed from JFIF/Adobe markers; it applies to
//! 3-component DCT frames (lossless data is returned as stored, as DCMTK does). Progressive and
//! arithmetic-coded JPEG, rare in DICOM, give [`JpegError::Unsupported`]. It runs in
//! `wasm32-unknown-unknown` (no C, no threads), uses no `unsafe`, never panics on hostile input
//! and allocates nothing larger than [`DecodeOptions::max_pixels`] allows; truncated
//! entropy-coded data is an error ([`JpegError::Truncated`]), not zeros.
//!
//! # Example
//!
//! ```
//! use obscura_jpeg::{decode, read_header, DecodeOptions, Process, Samples};
//!
//! // a 2×1 lossless (SV1) 8-bit greyscale image: samples 128 and 130
//! let jpeg: &[u8] = &[
//!     0xFF, 0xD8, // SOI
//!     0xFF, 0xC4, 0x00, 0x15, 0x00, // DHT: DC table 0, categories 0 and 2 with 1-bit codes
//!     0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x02,
//!     0xFF, 0xC3, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x02, 0x01, 0x01, 0x11, 0x00, // SOF3
//!     0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, // SOS: SV 1, Pt 0
//!     0b0110_1111, // "0" (diff 0 → 128), "1" + "10" (diff +2 → 130), then 1-bit padding
//!     0xFF, 0xD9, // EOI
//! ];
//! let header = read_header(jpeg)?;
//! assert_eq!((header.width, header.height, header.precision), (2, 1, 8));
//! assert_eq!(header.process, Process::Lossless { selection: 1, point_transform: 0 });
//! let image = decode(jpeg, &DecodeOptions::default())?;
//! assert_eq!(image.samples, Samples::U8(vec![128, 130]));
//! # Ok::<(), obscura_jpeg::JpegError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod decoder;
mod error;
mod huffman;
mod idct;
mod output;

pub use error::{Feature, JpegError};

/// Whether 3-component DCT data is converted from YCbCr to RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorTransform {
    /// Return the stored components (DICOM `RGB`, `MONOCHROME*`, or YBR kept as YBR).
    #[default]
    None,
    /// Convert YCbCr to RGB with libjpeg's integer tables (DICOM `YBR_FULL`, `YBR_FULL_422`).
    YCbCrToRgb,
}

/// Options of [`decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Colour transform of 3-component DCT frames.
    pub color_transform: ColorTransform,
    /// Largest frame (width × height) decoded; a larger SOF is rejected with
    /// [`JpegError::TooLarge`] before any pixel buffer is allocated. The decoder's buffers hold
    /// at most the frame padded to whole MCUs per component plus the output, and a frame whose
    /// MCU padding exceeds 2 × `max_pixels` + 65536 pixels is rejected too.
    pub max_pixels: u64,
}

impl Default for DecodeOptions {
    /// No colour transform; at most 2^26 pixels (e.g. 8192 × 8192).
    fn default() -> Self {
        DecodeOptions { color_transform: ColorTransform::None, max_pixels: 1 << 26 }
    }
}

/// The JPEG coding process of a frame (its SOF marker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Process {
    /// Baseline sequential DCT, 8-bit (SOF0).
    Baseline,
    /// Extended sequential DCT, Huffman, 8- or 12-bit (SOF1).
    Extended,
    /// Progressive DCT, Huffman (SOF2): not decoded.
    Progressive,
    /// Lossless, Huffman (SOF3), with the first scan's predictor and point transform.
    Lossless {
        /// Predictor selection value 1–7.
        selection: u8,
        /// Point transform Pt (the samples are shifted left by it).
        point_transform: u8,
    },
    /// Any arithmetic-coded process (SOF9–SOF11): not decoded.
    Arithmetic,
    /// Any hierarchical process (SOF5–SOF7, SOF13–SOF15): not decoded.
    Hierarchical,
}

/// What the frame header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Samples per line.
    pub width: u32,
    /// Number of lines.
    pub height: u32,
    /// Number of components.
    pub components: u8,
    /// Sample precision in bits.
    pub precision: u8,
    /// Coding process.
    pub process: Process,
}

/// Decoded samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Samples {
    /// Precision ≤ 8.
    U8(Vec<u8>),
    /// Precision 9–16.
    U16(Vec<u16>),
}

/// A decoded frame: samples interleaved per pixel, rows top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The frame header.
    pub header: FrameHeader,
    /// `width × height × components` samples.
    pub samples: Samples,
}

/// Reads the frame header (and, for lossless frames, the first scan header) without decoding
/// or allocating pixel buffers.
pub fn read_header(data: &[u8]) -> Result<FrameHeader, JpegError> {
    let mut dec = decoder::Decoder::new(data, u64::MAX)?;
    dec.run(true)?;
    dec.frame.map(|f| f.header).ok_or(JpegError::MissingFrame { offset: data.len() })
}

/// Decodes a whole JPEG codestream (one DICOM frame).
pub fn decode(data: &[u8], opts: &DecodeOptions) -> Result<Image, JpegError> {
    let mut dec = decoder::Decoder::new(data, opts.max_pixels)?;
    dec.run(false)?;
    let frame = dec.frame.ok_or(JpegError::MissingFrame { offset: data.len() })?;
    if opts.color_transform == ColorTransform::YCbCrToRgb && !frame.lossless && frame.comps.len() == 4 {
        return Err(JpegError::Unsupported(Feature::ColorTransform));
    }
    let samples = if frame.header.precision <= 8 {
        Samples::U8(output::assemble::<u8>(&frame, opts.color_transform))
    } else {
        Samples::U16(output::assemble::<u16>(&frame, opts.color_transform))
    };
    Ok(Image { header: frame.header, samples })
}

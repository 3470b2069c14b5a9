//! A pure-Rust JPEG-LS decoder (ITU-T T.87 / ISO/IEC 14495-1) for the DICOM transfer syntaxes
//! 1.2.840.10008.1.2.4.80 (lossless) and .81 (near-lossless): 2- to 16-bit samples, 1 to 4
//! components, all three interleave modes (none, line, sample), default and custom (LSE) preset
//! coding parameters, restart markers, and the padding DICOM encoders write around EOI. Output is
//! exact: lossless streams give back the original samples, near-lossless ones the samples every
//! conforming decoder (e.g. CharLS) reconstructs. Hostile input yields a typed [`JpegLsError`],
//! never a panic, and nothing larger than [`DecodeOptions::max_pixels`] is allocated.
//!
//! ```
//! // A 2×2 8-bit greyscale image (samples 0, 1, 2, 3), encoded losslessly by CharLS.
//! let stream: &[u8] = &[
//!     0xFF, 0xD8, 0xFF, 0xF7, 0x00, 0x0B, 0x08, 0x00, 0x02, 0x00, 0x02, 0x01, 0x01, 0x11, 0x00,
//!     0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0xAA, 0x60, 0xFF, 0xD9,
//! ];
//! let header = obscura_jpegls::read_header(stream)?;
//! assert_eq!((header.width, header.height, header.components), (2, 2, 1));
//! let image = obscura_jpegls::decode(stream, &obscura_jpegls::DecodeOptions::default())?;
//! assert_eq!(image.samples, obscura_jpegls::Samples::U8(vec![0, 1, 2, 3]));
//! # Ok::<(), obscura_jpegls::JpegLsError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bits;
mod markers;
mod scan;

/// Options for [`decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// The largest frame (width × height, in pixels) to decode: a bigger SOF55 is rejected with
    /// [`JpegLsError::TooLarge`] before anything is allocated.
    pub max_pixels: u64,
}

impl Default for DecodeOptions {
    /// 2^28 pixels (a 16384 × 16384 frame).
    fn default() -> Self {
        DecodeOptions { max_pixels: 1 << 28 }
    }
}

/// How the components of a scan are interleaved (the ILV field of the first scan header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interleave {
    /// ILV = 0: one scan per component.
    None,
    /// ILV = 1: one line of each component in turn.
    Line,
    /// ILV = 2: the samples of each pixel in turn.
    Sample,
}

/// What the frame header (SOF55) and the first scan header (SOS) say about the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Samples per line.
    pub width: u32,
    /// Lines.
    pub height: u32,
    /// Components (samples per pixel), 1 to 4.
    pub components: u8,
    /// Bits per sample, 2 to 16.
    pub precision: u8,
    /// The first scan's NEAR: 0 for lossless, else the largest error allowed per sample.
    pub near: u16,
    /// The first scan's interleave mode.
    pub interleave: Interleave,
}

/// A decoded image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The header it was decoded with.
    pub header: FrameHeader,
    /// The samples, row-major, the components of each pixel together (sample-interleaved,
    /// whatever the stream's interleave mode): `width × height × components` of them.
    pub samples: Samples,
}

/// Decoded samples: `U8` when the precision is at most 8 bits, else `U16`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Samples {
    /// Samples of 2 to 8 bits.
    U8(Vec<u8>),
    /// Samples of 9 to 16 bits.
    U16(Vec<u16>),
}

impl Samples {
    /// The number of samples.
    pub fn len(&self) -> usize {
        match self {
            Samples::U8(v) => v.len(),
            Samples::U16(v) => v.len(),
        }
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A feature of JPEG-LS (or of its extensions) this decoder does not implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsupported {
    /// The HP colour transforms of the APP8 "mrfx" segment (CharLS/HP extension): the value of
    /// its transform byte.
    ColorTransform(u8),
    /// Mapping (palette) tables: an LSE segment of id 2 or 3, or a scan selecting a table.
    MappingTable,
    /// Image dimensions beyond 16 bits (LSE id 4).
    OversizeDimensions,
    /// Height defined by a DNL marker (height 0 in the frame header).
    HeightFromDnl,
    /// A component sampled at other than 1 × 1.
    Subsampling,
    /// A point transform (Al ≠ 0 in the scan header).
    PointTransform,
    /// More than 4 components.
    ComponentCount(u8),
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unsupported::ColorTransform(t) => write!(f, "HP colour transform {t} (APP8 \"mrfx\")"),
            Unsupported::MappingTable => f.write_str("mapping tables"),
            Unsupported::OversizeDimensions => f.write_str("dimensions beyond 65535 (LSE id 4)"),
            Unsupported::HeightFromDnl => f.write_str("a height defined by a DNL marker"),
            Unsupported::Subsampling => f.write_str("subsampled components"),
            Unsupported::PointTransform => f.write_str("a point transform"),
            Unsupported::ComponentCount(n) => write!(f, "{n} components (at most 4)"),
        }
    }
}

/// Why a stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JpegLsError {
    /// The data does not start with an SOI marker.
    #[error("not a JPEG stream: no SOI marker at the start")]
    NoSoi,
    /// The data ended before the image was complete (in a marker segment, in a scan, or
    /// before EOI).
    #[error("truncated JPEG-LS stream")]
    Truncated,
    /// A JPEG frame of another process (baseline, lossless, …): the SOF marker's second byte.
    #[error("not JPEG-LS: frame marker 0xFF{0:02X}")]
    NotJpegLs(u8),
    /// A marker where none may be, or a byte that should have been a marker.
    #[error("unexpected marker 0xFF{marker:02X} at offset {offset}")]
    UnexpectedMarker {
        /// The marker's second byte (0 if the byte at `offset` was not 0xFF).
        marker: u8,
        /// Where it starts.
        offset: usize,
    },
    /// A marker segment whose length or content is malformed.
    #[error("malformed {segment} segment: {reason}")]
    BadSegment {
        /// Which segment (SOF55, SOS, LSE, DRI, APPn…).
        segment: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A frame header (SOF55) that is not valid JPEG-LS.
    #[error("invalid frame header: {0}")]
    BadFrameHeader(&'static str),
    /// A scan header (SOS) that is not valid for this frame.
    #[error("invalid scan header: {0}")]
    BadScanHeader(&'static str),
    /// Preset coding parameters (LSE id 1) out of the ranges T.87 allows.
    #[error("invalid preset coding parameters: {0}")]
    BadPresetParameters(&'static str),
    /// NEAR larger than min(255, MAXVAL / 2).
    #[error("NEAR {near} too large for MAXVAL {maxval}")]
    NearTooLarge {
        /// The scan's NEAR.
        near: u16,
        /// The MAXVAL in force.
        maxval: u16,
    },
    /// The frame is larger than [`DecodeOptions::max_pixels`].
    #[error("frame of {pixels} pixels exceeds the limit of {max_pixels}")]
    TooLarge {
        /// width × height.
        pixels: u64,
        /// The limit.
        max_pixels: u64,
    },
    /// A feature this decoder does not implement.
    #[error("unsupported JPEG-LS feature: {0}")]
    Unsupported(Unsupported),
    /// Entropy-coded data that no encoder could have written (a code too long, a value out of
    /// range, a run past the end of the line).
    #[error("corrupt entropy-coded data: {0}")]
    CorruptData(&'static str),
    /// A scan's entropy-coded segment ended (at a marker) before all its samples were decoded.
    #[error("scan data ends before the scan is complete")]
    ScanDataTooShort,
    /// A restart marker missing or out of sequence.
    #[error("expected restart marker RST{expected} at offset {offset}")]
    BadRestartMarker {
        /// The RSTm expected (0–7).
        expected: u8,
        /// Where it was looked for.
        offset: usize,
    },
    /// A component decoded by two scans, or a scan for an unknown component.
    #[error("scan component selector {0} is unknown or already decoded")]
    BadComponentSelector(u8),
    /// EOI reached before every component was decoded.
    #[error("EOI before every component was decoded")]
    MissingScan,
}

/// Reads the frame header (SOF55) and the first scan header without decoding anything.
pub fn read_header(data: &[u8]) -> Result<FrameHeader, JpegLsError> {
    markers::read_header(data)
}

/// Decodes a JPEG-LS stream (one DICOM frame: SOI … EOI; bytes after EOI are ignored).
pub fn decode(data: &[u8], opts: &DecodeOptions) -> Result<Image, JpegLsError> {
    markers::decode(data, opts)
}

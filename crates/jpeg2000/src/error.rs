//! The error type of this crate.

/// Why a JPEG 2000 frame could not be read or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum J2kError {
    /// The data starts with neither a JPEG 2000 codestream (SOC + SIZ) nor a JP2 signature box.
    #[error("not a JPEG 2000 codestream or JP2 file")]
    NotJpeg2000,
    /// The JP2 file has no contiguous codestream box (`jp2c`).
    #[error("JP2 file without a codestream box")]
    NoCodestreamBox,
    /// The data ends inside a box, a marker segment or before the first tile.
    #[error("truncated JPEG 2000 data: {0}")]
    Truncated(&'static str),
    /// A required marker segment of the main header is absent.
    #[error("missing {0} marker segment in the main header")]
    MissingMarker(&'static str),
    /// A marker segment breaks a rule of ISO/IEC 15444-1 (length, range of a field).
    #[error("malformed {marker} marker segment: {reason}")]
    BadMarker {
        /// The marker's name (`SIZ`, `COD`, …).
        marker: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A valid codestream using a feature this decoder does not support.
    #[error("unsupported JPEG 2000 feature: {0}")]
    Unsupported(&'static str),
    /// The frame is larger than [`DecodeOptions::max_pixels`](crate::DecodeOptions::max_pixels).
    #[error("image of {width}x{height} pixels exceeds the limit of {max_pixels} pixels")]
    TooLarge {
        /// Width in the codestream.
        width: u32,
        /// Height in the codestream.
        height: u32,
        /// The caller's limit.
        max_pixels: u64,
    },
    /// The codestream's geometry differs from what the DICOM header announced.
    #[error("codestream {field} is {found}, the DICOM header says {expected}")]
    Mismatch {
        /// `width`, `height`, `components` or `precision`.
        field: &'static str,
        /// The value from the DICOM header.
        expected: u32,
        /// The value in the codestream.
        found: u32,
    },
    /// The inner decoder failed on the tile data (corrupt or truncated packets).
    #[error("JPEG 2000 decoding failed: {0}")]
    Decode(String),
}

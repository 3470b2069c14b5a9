//! Typed errors of the imaging crate.

use thiserror::Error;

/// Everything that can go wrong while reading or decoding a DICOM object.
///
/// Every message names the problem and what to do about it. No variant carries
/// pixel values or patient data, so errors are safe to log.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ImagingError {
    /// The bytes are not a DICOM Part 10 file (no `DICM` magic, or the file meta
    /// group / data set header could not be parsed).
    #[error(
        "not a readable DICOM Part 10 file ({detail}); check that the object was fully \
         downloaded and decrypted and that it is a .dcm file with a file meta group"
    )]
    NotDicom {
        /// What the parser reported.
        detail: String,
    },

    /// The header parsed but the data set ends early or is malformed after it
    /// (typically a file cut off inside the Pixel Data).
    #[error(
        "the DICOM file is truncated or corrupt after its header ({detail}); \
         fetch the object again, it was probably cut off in transfer"
    )]
    Truncated {
        /// What the parser reported.
        detail: String,
    },

    /// The object has no Pixel Data (7FE0,0010) attribute.
    #[error(
        "the DICOM object has no Pixel Data (7FE0,0010); it is not an image \
         (structured report, raw data, presentation state...) and cannot be displayed"
    )]
    MissingPixelData,

    /// A required image attribute is absent.
    #[error("required attribute {name} is missing; the object is not a valid image and cannot be decoded")]
    MissingAttribute {
        /// Keyword of the missing attribute.
        name: &'static str,
    },

    /// An attribute is present but its value is unusable.
    #[error("attribute {name} has an invalid value ({detail}); the object cannot be decoded as an image")]
    InvalidAttribute {
        /// Keyword of the attribute.
        name: &'static str,
        /// What is wrong with it.
        detail: String,
    },

    /// The transfer syntax is not one this build can decode.
    #[error(
        "transfer syntax {uid} is not supported by this viewer build; ask for the study \
         to be sent uncompressed, JPEG Lossless or RLE (or transcode it at the gateway)"
    )]
    UnsupportedTransferSyntax {
        /// The transfer syntax UID.
        uid: String,
    },

    /// The image layout is valid DICOM but not supported by this decoder.
    #[error(
        "unsupported image layout: {detail}; transcode the object at the gateway to 8/16-bit grayscale or 8-bit RGB"
    )]
    UnsupportedImage {
        /// What is unsupported.
        detail: String,
    },

    /// Uncompressed pixel data is shorter than Rows × Columns × Samples × Frames requires.
    #[error(
        "pixel data holds {actual} bytes but the header requires {expected}; \
         the object is truncated or its header is wrong: fetch it again"
    )]
    PixelDataLength {
        /// Bytes required by the header.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },

    /// The decoded image would exceed the memory budget of the decoder.
    #[error(
        "the image needs {bytes} bytes decoded, more than the {limit}-byte limit; \
         the header is probably corrupt, or the object must be split"
    )]
    TooLarge {
        /// Bytes the decoded image would need.
        bytes: u64,
        /// The limit.
        limit: u64,
    },

    /// The compressed pixel data could not be decoded.
    #[error(
        "decoding {transfer_syntax} pixel data failed ({detail}); the compressed stream \
         is corrupt or uses a feature this decoder lacks: fetch it again or transcode it at the gateway"
    )]
    Decode {
        /// The transfer syntax UID.
        transfer_syntax: String,
        /// What the codec reported.
        detail: String,
    },

    /// A frame or pixel index is outside the image.
    #[error("index out of range: {detail}; this is a caller bug, check frame and pixel counts first")]
    OutOfRange {
        /// Which index and bound.
        detail: String,
    },

    /// Writing a DICOM object failed (synthetic data generation).
    #[error("writing the DICOM object failed ({detail}); this is a bug in obscura-imaging, please report it")]
    Write {
        /// What the writer reported.
        detail: String,
    },
}

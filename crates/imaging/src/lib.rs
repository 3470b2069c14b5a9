//! DICOM parsing and pixel decoding to display-ready frames, in pure Rust.
//!
//! `obscura-imaging` turns DICOM Part 10 bytes (already decrypted by
//! `obscura-seal`) into frames the renderer can upload as textures, and reads the
//! attributes the gateway puts in the encrypted study index. It runs natively and
//! in `wasm32-unknown-unknown` (no C codec, no threads, no browser binding).
//!
//! * [`decode`] → [`DecodedImage`]: each frame's exact stored values ([`Frame`]: 8, 16 or 32
//!   bits as allocated, samples interleaved, BitsStored masked and sign-extended; YBR colour
//!   converted to RGB) plus what the display pipeline needs (rescale, Modality / VOI LUTs,
//!   windows, palette). Transfer syntaxes: Implicit / Explicit VR Little Endian, Explicit VR
//!   Big Endian, Deflated, RLE Lossless, JPEG baseline / extended 12-bit / lossless (`obscura-jpeg`),
//!   JPEG-LS (`obscura-jpegls`), JPEG 2000 and HTJ2K (`obscura-jpeg2000`): pure-Rust codecs of our own.
//! * [`display`]: the DICOM display pipeline on the CPU (window functions, VOI LUT, palette,
//!   MONOCHROME1) to 8-bit RGB, for people and as the renderer's reference.
//! * [`read_attributes`] → [`Attributes`]: patient / study / series / instance
//!   attributes, without decoding pixels.
//! * [`synthetic`]: a deterministic CT phantom series for demos and tests.
//!
//! Errors are typed ([`ImagingError`]); no function panics on hostile input.
//!
//! # Example
//!
//! ```
//! use obscura_imaging::{decode, read_attributes, synthetic, Frame};
//!
//! // a small synthetic CT series (the default is 120 slices of 512×512)
//! let params = synthetic::SeriesParams { rows: 64, columns: 64, slices: 3, ..Default::default() };
//! let files = synthetic::ct_series(&params);
//!
//! let attrs = read_attributes(&files[1]).unwrap();
//! assert_eq!(attrs.patient_name, "OBSCURA^PHANTOM^DEMO");
//! assert_eq!(attrs.instance_number, Some(2));
//!
//! let image = decode(&files[1]).unwrap();
//! assert_eq!((image.rows, image.columns, image.frames.len()), (64, 64, 1));
//! assert!(matches!(image.frames[0], Frame::U16(_)));
//! // the centre pixel is inside the body: soft tissue, around 40 HU
//! let hu = image.modality_value(0, 32 * 64 + 32);
//! assert!((-200.0..200.0).contains(&hu));
//! // stored values are exactly those the phantom was generated from
//! let expected = synthetic::ct_slice_values(&params, 1);
//! assert_eq!(image.stored_value(0, 0), i64::from(expected[0]));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod attributes;
mod codec;
mod decode;
pub mod display;
mod error;
mod frames;
mod guard;
mod lut;
mod pixel_module;
mod samples;
pub mod synthetic;

pub use attributes::{attributes_of, read_attributes, Attributes};
pub use decode::{
    decode, decode_object, DecodedImage, Frame, Photometric, PresentationLutShape, VoiFunction, Window,
    MAX_DECODED_BYTES,
};
pub use error::ImagingError;
pub use frames::frame_ranges;
pub use lut::{Lut, Palette};

/// Re-export of the dicom-object type accepted by [`decode_object`] and [`attributes_of`].
pub use dicom_object::DefaultDicomObject;

//! Where Obscura's ciphertext lives.
//!
//! Every sealed object travels as a DICOM **Raw Data Storage** instance (the *carrier*) with
//! pseudonymous UIDs, no PHI in clear and the sealed bytes in a private attribute block, so that
//! any DICOMweb PACS can store, index and serve it. This crate knows the carrier's attributes, the
//! URLs of a store (a static DICOMweb-style tree, or a DICOMweb server), the small subset of the
//! DICOM JSON model that QIDO-RS answers in, and a client that lists and fetches sealed objects
//! over any [`client::HttpClient`] (fetch in the browser, a native client in the gateway).
//!
//! ```
//! use obscura_dicomweb::{carrier::{Carrier, CarrierKind}, layout::{SealedSource, Store}};
//! let carrier = Carrier {
//!     study_uid: "2.25.1".into(), series_uid: "2.25.2".into(), sop_instance_uid: "2.25.3".into(),
//!     kind: CarrierKind::Object, series_number: 1, instance_number: 1,
//! };
//! let dicom = carrier.to_part10(b"sealed bytes").unwrap();
//! let (parsed, sealed) = Carrier::from_part10(&dicom).unwrap();
//! assert_eq!(parsed, carrier);
//! assert_eq!(sealed, b"sealed bytes");
//! let store = Store::static_tree("https://cdn.example/store");
//! assert_eq!(store.sealed_source(&carrier), SealedSource::Raw(
//!     "https://cdn.example/store/studies/2.25.1/series/2.25.2/instances/2.25.3/sealed.bin".into()));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod carrier;
pub mod client;
pub mod layout;
pub mod multipart;
pub mod qido;
pub mod retry;
pub mod stow;

/// What can go wrong reading or writing carriers and store answers.
#[derive(Debug, thiserror::Error)]
pub enum DicomWebError {
    /// A carrier instance could not be parsed or is not one of ours.
    #[error("not an Obscura carrier instance: {0}")]
    NotACarrier(String),
    /// Writing a carrier instance failed.
    #[error("could not encode the carrier instance: {0}")]
    Encode(String),
    /// A `multipart/related` body (a WADO-RS answer) is malformed or cut.
    #[error("the store's multipart answer is malformed: {0}")]
    BadMultipart(String),
    /// A QIDO-RS answer was not the DICOM JSON we expect.
    #[error("the store's QIDO-RS answer is not valid DICOM JSON: {0}")]
    BadQido(String),
    /// A STOW-RS answer was not the DICOM JSON we expect.
    #[error("the server's STOW-RS answer is not valid DICOM JSON: {0}")]
    BadStow(String),
    /// The HTTP layer failed.
    #[error("{url}: {message}")]
    Http {
        /// The URL requested.
        url: String,
        /// What went wrong, as the HTTP layer says it.
        message: String,
        /// The HTTP status, when there was one.
        status: Option<u16>,
    },
}

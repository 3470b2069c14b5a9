//! Obscura's sealed format (v1): HPKE study-key wrapping, chunked AEAD objects, certificates
//! and signed manifests. The byte format is specified in `docs/FORMAT.md`.
//!
//! ```
//! use obscura_seal::*;
//! use rand_core::OsRng;
//!
//! // The reader's key (in the browser: a non-extractable WebCrypto key behind `Identity`).
//! let reader = DhSecretKey::generate(&mut OsRng);
//!
//! // The gateway seals an object under a fresh study key and wraps the key to the reader.
//! let study_key = StudyKey::generate(&mut OsRng);
//! let id = ObjectId::generate(&mut OsRng);
//! let sealed = seal_object(&study_key, &id, b"pixels", DEFAULT_CHUNK_SIZE).unwrap();
//! let stanza = wrap_study_key(reader.public_key(), "2.25.1234", &study_key, &mut OsRng);
//!
//! // The viewer unwraps the key and opens the object.
//! pollster::block_on(async {
//!     let key = unwrap_study_key(&reader, "2.25.1234", &[stanza]).await.unwrap();
//!     // Hand it to a backend (in the browser: a non-extractable WebCrypto key; the copy is zeroised).
//!     let key = RustCryptoAead.import_study_key(key).await.unwrap();
//!     let plain = open_object(&key, &id, &sealed).await.unwrap();
//!     assert_eq!(&plain[..], b"pixels");
//! });
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod b64;
pub mod cert;
mod error;
pub mod gate;
pub mod hpke;
pub mod keys;
pub mod manifest;
pub mod share;
pub mod stream;
pub mod study;

pub use cert::{
    Certificate, EnrolmentRequest, Role, CERTIFICATE_CONTEXT, CERTIFICATE_FORMAT, ENROLMENT_CONTEXT, ENROLMENT_FORMAT,
};
pub use error::SealError;
pub use keys::{signed_message, verify, DhSecretKey, Identity, KeyId, PublicKey, Signature, Signer, SigningKey};
pub use manifest::{
    open_manifest, seal_manifest, update_manifest, InstanceIndex, ManifestBody, ManifestInput, ManifestUpdate,
    NewShare, ObjectEntry, SealedBlob, SeriesIndex, StudyIndex, StudyKeys, UpdatedManifest, VerifiedManifest,
    MANIFEST_CONTEXT,
};
pub use rand_core;
pub use share::{argon2id, GateSecret, LinkId, PasscodeCost, PasscodeKey, ShareGate, ShareLink, ShareStanza};
pub use stream::{
    open_object, seal_object, AeadBackend, ChunkCipher, ObjectHeader, ObjectId, ObjectLayout, ObjectOpener,
    ObjectReceiver, RustCryptoAead, RustCryptoCipher, StudyKeyHandle, DEFAULT_CHUNK_SIZE, HEADER_LEN, MAX_CHUNK_SIZE,
    TAG_LEN,
};
pub use study::{unwrap_study_key, wrap_study_key, wrap_study_key_deterministic, Stanza, StudyKey};
pub use zeroize;

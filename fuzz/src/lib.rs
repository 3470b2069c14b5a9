//! The fixed keys of the fuzz targets: the secrets of `docs/test-vectors/seal-v1.json`, so that the
//! seed corpus (made from those vectors) gets past the parsers into unwrapping, decryption and
//! signature checks.

use std::sync::OnceLock;

use obscura_seal::{DhSecretKey, PublicKey, SigningKey, StudyKey};

/// The study UID the vector stanza was wrapped for.
pub const STUDY_UID: &str = "2.25.42";
/// The time at which the vector manifest's gateway certificate is valid.
pub const NOW: i64 = 1_800_000_000;
/// The version the manifest target has "already seen" (the vector manifest is version 1).
pub const LAST_SEEN_VERSION: u64 = 1;

/// The reader key the vector stanza is addressed to (`keys.secrets.recipient`).
pub fn recipient() -> &'static DhSecretKey {
    static K: OnceLock<DhSecretKey> = OnceLock::new();
    K.get_or_init(|| DhSecretKey::from_bytes(&[0x11; 32]).expect("valid scalar"))
}

/// The organisation public key, the trust anchor (`keys.secrets.organisation`).
pub fn anchor() -> &'static PublicKey {
    static K: OnceLock<PublicKey> = OnceLock::new();
    K.get_or_init(|| SigningKey::from_bytes(&[0x33; 32]).expect("valid scalar").public_key().clone())
}

/// The study key of the vector objects (`object_key.study_key`).
pub fn study_key() -> &'static StudyKey {
    static K: OnceLock<StudyKey> = OnceLock::new();
    K.get_or_init(|| StudyKey::from_bytes([0x66; 32]))
}

/// The passcode of the vectors' passcode share link (`rotated_manifest.passcode`).
pub const SHARE_PASSCODE: &str = "4711";

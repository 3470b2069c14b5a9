//! Study keys and the HPKE recipient stanzas that wrap them.

use core::fmt;

use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::hpke;
use crate::keys::{DhSecretKey, Identity, KeyId, PublicKey};
use crate::stream::ObjectId;
use crate::SealError;

/// HKDF info of object keys.
pub const OBJECT_KEY_INFO: &[u8] = b"obscura/v1/object-key";
/// Prefix of the HPKE `info` of recipient stanzas (followed by 0x00 and the study UID).
pub const STUDY_KEY_INFO: &[u8] = b"obscura/v1/study-key";

/// The 32-byte random key of one study (one sealing epoch). Zeroized on drop.
/// Equality is constant-time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct StudyKey([u8; 32]);

impl PartialEq for StudyKey {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq as _;
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for StudyKey {}

impl StudyKey {
    /// A fresh random key.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut k = StudyKey([0u8; 32]);
        rng.fill_bytes(&mut k.0);
        k
    }
    /// Wraps given bytes (tests, vectors, share links).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        StudyKey(bytes)
    }
    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    /// The AES-256-GCM key of object `id`:
    /// HKDF-SHA256(salt = id, ikm = study key, info = "obscura/v1/object-key"), 32 bytes.
    pub fn object_key(&self, id: &ObjectId) -> Zeroizing<[u8; 32]> {
        let mut k = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(&id.0), &self.0)
            .expand(OBJECT_KEY_INFO, &mut k[..])
            .expect("32 bytes is a valid HKDF-SHA256 length");
        k
    }
}

impl fmt::Debug for StudyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StudyKey(<redacted>)")
    }
}

/// The study key sealed to one recipient with HPKE Base mode (AES-256-GCM).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stanza {
    /// The recipient's public key (base64 SEC1 in JSON): kept so that a rotation can wrap the next
    /// study key to the same recipients without asking for their certificates again.
    pub recipient: PublicKey,
    /// HPKE `enc`: the ephemeral public key, SEC1 uncompressed (base64 in JSON).
    #[serde(with = "crate::b64::array")]
    pub enc: [u8; 65],
    /// HPKE ciphertext of the 32-byte study key plus tag: 48 bytes (base64 in JSON).
    #[serde(with = "crate::b64::vec")]
    pub wrapped: Vec<u8>,
}

fn stanza_info(study_uid: &str) -> Vec<u8> {
    let mut info = Vec::with_capacity(STUDY_KEY_INFO.len() + 1 + study_uid.len());
    info.extend_from_slice(STUDY_KEY_INFO);
    info.push(0);
    info.extend_from_slice(study_uid.as_bytes());
    info
}

/// Wraps the study key to `recipient` for study `study_uid`
/// (HPKE info = "obscura/v1/study-key" || 0x00 || study_uid, aad = the recipient key id).
pub fn wrap_study_key(recipient: &PublicKey, study_uid: &str, key: &StudyKey, rng: &mut impl CryptoRngCore) -> Stanza {
    wrap_study_key_deterministic(recipient, study_uid, key, &DhSecretKey::generate(rng))
}

/// [`wrap_study_key`] with a given ephemeral secret (tests and vectors only).
pub fn wrap_study_key_deterministic(
    recipient: &PublicKey,
    study_uid: &str,
    key: &StudyKey,
    ephemeral: &DhSecretKey,
) -> Stanza {
    let key_id = recipient.key_id();
    let (enc, wrapped) =
        hpke::seal_base_deterministic(recipient, ephemeral, &stanza_info(study_uid), &key_id.0, key.as_bytes())
            .expect("AES-GCM seal of 32 bytes cannot fail");
    Stanza { recipient: recipient.clone(), enc, wrapped }
}

impl Stanza {
    /// The recipient's key id (the HPKE `aad` of the stanza).
    pub fn key_id(&self) -> KeyId {
        self.recipient.key_id()
    }
}

/// Finds the stanza addressed to `identity` and unwraps the study key.
///
/// [`SealError::NoStanzaForKey`] if none is addressed to it; [`SealError::Tampered`]
/// (`what` = "recipient stanza") if one is but does not open (re-targeted, from another study,
/// or altered).
pub async fn unwrap_study_key(
    identity: &impl Identity,
    study_uid: &str,
    stanzas: &[Stanza],
) -> Result<StudyKey, SealError> {
    let key_id = identity.public_key().key_id();
    let info = stanza_info(study_uid);
    let mut last = SealError::NoStanzaForKey { key_id };
    for s in stanzas.iter().filter(|s| s.recipient == *identity.public_key()) {
        match hpke::open_base(identity, &s.enc, &info, &key_id.0, &s.wrapped).await {
            Ok(pt) if pt.len() == 32 => {
                let mut k = StudyKey([0u8; 32]);
                k.0.copy_from_slice(&pt);
                return Ok(k);
            }
            Ok(_) | Err(SealError::Tampered { .. }) | Err(SealError::InvalidKey(_)) => {
                last = SealError::Tampered { what: "recipient stanza" };
            }
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

//! P-256 keys: public keys, key ids, fingerprints, ECDSA signing and static ECDH secrets.

use core::fmt;

use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use rand_core::CryptoRngCore;
use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::SealError;

/// Label hashed in front of the SEC1 bytes to make a [`KeyId`].
pub const KEY_ID_LABEL: &[u8] = b"obscura/v1/key-id";
/// Label hashed in front of the SEC1 bytes to make a fingerprint.
pub const FINGERPRINT_LABEL: &[u8] = b"obscura/v1/fingerprint";

/// A validated P-256 public key (ECDH and ECDSA alike), always handled as SEC1 uncompressed
/// (65 bytes, `0x04 || x || y`).
///
/// In JSON it is the standard base64 (padded) of those 65 bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    point: p256::PublicKey,
    sec1: [u8; 65],
}

impl PublicKey {
    /// Parses and validates a SEC1 uncompressed point (65 bytes, first byte 0x04, on the curve).
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, SealError> {
        if bytes.len() != 65 || bytes[0] != 0x04 {
            return Err(SealError::InvalidKey("a public key must be a 65-byte SEC1 uncompressed P-256 point"));
        }
        let point = p256::PublicKey::from_sec1_bytes(bytes)
            .map_err(|_| SealError::InvalidKey("the public key is not a point on P-256"))?;
        Ok(Self::from_point(point))
    }

    pub(crate) fn from_point(point: p256::PublicKey) -> Self {
        let enc = point.to_encoded_point(false);
        let mut sec1 = [0u8; 65];
        sec1.copy_from_slice(enc.as_bytes());
        Self { point, sec1 }
    }

    /// The 65-byte SEC1 uncompressed encoding.
    pub fn to_sec1(&self) -> [u8; 65] {
        self.sec1
    }

    /// The 65-byte SEC1 uncompressed encoding, borrowed.
    pub fn as_sec1(&self) -> &[u8; 65] {
        &self.sec1
    }

    pub(crate) fn point(&self) -> &p256::PublicKey {
        &self.point
    }

    /// `KeyId` = first 16 bytes of SHA-256("obscura/v1/key-id" || sec1).
    pub fn key_id(&self) -> KeyId {
        let d = Sha256::new().chain_update(KEY_ID_LABEL).chain_update(self.sec1).finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&d[..16]);
        KeyId(id)
    }

    /// A human-comparable safety number: 12 groups of 5 decimal digits separated by spaces.
    ///
    /// `H = SHA-256(label || 0x00 || sec1) || SHA-256(label || 0x01 || sec1)` (64 bytes) with
    /// label "obscura/v1/fingerprint"; group k (0..12) = big-endian integer of `H[5k..5k+5]`
    /// mod 100000, zero-padded to 5 digits.
    pub fn fingerprint(&self) -> String {
        let mut h = [0u8; 64];
        for (i, half) in h.chunks_mut(32).enumerate() {
            let d = Sha256::new()
                .chain_update(FINGERPRINT_LABEL)
                .chain_update([i as u8])
                .chain_update(self.sec1)
                .finalize();
            half.copy_from_slice(&d);
        }
        let groups: Vec<String> = (0..12)
            .map(|k| {
                let v = h[5 * k..5 * k + 5].iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                format!("{:05}", v % 100_000)
            })
            .collect();
        groups.join(" ")
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::b64::encode(&self.sec1))
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let b = crate::b64::decode(&s).map_err(D::Error::custom)?;
        PublicKey::from_sec1(&b).map_err(D::Error::custom)
    }
}

/// A 16-byte key identifier (see [`PublicKey::key_id`]). Displayed and serialized as 32 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 16]);

crate::b64::hex_id_impls!(KeyId);

/// A private scalar as 32 bytes, without leaving an unzeroised copy behind.
fn scalar_bytes(bytes: p256::FieldBytes) -> Zeroizing<[u8; 32]> {
    let bytes = Zeroizing::new(bytes);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&bytes);
    out
}

/// A raw ECDSA P-256 signature, `r || s`, 32 bytes each (the WebCrypto format).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

/// The exact bytes an ECDSA signature of this format covers: `context || 0x00 || msg` (FORMAT.md
/// §1.4). Public for signers outside this crate (WebCrypto signs these bytes itself).
pub fn signed_message(context: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(context.len() + 1 + msg.len());
    m.extend_from_slice(context);
    m.push(0);
    m.extend_from_slice(msg);
    m
}

/// An ECDSA P-256 signing key (SHA-256, deterministic RFC 6979 nonces). Zeroized on drop.
#[derive(Clone)]
pub struct SigningKey {
    inner: p256::ecdsa::SigningKey,
    public: PublicKey,
}

impl SigningKey {
    /// Generates a new key.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Self::wrap(p256::ecdsa::SigningKey::random(rng))
    }

    fn wrap(inner: p256::ecdsa::SigningKey) -> Self {
        let public = PublicKey::from_point(p256::PublicKey::from(inner.verifying_key()));
        Self { inner, public }
    }

    /// Loads a key from its 32-byte big-endian scalar.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, SealError> {
        p256::ecdsa::SigningKey::from_bytes(&(*bytes).into())
            .map(Self::wrap)
            .map_err(|_| SealError::InvalidKey("not a valid P-256 private scalar"))
    }

    /// The 32-byte big-endian scalar.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        scalar_bytes(self.inner.to_bytes())
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `context || 0x00 || msg` (ECDSA P-256 with SHA-256). `context` is the fixed ASCII
    /// label of the statement type, e.g. "obscura/v1/manifest".
    pub fn sign(&self, context: &[u8], msg: &[u8]) -> Signature {
        let sig: p256::ecdsa::Signature = self.inner.sign(&signed_message(context, msg));
        Signature(sig.to_bytes().into())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(public {})", self.public.key_id())
    }
}

/// Verifies a signature made by [`SigningKey::sign`] with the same `context`.
///
/// Fails with [`SealError::BadSignature`] (`what` = "signature").
pub fn verify(public: &PublicKey, context: &[u8], msg: &[u8], sig: &Signature) -> Result<(), SealError> {
    let bad = SealError::BadSignature { what: "signature" };
    let s = p256::ecdsa::Signature::from_slice(&sig.0).map_err(|_| bad.clone())?;
    let vk = p256::ecdsa::VerifyingKey::from(public.point());
    vk.verify(&signed_message(context, msg), &s).map_err(|_| bad)
}

/// The joint for signing keys that may live outside this process (in the browser, a
/// non-extractable WebCrypto ECDSA `CryptoKey`): signs `context || 0x00 || msg` with ECDSA P-256 and
/// SHA-256, returning raw `r || s`.
#[allow(async_fn_in_trait)]
pub trait Signer {
    /// The public half.
    fn public_key(&self) -> &PublicKey;
    /// Signs `context || 0x00 || msg` (see [`signed_message`]).
    async fn sign(&self, context: &[u8], msg: &[u8]) -> Result<Signature, SealError>;
}

impl Signer for SigningKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    async fn sign(&self, context: &[u8], msg: &[u8]) -> Result<Signature, SealError> {
        Ok(SigningKey::sign(self, context, msg))
    }
}

/// The one joint for private-key operations: a static P-256 ECDH key that may live outside this
/// process (in the browser, a non-extractable WebCrypto `CryptoKey` used with `deriveBits`).
#[allow(async_fn_in_trait)]
pub trait Identity {
    /// The public half.
    fn public_key(&self) -> &PublicKey;
    /// Raw ECDH: the 32-byte big-endian x-coordinate of `secret * peer`.
    async fn ecdh(&self, peer: &PublicKey) -> Result<Zeroizing<[u8; 32]>, SealError>;
}

/// A static P-256 ECDH secret held in memory (native side: gateway, escrow, CLI). Zeroized on drop.
#[derive(Clone)]
pub struct DhSecretKey {
    inner: p256::SecretKey,
    public: PublicKey,
}

impl DhSecretKey {
    /// Generates a new key.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Self::wrap(p256::SecretKey::random(rng))
    }

    fn wrap(inner: p256::SecretKey) -> Self {
        let public = PublicKey::from_point(inner.public_key());
        Self { inner, public }
    }

    /// Loads a key from its 32-byte big-endian scalar.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, SealError> {
        p256::SecretKey::from_bytes(&(*bytes).into())
            .map(Self::wrap)
            .map_err(|_| SealError::InvalidKey("not a valid P-256 private scalar"))
    }

    /// The 32-byte big-endian scalar.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        scalar_bytes(self.inner.to_bytes())
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Synchronous raw ECDH (x-coordinate of the shared point).
    pub fn diffie_hellman(&self, peer: &PublicKey) -> Zeroizing<[u8; 32]> {
        let shared = p256::ecdh::diffie_hellman(self.inner.to_nonzero_scalar(), peer.point().as_affine());
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(shared.raw_secret_bytes());
        out
    }
}

impl fmt::Debug for DhSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DhSecretKey(public {})", self.public.key_id())
    }
}

impl Identity for DhSecretKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    async fn ecdh(&self, peer: &PublicKey) -> Result<Zeroizing<[u8; 32]>, SealError> {
        Ok(self.diffie_hellman(peer))
    }
}

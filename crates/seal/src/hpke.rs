//! HPKE (RFC 9180), Base mode, DHKEM(P-256, HKDF-SHA256) / HKDF-SHA256 / AES-GCM.
//!
//! Written on top of `p256`, `hkdf`, `sha2` and `aes-gcm` (no home-made primitive) so that the
//! one private-key operation of `Decap`, ECDH, goes through [`Identity::ecdh`] — in the browser a
//! WebCrypto `deriveBits` on a non-extractable key. Obscura uses AES-256-GCM (aead id 0x0002);
//! AES-128-GCM (0x0001) is implemented only so that every RFC 9180 vector of this KEM/KDF can be
//! checked.

use aes_gcm::aead::{Aead as _, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit as _, Nonce};
use hkdf::{Hkdf, HkdfExtract};
use rand_core::CryptoRngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::keys::{DhSecretKey, Identity, PublicKey};
use crate::SealError;

/// KEM id of DHKEM(P-256, HKDF-SHA256).
pub const KEM_ID: u16 = 0x0010;
/// KDF id of HKDF-SHA256.
pub const KDF_ID: u16 = 0x0001;
/// Length of an encapsulated key (`enc`): a SEC1 uncompressed P-256 point.
pub const N_ENC: usize = 65;
/// Length of an AES-GCM tag.
pub const N_TAG: usize = 16;

/// The AEADs supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AeadId {
    /// AES-128-GCM (0x0001): only for checking the RFC 9180 vectors.
    Aes128Gcm,
    /// AES-256-GCM (0x0002): what Obscura uses.
    Aes256Gcm,
}

impl AeadId {
    /// The RFC 9180 identifier.
    pub fn id(self) -> u16 {
        match self {
            AeadId::Aes128Gcm => 1,
            AeadId::Aes256Gcm => 2,
        }
    }
    /// Key length `Nk`.
    pub fn key_len(self) -> usize {
        match self {
            AeadId::Aes128Gcm => 16,
            AeadId::Aes256Gcm => 32,
        }
    }
}

const KEM_SUITE: [u8; 5] = [b'K', b'E', b'M', 0x00, 0x10];

fn hpke_suite(aead: AeadId) -> [u8; 10] {
    let a = aead.id().to_be_bytes();
    [b'H', b'P', b'K', b'E', 0x00, 0x10, 0x00, 0x01, a[0], a[1]]
}

/// `LabeledExtract(salt, label, ikm)` with the given suite id.
fn labeled_extract(suite: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut ex = HkdfExtract::<Sha256>::new(Some(salt));
    ex.input_ikm(b"HPKE-v1");
    ex.input_ikm(suite);
    ex.input_ikm(label);
    ex.input_ikm(ikm);
    let (prk, _) = ex.finalize();
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&prk);
    out
}

/// `LabeledExpand(prk, label, info, L)` with the given suite id.
fn labeled_expand(suite: &[u8], prk: &[u8; 32], label: &[u8], info: &[u8], out: &mut [u8]) {
    let l = u16::try_from(out.len()).expect("HPKE output length fits in u16").to_be_bytes();
    Hkdf::<Sha256>::from_prk(prk)
        .expect("32-byte PRK")
        .expand_multi_info(&[&l, b"HPKE-v1", suite, label, info], out)
        .expect("HPKE output length is small");
}

fn extract_and_expand(dh: &[u8; 32], kem_context: &[u8]) -> Zeroizing<[u8; 32]> {
    let eae_prk = labeled_extract(&KEM_SUITE, b"", b"eae_prk", dh);
    let mut ss = Zeroizing::new([0u8; 32]);
    labeled_expand(&KEM_SUITE, &eae_prk, b"shared_secret", kem_context, &mut ss[..]);
    ss
}

/// `Encap(pkR)` with a given ephemeral secret (deterministic; for tests and vectors).
/// Returns `(shared_secret, enc)`.
pub fn encap_deterministic(pk_r: &PublicKey, sk_e: &DhSecretKey) -> (Zeroizing<[u8; 32]>, [u8; N_ENC]) {
    let dh = sk_e.diffie_hellman(pk_r);
    let enc = sk_e.public_key().to_sec1();
    let mut kem_context = [0u8; 2 * N_ENC];
    kem_context[..N_ENC].copy_from_slice(&enc);
    kem_context[N_ENC..].copy_from_slice(pk_r.as_sec1());
    (extract_and_expand(&dh, &kem_context), enc)
}

/// `Encap(pkR)` with a fresh ephemeral key. Returns `(shared_secret, enc)`.
pub fn encap(pk_r: &PublicKey, rng: &mut impl CryptoRngCore) -> (Zeroizing<[u8; 32]>, [u8; N_ENC]) {
    encap_deterministic(pk_r, &DhSecretKey::generate(rng))
}

/// `Decap(enc, skR)`, the ECDH done by `identity` (WebCrypto in the browser).
pub async fn decap(identity: &impl Identity, enc: &[u8; N_ENC]) -> Result<Zeroizing<[u8; 32]>, SealError> {
    let pk_e = PublicKey::from_sec1(enc)?;
    let dh = identity.ecdh(&pk_e).await?;
    let mut kem_context = [0u8; 2 * N_ENC];
    kem_context[..N_ENC].copy_from_slice(enc);
    kem_context[N_ENC..].copy_from_slice(identity.public_key().as_sec1());
    Ok(extract_and_expand(&dh, &kem_context))
}

/// An HPKE encryption context (`KeyScheduleS`/`KeyScheduleR` output). Secrets zeroized on drop.
pub struct Context {
    aead: AeadId,
    key: Zeroizing<Vec<u8>>,
    base_nonce: [u8; 12],
    exporter_secret: Zeroizing<[u8; 32]>,
    seq: u64,
}

impl Context {
    /// The Base-mode key schedule (empty PSK and PSK id).
    pub fn key_schedule_base(aead: AeadId, shared_secret: &[u8; 32], info: &[u8]) -> Self {
        let suite = hpke_suite(aead);
        let psk_id_hash = labeled_extract(&suite, b"", b"psk_id_hash", b"");
        let info_hash = labeled_extract(&suite, b"", b"info_hash", info);
        let mut ksc = [0u8; 65];
        ksc[0] = 0x00; // mode_base
        ksc[1..33].copy_from_slice(&psk_id_hash[..]);
        ksc[33..].copy_from_slice(&info_hash[..]);
        let secret = labeled_extract(&suite, shared_secret, b"secret", b"");
        let mut key = Zeroizing::new(vec![0u8; aead.key_len()]);
        labeled_expand(&suite, &secret, b"key", &ksc, &mut key);
        let mut base_nonce = [0u8; 12];
        labeled_expand(&suite, &secret, b"base_nonce", &ksc, &mut base_nonce);
        let mut exporter_secret = Zeroizing::new([0u8; 32]);
        labeled_expand(&suite, &secret, b"exp", &ksc, &mut exporter_secret[..]);
        Context { aead, key, base_nonce, exporter_secret, seq: 0 }
    }

    /// The AEAD key.
    pub fn key(&self) -> &[u8] {
        &self.key
    }
    /// The base nonce.
    pub fn base_nonce(&self) -> &[u8; 12] {
        &self.base_nonce
    }
    /// The exporter secret.
    pub fn exporter_secret(&self) -> &[u8; 32] {
        &self.exporter_secret
    }

    fn next_nonce(&mut self) -> Result<[u8; 12], SealError> {
        let mut n = self.base_nonce;
        for (a, b) in n[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *a ^= b;
        }
        self.seq = self.seq.checked_add(1).ok_or(SealError::Malformed("HPKE sequence overflow".into()))?;
        Ok(n)
    }

    /// `ContextS.Seal(aad, pt)`; increments the sequence number.
    pub fn seal(&mut self, aad: &[u8], pt: &[u8]) -> Result<Vec<u8>, SealError> {
        let n = self.next_nonce()?;
        let p = Payload { msg: pt, aad };
        let err = |_| SealError::Backend("AES-GCM encryption failed".into());
        match self.aead {
            AeadId::Aes128Gcm => Aes128Gcm::new_from_slice(&self.key)
                .expect("16-byte key")
                .encrypt(Nonce::from_slice(&n), p)
                .map_err(err),
            AeadId::Aes256Gcm => Aes256Gcm::new_from_slice(&self.key)
                .expect("32-byte key")
                .encrypt(Nonce::from_slice(&n), p)
                .map_err(err),
        }
    }

    /// `ContextR.Open(aad, ct)`; increments the sequence number. Fails with
    /// [`SealError::Tampered`] (`what` = "HPKE ciphertext").
    pub fn open(&mut self, aad: &[u8], ct: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let n = self.next_nonce()?;
        let p = Payload { msg: ct, aad };
        let r = match self.aead {
            AeadId::Aes128Gcm => {
                Aes128Gcm::new_from_slice(&self.key).expect("16-byte key").decrypt(Nonce::from_slice(&n), p)
            }
            AeadId::Aes256Gcm => {
                Aes256Gcm::new_from_slice(&self.key).expect("32-byte key").decrypt(Nonce::from_slice(&n), p)
            }
        };
        r.map(Zeroizing::new).map_err(|_| SealError::Tampered { what: "HPKE ciphertext" })
    }
}

/// Single-shot `SealBase` (AES-256-GCM, sequence 0) with a fresh ephemeral key. Returns `(enc, ct)`.
pub fn seal_base(
    pk_r: &PublicKey,
    info: &[u8],
    aad: &[u8],
    pt: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<([u8; N_ENC], Vec<u8>), SealError> {
    seal_base_deterministic(pk_r, &DhSecretKey::generate(rng), info, aad, pt)
}

/// [`seal_base`] with a given ephemeral secret (for tests and vectors).
pub fn seal_base_deterministic(
    pk_r: &PublicKey,
    sk_e: &DhSecretKey,
    info: &[u8],
    aad: &[u8],
    pt: &[u8],
) -> Result<([u8; N_ENC], Vec<u8>), SealError> {
    let (ss, enc) = encap_deterministic(pk_r, sk_e);
    let mut ctx = Context::key_schedule_base(AeadId::Aes256Gcm, &ss, info);
    Ok((enc, ctx.seal(aad, pt)?))
}

/// Single-shot `OpenBase` (AES-256-GCM, sequence 0); the ECDH is done by `identity`.
pub async fn open_base(
    identity: &impl Identity,
    enc: &[u8; N_ENC],
    info: &[u8],
    aad: &[u8],
    ct: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let ss = decap(identity, enc).await?;
    Context::key_schedule_base(AeadId::Aes256Gcm, &ss, info).open(aad, ct)
}

//! Share links: the study key wrapped under a 256-bit secret that lives only in the URL fragment,
//! optionally combined with a passcode through Argon2id, with an expiry bound into the stanza.
//!
//! A passcode link can also be *gated* ([`create_gated_share`]): its wrap key then needs a third
//! secret, the gate secret, which a gate service (`obscura serve`) hands out only against a
//! verifier of the right passcode, a limited number of times (`crate::gate`). Without the gate,
//! anyone holding the link and the public manifest could guess passcodes offline without limit.
//!
//! ```
//! use obscura_seal::share::{create_share, open_share, PasscodeCost, ShareLink};
//! use obscura_seal::StudyKey;
//! use rand_core::OsRng;
//!
//! let key = StudyKey::generate(&mut OsRng);
//! let (stanza, link) = create_share("2.25.1", &key, 2_000_000_000, Some("4711"), PasscodeCost::TEST, &mut OsRng)?;
//! // The fragment goes into the URL after '#'; the stanza into the signed manifest.
//! let link = ShareLink::from_fragment(&link.to_fragment())?;
//! let opened = open_share("2.25.1", &[stanza], &link, Some("4711"), 1_900_000_000)?;
//! assert!(opened == key);
//! # Ok::<(), obscura_seal::SealError>(())
//! ```

use aes_gcm::aead::{Aead as _, Payload};
use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::study::StudyKey;
use crate::SealError;

/// HKDF info prefix (followed by 0x00 and the study UID) and AAD prefix of share stanzas.
pub const SHARE_INFO: &[u8] = b"obscura/v1/share-link";
/// HKDF info of a gated link's passcode verifier (what the gate service compares).
pub const GATE_VERIFIER_INFO: &[u8] = b"obscura/v1/share-gate-verifier";
/// The fragment key and version tag: a link fragment reads `share=1~…`.
pub const FRAGMENT_PREFIX: &str = "share=1~";
/// Argon2id bounds a viewer accepts (a hostile stanza must not make a tablet allocate gigabytes).
pub const MAX_PASSCODE_MEMORY_KIB: u32 = 256 * 1024;
/// Largest Argon2id pass count accepted.
pub const MAX_PASSCODE_PASSES: u32 = 16;
/// Largest Argon2id parallelism accepted.
pub const MAX_PASSCODE_LANES: u32 = 4;

/// A random 16-byte share link id. Displayed and serialized as 32 hex digits.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub [u8; 16]);

crate::b64::hex_id_impls!(LinkId);

/// Argon2id cost of a passcode (version 0x13, 32-byte output).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasscodeCost {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl PasscodeCost {
    /// The default: 64 MiB, 3 passes (RFC 9106's second recommended option), 1 lane because a
    /// browser computes it on one thread.
    pub const DEFAULT: PasscodeCost = PasscodeCost { m_kib: 64 * 1024, t: 3, p: 1 };
    /// A cheap cost for tests and examples only.
    pub const TEST: PasscodeCost = PasscodeCost { m_kib: 64, t: 1, p: 1 };

    fn check(&self) -> Result<argon2::Params, SealError> {
        if self.p == 0 || self.p > MAX_PASSCODE_LANES || self.t == 0 || self.t > MAX_PASSCODE_PASSES {
            return Err(SealError::Malformed("Argon2id passes or lanes out of range".into()));
        }
        if self.m_kib < 8 * self.p || self.m_kib > MAX_PASSCODE_MEMORY_KIB {
            return Err(SealError::Malformed("Argon2id memory out of range".into()));
        }
        argon2::Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|e| SealError::Malformed(format!("Argon2id parameters: {e}")))
    }
}

/// The passcode part of a share stanza: Argon2id cost and salt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasscodeParams {
    /// The Argon2id cost.
    #[serde(flatten)]
    pub cost: PasscodeCost,
    /// 16 random bytes (base64 in JSON).
    #[serde(with = "crate::b64::array")]
    pub salt: [u8; 16],
    /// The wrap key also needs the gate secret that a gate service releases against the right
    /// passcode (JSON `"gate": true`; absent when false). Bound into the associated data.
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub gate: bool,
}

/// The study key wrapped for one share link (public: it sits in the signed manifest).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareStanza {
    /// The link's id (hex).
    pub link_id: LinkId,
    /// End of validity, unix seconds (inclusive); bound into the AEAD associated data.
    pub expires: i64,
    /// Present when the link also needs a passcode.
    pub passcode: Option<PasscodeParams>,
    /// AES-GCM nonce (base64).
    #[serde(with = "crate::b64::array")]
    pub nonce: [u8; 12],
    /// AES-256-GCM of the 32-byte study key plus tag: 48 bytes (base64).
    #[serde(with = "crate::b64::vec")]
    pub wrapped: Vec<u8>,
}

impl ShareStanza {
    /// The associated data: "obscura/v1/share-link" ‖ link id ‖ expires (i64 BE) ‖ 0x00, or
    /// 0x01 ‖ m_kib ‖ t ‖ p (u32 BE each) ‖ salt when a passcode is required (0x02 instead of 0x01
    /// when the link is gated).
    pub fn aad(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(SHARE_INFO.len() + 16 + 8 + 1 + 12 + 16);
        aad.extend_from_slice(SHARE_INFO);
        aad.extend_from_slice(&self.link_id.0);
        aad.extend_from_slice(&self.expires.to_be_bytes());
        match &self.passcode {
            None => aad.push(0),
            Some(p) => {
                aad.push(if p.gate { 2 } else { 1 });
                aad.extend_from_slice(&p.cost.m_kib.to_be_bytes());
                aad.extend_from_slice(&p.cost.t.to_be_bytes());
                aad.extend_from_slice(&p.cost.p.to_be_bytes());
                aad.extend_from_slice(&p.salt);
            }
        }
        aad
    }

    /// Whether opening needs a passcode.
    pub fn needs_passcode(&self) -> bool {
        self.passcode.is_some()
    }

    /// Whether opening needs the gate secret (a gated passcode link).
    pub fn is_gated(&self) -> bool {
        self.passcode.as_ref().is_some_and(|p| p.gate)
    }

    /// Runs Argon2id on `passcode` with this stanza's cost and salt (the costly step: do it once
    /// per attempt, then derive the gate verifier and the wrap key from the result).
    pub fn passcode_key(&self, passcode: &str) -> Result<PasscodeKey, SealError> {
        let params = self.passcode.as_ref().ok_or(SealError::Malformed("this share link has no passcode".into()))?;
        Ok(PasscodeKey(*argon2id(passcode, &params.salt, params.cost)?))
    }
}

/// Argon2id of a passcode under one stanza's parameters (`pc` in `docs/FORMAT.md` §6). Zeroized on
/// drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct PasscodeKey([u8; 32]);

impl PasscodeKey {
    /// The 32 bytes (test vectors; nothing else needs them outside this module).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The 32-byte gate secret of a gated link. Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct GateSecret(pub [u8; 32]);

impl core::fmt::Debug for GateSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("GateSecret(<secret>)")
    }
}

/// What the gate service of a new gated link must hold: the verifier it compares and the secret
/// it releases (`crate::gate::GateRecord`).
#[derive(Debug)]
pub struct ShareGate {
    /// HKDF-SHA256(salt = link id, ikm = secret ‖ pc, info = [`GATE_VERIFIER_INFO`]).
    pub verifier: [u8; 32],
    /// The third part of the wrap key's input.
    pub secret: GateSecret,
}

/// The secret half of a share link: it lives only in the URL fragment (never sent to a server).
/// Zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct ShareLink {
    /// The pseudonymous study UID the link opens.
    pub study_uid: String,
    /// Which share stanza it opens.
    #[zeroize(skip)]
    pub link_id: LinkId,
    secret: [u8; 32],
}

impl core::fmt::Debug for ShareLink {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ShareLink({}, {}, <secret>)", self.study_uid, self.link_id)
    }
}

impl ShareLink {
    /// The URL fragment (without '#'): `share=1~<link id hex>~<secret base64url>~<study uid>`.
    pub fn to_fragment(&self) -> String {
        format!("{FRAGMENT_PREFIX}{}~{}~{}", self.link_id, B64URL.encode(self.secret), self.study_uid)
    }

    /// The gate verifier of this link for a passcode: HKDF-SHA256(salt = link id, ikm = secret ‖
    /// pc, info = [`GATE_VERIFIER_INFO`], 32 bytes). Whoever holds it (the gate service) cannot
    /// test passcodes without the link's secret.
    pub fn gate_verifier(&self, pc: &PasscodeKey) -> [u8; 32] {
        let mut ikm = Zeroizing::new([0u8; 64]);
        ikm[..32].copy_from_slice(&self.secret);
        ikm[32..].copy_from_slice(&pc.0);
        let mut v = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&self.link_id.0), &ikm[..])
            .expand(GATE_VERIFIER_INFO, &mut v)
            .expect("32 bytes is a valid HKDF-SHA256 length");
        v
    }

    /// Parses a fragment (with or without the leading '#').
    pub fn from_fragment(fragment: &str) -> Result<Self, SealError> {
        let f = fragment.strip_prefix('#').unwrap_or(fragment);
        let Some(rest) = f.strip_prefix(FRAGMENT_PREFIX) else {
            if let Some(v) = f.strip_prefix("share=").and_then(|r| r.split('~').next()) {
                return Err(SealError::UnsupportedVersion {
                    what: "share link",
                    version: v.parse().unwrap_or(u32::MAX),
                });
            }
            return Err(SealError::Malformed("not an Obscura share link (it must start with #share=1~)".into()));
        };
        let bad =
            || SealError::Malformed("share link is damaged: copy the whole link, including the part after '#'".into());
        let mut parts = rest.splitn(3, '~');
        let (Some(id), Some(secret), Some(uid)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let link_id = LinkId::from_hex(id).map_err(|_| bad())?;
        let bytes = Zeroizing::new(B64URL.decode(secret).map_err(|_| bad())?);
        if bytes.len() != 32
            || uid.is_empty()
            || uid.len() > 64
            || !uid.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        {
            return Err(bad());
        }
        let mut link = ShareLink { study_uid: uid.to_owned(), link_id, secret: [0u8; 32] };
        link.secret.copy_from_slice(&bytes);
        Ok(link)
    }
}

/// Argon2id (version 0x13) of a passcode or passphrase under `salt` and `cost`, 32 bytes: the one
/// memory-hard KDF of this format (share-link passcodes, and the viewer's passphrase that protects
/// the reader key at rest). The cost is checked against the bounds above before any work.
pub fn argon2id(secret: &str, salt: &[u8; 16], cost: PasscodeCost) -> Result<Zeroizing<[u8; 32]>, SealError> {
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, cost.check()?);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(secret.as_bytes(), salt, &mut out[..])
        .map_err(|e| SealError::Malformed(format!("Argon2id: {e}")))?;
    Ok(out)
}

fn wrap_key(
    study_uid: &str,
    link_id: &LinkId,
    secret: &[u8; 32],
    pc: Option<&PasscodeKey>,
    gate: Option<&GateSecret>,
) -> Zeroizing<[u8; 32]> {
    let mut ikm = Zeroizing::new([0u8; 96]);
    ikm[..32].copy_from_slice(secret);
    let mut ikm_len = 32;
    if let Some(pc) = pc {
        ikm[32..64].copy_from_slice(&pc.0);
        ikm_len = 64;
        if let Some(g) = gate {
            ikm[64..].copy_from_slice(&g.0);
            ikm_len = 96;
        }
    }
    let mut info = Vec::with_capacity(SHARE_INFO.len() + 1 + study_uid.len());
    info.extend_from_slice(SHARE_INFO);
    info.push(0);
    info.extend_from_slice(study_uid.as_bytes());
    let mut k = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(&link_id.0), &ikm[..ikm_len])
        .expand(&info, &mut k[..])
        .expect("32 bytes is a valid HKDF-SHA256 length");
    k
}

/// Creates a share link for study `study_uid`: a fresh link id and 256-bit secret, the study key
/// wrapped under HKDF(secret ‖ Argon2id(passcode)) with the expiry bound as associated data.
pub fn create_share(
    study_uid: &str,
    key: &StudyKey,
    expires: i64,
    passcode: Option<&str>,
    cost: PasscodeCost,
    rng: &mut impl CryptoRngCore,
) -> Result<(ShareStanza, ShareLink), SealError> {
    let (stanza, link, _) = create(study_uid, key, expires, passcode, false, cost, rng)?;
    Ok((stanza, link))
}

/// Creates a gated passcode link: as [`create_share`], plus a random gate secret in the wrap
/// key's input (HKDF(secret ‖ Argon2id(passcode) ‖ gate secret)); the returned [`ShareGate`] goes
/// to the gate service, never into the store.
pub fn create_gated_share(
    study_uid: &str,
    key: &StudyKey,
    expires: i64,
    passcode: &str,
    cost: PasscodeCost,
    rng: &mut impl CryptoRngCore,
) -> Result<(ShareStanza, ShareLink, ShareGate), SealError> {
    let (stanza, link, gate) = create(study_uid, key, expires, Some(passcode), true, cost, rng)?;
    Ok((stanza, link, gate.expect("a gated link has a gate")))
}

fn create(
    study_uid: &str,
    key: &StudyKey,
    expires: i64,
    passcode: Option<&str>,
    gated: bool,
    cost: PasscodeCost,
    rng: &mut impl CryptoRngCore,
) -> Result<(ShareStanza, ShareLink, Option<ShareGate>), SealError> {
    let mut link = ShareLink { study_uid: study_uid.to_owned(), link_id: LinkId::default(), secret: [0u8; 32] };
    rng.fill_bytes(&mut link.link_id.0);
    rng.fill_bytes(&mut link.secret);
    let params = match passcode {
        Some("") => {
            return Err(SealError::Malformed("an empty passcode protects nothing; omit it or choose one".into()))
        }
        Some(_) => {
            cost.check()?;
            let mut salt = [0u8; 16];
            rng.fill_bytes(&mut salt);
            Some(PasscodeParams { cost, salt, gate: gated })
        }
        None => None,
    };
    let mut stanza =
        ShareStanza { link_id: link.link_id, expires, passcode: params, nonce: [0u8; 12], wrapped: vec![] };
    rng.fill_bytes(&mut stanza.nonce);
    let pc = passcode.map(|code| stanza.passcode_key(code)).transpose()?;
    let gate = match (&pc, gated) {
        (Some(pc), true) => {
            let mut secret = GateSecret([0u8; 32]);
            rng.fill_bytes(&mut secret.0);
            Some(ShareGate { verifier: link.gate_verifier(pc), secret })
        }
        _ => None,
    };
    let k = wrap_key(study_uid, &link.link_id, &link.secret, pc.as_ref(), gate.as_ref().map(|g| &g.secret));
    stanza.wrapped = Aes256Gcm::new((&*k).into())
        .encrypt(Nonce::from_slice(&stanza.nonce), Payload { msg: key.as_bytes(), aad: &stanza.aad() })
        .expect("AES-GCM seal of 32 bytes cannot fail");
    Ok((stanza, link, gate))
}

/// The stanza a link opens, if it still may: [`SealError::NoSuchShare`] (no stanza with the link's
/// id: revoked, or a link for another study), then [`SealError::ShareExpired`].
pub fn find_share<'s>(
    study_uid: &str,
    stanzas: &'s [ShareStanza],
    link: &ShareLink,
    now: i64,
) -> Result<&'s ShareStanza, SealError> {
    if link.study_uid != study_uid {
        return Err(SealError::NoSuchShare { link_id: link.link_id });
    }
    let s =
        stanzas.iter().find(|s| s.link_id == link.link_id).ok_or(SealError::NoSuchShare { link_id: link.link_id })?;
    if now > s.expires {
        return Err(SealError::ShareExpired { expires: s.expires, now });
    }
    Ok(s)
}

/// Unwraps the study key from `stanza` (found with [`find_share`]) with the link, the passcode's
/// Argon2id output `pc` ([`ShareStanza::passcode_key`]) when the stanza has a passcode, and the
/// gate secret when it is gated.
///
/// Errors: [`SealError::PasscodeRequired`] (no `pc` for a passcode stanza),
/// [`SealError::ShareGateRequired`] (no gate secret for a gated one), then the unwrap:
/// [`SealError::WrongPasscode`] for a passcode link without gate, [`SealError::Tampered`] otherwise
/// (with a gate, a wrong passcode is caught by the gate service before).
pub fn unwrap_share(
    study_uid: &str,
    stanza: &ShareStanza,
    link: &ShareLink,
    pc: Option<&PasscodeKey>,
    gate: Option<&GateSecret>,
) -> Result<StudyKey, SealError> {
    let pc = match (&stanza.passcode, pc) {
        (Some(_), None) => return Err(SealError::PasscodeRequired),
        (Some(p), Some(_)) if p.gate && gate.is_none() => return Err(SealError::ShareGateRequired),
        (Some(_), pc) => pc,
        (None, _) => None,
    };
    let gate = if stanza.is_gated() { gate } else { None };
    let k = wrap_key(study_uid, &link.link_id, &link.secret, pc, gate);
    let pt = Zeroizing::new(
        Aes256Gcm::new((&*k).into())
            .decrypt(Nonce::from_slice(&stanza.nonce), Payload { msg: &stanza.wrapped, aad: &stanza.aad() })
            .map_err(|_| {
                if pc.is_some() && gate.is_none() {
                    SealError::WrongPasscode
                } else {
                    SealError::Tampered { what: "share stanza" }
                }
            })?,
    );
    let bytes: [u8; 32] = pt[..].try_into().map_err(|_| SealError::Tampered { what: "share stanza" })?;
    Ok(StudyKey::from_bytes(bytes))
}

/// Opens the study key with a share link (and its passcode) in one step: [`find_share`], then
/// [`unwrap_share`]. A gated link needs the gate service first, so here it is
/// [`SealError::ShareGateRequired`] once the passcode is given.
///
/// Errors, checked in this order: [`SealError::NoSuchShare`] (no stanza with the link's id: revoked,
/// or a link for another study), [`SealError::ShareExpired`] (`now` past the expiry),
/// [`SealError::PasscodeRequired`], [`SealError::ShareGateRequired`], then the unwrap:
/// [`SealError::WrongPasscode`] when a passcode was involved, [`SealError::Tampered`] otherwise.
pub fn open_share(
    study_uid: &str,
    stanzas: &[ShareStanza],
    link: &ShareLink,
    passcode: Option<&str>,
    now: i64,
) -> Result<StudyKey, SealError> {
    let s = find_share(study_uid, stanzas, link, now)?;
    let pc = match (s.needs_passcode(), passcode) {
        (true, Some(code)) if s.is_gated() => {
            s.passcode_key(code)?; // the cost parameters are checked before anything else
            return Err(SealError::ShareGateRequired);
        }
        (true, Some(code)) => Some(s.passcode_key(code)?),
        (true, None) => return Err(SealError::PasscodeRequired),
        (false, _) => None,
    };
    unwrap_share(study_uid, s, link, pc.as_ref(), None)
}

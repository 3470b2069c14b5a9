//! Wycheproof ECDH P-256 vectors in their SubjectPublicKeyInfo (`ecdh_secp256r1_test.json`) and JWK
//! (`ecdh_secp256r1_webcrypto_test.json`) forms: reading them, and the policy saying which cases
//! must agree and which must be refused.
//!
//! Shared, through `#[path]`, by `crates/seal/tests/vectors.rs` (RustCrypto) and
//! `wasm-tests/tests/browser/vectors.rs` (WebCrypto in headless Chromium), so both backends are
//! held to the same rules. It uses only `obscura-seal`, `serde_json`, `hex` and `base64`.
//!
//! Obscura itself never reads SPKI or JWK public keys: its keys are SEC1 uncompressed points
//! (FORMAT.md §1.1). So a public key goes through a deliberately narrow reader here, then through
//! [`PublicKey::from_sec1`], the real gate:
//!
//! - SPKI: accepted only if it is byte for byte the one DER encoding of an `id-ecPublicKey` key on
//!   the named curve `prime256v1` with a 65-byte uncompressed point (DER is canonical, so this *is*
//!   a strict DER parser for the one structure we accept);
//! - JWK: `kty` "EC", `crv` "P-256", `x` and `y` base64url (no padding) of 32 bytes each.
//!
//! Policy, per Wycheproof `result` and flag:
//!
//! - `valid`: must agree (expected shared secret).
//! - `invalid`: must be refused (by the reader, by `from_sec1`, or by ECDH).
//! - `acceptable` with `InvalidAsn` (BER-isms, garbage, wrong tags or lengths): refused by the strict
//!   DER reader.
//! - `acceptable` with `UnnamedCurve` (explicit curve parameters, some changed but unused): refused,
//!   only the named curve is accepted.
//! - `acceptable` with `CompressedPublic`: refused, compressed points are not used (FORMAT.md §1.1).
//! - `acceptable` with any other flag: the test stops and asks for a decision.
//!
//! A case that is refused but should agree fails; so does, always, a shared secret other than the
//! expected one.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64URL, Engine as _};
use obscura_seal::PublicKey;
use serde_json::Value;

/// `ecdh_secp256r1_test.json` (DER SPKI public keys, hex private keys).
pub const SPKI_FILE: &str = include_str!("../data/wycheproof_ecdh_secp256r1_test.json");
/// `ecdh_secp256r1_webcrypto_test.json` (JWK public and private keys).
pub const JWK_FILE: &str = include_str!("../data/wycheproof_ecdh_secp256r1_webcrypto_test.json");

/// The DER of `SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits, 65 bytes) }`
/// up to the point.
pub const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// What a case must do under the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Must {
    /// Give the expected shared secret.
    Agree,
    /// Be refused somewhere (reader, `from_sec1` or ECDH).
    BeRefused,
}

/// Where a peer key was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// By the SPKI or JWK reader (not the one accepted encoding).
    Encoding,
    /// By [`PublicKey::from_sec1`] (not a point on P-256).
    Point,
    /// By the ECDH backend.
    Ecdh,
}

/// One Wycheproof case.
pub struct Case {
    pub id: u64,
    pub comment: String,
    pub result: String,
    pub flags: Vec<String>,
    /// The private scalar, 32 bytes big-endian.
    pub private: [u8; 32],
    /// The private key as the JWK the file gives (JWK file only).
    pub private_jwk: Option<Value>,
    /// The peer key as our reader and `from_sec1` see it.
    pub peer: Result<PublicKey, Refused>,
    /// The expected shared secret (for `invalid` cases possibly one computed from another key).
    pub shared: Vec<u8>,
    pub must: Must,
}

/// The outcome a backend produced for a case.
pub enum Outcome {
    Secret(Vec<u8>),
    Refused(Refused),
}

/// Counts of what happened, to pin in the tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Cases (valid or acceptable) that gave the expected shared secret.
    pub agreed: usize,
    /// `acceptable` cases refused, by the encoding reader / `from_sec1` / ECDH.
    pub acceptable_refused: [usize; 3],
    /// `invalid` cases refused, by the encoding reader / `from_sec1` / ECDH.
    pub invalid_refused: [usize; 3],
}

fn must(id: u64, result: &str, flags: &[String]) -> Must {
    match result {
        "valid" => Must::Agree,
        "invalid" => Must::BeRefused,
        "acceptable" => {
            let decided = ["InvalidAsn", "UnnamedCurve", "CompressedPublic"];
            assert!(
                flags.iter().any(|f| decided.contains(&f.as_str())),
                "tc {id}: acceptable with flags {flags:?}: decide the policy in common/wycheproof_ecdh.rs"
            );
            Must::BeRefused
        }
        other => panic!("tc {id}: unknown result {other}"),
    }
}

/// Reads a DER SPKI: only the canonical encoding of a named-curve P-256 key with an uncompressed point.
pub fn sec1_from_spki(der: &[u8]) -> Option<[u8; 65]> {
    if der.len() != P256_SPKI_PREFIX.len() + 65 || der[..P256_SPKI_PREFIX.len()] != P256_SPKI_PREFIX {
        return None;
    }
    der[P256_SPKI_PREFIX.len()..].try_into().ok()
}

fn b64url32(v: &Value) -> Option<[u8; 32]> {
    B64URL.decode(v.as_str()?).ok()?.try_into().ok()
}

/// Reads a JWK public key: `kty` "EC", `crv` "P-256", 32-byte `x` and `y`.
pub fn sec1_from_jwk(jwk: &Value) -> Option<[u8; 65]> {
    if jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
        return None;
    }
    let (x, y) = (b64url32(&jwk["x"])?, b64url32(&jwk["y"])?);
    let mut sec1 = [0u8; 65];
    sec1[0] = 0x04;
    sec1[1..33].copy_from_slice(&x);
    sec1[33..].copy_from_slice(&y);
    Some(sec1)
}

fn peer(sec1: Option<[u8; 65]>) -> Result<PublicKey, Refused> {
    let sec1 = sec1.ok_or(Refused::Encoding)?;
    PublicKey::from_sec1(&sec1).map_err(|_| Refused::Point)
}

/// A hex big-endian integer (possibly with a leading zero byte) as a 32-byte scalar.
fn scalar_from_hex(id: u64, s: &str) -> [u8; 32] {
    let mut b = hex::decode(s).unwrap_or_else(|_| panic!("tc {id}: private hex"));
    while b.len() > 32 && b[0] == 0 {
        b.remove(0);
    }
    assert!(b.len() <= 32, "tc {id}: private key longer than 32 bytes");
    let mut out = [0u8; 32];
    out[32 - b.len()..].copy_from_slice(&b);
    out
}

/// All the cases of one file ([`SPKI_FILE`] or [`JWK_FILE`]).
pub fn cases(file: &str) -> Vec<Case> {
    let d: Value = serde_json::from_str(file).expect("Wycheproof JSON");
    let mut out = Vec::new();
    for g in d["testGroups"].as_array().expect("testGroups") {
        let jwk = match g["encoding"].as_str() {
            Some("asn") => false,
            Some("webcrypto") => true,
            other => panic!("unexpected encoding {other:?}"),
        };
        assert!(matches!(g["curve"].as_str(), Some("secp256r1") | Some("P-256")), "{}", g["curve"]);
        for t in g["tests"].as_array().expect("tests") {
            let id = t["tcId"].as_u64().expect("tcId");
            let result = t["result"].as_str().expect("result").to_string();
            let flags: Vec<String> =
                t["flags"].as_array().expect("flags").iter().map(|f| f.as_str().unwrap().to_string()).collect();
            let (private, private_jwk, peer) = if jwk {
                let d = b64url32(&t["private"]["d"]).unwrap_or_else(|| panic!("tc {id}: private d"));
                (d, Some(t["private"].clone()), peer(sec1_from_jwk(&t["public"])))
            } else {
                let spki = hex::decode(t["public"].as_str().expect("public")).expect("public hex");
                (scalar_from_hex(id, t["private"].as_str().expect("private")), None, peer(sec1_from_spki(&spki)))
            };
            out.push(Case {
                id,
                comment: t["comment"].as_str().unwrap_or_default().to_string(),
                must: must(id, &result, &flags),
                result,
                flags,
                private,
                private_jwk,
                peer,
                shared: hex::decode(t["shared"].as_str().expect("shared")).expect("shared hex"),
            });
        }
    }
    out
}

impl Tally {
    /// Checks `outcome` against the policy (panics naming the case if it breaks it) and counts it.
    pub fn check(&mut self, case: &Case, outcome: Outcome) {
        let id = case.id;
        match outcome {
            Outcome::Secret(s) => {
                assert_ne!(
                    case.must,
                    Must::BeRefused,
                    "tc {id} ({}, {:?}): {} not refused",
                    case.comment,
                    case.flags,
                    case.result
                );
                assert_eq!(
                    hex::encode(s),
                    hex::encode(&case.shared),
                    "tc {id} ({}): wrong shared secret",
                    case.comment
                );
                self.agreed += 1;
            }
            Outcome::Refused(r) => {
                assert_ne!(
                    case.must,
                    Must::Agree,
                    "tc {id} ({}, {:?}): valid case refused at {r:?}",
                    case.comment,
                    case.flags
                );
                let slot = match r {
                    Refused::Encoding => 0,
                    Refused::Point => 1,
                    Refused::Ecdh => 2,
                };
                if case.result == "invalid" {
                    self.invalid_refused[slot] += 1;
                } else {
                    self.acceptable_refused[slot] += 1;
                }
            }
        }
    }
}

/// What both backends must produce for [`SPKI_FILE`]: 330 valid agree; the 230 `acceptable` are all
/// refused (229 by the DER reader, one whose modified point is off the curve by `from_sec1`); of
/// the 52 `invalid`, those on other curves or with explicit parameters fail the reader and the
/// off-curve points fail `from_sec1`.
pub const SPKI_TALLY: Tally = Tally { agreed: 330, acceptable_refused: [229, 1, 0], invalid_refused: [34, 18, 0] };

/// What both backends must produce for [`JWK_FILE`]: 330 valid agree; of the 23 `invalid`, the
/// 5 keys whose `crv` is not "P-256" fail the reader and the 18 off-curve points fail `from_sec1`.
pub const JWK_TALLY: Tally = Tally { agreed: 330, acceptable_refused: [0, 0, 0], invalid_refused: [5, 18, 0] };

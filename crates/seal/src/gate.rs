//! The gate record of a gated share link (`docs/FORMAT.md` §6.1): what the gate service keeps to
//! limit passcode attempts — the link's verifier, its gate secret and the attempts left.
//!
//! The record lives with the sharing service (`obscura serve`), never in the store: whoever holds
//! it and the public manifest still cannot test passcodes (the verifier also needs the link's
//! secret), and whoever holds the link and the manifest cannot test them offline (the wrap key
//! also needs the gate secret). Each wrong verifier costs one attempt; at zero the gate secret is
//! erased for good and the link is dead.
//!
//! ```
//! use obscura_seal::gate::{GateAnswer, GateRecord};
//! use obscura_seal::share::{create_gated_share, find_share, unwrap_share};
//! use obscura_seal::{LinkId, PasscodeCost, StudyKey};
//! use rand_core::OsRng;
//!
//! let key = StudyKey::generate(&mut OsRng);
//! let (stanza, link, gate) =
//!     create_gated_share("2.25.1", &key, 2_000_000_000, "4711", PasscodeCost::TEST, &mut OsRng)?;
//! let mut record = GateRecord::new(link.link_id, 2_000_000_000, gate, 5);
//! // The viewer: Argon2id of the passcode, then the verifier goes to the gate service.
//! let pc = stanza.passcode_key("4711")?;
//! let GateAnswer::Open(secret) = record.attempt(&link.gate_verifier(&pc), 1_900_000_000) else { panic!() };
//! let s = find_share("2.25.1", std::slice::from_ref(&stanza), &link, 1_900_000_000)?;
//! assert!(unwrap_share("2.25.1", s, &link, Some(&pc), Some(&secret))? == key);
//! # Ok::<(), obscura_seal::SealError>(())
//! ```

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use crate::share::{GateSecret, LinkId, ShareGate};
use crate::SealError;

/// The gate record's format number.
pub const GATE_FORMAT: u32 = 1;
/// Most attempts a record may grant (a parser refuses more).
pub const MAX_GATE_ATTEMPTS: u32 = 100;
/// Attempts `obscura share` grants by default.
pub const DEFAULT_GATE_ATTEMPTS: u32 = 5;

/// What the gate service keeps about one gated link (JSON, strict).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateRecord {
    /// Always [`GATE_FORMAT`].
    pub format: u32,
    /// The link (hex).
    pub link_id: LinkId,
    /// The link's expiry (unix seconds, inclusive), as in its stanza.
    pub expires: i64,
    /// The verifier of the right passcode (base64 of 32 bytes).
    #[serde(with = "crate::b64::array")]
    pub verifier: [u8; 32],
    /// The gate secret (base64 of 32 bytes); `null` once the attempts are spent.
    #[serde(with = "opt_secret")]
    pub gate_secret: Option<GateSecret>,
    /// Wrong passcodes still allowed.
    pub attempts_left: u32,
}

/// The gate's answer to one verifier.
#[derive(Debug, PartialEq, Eq)]
pub enum GateAnswer {
    /// The right passcode: here is the gate secret.
    Open(GateSecret),
    /// A wrong passcode; this many attempts are left (at least one).
    Wrong {
        /// Attempts left.
        attempts_left: u32,
    },
    /// No attempt is left (this one may have spent the last): the gate secret is erased.
    Locked,
    /// The link has expired.
    Expired,
}

impl GateRecord {
    /// The record of a new gated link with `attempts` wrong passcodes allowed.
    pub fn new(link_id: LinkId, expires: i64, gate: ShareGate, attempts: u32) -> Self {
        GateRecord {
            format: GATE_FORMAT,
            link_id,
            expires,
            verifier: gate.verifier,
            gate_secret: Some(gate.secret),
            attempts_left: attempts.clamp(1, MAX_GATE_ATTEMPTS),
        }
    }

    /// Parses a record strictly: unknown fields, another format, more than
    /// [`MAX_GATE_ATTEMPTS`], or a gate secret present exactly when no attempt is left are refused.
    pub fn from_json(text: &str) -> Result<Self, SealError> {
        let r: GateRecord =
            serde_json::from_str(text).map_err(|e| SealError::Malformed(format!("gate record: {e}")))?;
        if r.format != GATE_FORMAT {
            return Err(SealError::UnsupportedVersion { what: "gate record", version: r.format });
        }
        if r.attempts_left > MAX_GATE_ATTEMPTS {
            return Err(SealError::Malformed("gate record: too many attempts".into()));
        }
        if r.gate_secret.is_some() != (r.attempts_left > 0) {
            return Err(SealError::Malformed("gate record: a gate secret exactly while attempts are left".into()));
        }
        Ok(r)
    }

    /// The record as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a gate record serialises")
    }

    /// One attempt with `verifier` at time `now`. The comparison is constant-time; a wrong verifier
    /// costs an attempt, and the last one erases the gate secret. The caller must persist the
    /// record after [`GateAnswer::Wrong`] and [`GateAnswer::Locked`] before answering.
    pub fn attempt(&mut self, verifier: &[u8; 32], now: i64) -> GateAnswer {
        if now > self.expires {
            return GateAnswer::Expired;
        }
        let Some(secret) = &self.gate_secret else { return GateAnswer::Locked };
        if bool::from(self.verifier.ct_eq(verifier)) {
            return GateAnswer::Open(secret.clone());
        }
        self.attempts_left = self.attempts_left.saturating_sub(1);
        if self.attempts_left == 0 {
            self.gate_secret = None; // dropped: zeroised
            return GateAnswer::Locked;
        }
        GateAnswer::Wrong { attempts_left: self.attempts_left }
    }
}

/// `Option<GateSecret>` as base64 or `null`.
mod opt_secret {
    use super::GateSecret;
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};
    use zeroize::{Zeroize as _, Zeroizing};

    pub(crate) fn serialize<S: Serializer>(v: &Option<GateSecret>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(g) => s.serialize_str(&crate::b64::encode(&g.0)),
            None => s.serialize_none(),
        }
    }
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<GateSecret>, D::Error> {
        let Some(mut text) = Option::<String>::deserialize(d)? else { return Ok(None) };
        let bytes = crate::b64::decode(&text).map(Zeroizing::new);
        text.zeroize();
        let bytes = bytes.map_err(D::Error::custom)?;
        let mut g = GateSecret([0u8; 32]);
        if bytes.len() != 32 {
            return Err(D::Error::custom(format!("gate secret: expected 32 bytes, got {}", bytes.len())));
        }
        g.0.copy_from_slice(&bytes);
        Ok(Some(g))
    }
}

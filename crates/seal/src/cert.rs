//! Certificates: the organisation key vouches for gateway, reader and escrow keys.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::keys::{verify, KeyId, PublicKey, Signature, SigningKey};
use crate::SealError;

/// Signature context of certificates.
pub const CERTIFICATE_CONTEXT: &[u8] = b"obscura/v1/certificate";

/// What a certified key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Seals studies and signs manifests (ECDSA key).
    Gateway,
    /// Opens studies (ECDH key, in the browser).
    Reader,
    /// Recovery recipient present on every study (ECDH key).
    Escrow,
}

impl Role {
    /// The ASCII name used in JSON and in the signed encoding.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Gateway => "gateway",
            Role::Reader => "reader",
            Role::Escrow => "escrow",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A certificate issued by the organisation key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    /// The role granted.
    pub role: Role,
    /// Human-readable subject (device or person label).
    pub subject: String,
    /// The certified key (base64 SEC1 in JSON).
    pub public_key: PublicKey,
    /// Start of validity, unix seconds (inclusive).
    pub not_before: i64,
    /// End of validity, unix seconds (inclusive).
    pub not_after: i64,
    /// Key id of the issuing organisation key (hex in JSON).
    pub issuer: KeyId,
    /// ECDSA P-256 `r || s` over [`Certificate::signed_bytes`] with context
    /// "obscura/v1/certificate" (base64 in JSON).
    #[serde(with = "crate::b64::array")]
    pub signature: [u8; 64],
}

fn field(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

impl Certificate {
    /// The signed encoding: each of role (ASCII name), subject (UTF-8), public key (65 bytes SEC1),
    /// not_before (i64 BE), not_after (i64 BE), issuer (16 bytes), in that order, each preceded by
    /// its length as u32 BE.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160 + self.subject.len());
        field(&mut out, self.role.as_str().as_bytes());
        field(&mut out, self.subject.as_bytes());
        field(&mut out, self.public_key.as_sec1());
        field(&mut out, &self.not_before.to_be_bytes());
        field(&mut out, &self.not_after.to_be_bytes());
        field(&mut out, &self.issuer.0);
        out
    }

    /// Issues a certificate signed by the organisation key.
    pub fn issue(
        org: &SigningKey,
        role: Role,
        subject: &str,
        public_key: &PublicKey,
        not_before: i64,
        not_after: i64,
    ) -> Self {
        let mut c = Certificate {
            role,
            subject: subject.to_owned(),
            public_key: public_key.clone(),
            not_before,
            not_after,
            issuer: org.public_key().key_id(),
            signature: [0u8; 64],
        };
        c.signature = org.sign(CERTIFICATE_CONTEXT, &c.signed_bytes()).0;
        c
    }

    /// Checks that the certificate was issued by `anchor` (the organisation key), grants `role`,
    /// and is valid at `now` (unix seconds, bounds inclusive).
    pub fn verify(&self, anchor: &PublicKey, role: Role, now: i64) -> Result<(), SealError> {
        if self.issuer != anchor.key_id() {
            return Err(SealError::UntrustedCertificate {
                reason: "it was issued by another key than the organisation key",
            });
        }
        verify(anchor, CERTIFICATE_CONTEXT, &self.signed_bytes(), &Signature(self.signature)).map_err(|_| {
            SealError::UntrustedCertificate { reason: "its signature does not verify under the organisation key" }
        })?;
        if self.role != role {
            return Err(SealError::WrongRole { expected: role, got: self.role });
        }
        if now < self.not_before {
            return Err(SealError::NotYetValid { not_before: self.not_before, now });
        }
        if now > self.not_after {
            return Err(SealError::CertificateExpired { not_after: self.not_after, now });
        }
        Ok(())
    }

    /// JSON text of the certificate.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("certificate serializes")
    }

    /// Parses JSON strictly (unknown fields refused).
    pub fn from_json(s: &str) -> Result<Self, SealError> {
        serde_json::from_str(s).map_err(|e| SealError::Malformed(format!("certificate JSON: {e}")))
    }
}

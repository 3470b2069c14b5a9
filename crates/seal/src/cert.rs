//! Certificates: the organisation key vouches for gateway, reader and escrow keys.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::keys::{verify, KeyId, PublicKey, Signature, Signer, SigningKey};
use crate::SealError;

/// Signature context of certificates.
pub const CERTIFICATE_CONTEXT: &[u8] = b"obscura/v1/certificate";
/// The certificate format this crate writes and reads.
pub const CERTIFICATE_FORMAT: u32 = 1;
/// Longest subject accepted, in bytes.
pub const MAX_SUBJECT_LEN: usize = 256;

/// What a certified key may do: its key usage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Signs manifests (an ECDSA key); never unwraps.
    Gateway,
    /// Unwraps study keys addressed to it (an ECDH key, non-extractable in the browser).
    Reader,
    /// Unwraps every study for recovery, re-wrapping and rotation (an ECDH key, kept offline).
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
    /// Format, 1.
    pub format: u32,
    /// The role granted (it is the key usage: see [`Role`]).
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
    /// The signed encoding: each of format (u32 BE), role (ASCII name), subject (UTF-8), public key (65 bytes SEC1),
    /// not_before (i64 BE), not_after (i64 BE), issuer (16 bytes), in that order, each preceded by
    /// its length as u32 BE.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(168 + self.subject.len());
        field(&mut out, &self.format.to_be_bytes());
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
            format: CERTIFICATE_FORMAT,
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
        if self.format != CERTIFICATE_FORMAT {
            return Err(SealError::UnsupportedVersion { what: "certificate", version: self.format });
        }
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

    /// Parses JSON strictly (unknown fields refused; an unknown format is
    /// [`SealError::UnsupportedVersion`]).
    pub fn from_json(s: &str) -> Result<Self, SealError> {
        probe_format(s, "certificate", CERTIFICATE_FORMAT)?;
        serde_json::from_str(s).map_err(|e| SealError::Malformed(format!("certificate JSON: {e}")))
    }
}

/// Refuses an unknown `format` before strict parsing, so the error says to update rather than
/// "unknown field".
fn probe_format(json: &str, what: &'static str, expected: u32) -> Result<(), SealError> {
    #[derive(Deserialize)]
    struct Probe {
        format: u32,
    }
    let probe: Probe = serde_json::from_str(json).map_err(|e| SealError::Malformed(format!("{what} JSON: {e}")))?;
    if probe.format != expected {
        return Err(SealError::UnsupportedVersion { what, version: probe.format });
    }
    Ok(())
}

/// Signature context of enrolment requests.
pub const ENROLMENT_CONTEXT: &[u8] = b"obscura/v1/enrolment-request";
/// The enrolment request format this crate writes and reads (1 was the unsigned request of viewers
/// that kept the reader key without a second factor; it is refused).
pub const ENROLMENT_FORMAT: u32 = 2;

/// What a viewer hands to an administrator to be certified as a reader: its ECDH public key (the
/// private key never leaves the browser), its ECDSA signing public key, a label, and a signature
/// by the signing key over all of it (proof of possession of the signing key, and the binding of
/// the reader key to it). The signature cannot tell who made the request, so the administrator
/// still compares the reader key's fingerprint ([`EnrolmentRequest::fingerprint`]) with the one
/// the reader's screen shows before certifying.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentRequest {
    /// Format, 2.
    pub format: u32,
    /// The reader's ECDH P-256 public key (base64 SEC1): the key to certify.
    pub public_key: PublicKey,
    /// The reader's ECDSA P-256 signing public key (base64 SEC1), which signed this request.
    pub signing_key: PublicKey,
    /// Who asks (e.g. "Dr. A. Example, radiology"), at most 256 bytes, no control characters.
    pub subject: String,
    /// When the request was made, unix seconds.
    pub created: i64,
    /// ECDSA P-256 `r || s` by `signing_key` over [`EnrolmentRequest::signed_bytes`] with context
    /// "obscura/v1/enrolment-request" (base64 in JSON).
    #[serde(with = "crate::b64::array")]
    pub signature: [u8; 64],
}

impl EnrolmentRequest {
    /// A request for `public_key`, signed by `signer` (format 2).
    pub async fn new(
        public_key: PublicKey,
        signer: &impl Signer,
        subject: &str,
        created: i64,
    ) -> Result<Self, SealError> {
        let mut r = EnrolmentRequest {
            format: ENROLMENT_FORMAT,
            public_key,
            signing_key: signer.public_key().clone(),
            subject: subject.to_owned(),
            created,
            signature: [0u8; 64],
        };
        r.check()?;
        r.signature = signer.sign(ENROLMENT_CONTEXT, &r.signed_bytes()).await?.0;
        r.verify()?;
        Ok(r)
    }

    /// The signed encoding: format (u32 BE), public key (65 bytes SEC1), signing key (65 bytes
    /// SEC1), subject (UTF-8), created (i64 BE), in that order, each preceded by its length as u32 BE.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(170 + self.subject.len());
        field(&mut out, &self.format.to_be_bytes());
        field(&mut out, self.public_key.as_sec1());
        field(&mut out, self.signing_key.as_sec1());
        field(&mut out, self.subject.as_bytes());
        field(&mut out, &self.created.to_be_bytes());
        out
    }

    /// The reader key's fingerprint (FORMAT.md §1.3): what the viewer shows, what the
    /// administrator compares, and what the certificate for this request shows.
    pub fn fingerprint(&self) -> String {
        self.public_key.fingerprint()
    }

    fn check(&self) -> Result<(), SealError> {
        if self.subject.trim().is_empty()
            || self.subject.len() > MAX_SUBJECT_LEN
            || self.subject.chars().any(char::is_control)
        {
            return Err(SealError::Malformed(format!(
                "enrolment request: the subject must be 1 to {MAX_SUBJECT_LEN} bytes without control characters"
            )));
        }
        // One key, one usage: the ECDH key never signs.
        if self.public_key == self.signing_key {
            return Err(SealError::Malformed(
                "enrolment request: the signing key must differ from the reader key".into(),
            ));
        }
        Ok(())
    }

    /// Checks the signature by the request's own signing key.
    pub fn verify(&self) -> Result<(), SealError> {
        verify(&self.signing_key, ENROLMENT_CONTEXT, &self.signed_bytes(), &Signature(self.signature))
            .map_err(|_| SealError::BadSignature { what: "enrolment request" })
    }

    /// JSON text of the request.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("request serializes")
    }

    /// Parses JSON strictly (unknown fields refused; a format other than 2 is
    /// [`SealError::UnsupportedVersion`]) and verifies the signature ([`SealError::BadSignature`]).
    pub fn from_json(s: &str) -> Result<Self, SealError> {
        probe_format(s, "enrolment request", ENROLMENT_FORMAT)?;
        let r: EnrolmentRequest =
            serde_json::from_str(s).map_err(|e| SealError::Malformed(format!("enrolment request JSON: {e}")))?;
        r.check()?;
        r.verify()?;
        Ok(r)
    }
}

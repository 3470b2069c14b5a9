//! The one error type of this crate. Each variant names the class of attack (or mistake) it detects.

use crate::cert::Role;
use crate::keys::KeyId;
use crate::share::LinkId;
use crate::stream::ObjectId;

/// Everything that can go wrong when sealing or opening Obscura data.
///
/// The variants are specific on purpose: a viewer shows them to the user, and each one names the
/// attack class it stopped. On any of them, nothing of the affected object may be displayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// An AEAD tag did not verify: bytes were flipped, chunks reordered or duplicated, or the data
    /// was sealed under another key (e.g. spliced from another study).
    #[error("{what} failed authentication: it was modified, reordered or sealed under another key; do not use it, re-fetch it or report the storage as compromised")]
    Tampered {
        /// Which part failed (e.g. "object chunk", "recipient stanza").
        what: &'static str,
    },
    /// The sealed object (or a fetched chunk) is shorter than its authenticated header says.
    #[error("sealed object is truncated (shorter than its authenticated header says); re-fetch it")]
    Truncated,
    /// The sealed object (or a fetched chunk) has bytes beyond its authenticated length.
    #[error("sealed object has extra bytes beyond its authenticated length; re-fetch it")]
    Extended,
    /// The object served is not the object the manifest asked for.
    #[error("object swapped: expected object {expected}, but the data is object {found}; the storage served a different object")]
    ObjectSwapped {
        /// The id the manifest expects.
        expected: ObjectId,
        /// The id found in the served object's header.
        found: ObjectId,
    },
    /// The SHA-256 digest or length of a sealed object differs from the one in the signed manifest.
    #[error("sealed object {object} does not match the digest/length in the signed manifest; the storage served altered or foreign ciphertext")]
    DigestMismatch {
        /// The object concerned.
        object: ObjectId,
    },
    /// The manifest does not list this object.
    #[error("object {0} is not listed in the signed manifest")]
    UnknownObject(ObjectId),
    /// The manifest is older than one already seen for this study.
    #[error("rollback: manifest version {got} is older than version {last_seen} already seen for this study; the server is replaying an old manifest")]
    Rollback {
        /// The highest version seen before.
        last_seen: u64,
        /// The version served now.
        got: u64,
    },
    /// An ECDSA signature did not verify under the certified key.
    #[error("bad signature on {what}: it was not signed by the certified key; refuse it")]
    BadSignature {
        /// What was signed (e.g. "manifest").
        what: &'static str,
    },
    /// A certificate does not chain to the configured organisation key.
    #[error("untrusted certificate: {reason}; check the organisation key the viewer is configured with")]
    UntrustedCertificate {
        /// Why it is not trusted.
        reason: &'static str,
    },
    /// A certificate's validity period has ended.
    #[error("certificate expired at {not_after} (now {now}); the key must be re-certified")]
    CertificateExpired {
        /// End of validity (unix seconds).
        not_after: i64,
        /// The time checked against.
        now: i64,
    },
    /// A certificate's validity period has not started yet.
    #[error("certificate not valid before {not_before} (now {now}); check the device clock")]
    NotYetValid {
        /// Start of validity (unix seconds).
        not_before: i64,
        /// The time checked against.
        now: i64,
    },
    /// A certificate is valid but for another role.
    #[error("certificate is for role {got}, but role {expected} is required here")]
    WrongRole {
        /// Role required.
        expected: Role,
        /// Role in the certificate.
        got: Role,
    },
    /// No recipient stanza is addressed to this key: the study was not shared with it.
    #[error("this study has no recipient stanza for key {key_id}; ask for it to be shared (re-wrapped) to this key")]
    NoStanzaForKey {
        /// The key id looked for.
        key_id: KeyId,
    },
    /// A format version this implementation does not know.
    #[error("unsupported {what} format version {version}; update the viewer")]
    UnsupportedVersion {
        /// Which structure.
        what: &'static str,
        /// The version found.
        version: u32,
    },
    /// No share stanza matches the link: it was revoked (or rotated away), or it is for another study.
    #[error(
        "share link {link_id} does not open this study: it was revoked or replaced; ask the sender for a new link"
    )]
    NoSuchShare {
        /// The link's id.
        link_id: LinkId,
    },
    /// The share link's expiry has passed.
    #[error("share link expired at {expires} (now {now}); ask the sender for a new link")]
    ShareExpired {
        /// End of validity (unix seconds).
        expires: i64,
        /// The time checked against.
        now: i64,
    },
    /// The share link needs a passcode and none was given.
    #[error("this share link also needs its passcode; ask the sender for it (it is sent separately from the link)")]
    PasscodeRequired,
    /// The share link is gated: its passcode must be checked by the gate service, which releases
    /// the gate secret the wrap key also needs.
    #[error("this share link's passcode is checked by the sharing service; open it in the viewer")]
    ShareGateRequired,
    /// The passcode did not open the share stanza.
    #[error("wrong passcode for this share link (or the link was altered); check the passcode and try again")]
    WrongPasscode,
    /// A public or private key is not a valid P-256 key in the expected encoding.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// A signing key and the certificate passed with it do not belong together.
    #[error("the signing key does not match the public key of its certificate")]
    KeyMismatch,
    /// A platform crypto backend (e.g. WebCrypto) failed for a reason other than authentication.
    #[error("crypto backend error: {0}")]
    Backend(String),
    /// Bytes that do not parse as the expected structure.
    #[error("malformed data: {0}")]
    Malformed(String),
}

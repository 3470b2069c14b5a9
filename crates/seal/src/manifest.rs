//! Signed study manifests: the versioned lookup table of a study.

use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::cert::{Certificate, Role};
use crate::keys::{verify, Identity, KeyId, PublicKey, Signature, SigningKey};
use crate::stream::{open_object, seal_object, CipherFactory, ObjectId, DEFAULT_CHUNK_SIZE};
use crate::study::{unwrap_study_key, wrap_study_key, Stanza, StudyKey};
use crate::SealError;

/// Magic bytes opening a signed manifest.
pub const MANIFEST_MAGIC: &[u8; 8] = b"OBSCMAN1";
/// Signature context of manifests.
pub const MANIFEST_CONTEXT: &[u8] = b"obscura/v1/manifest";
/// The manifest body format this crate writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;
/// Largest manifest body accepted (64 MiB).
pub const MAX_MANIFEST_BODY: u32 = 64 * 1024 * 1024;

/// A small object sealed inline (the encrypted [`StudyIndex`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedBlob {
    /// Its object id (hex).
    pub object_id: ObjectId,
    /// The sealed object bytes (base64).
    #[serde(with = "crate::b64::vec")]
    pub sealed: Vec<u8>,
}

/// One stored sealed object (a DICOM instance) of the study.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectEntry {
    /// Object id (hex).
    pub object_id: ObjectId,
    /// Pseudonymous series instance UID under which it is stored.
    pub series_uid: String,
    /// Pseudonymous SOP instance UID under which it is stored.
    pub sop_instance_uid: String,
    /// Length of the sealed object in bytes.
    pub sealed_len: u64,
    /// SHA-256 of the sealed object bytes (hex).
    #[serde(with = "crate::b64::hex_array")]
    pub sha256: [u8; 32],
}

impl ObjectEntry {
    /// Builds the entry for sealed bytes (computes length and digest).
    pub fn for_sealed(object_id: ObjectId, series_uid: &str, sop_instance_uid: &str, sealed: &[u8]) -> Self {
        ObjectEntry {
            object_id,
            series_uid: series_uid.to_owned(),
            sop_instance_uid: sop_instance_uid.to_owned(),
            sealed_len: sealed.len() as u64,
            sha256: Sha256::digest(sealed).into(),
        }
    }
}

/// The PHI of a study: only ever stored encrypted. Zeroized on drop (so build it from
/// `StudyIndex::default()` and assign fields; struct-update syntax is not available). Absent
/// strings are empty.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct StudyIndex {
    pub patient_name: String,
    pub patient_id: String,
    pub patient_birth_date: String,
    pub patient_sex: String,
    pub study_date: String,
    pub study_time: String,
    pub study_description: String,
    pub accession_number: String,
    pub referring_physician: String,
    /// The series, in display order.
    pub series: Vec<SeriesIndex>,
}

/// One series of the [`StudyIndex`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Zeroize)]
#[serde(deny_unknown_fields)]
pub struct SeriesIndex {
    /// The pseudonymous series UID (as stored).
    pub series_uid: String,
    /// Modality (e.g. "CT").
    pub modality: String,
    /// Series number, if present.
    pub series_number: Option<i32>,
    /// Series description.
    pub series_description: String,
    /// The instances.
    pub instances: Vec<InstanceIndex>,
}

/// One instance of a [`SeriesIndex`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Zeroize)]
#[serde(deny_unknown_fields)]
pub struct InstanceIndex {
    /// The sealed object holding the instance.
    #[zeroize(skip)]
    pub object_id: ObjectId,
    /// Instance number, if present.
    pub instance_number: Option<i32>,
    /// Slice location, if present.
    pub slice_location: Option<f64>,
    /// Rows.
    pub rows: u32,
    /// Columns.
    pub columns: u32,
    /// Number of frames.
    pub frames: u32,
}

/// The signed JSON body of a manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestBody {
    /// Body format, 1.
    pub format: u32,
    /// Pseudonymous study instance UID.
    pub study_uid: String,
    /// Monotonic version of this study's manifest.
    pub version: u64,
    /// Creation time, unix seconds.
    pub created: i64,
    /// The signing gateway's certificate.
    pub gateway: Certificate,
    /// The study key wrapped to each recipient.
    pub stanzas: Vec<Stanza>,
    /// The encrypted [`StudyIndex`] JSON, sealed as an object under the study key.
    pub index: SealedBlob,
    /// The stored sealed objects.
    pub objects: Vec<ObjectEntry>,
}

/// Everything needed to seal a manifest (see [`seal_manifest`]).
#[derive(Debug)]
pub struct ManifestInput<'a> {
    /// Pseudonymous study UID.
    pub study_uid: &'a str,
    /// Version (monotonic per study).
    pub version: u64,
    /// Creation time, unix seconds.
    pub created: i64,
    /// Recipients; the escrow key must be one of them (the CLI enforces it).
    pub recipients: &'a [PublicKey],
    /// The PHI to encrypt.
    pub index: &'a StudyIndex,
    /// The stored objects.
    pub objects: Vec<ObjectEntry>,
}

fn envelope(body: &[u8], gateway_key: &SigningKey) -> Result<Vec<u8>, SealError> {
    let len = u32::try_from(body.len())
        .ok()
        .filter(|l| *l <= MAX_MANIFEST_BODY)
        .ok_or_else(|| SealError::Malformed("manifest body too large".into()))?;
    let mut out = Vec::with_capacity(12 + body.len() + 64);
    out.extend_from_slice(MANIFEST_MAGIC);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    let sig = gateway_key.sign(MANIFEST_CONTEXT, &out);
    out.extend_from_slice(&sig.0);
    Ok(out)
}

fn sign_body(body: &ManifestBody, gateway_key: &SigningKey) -> Result<Vec<u8>, SealError> {
    if body.gateway.public_key != *gateway_key.public_key() {
        return Err(SealError::KeyMismatch);
    }
    let json = serde_json::to_vec(body).map_err(|e| SealError::Malformed(format!("manifest body: {e}")))?;
    envelope(&json, gateway_key)
}

/// Seals and signs a manifest: wraps `study_key` to every recipient (deduplicated by key id),
/// seals the index under the study key as a fresh object, and signs with the gateway key
/// (which must be the key of `gateway_cert`).
pub fn seal_manifest(
    input: ManifestInput<'_>,
    gateway_key: &SigningKey,
    gateway_cert: &Certificate,
    study_key: &StudyKey,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, SealError> {
    if input.recipients.is_empty() {
        return Err(SealError::Malformed("a manifest needs at least one recipient".into()));
    }
    let mut stanzas: Vec<Stanza> = Vec::new();
    for r in input.recipients {
        if !stanzas.iter().any(|s| s.key_id == r.key_id()) {
            stanzas.push(wrap_study_key(r, input.study_uid, study_key, rng));
        }
    }
    let index_id = ObjectId::generate(rng);
    let json = zeroize::Zeroizing::new(
        serde_json::to_vec(input.index).map_err(|e| SealError::Malformed(format!("study index: {e}")))?,
    );
    let sealed = seal_object(study_key, &index_id, &json, DEFAULT_CHUNK_SIZE)?;
    let body = ManifestBody {
        format: MANIFEST_FORMAT,
        study_uid: input.study_uid.to_owned(),
        version: input.version,
        created: input.created,
        gateway: gateway_cert.clone(),
        stanzas,
        index: SealedBlob { object_id: index_id, sealed },
        objects: input.objects,
    };
    check_unique(&body)?;
    sign_body(&body, gateway_key)
}

fn check_unique(body: &ManifestBody) -> Result<(), SealError> {
    let mut ids: Vec<ObjectId> = body.objects.iter().map(|o| o.object_id).collect();
    ids.push(body.index.object_id);
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(SealError::Malformed("duplicate object id in manifest".into()));
    }
    Ok(())
}

/// A manifest whose signature, gateway certificate and version have been checked.
#[derive(Clone, Debug)]
pub struct VerifiedManifest {
    body: ManifestBody,
}

/// Parses and verifies signed manifest bytes.
///
/// Checks, in order: envelope framing, strict JSON body, format 1, the gateway certificate
/// (role Gateway, issued by `anchor`, valid at `now`), the signature by the certified gateway
/// key, and `version >= last_seen_version` ([`SealError::Rollback`]).
pub fn open_manifest(
    bytes: &[u8],
    anchor: &PublicKey,
    now: i64,
    last_seen_version: Option<u64>,
) -> Result<VerifiedManifest, SealError> {
    if bytes.len() < 12 + 64 {
        return Err(SealError::Malformed("manifest too short".into()));
    }
    if &bytes[..8] != MANIFEST_MAGIC {
        if bytes[..7] == MANIFEST_MAGIC[..7] {
            let version = if bytes[7].is_ascii_digit() { u32::from(bytes[7] - b'0') } else { u32::from(bytes[7]) };
            return Err(SealError::UnsupportedVersion { what: "manifest envelope", version });
        }
        return Err(SealError::Malformed("not an Obscura manifest (bad magic)".into()));
    }
    let len = u32::from_be_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if len > MAX_MANIFEST_BODY || bytes.len() as u64 != 12 + u64::from(len) + 64 {
        return Err(SealError::Malformed("manifest length does not match its envelope".into()));
    }
    let signed = &bytes[..12 + len as usize];
    let body_bytes = &signed[12..];
    let mut sig = [0u8; 64];
    sig.copy_from_slice(&bytes[12 + len as usize..]);

    // Refuse unknown versions before strict parsing so the error says what to do.
    #[derive(Deserialize)]
    struct Probe {
        format: u32,
    }
    let probe: Probe =
        serde_json::from_slice(body_bytes).map_err(|e| SealError::Malformed(format!("manifest body: {e}")))?;
    if probe.format != MANIFEST_FORMAT {
        return Err(SealError::UnsupportedVersion { what: "manifest", version: probe.format });
    }
    let body: ManifestBody =
        serde_json::from_slice(body_bytes).map_err(|e| SealError::Malformed(format!("manifest body: {e}")))?;
    body.gateway.verify(anchor, Role::Gateway, now)?;
    verify(&body.gateway.public_key, MANIFEST_CONTEXT, signed, &Signature(sig))
        .map_err(|_| SealError::BadSignature { what: "manifest" })?;
    if let Some(last_seen) = last_seen_version {
        if body.version < last_seen {
            return Err(SealError::Rollback { last_seen, got: body.version });
        }
    }
    check_unique(&body)?;
    Ok(VerifiedManifest { body })
}

impl VerifiedManifest {
    /// The verified body.
    pub fn body(&self) -> &ManifestBody {
        &self.body
    }
    /// The pseudonymous study UID.
    pub fn study_uid(&self) -> &str {
        &self.body.study_uid
    }
    /// The manifest version (store it as the new `last_seen_version`).
    pub fn version(&self) -> u64 {
        self.body.version
    }
    /// Unwraps the study key with `identity`'s stanza.
    pub async fn study_key(&self, identity: &impl Identity) -> Result<StudyKey, SealError> {
        unwrap_study_key(identity, &self.body.study_uid, &self.body.stanzas).await
    }
    /// Decrypts and parses the study index.
    pub async fn index<F: CipherFactory>(&self, factory: &F, key: &StudyKey) -> Result<StudyIndex, SealError> {
        let pt = open_object(factory, key, &self.body.index.object_id, &self.body.index.sealed).await?;
        serde_json::from_slice(&pt).map_err(|e| SealError::Malformed(format!("study index: {e}")))
    }
    /// Whether the study key is wrapped for the key with this id.
    pub fn has_recipient(&self, key_id: &KeyId) -> bool {
        self.body.stanzas.iter().any(|s| s.key_id == *key_id)
    }

    /// The entry of object `id`, if listed.
    pub fn object(&self, id: &ObjectId) -> Option<&ObjectEntry> {
        self.body.objects.iter().find(|o| o.object_id == *id)
    }
    /// Checks fetched sealed bytes against the signed length and SHA-256 of object `id`.
    pub fn verify_object_digest(&self, id: &ObjectId, sealed: &[u8]) -> Result<(), SealError> {
        let e = self.object(id).ok_or(SealError::UnknownObject(*id))?;
        let d: [u8; 32] = Sha256::digest(sealed).into();
        if e.sealed_len != sealed.len() as u64 || !bool::from(d.ct_eq(&e.sha256)) {
            return Err(SealError::DigestMismatch { object: *id });
        }
        Ok(())
    }
}

/// Re-wraps a study for a changed set of recipients without touching any object ciphertext.
///
/// The study key is recovered with the `escrow` identity; stanzas whose key id is in `remove`
/// are dropped, stanzas for `add` keys (not already present) are created; the result has
/// version + 1, `created = now`, the same index and objects, and is signed by `gateway_key`
/// under `gateway_cert`. Which keys must stay (the escrow) is the caller's policy.
#[allow(clippy::too_many_arguments)]
pub async fn rewrap(
    manifest: &VerifiedManifest,
    escrow: &impl Identity,
    add: &[PublicKey],
    remove: &[KeyId],
    gateway_key: &SigningKey,
    gateway_cert: &Certificate,
    now: i64,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, SealError> {
    let key = manifest.study_key(escrow).await?;
    let mut body = manifest.body.clone();
    body.stanzas.retain(|s| !remove.contains(&s.key_id));
    for r in add {
        let id = r.key_id();
        if !body.stanzas.iter().any(|s| s.key_id == id) {
            body.stanzas.push(wrap_study_key(r, &body.study_uid, &key, rng));
        }
    }
    if body.stanzas.is_empty() {
        return Err(SealError::Malformed("re-wrapping would leave the study without any recipient".into()));
    }
    body.version =
        body.version.checked_add(1).ok_or_else(|| SealError::Malformed("manifest version overflow".into()))?;
    body.created = now;
    body.gateway = gateway_cert.clone();
    sign_body(&body, gateway_key)
}

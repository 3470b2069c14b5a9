//! Signed study manifests: the versioned lookup table of a study.

use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::cert::{Certificate, Role};
use crate::keys::{verify, Identity, KeyId, PublicKey, Signature, SigningKey};
use crate::share::{
    create_gated_share, create_share, open_share, LinkId, PasscodeCost, ShareGate, ShareLink, ShareStanza,
};
use crate::stream::{
    open_object, seal_object, AeadBackend, ObjectId, RustCryptoAead, StudyKeyHandle, DEFAULT_CHUNK_SIZE,
};
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
    /// The study key epoch the object is sealed under (0 until the first rotation).
    pub key_epoch: u32,
}

impl ObjectEntry {
    /// Builds the entry for bytes sealed under the key of `key_epoch` (computes length and digest).
    pub fn for_sealed(
        object_id: ObjectId,
        series_uid: &str,
        sop_instance_uid: &str,
        key_epoch: u32,
        sealed: &[u8],
    ) -> Self {
        ObjectEntry {
            object_id,
            series_uid: series_uid.to_owned(),
            sop_instance_uid: sop_instance_uid.to_owned(),
            sealed_len: sealed.len() as u64,
            sha256: Sha256::digest(sealed).into(),
            key_epoch,
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
    /// For each frame, the `[start, end)` byte range of its pixel data within the instance's
    /// plaintext (the Part 10 file), so that a viewer can fetch just the chunks covering one frame;
    /// empty when unknown (then the whole object is fetched).
    pub frame_ranges: Vec<[u64; 2]>,
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
    /// Epoch of the current study key: 0 when sealed, +1 at each rotation.
    pub key_epoch: u32,
    /// The current study key wrapped to each recipient.
    pub stanzas: Vec<Stanza>,
    /// The current study key wrapped for each share link.
    pub shares: Vec<ShareStanza>,
    /// The encrypted [`StudyIndex`] JSON, sealed as an object under the current study key.
    pub index: SealedBlob,
    /// The keys of epochs `0..key_epoch`, sealed as an object under the current study key
    /// (absent at epoch 0): each record is the epoch (u32 BE) then the 32-byte key, ascending.
    pub previous_keys: Option<SealedBlob>,
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
    add_stanzas(&mut stanzas, input.recipients, input.study_uid, study_key, rng);
    let body = ManifestBody {
        format: MANIFEST_FORMAT,
        study_uid: input.study_uid.to_owned(),
        version: input.version,
        created: input.created,
        gateway: gateway_cert.clone(),
        key_epoch: 0,
        stanzas,
        shares: Vec::new(),
        index: seal_index(input.index, study_key, rng)?,
        previous_keys: None,
        objects: input.objects,
    };
    check_body(&body)?;
    sign_body(&body, gateway_key)
}

fn add_stanzas(
    stanzas: &mut Vec<Stanza>,
    recipients: &[PublicKey],
    study_uid: &str,
    key: &StudyKey,
    rng: &mut impl CryptoRngCore,
) {
    for r in recipients {
        if !stanzas.iter().any(|s| s.recipient == *r) {
            stanzas.push(wrap_study_key(r, study_uid, key, rng));
        }
    }
}

fn seal_index(index: &StudyIndex, key: &StudyKey, rng: &mut impl CryptoRngCore) -> Result<SealedBlob, SealError> {
    let json =
        Zeroizing::new(serde_json::to_vec(index).map_err(|e| SealError::Malformed(format!("study index: {e}")))?);
    let object_id = ObjectId::generate(rng);
    Ok(SealedBlob { object_id, sealed: seal_object(key, &object_id, &json, DEFAULT_CHUNK_SIZE)? })
}

/// Record length of the previous-keys blob: epoch (u32 BE) then key.
const KEY_RECORD_LEN: usize = 4 + 32;

/// The structural rules a body must follow beyond its JSON shape (checked when sealing and opening).
fn check_body(body: &ManifestBody) -> Result<(), SealError> {
    let bad = |m: &str| Err(SealError::Malformed(format!("manifest: {m}")));
    let mut ids: Vec<ObjectId> = body.objects.iter().map(|o| o.object_id).collect();
    ids.push(body.index.object_id);
    ids.extend(body.previous_keys.iter().map(|b| b.object_id));
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return bad("duplicate object id");
    }
    if body.stanzas.is_empty() {
        return bad("no recipient stanza");
    }
    let mut keys: Vec<KeyId> = body.stanzas.iter().map(Stanza::key_id).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return bad("two stanzas for one recipient");
    }
    let mut links: Vec<LinkId> = body.shares.iter().map(|s| s.link_id).collect();
    links.sort_unstable();
    if links.windows(2).any(|w| w[0] == w[1]) {
        return bad("two share stanzas with one link id");
    }
    if body.previous_keys.is_some() != (body.key_epoch > 0) {
        return bad("previous keys must be present exactly when the key epoch is above 0");
    }
    if body.objects.iter().any(|o| o.key_epoch > body.key_epoch) {
        return bad("an object is sealed under a key epoch newer than the manifest's");
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
    check_body(&body)?;
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
    /// Unwraps the current study key with `identity`'s stanza, as raw bytes (native tools: the
    /// viewer uses [`VerifiedManifest::unlock`], which never keeps the raw key).
    pub async fn study_key(&self, identity: &impl Identity) -> Result<StudyKey, SealError> {
        unwrap_study_key(identity, &self.body.study_uid, &self.body.stanzas).await
    }

    /// Unwraps the study keys of every epoch with `identity`'s stanza and hands them to `backend`.
    pub async fn unlock<B: AeadBackend>(
        &self,
        identity: &impl Identity,
        backend: &B,
    ) -> Result<StudyKeys<B::Key>, SealError> {
        self.unlock_with_key(self.study_key(identity).await?, backend).await
    }

    /// Opens the study keys with a share link (and its passcode, if it has one); see
    /// [`open_share`] for the errors.
    pub async fn unlock_share<B: AeadBackend>(
        &self,
        link: &ShareLink,
        passcode: Option<&str>,
        now: i64,
        backend: &B,
    ) -> Result<StudyKeys<B::Key>, SealError> {
        let key = open_share(&self.body.study_uid, &self.body.shares, link, passcode, now)?;
        self.unlock_with_key(key, backend).await
    }

    /// Hands the current study key to `backend` (its raw copy is consumed and zeroised), then
    /// opens the keys of earlier epochs through it and hands those over too.
    pub async fn unlock_with_key<B: AeadBackend>(
        &self,
        current: StudyKey,
        backend: &B,
    ) -> Result<StudyKeys<B::Key>, SealError> {
        let current = backend.import_study_key(current).await?;
        let mut epochs = Vec::with_capacity(self.body.key_epoch as usize + 1);
        if let Some(blob) = &self.body.previous_keys {
            let records = open_object(&current, &blob.object_id, &blob.sealed).await?;
            if records.len() != self.body.key_epoch as usize * KEY_RECORD_LEN {
                return Err(SealError::Malformed("previous keys: wrong number of records".into()));
            }
            for (i, r) in records.chunks_exact(KEY_RECORD_LEN).enumerate() {
                if u32::from_be_bytes(r[..4].try_into().expect("4 bytes")) as usize != i {
                    return Err(SealError::Malformed("previous keys: records out of order".into()));
                }
                let bytes: [u8; 32] = r[4..].try_into().expect("32 bytes");
                epochs.push(backend.import_study_key(StudyKey::from_bytes(bytes)).await?);
            }
        }
        epochs.push(current);
        Ok(StudyKeys { epochs })
    }

    /// Decrypts and parses the study index.
    pub async fn index<K: StudyKeyHandle>(&self, keys: &StudyKeys<K>) -> Result<StudyIndex, SealError> {
        let pt = open_object(keys.current(), &self.body.index.object_id, &self.body.index.sealed).await?;
        serde_json::from_slice(&pt).map_err(|e| SealError::Malformed(format!("study index: {e}")))
    }

    /// The key object `id` is sealed under (for opening it chunk by chunk with
    /// [`crate::ObjectOpener`]).
    pub fn key_for<'k, K>(&self, keys: &'k StudyKeys<K>, id: &ObjectId) -> Result<&'k K, SealError> {
        let entry = self.object(id).ok_or(SealError::UnknownObject(*id))?;
        keys.epochs
            .get(entry.key_epoch as usize)
            .ok_or_else(|| SealError::Malformed("object sealed under an unknown key epoch".into()))
    }

    /// Checks fetched sealed bytes against the signed digest, then opens them under the right key.
    pub async fn open_object<K: StudyKeyHandle>(
        &self,
        keys: &StudyKeys<K>,
        id: &ObjectId,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        self.verify_object_digest(id, sealed)?;
        open_object(self.key_for(keys, id)?, id, sealed).await
    }

    /// A receiver for object `id` as its bytes arrive: it checks them against the signed length and
    /// digest and opens them under the right key ([`crate::ObjectReceiver`]).
    pub async fn receive_object<K: StudyKeyHandle>(
        &self,
        keys: &StudyKeys<K>,
        id: &ObjectId,
    ) -> Result<crate::ObjectReceiver<K::Cipher>, SealError> {
        let e = self.object(id).ok_or(SealError::UnknownObject(*id))?;
        crate::ObjectReceiver::new(self.key_for(keys, id)?, *id, e.sealed_len, e.sha256).await
    }

    /// Whether the study key is wrapped for the key with this id.
    pub fn has_recipient(&self, key_id: &KeyId) -> bool {
        self.body.stanzas.iter().any(|s| s.key_id() == *key_id)
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

/// The study keys of every epoch of one study, in a backend's custody (index = epoch).
pub struct StudyKeys<K> {
    epochs: Vec<K>,
}

impl<K> StudyKeys<K> {
    /// The current epoch's key.
    pub fn current(&self) -> &K {
        self.epochs.last().expect("at least the current epoch")
    }
    /// The key of `epoch`, if known.
    pub fn epoch(&self, epoch: u32) -> Option<&K> {
        self.epochs.get(epoch as usize)
    }
}

/// A new share link asked of [`update_manifest`].
#[derive(Debug)]
pub struct NewShare {
    /// End of validity, unix seconds.
    pub expires: i64,
    /// The passcode, if the link needs one too.
    pub passcode: Option<Zeroizing<String>>,
    /// Argon2id cost of the passcode.
    pub cost: PasscodeCost,
    /// Gate the passcode (`share::create_gated_share`): only with a passcode.
    pub gate: bool,
}

/// What [`update_manifest`] changes; everything else is carried over.
#[derive(Debug, Default)]
pub struct ManifestUpdate {
    /// Recipients to add (already present ones are kept as they are).
    pub add: Vec<PublicKey>,
    /// Recipients to remove, by key id.
    pub remove: Vec<KeyId>,
    /// Start a new study key epoch: later objects, the index and every stanza use a fresh key,
    /// and existing share links stop opening the study (their secrets are not known here).
    pub rotate: bool,
    /// Share links to create.
    pub add_shares: Vec<NewShare>,
    /// Share links to revoke, by id.
    pub remove_shares: Vec<LinkId>,
}

/// The result of [`update_manifest`].
#[derive(Debug)]
pub struct UpdatedManifest {
    /// The new signed manifest bytes (version + 1).
    pub manifest: Vec<u8>,
    /// The links created, in the order asked (their secrets exist only here: show them once).
    pub links: Vec<ShareLink>,
    /// Share links that stopped working because of a rotation.
    pub dropped_shares: Vec<LinkId>,
    /// For each link created, in the same order, its gate (gated links only): for the gate
    /// service, never for the store.
    pub gates: Vec<Option<ShareGate>>,
}

/// Publishes a new version of a study's manifest without touching any object ciphertext:
/// recipients added or removed, share links created or revoked, optionally a new key epoch.
///
/// The study keys are recovered with the `escrow` identity. The result has version + 1,
/// `created = now`, and is signed by `gateway_key` under `gateway_cert`. Which keys must stay
/// (the escrow) is the caller's policy; a manifest without any recipient is refused.
#[allow(clippy::too_many_arguments)]
pub async fn update_manifest(
    manifest: &VerifiedManifest,
    escrow: &impl Identity,
    update: ManifestUpdate,
    gateway_key: &SigningKey,
    gateway_cert: &Certificate,
    now: i64,
    rng: &mut impl CryptoRngCore,
) -> Result<UpdatedManifest, SealError> {
    let keys = manifest.unlock(escrow, &RustCryptoAead).await?;
    let mut body = manifest.body.clone();
    for id in &update.remove {
        if !body.stanzas.iter().any(|s| s.key_id() == *id) {
            return Err(SealError::Malformed(format!("key {id} is not a recipient of study {}", body.study_uid)));
        }
    }
    for id in &update.remove_shares {
        if !body.shares.iter().any(|s| s.link_id == *id) {
            return Err(SealError::NoSuchShare { link_id: *id });
        }
    }
    body.stanzas.retain(|s| !update.remove.contains(&s.key_id()));
    body.shares.retain(|s| !update.remove_shares.contains(&s.link_id));
    let mut dropped_shares = Vec::new();
    let rotated;
    let key = if update.rotate {
        let index = manifest.index(&keys).await?;
        let fresh = StudyKey::generate(rng);
        let mut records = Zeroizing::new(Vec::with_capacity(keys.epochs.len() * KEY_RECORD_LEN));
        for (epoch, k) in keys.epochs.iter().enumerate() {
            records.extend_from_slice(&(epoch as u32).to_be_bytes());
            records.extend_from_slice(k.as_bytes());
        }
        let previous_id = ObjectId::generate(rng);
        body.previous_keys = Some(SealedBlob {
            object_id: previous_id,
            sealed: seal_object(&fresh, &previous_id, &records, DEFAULT_CHUNK_SIZE)?,
        });
        body.index = seal_index(&index, &fresh, rng)?;
        body.key_epoch =
            body.key_epoch.checked_add(1).ok_or_else(|| SealError::Malformed("key epoch overflow".into()))?;
        let recipients: Vec<PublicKey> = body.stanzas.drain(..).map(|s| s.recipient).collect();
        add_stanzas(&mut body.stanzas, &recipients, &manifest.body.study_uid, &fresh, rng);
        dropped_shares = body.shares.drain(..).map(|s| s.link_id).collect();
        rotated = fresh;
        &rotated
    } else {
        keys.current()
    };
    add_stanzas(&mut body.stanzas, &update.add, &manifest.body.study_uid, key, rng);
    let mut links = Vec::with_capacity(update.add_shares.len());
    let mut gates = Vec::with_capacity(update.add_shares.len());
    for s in &update.add_shares {
        if s.expires <= now {
            return Err(SealError::Malformed("a share link must expire in the future".into()));
        }
        let (stanza, link, gate) = match (&s.passcode, s.gate) {
            (Some(code), true) => {
                let (stanza, link, gate) = create_gated_share(&body.study_uid, key, s.expires, code, s.cost, rng)?;
                (stanza, link, Some(gate))
            }
            (None, true) => return Err(SealError::Malformed("only a passcode link can be gated".into())),
            (code, false) => {
                let (stanza, link) =
                    create_share(&body.study_uid, key, s.expires, code.as_ref().map(|p| p.as_str()), s.cost, rng)?;
                (stanza, link, None)
            }
        };
        body.shares.push(stanza);
        links.push(link);
        gates.push(gate);
    }
    if body.stanzas.is_empty() {
        return Err(SealError::Malformed("the update would leave the study without any recipient".into()));
    }
    body.version =
        body.version.checked_add(1).ok_or_else(|| SealError::Malformed("manifest version overflow".into()))?;
    body.created = now;
    body.gateway = gateway_cert.clone();
    check_body(&body)?;
    Ok(UpdatedManifest { manifest: sign_body(&body, gateway_key)?, links, dropped_shares, gates })
}

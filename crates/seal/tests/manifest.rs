//! Certificates, manifests and re-wrapping, with one test per attack class.

mod common;

use common::{block, TestRng};
use obscura_seal::zeroize::Zeroizing;
use obscura_seal::*;

const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

struct World {
    org: SigningKey,
    gateway: SigningKey,
    gateway_cert: Certificate,
    reader: DhSecretKey,
    escrow: DhSecretKey,
    study_key: StudyKey,
    index: StudyIndex,
    objects: Vec<(ObjectId, Vec<u8>, Vec<u8>)>,
    manifest: Vec<u8>,
}

fn world(seed: &str) -> World {
    let mut rng = TestRng::new(seed);
    let org = SigningKey::generate(&mut rng);
    let gateway = SigningKey::generate(&mut rng);
    let gateway_cert = Certificate::issue(&org, Role::Gateway, "gateway-1", gateway.public_key(), NOW - DAY, NOW + DAY);
    let reader = DhSecretKey::generate(&mut rng);
    let escrow = DhSecretKey::generate(&mut rng);
    let study_key = StudyKey::generate(&mut rng);
    let mut objects = Vec::new();
    let mut entries = Vec::new();
    let mut instances = Vec::new();
    for n in 0..2 {
        let id = ObjectId::generate(&mut rng);
        let pt: Vec<u8> = (0..300u32).map(|i| (i * (n + 3)) as u8).collect();
        let sealed = seal_object(&study_key, &id, &pt, 64).unwrap();
        entries.push(ObjectEntry::for_sealed(id, "2.25.100", &format!("2.25.10{n}"), 0, &sealed));
        instances.push(InstanceIndex {
            object_id: id,
            instance_number: Some(n as i32 + 1),
            slice_location: Some(n as f64 * 2.5),
            rows: 10,
            columns: 10,
            frames: 3,
            frame_ranges: vec![[0, 100], [100, 200], [200, 300]],
        });
        objects.push((id, pt, sealed));
    }
    let mut index = StudyIndex::default();
    index.patient_name = "DOE^JANE".into();
    index.patient_id = "P123".into();
    index.study_description = "CT CHEST".into();
    index.series = vec![SeriesIndex {
        series_uid: "2.25.100".into(),
        modality: "CT".into(),
        series_number: Some(1),
        series_description: "AXIAL".into(),
        instances,
    }];
    let recipients = [reader.public_key().clone(), escrow.public_key().clone()];
    let manifest = seal_manifest(
        ManifestInput {
            study_uid: "2.25.42",
            version: 3,
            created: NOW,
            recipients: &recipients,
            index: &index,
            objects: entries,
        },
        &gateway,
        &gateway_cert,
        &study_key,
        &mut rng,
    )
    .unwrap();
    World { org, gateway, gateway_cert, reader, escrow, study_key, index, objects, manifest }
}

/// Re-signs an envelope with `key` after replacing its body (attacker tooling).
fn resign(body: &[u8], key: &SigningKey) -> Vec<u8> {
    let mut out = b"OBSCMAN1".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    let sig = key.sign(MANIFEST_CONTEXT, &out);
    out.extend_from_slice(&sig.0);
    out
}

fn body_of(m: &[u8]) -> Vec<u8> {
    m[12..m.len() - 64].to_vec()
}

#[test]
fn manifest_round_trip() {
    let w = world("rt");
    let anchor = w.org.public_key();
    let m = open_manifest(&w.manifest, anchor, NOW, None).unwrap();
    assert_eq!(m.version(), 3);
    assert_eq!(m.study_uid(), "2.25.42");
    let key = block(m.study_key(&w.reader)).unwrap();
    assert_eq!(key, w.study_key);
    assert_eq!(block(m.study_key(&w.escrow)).unwrap(), w.study_key);
    let keys = block(m.unlock_with_key(key.clone(), &RustCryptoAead)).unwrap();
    assert_eq!(block(m.index(&keys)).unwrap(), w.index);
    for (id, pt, sealed) in &w.objects {
        m.verify_object_digest(id, sealed).unwrap();
        assert_eq!(m.object(id).unwrap().sealed_len, sealed.len() as u64);
        assert_eq!(&block(open_object(&key, id, sealed)).unwrap()[..], &pt[..]);
    }
    // The PHI is not in the manifest in clear.
    let text = String::from_utf8_lossy(&w.manifest);
    assert!(!text.contains("DOE") && !text.contains("P123") && !text.contains("CHEST"));
    // Same version as last seen is fine.
    open_manifest(&w.manifest, anchor, NOW, Some(3)).unwrap();
}

#[test]
fn manifest_rollback() {
    let w = world("rollback");
    assert_eq!(
        open_manifest(&w.manifest, w.org.public_key(), NOW, Some(4)).unwrap_err(),
        SealError::Rollback { last_seen: 4, got: 3 }
    );
}

#[test]
fn manifest_signed_by_uncertified_gateway_key() {
    let w = world("rogue");
    let mut rng = TestRng::new("rogue-keys");
    let rogue = SigningKey::generate(&mut rng);
    // Rogue key signs, presenting the genuine gateway certificate.
    let forged = resign(&body_of(&w.manifest), &rogue);
    assert_eq!(
        open_manifest(&forged, w.org.public_key(), NOW, None).unwrap_err(),
        SealError::BadSignature { what: "manifest" }
    );
    // Rogue key with a certificate from a rogue organisation.
    let rogue_org = SigningKey::generate(&mut rng);
    let rogue_cert =
        Certificate::issue(&rogue_org, Role::Gateway, "gateway-1", rogue.public_key(), NOW - DAY, NOW + DAY);
    let m = open_manifest(&w.manifest, w.org.public_key(), NOW, None).unwrap();
    let mut body = m.body().clone();
    body.gateway = rogue_cert.clone();
    let forged = resign(&serde_json::to_vec(&body).unwrap(), &rogue);
    assert!(matches!(
        open_manifest(&forged, w.org.public_key(), NOW, None).unwrap_err(),
        SealError::UntrustedCertificate { .. }
    ));
    // Same, but the issuer field claims the real organisation.
    body.gateway.issuer = w.org.public_key().key_id();
    let forged = resign(&serde_json::to_vec(&body).unwrap(), &rogue);
    assert!(matches!(
        open_manifest(&forged, w.org.public_key(), NOW, None).unwrap_err(),
        SealError::UntrustedCertificate { .. }
    ));
    // The builder refuses a key that does not match its certificate.
    let r = seal_manifest(
        ManifestInput {
            study_uid: "x",
            version: 1,
            created: NOW,
            recipients: &[w.reader.public_key().clone()],
            index: &w.index,
            objects: vec![],
        },
        &rogue,
        &w.gateway_cert,
        &w.study_key,
        &mut rng,
    );
    assert_eq!(r.unwrap_err(), SealError::KeyMismatch);
}

#[test]
fn certificate_not_chained_to_organisation() {
    let w = world("chain");
    let mut rng = TestRng::new("chain-keys");
    let other_org = SigningKey::generate(&mut rng);
    let reader_cert =
        Certificate::issue(&other_org, Role::Reader, "dr who", w.reader.public_key(), NOW - DAY, NOW + DAY);
    assert!(matches!(
        reader_cert.verify(w.org.public_key(), Role::Reader, NOW),
        Err(SealError::UntrustedCertificate { .. })
    ));
    let good = Certificate::issue(&w.org, Role::Reader, "dr who", w.reader.public_key(), NOW - DAY, NOW + DAY);
    good.verify(w.org.public_key(), Role::Reader, NOW).unwrap();
    // Substituted key in a genuine certificate.
    let mut swapped = good.clone();
    swapped.public_key = other_org.public_key().clone();
    assert!(matches!(
        swapped.verify(w.org.public_key(), Role::Reader, NOW),
        Err(SealError::UntrustedCertificate { .. })
    ));
    // Altered subject / validity.
    let mut longer = good.clone();
    longer.not_after += 1;
    assert!(matches!(
        longer.verify(w.org.public_key(), Role::Reader, NOW),
        Err(SealError::UntrustedCertificate { .. })
    ));
}

#[test]
fn certificate_wrong_role() {
    let w = world("role");
    let c = Certificate::issue(&w.org, Role::Reader, "r", w.reader.public_key(), NOW - DAY, NOW + DAY);
    assert_eq!(
        c.verify(w.org.public_key(), Role::Escrow, NOW).unwrap_err(),
        SealError::WrongRole { expected: Role::Escrow, got: Role::Reader }
    );
    // A reader certificate on a gateway key does not make a gateway.
    let reader_cert_for_gw =
        Certificate::issue(&w.org, Role::Reader, "gw", w.gateway.public_key(), NOW - DAY, NOW + DAY);
    let m = open_manifest(&w.manifest, w.org.public_key(), NOW, None).unwrap();
    let mut body = m.body().clone();
    body.gateway = reader_cert_for_gw;
    let forged = resign(&serde_json::to_vec(&body).unwrap(), &w.gateway);
    assert_eq!(
        open_manifest(&forged, w.org.public_key(), NOW, None).unwrap_err(),
        SealError::WrongRole { expected: Role::Gateway, got: Role::Reader }
    );
}

#[test]
fn expired_certificate() {
    let w = world("expired");
    assert_eq!(
        open_manifest(&w.manifest, w.org.public_key(), NOW + DAY + 1, None).unwrap_err(),
        SealError::CertificateExpired { not_after: NOW + DAY, now: NOW + DAY + 1 }
    );
    assert_eq!(
        open_manifest(&w.manifest, w.org.public_key(), NOW - DAY - 1, None).unwrap_err(),
        SealError::NotYetValid { not_before: NOW - DAY, now: NOW - DAY - 1 }
    );
    // Bounds are inclusive.
    open_manifest(&w.manifest, w.org.public_key(), NOW + DAY, None).unwrap();
    open_manifest(&w.manifest, w.org.public_key(), NOW - DAY, None).unwrap();
}

#[test]
fn manifest_signature_byte_flip() {
    let w = world("flip");
    for pos in [w.manifest.len() - 1, w.manifest.len() - 40, w.manifest.len() - 64] {
        let mut m = w.manifest.clone();
        m[pos] ^= 0x01;
        assert_eq!(
            open_manifest(&m, w.org.public_key(), NOW, None).unwrap_err(),
            SealError::BadSignature { what: "manifest" }
        );
    }
}

#[test]
fn manifest_body_tampering() {
    let w = world("body");
    let text = String::from_utf8(body_of(&w.manifest)).unwrap();
    // Bump the version without re-signing.
    let bumped = text.replacen("\"version\":3", "\"version\":9", 1);
    assert_ne!(bumped, text);
    let mut m = w.manifest.clone();
    m[12..12 + bumped.len()].copy_from_slice(bumped.as_bytes());
    assert_eq!(
        open_manifest(&m, w.org.public_key(), NOW, None).unwrap_err(),
        SealError::BadSignature { what: "manifest" }
    );
    // Every single-byte flip of the body is refused.
    for pos in (12..w.manifest.len() - 64).step_by(97) {
        let mut m = w.manifest.clone();
        m[pos] ^= 0x02;
        assert!(open_manifest(&m, w.org.public_key(), NOW, None).is_err(), "flip at {pos} accepted");
    }
    // Length prefix and truncation.
    let mut m = w.manifest.clone();
    m[11] ^= 1;
    assert!(matches!(open_manifest(&m, w.org.public_key(), NOW, None), Err(SealError::Malformed(_))));
    assert!(open_manifest(&w.manifest[..w.manifest.len() - 1], w.org.public_key(), NOW, None).is_err());
}

#[test]
fn manifest_stanza_retargeted_to_another_key_id() {
    // Inside a signed manifest, re-targeting a stanza breaks the signature; with a rogue signer
    // it is refused by the certificate check; even re-signed by the genuine gateway (a confused
    // gateway), the stanza does not open for the other key.
    let w = world("retarget-m");
    let mut rng = TestRng::new("other");
    let other = DhSecretKey::generate(&mut rng);
    let m = open_manifest(&w.manifest, w.org.public_key(), NOW, None).unwrap();
    let mut body = m.body().clone();
    body.stanzas[0].recipient = other.public_key().clone();
    let json = serde_json::to_vec(&body).unwrap();
    let mut unsigned = w.manifest[..12].to_vec();
    unsigned[8..12].copy_from_slice(&(json.len() as u32).to_be_bytes());
    unsigned.extend_from_slice(&json);
    unsigned.extend_from_slice(&w.manifest[w.manifest.len() - 64..]);
    assert_eq!(
        open_manifest(&unsigned, w.org.public_key(), NOW, None).unwrap_err(),
        SealError::BadSignature { what: "manifest" }
    );
    let resigned = resign(&json, &w.gateway);
    let m2 = open_manifest(&resigned, w.org.public_key(), NOW, None).unwrap();
    assert_eq!(block(m2.study_key(&other)).unwrap_err(), SealError::Tampered { what: "recipient stanza" });
}

#[test]
fn unknown_format_version() {
    let w = world("format");
    let m = open_manifest(&w.manifest, w.org.public_key(), NOW, None).unwrap();
    let mut body = m.body().clone();
    body.format = 2;
    let forged = resign(&serde_json::to_vec(&body).unwrap(), &w.gateway);
    assert_eq!(
        open_manifest(&forged, w.org.public_key(), NOW, None).unwrap_err(),
        SealError::UnsupportedVersion { what: "manifest", version: 2 }
    );
    let mut env = w.manifest.clone();
    env[7] = b'2';
    assert_eq!(
        open_manifest(&env, w.org.public_key(), NOW, None).unwrap_err(),
        SealError::UnsupportedVersion { what: "manifest envelope", version: 2 }
    );
    // Certificates: by itself, and inside a (re-signed) manifest.
    let mut cert = w.gateway_cert.clone();
    cert.format = 2;
    assert_eq!(
        Certificate::from_json(&cert.to_json()).unwrap_err(),
        SealError::UnsupportedVersion { what: "certificate", version: 2 }
    );
    assert_eq!(
        cert.verify(w.org.public_key(), Role::Gateway, NOW).unwrap_err(),
        SealError::UnsupportedVersion { what: "certificate", version: 2 }
    );
    let mut body = m.body().clone();
    body.gateway = cert;
    let forged = resign(&serde_json::to_vec(&body).unwrap(), &w.gateway);
    assert_eq!(
        open_manifest(&forged, w.org.public_key(), NOW, None).unwrap_err(),
        SealError::UnsupportedVersion { what: "certificate", version: 2 }
    );
    // Enrolment requests.
    let signer = SigningKey::generate(&mut TestRng::new("versions-signer"));
    let req = block(EnrolmentRequest::new(w.reader.public_key().clone(), &signer, "dr who", NOW)).unwrap();
    for version in [1, 3] {
        let other = req.to_json().replace("\"format\": 2", &format!("\"format\": {version}"));
        assert_eq!(
            EnrolmentRequest::from_json(&other).unwrap_err(),
            SealError::UnsupportedVersion { what: "enrolment request", version }
        );
    }
}

#[test]
fn reader_certificate_not_chained_to_organisation() {
    // What `obscura reader certify` and the viewer check before trusting a reader key.
    let w = world("reader-chain");
    let mut rng = TestRng::new("reader-chain-keys");
    let rogue_org = SigningKey::generate(&mut rng);
    let signer = SigningKey::generate(&mut rng);
    let req = EnrolmentRequest::from_json(
        &block(EnrolmentRequest::new(w.reader.public_key().clone(), &signer, "Dr. Example", NOW)).unwrap().to_json(),
    )
    .unwrap();
    let rogue = Certificate::issue(&rogue_org, Role::Reader, &req.subject, &req.public_key, NOW - DAY, NOW + DAY);
    assert_eq!(
        rogue.verify(w.org.public_key(), Role::Reader, NOW).unwrap_err(),
        SealError::UntrustedCertificate { reason: "it was issued by another key than the organisation key" }
    );
    // Claiming the organisation as issuer does not help: the signature does not verify.
    let mut claimed = rogue.clone();
    claimed.issuer = w.org.public_key().key_id();
    assert_eq!(
        claimed.verify(w.org.public_key(), Role::Reader, NOW).unwrap_err(),
        SealError::UntrustedCertificate { reason: "its signature does not verify under the organisation key" }
    );
    // Control characters in the subject are refused in requests.
    assert!(block(EnrolmentRequest::new(w.reader.public_key().clone(), &signer, "evil\u{1b}[2J", NOW)).is_err());
}

#[test]
fn enrolment_request_signed_by_its_signing_key() {
    let w = world("enrolment-signature");
    let mut rng = TestRng::new("enrolment-signature-keys");
    let signer = SigningKey::generate(&mut rng);
    let req = block(EnrolmentRequest::new(w.reader.public_key().clone(), &signer, "Dr. Example", NOW)).unwrap();
    assert_eq!(req.signing_key, *signer.public_key());
    assert_eq!(req.fingerprint(), w.reader.public_key().fingerprint());
    assert_eq!(EnrolmentRequest::from_json(&req.to_json()).unwrap(), req);
    let bad_signature = SealError::BadSignature { what: "enrolment request" };
    // Every signed field is covered: a substituted reader key, signing key, subject or time is refused.
    let other = DhSecretKey::generate(&mut rng);
    let mut swapped = req.clone();
    swapped.public_key = other.public_key().clone();
    assert_eq!(EnrolmentRequest::from_json(&swapped.to_json()).unwrap_err(), bad_signature);
    let mut resigned = req.clone();
    resigned.signing_key = SigningKey::generate(&mut rng).public_key().clone();
    assert_eq!(EnrolmentRequest::from_json(&resigned.to_json()).unwrap_err(), bad_signature);
    let mut renamed = req.clone();
    renamed.subject = "Dr. Mallory".into();
    assert_eq!(EnrolmentRequest::from_json(&renamed.to_json()).unwrap_err(), bad_signature);
    let mut redated = req.clone();
    redated.created += 1;
    assert_eq!(EnrolmentRequest::from_json(&redated.to_json()).unwrap_err(), bad_signature);
    let mut flipped = req.clone();
    flipped.signature[10] ^= 1;
    assert_eq!(EnrolmentRequest::from_json(&flipped.to_json()).unwrap_err(), bad_signature);
    // A request signed by the (certified) ECDH key's own scalar as an ECDSA key is refused: one key, one usage.
    let same = SigningKey::from_bytes(&w.reader.to_bytes()).unwrap();
    assert!(matches!(
        block(EnrolmentRequest::new(same.public_key().clone(), &same, "Dr. Example", NOW)).unwrap_err(),
        SealError::Malformed(m) if m.contains("must differ")
    ));
    // The unsigned request of older viewers (format 1, no signing key) is refused as a version.
    let old = serde_json::json!({ "format": 1, "public_key": serde_json::to_value(w.reader.public_key()).unwrap(), "subject": "x", "created": NOW });
    assert_eq!(
        EnrolmentRequest::from_json(&old.to_string()).unwrap_err(),
        SealError::UnsupportedVersion { what: "enrolment request", version: 1 }
    );
}

#[test]
fn unknown_fields_refused() {
    let w = world("strict");
    let text = String::from_utf8(body_of(&w.manifest)).unwrap();
    let extra = text.replacen('{', "{\"extra\":1,", 1);
    let forged = resign(extra.as_bytes(), &w.gateway);
    assert!(matches!(open_manifest(&forged, w.org.public_key(), NOW, None), Err(SealError::Malformed(_))));
    let cert_json = w.gateway_cert.to_json();
    assert_eq!(Certificate::from_json(&cert_json).unwrap(), w.gateway_cert);
    let extra = cert_json.replacen('{', "{\"extra\":1,", 1);
    assert!(Certificate::from_json(&extra).is_err());
}

#[test]
fn object_spliced_from_another_study() {
    let w1 = world("study-1");
    let w2 = world("study-2");
    let m1 = open_manifest(&w1.manifest, w1.org.public_key(), NOW, None).unwrap();
    let (id1, _, _) = &w1.objects[0];
    let (_, _, sealed2) = &w2.objects[0];
    assert_eq!(m1.verify_object_digest(id1, sealed2).unwrap_err(), SealError::DigestMismatch { object: *id1 });
    let key1 = block(m1.study_key(&w1.reader)).unwrap();
    assert!(block(open_object(&key1, id1, sealed2)).is_err());
    // Swapped within the study: digest of the other object.
    let (id_b, _, sealed_b) = &w1.objects[1];
    assert!(m1.verify_object_digest(id1, sealed_b).is_err());
    assert_eq!(
        block(open_object(&key1, id1, sealed_b)).unwrap_err(),
        SealError::ObjectSwapped { expected: *id1, found: *id_b }
    );
    let unknown = ObjectId([9; 16]);
    assert_eq!(m1.verify_object_digest(&unknown, sealed_b).unwrap_err(), SealError::UnknownObject(unknown));
}

fn update(
    w: &World,
    m: &VerifiedManifest,
    escrow: &DhSecretKey,
    u: ManifestUpdate,
    now: i64,
    rng: &mut TestRng,
) -> Result<UpdatedManifest, SealError> {
    block(update_manifest(m, escrow, u, &w.gateway, &w.gateway_cert, now, rng))
}

#[test]
fn rewrap_adds_and_removes_recipients() {
    let w = world("rewrap");
    let mut rng = TestRng::new("rewrap-keys");
    let new_reader = DhSecretKey::generate(&mut rng);
    let m = open_manifest(&w.manifest, w.org.public_key(), NOW, None).unwrap();
    let later = NOW + 100;
    let u = ManifestUpdate {
        add: vec![new_reader.public_key().clone()],
        remove: vec![w.reader.public_key().key_id()],
        ..Default::default()
    };
    let bytes = update(&w, &m, &w.escrow, u, later, &mut rng).unwrap().manifest;
    let m2 = open_manifest(&bytes, w.org.public_key(), later, Some(m.version())).unwrap();
    assert_eq!(m2.version(), 4);
    assert_eq!(m2.body().created, later);
    assert_eq!(m2.body().objects, m.body().objects);
    assert_eq!(m2.body().index, m.body().index);
    assert_eq!(m2.body().key_epoch, 0);
    assert_eq!(block(m2.study_key(&new_reader)).unwrap(), w.study_key);
    assert_eq!(block(m2.study_key(&w.escrow)).unwrap(), w.study_key);
    assert_eq!(
        block(m2.study_key(&w.reader)).unwrap_err(),
        SealError::NoStanzaForKey { key_id: w.reader.public_key().key_id() }
    );
    // Replaying the old manifest (which still has the removed reader) is a rollback.
    assert_eq!(
        open_manifest(&w.manifest, w.org.public_key(), later, Some(m2.version())).unwrap_err(),
        SealError::Rollback { last_seen: 4, got: 3 }
    );
    // The escrow is needed: a non-recipient cannot re-wrap.
    let stranger = DhSecretKey::generate(&mut rng);
    assert!(update(&w, &m, &stranger, ManifestUpdate::default(), later, &mut rng).is_err());
    // Removing a key that is not a recipient is an error, not a silent no-op.
    let u = ManifestUpdate { remove: vec![stranger.public_key().key_id()], ..Default::default() };
    assert!(matches!(update(&w, &m, &w.escrow, u, later, &mut rng), Err(SealError::Malformed(_))));
    // Removing everyone is refused.
    let everyone = m.body().stanzas.iter().map(Stanza::key_id).collect();
    let u = ManifestUpdate { remove: everyone, ..Default::default() };
    assert!(update(&w, &m, &w.escrow, u, later, &mut rng).is_err());
}

#[test]
fn revoke_rotates_the_key_for_future_versions() {
    let w = world("revoke");
    let mut rng = TestRng::new("revoke-keys");
    let m = open_manifest(&w.manifest, w.org.public_key(), NOW, None).unwrap();
    let u = ManifestUpdate { remove: vec![w.reader.public_key().key_id()], rotate: true, ..Default::default() };
    let out = update(&w, &m, &w.escrow, u, NOW + 1, &mut rng).unwrap();
    let m2 = open_manifest(&out.manifest, w.org.public_key(), NOW + 1, Some(3)).unwrap();
    assert_eq!((m2.version(), m2.body().key_epoch), (4, 1));
    // The objects (and their ciphertext digests) are untouched; the index is re-sealed.
    assert_eq!(m2.body().objects, m.body().objects);
    assert_ne!(m2.body().index, m.body().index);
    // The revoked reader has no stanza; its old study key does not open the new index.
    assert!(block(m2.study_key(&w.reader)).is_err());
    let old = block(m2.unlock_with_key(w.study_key.clone(), &RustCryptoAead));
    assert_eq!(old.err(), Some(SealError::Tampered { what: "object chunk" }));
    // The escrow opens every epoch: the new key differs and old objects still open.
    let keys = block(m2.unlock(&w.escrow, &RustCryptoAead)).unwrap();
    assert_ne!(keys.current(), &w.study_key);
    assert_eq!(keys.epoch(0), Some(&w.study_key));
    assert_eq!(block(m2.index(&keys)).unwrap(), w.index);
    for (id, pt, sealed) in &w.objects {
        assert_eq!(&block(m2.open_object(&keys, id, sealed)).unwrap()[..], &pt[..]);
    }
    // A second rotation keeps the whole chain.
    let out3 =
        update(&w, &m2, &w.escrow, ManifestUpdate { rotate: true, ..Default::default() }, NOW + 2, &mut rng).unwrap();
    let m3 = open_manifest(&out3.manifest, w.org.public_key(), NOW + 2, Some(4)).unwrap();
    let keys3 = block(m3.unlock(&w.escrow, &RustCryptoAead)).unwrap();
    assert_eq!((keys3.epoch(0), keys3.epoch(1)), (Some(&w.study_key), Some(keys.current())));
    assert_eq!(m3.body().key_epoch, 2);
}

#[test]
fn share_links_are_created_revoked_and_dropped_by_rotation() {
    let w = world("shares");
    let mut rng = TestRng::new("share-keys");
    let m = open_manifest(&w.manifest, w.org.public_key(), NOW, None).unwrap();
    let share = |passcode: Option<&str>| NewShare {
        expires: NOW + 3600,
        passcode: passcode.map(|p| Zeroizing::new(p.to_owned())),
        cost: PasscodeCost::TEST,
        gate: false,
    };
    let u = ManifestUpdate { add_shares: vec![share(None), share(Some("correct horse"))], ..Default::default() };
    let out = update(&w, &m, &w.escrow, u, NOW, &mut rng).unwrap();
    assert_eq!(out.links.len(), 2);
    let m2 = open_manifest(&out.manifest, w.org.public_key(), NOW, Some(3)).unwrap();
    // Neither the link secret nor the study key is in the manifest.
    let plain = ShareLink::from_fragment(&out.links[0].to_fragment()).unwrap();
    let keys = block(m2.unlock_share(&plain, None, NOW + 10, &RustCryptoAead)).unwrap();
    assert_eq!(keys.current(), &w.study_key);
    let coded = ShareLink::from_fragment(&out.links[1].to_fragment()).unwrap();
    assert!(block(m2.unlock_share(&coded, Some("correct horse"), NOW, &RustCryptoAead)).is_ok());
    // Revoking one link leaves the other.
    let u = ManifestUpdate { remove_shares: vec![plain.link_id], ..Default::default() };
    let m3 = open_manifest(
        &update(&w, &m2, &w.escrow, u, NOW, &mut rng).unwrap().manifest,
        w.org.public_key(),
        NOW,
        Some(4),
    )
    .unwrap();
    assert_eq!(
        block(m3.unlock_share(&plain, None, NOW, &RustCryptoAead)).err(),
        Some(SealError::NoSuchShare { link_id: plain.link_id })
    );
    assert!(block(m3.unlock_share(&coded, Some("correct horse"), NOW, &RustCryptoAead)).is_ok());
    // A rotation drops the remaining link and says so.
    let out4 =
        update(&w, &m3, &w.escrow, ManifestUpdate { rotate: true, ..Default::default() }, NOW, &mut rng).unwrap();
    assert_eq!(out4.dropped_shares, vec![coded.link_id]);
    let m4 = open_manifest(&out4.manifest, w.org.public_key(), NOW, Some(5)).unwrap();
    assert!(m4.body().shares.is_empty());
    // A link must expire in the future.
    let mut past = share(None);
    past.expires = NOW - 1;
    assert!(update(&w, &m4, &w.escrow, ManifestUpdate { add_shares: vec![past], ..Default::default() }, NOW, &mut rng)
        .is_err());
}

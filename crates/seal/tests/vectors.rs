//! Known-answer tests: RFC 9180, Wycheproof ECDH (SEC1 point, DER SPKI and JWK forms), and Obscura's own format vectors
//! (`docs/test-vectors/seal-v1.json`; regenerate with `OBSCURA_REGEN_VECTORS=1`).

mod common;

use common::{block, wycheproof_ecdh, TestRng};
use obscura_seal::hpke::{self, AeadId, Context};
use obscura_seal::*;
use serde_json::{json, Value};

fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

fn secret32(v: &Value) -> [u8; 32] {
    h(v).try_into().expect("32 bytes")
}

/// RFC 9180 vectors (from the `hpke` 0.13.0 crate's `test-vectors-5f503c5.json`, filtered to
/// mode 0, DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM and AES-256-GCM).
#[test]
fn rfc9180_vectors() {
    let all: Vec<Value> = serde_json::from_str(include_str!("data/rfc9180-p256-sha256-aesgcm-base.json")).unwrap();
    let mut seen = [0usize; 3];
    for v in &all {
        assert_eq!((v["mode"].as_u64(), v["kem_id"].as_u64(), v["kdf_id"].as_u64()), (Some(0), Some(16), Some(1)));
        let aead = match v["aead_id"].as_u64().unwrap() {
            1 => AeadId::Aes128Gcm,
            2 => AeadId::Aes256Gcm,
            other => panic!("unexpected aead {other}"),
        };
        let sk_r = DhSecretKey::from_bytes(&secret32(&v["skRm"])).unwrap();
        let sk_e = DhSecretKey::from_bytes(&secret32(&v["skEm"])).unwrap();
        assert_eq!(sk_r.public_key().to_sec1().to_vec(), h(&v["pkRm"]));
        assert_eq!(sk_e.public_key().to_sec1().to_vec(), h(&v["pkEm"]));
        let pk_r = PublicKey::from_sec1(&h(&v["pkRm"])).unwrap();
        let (ss, enc) = hpke::encap_deterministic(&pk_r, &sk_e);
        assert_eq!(enc.to_vec(), h(&v["enc"]));
        assert_eq!(ss.to_vec(), h(&v["shared_secret"]));
        let ss_r = block(hpke::decap(&sk_r, &enc)).unwrap();
        assert_eq!(ss_r.to_vec(), h(&v["shared_secret"]));
        let info = h(&v["info"]);
        let mut s = Context::key_schedule_base(aead, &ss, &info);
        let mut r = Context::key_schedule_base(aead, &ss_r, &info);
        assert_eq!(s.key().to_vec(), h(&v["key"]));
        assert_eq!(s.base_nonce().to_vec(), h(&v["base_nonce"]));
        assert_eq!(s.exporter_secret().to_vec(), h(&v["exporter_secret"]));
        let encs = v["encryptions"].as_array().unwrap();
        for (seq, e) in encs.iter().enumerate() {
            let (aad, pt, ct) = (h(&e["aad"]), h(&e["pt"]), h(&e["ct"]));
            assert_eq!(s.seal(&aad, &pt).unwrap(), ct, "seal seq {seq}");
            assert_eq!(r.open(&aad, &ct).unwrap().to_vec(), pt, "open seq {seq}");
        }
        // Single-shot API (sequence 0) for Obscura's suite.
        if aead == AeadId::Aes256Gcm {
            let e = &encs[0];
            let (aad, pt, ct) = (h(&e["aad"]), h(&e["pt"]), h(&e["ct"]));
            let (enc2, ct2) = hpke::seal_base_deterministic(&pk_r, &sk_e, &info, &aad, &pt).unwrap();
            assert_eq!((enc2.to_vec(), ct2.clone()), (h(&v["enc"]), ct.clone()));
            assert_eq!(block(hpke::open_base(&sk_r, &enc2, &info, &aad, &ct)).unwrap().to_vec(), pt);
            let mut bad = ct.clone();
            bad[0] ^= 1;
            assert!(matches!(block(hpke::open_base(&sk_r, &enc2, &info, &aad, &bad)), Err(SealError::Tampered { .. })));
        }
        seen[aead.id() as usize] += encs.len();
    }
    assert!(seen[1] >= 257 && seen[2] >= 257, "{seen:?}");
}

/// Wycheproof `ecdh_secp256r1_ecpoint_test.json` (from the `wycheproof` 0.6.0 crate): every
/// valid vector with an uncompressed key agrees; every invalid public key is refused.
/// Compressed points are refused by design (Obscura only uses SEC1 uncompressed).
#[test]
fn wycheproof_ecdh() {
    let d: Value = serde_json::from_str(include_str!("data/wycheproof_ecdh_secp256r1_ecpoint_test.json")).unwrap();
    let (mut ok, mut refused_invalid, mut compressed) = (0, 0, 0);
    for g in d["testGroups"].as_array().unwrap() {
        for t in g["tests"].as_array().unwrap() {
            let id = t["tcId"].as_u64().unwrap();
            let result = t["result"].as_str().unwrap();
            let public = h(&t["public"]);
            let mut private = h(&t["private"]);
            while private.len() > 32 && private[0] == 0 {
                private.remove(0);
            }
            let mut sk = [0u8; 32];
            sk[32 - private.len()..].copy_from_slice(&private);
            let sk = DhSecretKey::from_bytes(&sk).unwrap_or_else(|_| panic!("tc {id}: private key"));
            match PublicKey::from_sec1(&public) {
                Ok(pk) => {
                    assert_ne!(result, "invalid", "tc {id}: invalid public key accepted");
                    assert_eq!(sk.diffie_hellman(&pk).to_vec(), h(&t["shared"]), "tc {id}");
                    assert_eq!(block(sk.ecdh(&pk)).unwrap().to_vec(), h(&t["shared"]), "tc {id}");
                    ok += 1;
                }
                Err(_) if result == "invalid" => refused_invalid += 1,
                Err(_) => {
                    assert!(matches!(public.first(), Some(2) | Some(3)), "tc {id}: valid uncompressed key refused");
                    compressed += 1;
                }
            }
        }
    }
    // 330 valid (all uncompressed) agree; 24 invalid refused; 1 "acceptable" compressed key refused.
    assert_eq!((ok, refused_invalid, compressed), (330, 24, 1));
}

/// Runs one Wycheproof file's cases through `DhSecretKey` (sync and through `Identity::ecdh`)
/// under the policy of `common/wycheproof_ecdh.rs`.
fn wycheproof_ecdh_file(file: &str) -> wycheproof_ecdh::Tally {
    use wycheproof_ecdh::{Outcome, Tally};
    let mut tally = Tally::default();
    for case in wycheproof_ecdh::cases(file) {
        let sk = DhSecretKey::from_bytes(&case.private).unwrap_or_else(|_| panic!("tc {}: private key", case.id));
        if let Some(jwk) = &case.private_jwk {
            let own = wycheproof_ecdh::sec1_from_jwk(jwk).expect("private JWK carries its public key");
            assert_eq!(sk.public_key().to_sec1(), own, "tc {}: private JWK d does not match x, y", case.id);
        }
        let outcome = match &case.peer {
            Ok(pk) => {
                let sync = sk.diffie_hellman(pk);
                let via_identity = block(sk.ecdh(pk)).unwrap();
                assert_eq!(sync, via_identity, "tc {}", case.id);
                Outcome::Secret(sync.to_vec())
            }
            Err(refused) => Outcome::Refused(*refused),
        };
        tally.check(&case, outcome);
    }
    tally
}

/// Wycheproof `ecdh_secp256r1_test.json` (DER SPKI public keys): see the policy in
/// `common/wycheproof_ecdh.rs`.
#[test]
fn wycheproof_ecdh_spki() {
    assert_eq!(wycheproof_ecdh_file(wycheproof_ecdh::SPKI_FILE), wycheproof_ecdh::SPKI_TALLY);
}

/// Wycheproof `ecdh_secp256r1_webcrypto_test.json` (JWK keys): see the policy in
/// `common/wycheproof_ecdh.rs`.
#[test]
fn wycheproof_ecdh_jwk() {
    assert_eq!(wycheproof_ecdh_file(wycheproof_ecdh::JWK_FILE), wycheproof_ecdh::JWK_TALLY);
}

fn vectors_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/test-vectors/seal-v1.json")
}

/// Builds Obscura's own vectors from fixed inputs.
fn build_vectors() -> Value {
    // Keys.
    let recipient = DhSecretKey::from_bytes(&[0x11; 32]).unwrap();
    let ephemeral = DhSecretKey::from_bytes(&[0x22; 32]).unwrap();
    let org = SigningKey::from_bytes(&[0x33; 32]).unwrap();
    let gateway = SigningKey::from_bytes(&[0x44; 32]).unwrap();
    let escrow = DhSecretKey::from_bytes(&[0x55; 32]).unwrap();
    let keys: Vec<Value> = [recipient.public_key(), org.public_key()]
        .iter()
        .map(|pk| json!({ "sec1": hex::encode(pk.to_sec1()), "key_id": pk.key_id().to_string(), "fingerprint": pk.fingerprint() }))
        .collect();

    // Objects.
    let study_key = StudyKey::from_bytes([0x66; 32]);
    let object_id = ObjectId([0x77; 16]);
    let objects: Vec<Value> = [0usize, 1, 64, 150]
        .iter()
        .map(|&len| {
            let pt: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let sealed = seal_object(&study_key, &object_id, &pt, 64).unwrap();
            json!({ "chunk_size": 64, "plaintext": hex::encode(&pt), "sealed": hex::encode(&sealed) })
        })
        .collect();

    // Fetching one frame by byte range: the chunks covering plaintext bytes [70, 140) of the
    // 150-byte object at chunk size 64, and their sealed byte range (the header is fetched too).
    let layout = ObjectLayout::new(64, 150).unwrap();
    let chunks = layout.chunks_for_plaintext(70..140);
    let sealed_range = layout.sealed_range_for_chunks(chunks.clone());
    let frame_fetch = json!({
        "object": 3, "chunk_size": 64, "plaintext_len": 150, "frame_range": [70, 140],
        "chunks": [chunks.start, chunks.end], "sealed_range": [sealed_range.start, sealed_range.end],
    });

    // Stanza.
    let stanza = wrap_study_key_deterministic(recipient.public_key(), "2.25.42", &study_key, &ephemeral);

    // Signature (RFC 6979 deterministic; any valid signature verifies).
    let sig = org.sign(b"obscura/v1/test", b"message");

    // Certificate and manifest (randomness from a fixed-seed test RNG).
    let cert = Certificate::issue(&org, Role::Gateway, "gateway-1", gateway.public_key(), 1_700_000_000, 1_900_000_000);
    let mut index = StudyIndex::default();
    index.patient_name = "DOE^JANE".into();
    index.study_date = "20260101".into();
    let sealed_obj = seal_object(&study_key, &object_id, b"pixels", 64).unwrap();
    index.series = vec![SeriesIndex {
        series_uid: "2.25.43".into(),
        modality: "CT".into(),
        series_number: Some(1),
        series_description: String::new(),
        instances: vec![InstanceIndex {
            object_id,
            instance_number: Some(1),
            slice_location: None,
            rows: 1,
            columns: 6,
            frames: 1,
            frame_ranges: vec![[0, 6]],
        }],
    }];
    let mut rng = TestRng::new("seal-v1 manifest");
    let manifest = seal_manifest(
        ManifestInput {
            study_uid: "2.25.42",
            version: 1,
            created: 1_800_000_000,
            recipients: &[recipient.public_key().clone(), escrow.public_key().clone()],
            index: &index,
            objects: vec![ObjectEntry::for_sealed(object_id, "2.25.43", "2.25.44", 0, &sealed_obj)],
        },
        &gateway,
        &cert,
        &study_key,
        &mut rng,
    )
    .unwrap();

    // Version 2: rotated to key epoch 1 (the escrow recovers the key), with a passcode share link.
    let escrow_cert =
        Certificate::issue(&org, Role::Escrow, "escrow-1", escrow.public_key(), 1_700_000_000, 1_900_000_000);
    let reader_cert =
        Certificate::issue(&org, Role::Reader, "Dr. A. Example", recipient.public_key(), 1_700_000_000, 1_900_000_000);
    let v1 = open_manifest(&manifest, org.public_key(), 1_800_000_000, None).unwrap();
    let update = ManifestUpdate {
        rotate: true,
        add_shares: vec![NewShare {
            expires: 1_800_086_400,
            passcode: Some(zeroize::Zeroizing::new("4711".into())),
            cost: PasscodeCost::TEST,
            gate: false,
        }],
        ..Default::default()
    };
    let v2 = block(update_manifest(&v1, &escrow, update, &gateway, &cert, 1_800_000_100, &mut rng)).unwrap();
    let v2_opened = open_manifest(&v2.manifest, org.public_key(), 1_800_000_100, Some(1)).unwrap();
    let rotated_key = block(v2_opened.study_key(&recipient)).unwrap();

    // A share link without passcode, on its own.
    let (share_stanza, share_link) =
        obscura_seal::share::create_share("2.25.42", &study_key, 1_800_086_400, None, PasscodeCost::TEST, &mut rng)
            .unwrap();
    let reader_signing = SigningKey::from_bytes(&[0x66; 32]).unwrap();
    let request =
        block(EnrolmentRequest::new(recipient.public_key().clone(), &reader_signing, "Dr. A. Example", 1_700_000_000))
            .unwrap();
    // A gated passcode link, on its own (drawn last: the vectors above keep their bytes).
    let (gated_stanza, gated_link, gate) = obscura_seal::share::create_gated_share(
        "2.25.42",
        &study_key,
        1_800_086_400,
        "4711",
        PasscodeCost::TEST,
        &mut rng,
    )
    .unwrap();
    let gated_pc = gated_stanza.passcode_key("4711").unwrap();
    let gate_secret = hex::encode(gate.secret.0);
    let gate_record = obscura_seal::gate::GateRecord::new(gated_link.link_id, gated_stanza.expires, gate, 5);

    json!({
        "description": "Obscura seal format v1 known-answer vectors; see docs/FORMAT.md. Byte strings are lowercase hex, except inside the certificate, which is in its JSON form (base64).",
        "keys": {
            "secrets": { "recipient": hex::encode([0x11; 32]), "ephemeral": hex::encode([0x22; 32]), "organisation": hex::encode([0x33; 32]), "gateway": hex::encode([0x44; 32]), "escrow": hex::encode([0x55; 32]), "reader_signing": hex::encode([0x66; 32]) },
            "public": keys,
        },
        "object_key": {
            "study_key": hex::encode(study_key.as_bytes()),
            "object_id": object_id.to_string(),
            "object_key": hex::encode(*study_key.object_key(&object_id)),
        },
        "objects": objects,
        "frame_fetch": frame_fetch,
        "stanza": {
            "recipient_secret": hex::encode([0x11; 32]),
            "ephemeral_secret": hex::encode([0x22; 32]),
            "study_uid": "2.25.42",
            "study_key": hex::encode(study_key.as_bytes()),
            "recipient": hex::encode(stanza.recipient.to_sec1()),
            "key_id": stanza.key_id().to_string(),
            "enc": hex::encode(stanza.enc),
            "wrapped": hex::encode(&stanza.wrapped),
        },
        "signature": {
            "secret": hex::encode([0x33; 32]),
            "context": "obscura/v1/test",
            "message": hex::encode(b"message"),
            "signature": hex::encode(sig.0),
        },
        "certificate": serde_json::to_value(&cert).unwrap(),
        "certificates": {
            "gateway": serde_json::to_value(&cert).unwrap(),
            "escrow": serde_json::to_value(&escrow_cert).unwrap(),
            "reader": serde_json::to_value(&reader_cert).unwrap(),
            "reader_signed_bytes": hex::encode(reader_cert.signed_bytes()),
        },
        "enrolment_request": serde_json::to_value(&request).unwrap(),
        "enrolment_request_signed_bytes": hex::encode(request.signed_bytes()),
        "enrolment_request_fingerprint": request.fingerprint(),
        "share_link": {
            "study_uid": "2.25.42",
            "study_key": hex::encode(study_key.as_bytes()),
            "fragment": share_link.to_fragment(),
            "stanza": serde_json::to_value(&share_stanza).unwrap(),
            "aad": hex::encode(share_stanza.aad()),
            "now": 1_800_000_000,
        },
        "gated_share_link": {
            "description": "a passcode link gated by a gate service (docs/FORMAT.md 6.1): pc is Argon2id of the passcode, the verifier is what the gate compares, the gate secret what it releases",
            "study_uid": "2.25.42",
            "study_key": hex::encode(study_key.as_bytes()),
            "fragment": gated_link.to_fragment(),
            "passcode": "4711",
            "stanza": serde_json::to_value(&gated_stanza).unwrap(),
            "aad": hex::encode(gated_stanza.aad()),
            "pc": hex::encode(gated_pc.as_bytes()),
            "verifier": hex::encode(gated_link.gate_verifier(&gated_pc)),
            "gate_secret": gate_secret,
            "gate_record": serde_json::from_str::<serde_json::Value>(&gate_record.to_json()).unwrap(),
            "now": 1_800_000_000,
        },
        "manifest": {
            "anchor": hex::encode(org.public_key().to_sec1()),
            "now": 1_800_000_000,
            "sealed_object": { "object_id": object_id.to_string(), "sealed": hex::encode(&sealed_obj), "plaintext": hex::encode(b"pixels") },
            "bytes": hex::encode(&manifest),
        },
        "rotated_manifest": {
            "description": "version 2 of the manifest above: key epoch 1 (rotated through the escrow key) and a share link with passcode \"4711\" (Argon2id m=64 KiB, t=1, p=1)",
            "now": 1_800_000_100,
            "study_key_epoch_1": hex::encode(rotated_key.as_bytes()),
            "share_fragment": v2.links[0].to_fragment(),
            "passcode": "4711",
            "bytes": hex::encode(&v2.manifest),
        },
    })
}

#[test]
fn own_format_vectors() {
    let built = build_vectors();
    let path = vectors_path();
    if std::env::var_os("OBSCURA_REGEN_VECTORS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&built).unwrap() + "\n").unwrap();
    }
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("vectors file; run with OBSCURA_REGEN_VECTORS=1"))
            .unwrap();
    assert_eq!(stored, built, "format output changed: if intended, bump the format or regenerate deliberately");

    // Independently of generation, the stored vectors open.
    let study_key = StudyKey::from_bytes(secret32(&stored["object_key"]["study_key"]));
    let object_id = ObjectId::from_hex(stored["object_key"]["object_id"].as_str().unwrap()).unwrap();
    for o in stored["objects"].as_array().unwrap() {
        let pt = block(open_object(&study_key, &object_id, &h(&o["sealed"]))).unwrap();
        assert_eq!(pt.to_vec(), h(&o["plaintext"]));
    }
    // One frame's chunks, opened alone from the sealed byte range.
    let ff = &stored["frame_fetch"];
    let sealed = h(&stored["objects"][ff["object"].as_u64().unwrap() as usize]["sealed"]);
    let opener = block(ObjectOpener::new(&study_key, &object_id, &sealed[..HEADER_LEN])).unwrap();
    let (c0, c1) = (ff["chunks"][0].as_u64().unwrap(), ff["chunks"][1].as_u64().unwrap());
    let base = ff["sealed_range"][0].as_u64().unwrap();
    assert_eq!(opener.layout().sealed_range_for_chunks(c0..c1).end, ff["sealed_range"][1].as_u64().unwrap());
    let mut plain = Vec::new();
    for i in c0..c1 {
        let r = opener.layout().chunk_range(i);
        assert!(r.start >= base);
        plain.extend_from_slice(&block(opener.open_chunk(i, &sealed[r.start as usize..r.end as usize])).unwrap());
    }
    let first = opener.layout().chunk_plaintext_range(c0).start as usize;
    let all: Vec<u8> = (0..150).map(|i| i as u8).collect();
    assert_eq!(&plain[70 - first..140 - first], &all[70..140]);

    let recipient = DhSecretKey::from_bytes(&secret32(&stored["stanza"]["recipient_secret"])).unwrap();
    let st = &stored["stanza"];
    let stanza = Stanza {
        recipient: PublicKey::from_sec1(&h(&st["recipient"])).unwrap(),
        enc: h(&st["enc"]).try_into().unwrap(),
        wrapped: h(&st["wrapped"]),
    };
    assert_eq!(block(unwrap_study_key(&recipient, "2.25.42", &[stanza])).unwrap(), study_key);
    let mf = &stored["manifest"];
    let anchor = PublicKey::from_sec1(&h(&mf["anchor"])).unwrap();
    let m = open_manifest(&h(&mf["bytes"]), &anchor, mf["now"].as_i64().unwrap(), None).unwrap();
    let key = block(m.study_key(&recipient)).unwrap();
    assert_eq!(key, study_key);
    let keys = block(m.unlock_with_key(key, &RustCryptoAead)).unwrap();
    let idx = block(m.index(&keys)).unwrap();
    assert_eq!(idx.patient_name, "DOE^JANE");
    let so = &mf["sealed_object"];
    assert_eq!(&block(m.open_object(&keys, &object_id, &h(&so["sealed"]))).unwrap()[..], b"pixels");

    // The rotated version opens for the same reader, through the share link too, and the object
    // sealed under epoch 0 still opens through the epoch-0 key it carries.
    let rm = &stored["rotated_manifest"];
    let now = rm["now"].as_i64().unwrap();
    let m2 = open_manifest(&h(&rm["bytes"]), &anchor, now, Some(1)).unwrap();
    assert_eq!(m2.body().key_epoch, 1);
    let keys2 = block(m2.unlock(&recipient, &RustCryptoAead)).unwrap();
    assert_eq!(keys2.current().as_bytes(), &secret32(&rm["study_key_epoch_1"]));
    assert_eq!(keys2.epoch(0), Some(&study_key));
    assert_eq!(&block(m2.open_object(&keys2, &object_id, &h(&so["sealed"]))).unwrap()[..], b"pixels");
    let link = ShareLink::from_fragment(rm["share_fragment"].as_str().unwrap()).unwrap();
    let via_link = block(m2.unlock_share(&link, rm["passcode"].as_str(), now, &RustCryptoAead)).unwrap();
    assert_eq!(block(m2.index(&via_link)).unwrap().patient_name, "DOE^JANE");

    // The lone share stanza.
    let sl = &stored["share_link"];
    let share: ShareStanza = serde_json::from_value(sl["stanza"].clone()).unwrap();
    assert_eq!(hex::encode(share.aad()), sl["aad"].as_str().unwrap());
    let link = ShareLink::from_fragment(sl["fragment"].as_str().unwrap()).unwrap();
    let k = obscura_seal::share::open_share("2.25.42", &[share], &link, None, sl["now"].as_i64().unwrap()).unwrap();
    assert_eq!(k, study_key);

    // The gated link: the verifier, the gate record, and the unwrap with the released secret.
    let gl = &stored["gated_share_link"];
    let gated: ShareStanza = serde_json::from_value(gl["stanza"].clone()).unwrap();
    assert!(gated.is_gated());
    assert_eq!(hex::encode(gated.aad()), gl["aad"].as_str().unwrap());
    let link = ShareLink::from_fragment(gl["fragment"].as_str().unwrap()).unwrap();
    let pc = gated.passcode_key(gl["passcode"].as_str().unwrap()).unwrap();
    assert_eq!(hex::encode(pc.as_bytes()), gl["pc"].as_str().unwrap());
    let verifier = link.gate_verifier(&pc);
    assert_eq!(hex::encode(verifier), gl["verifier"].as_str().unwrap());
    let now = gl["now"].as_i64().unwrap();
    let mut record = obscura_seal::gate::GateRecord::from_json(&gl["gate_record"].to_string()).unwrap();
    let obscura_seal::gate::GateAnswer::Open(secret) = record.attempt(&verifier, now) else { panic!("gate refused") };
    assert_eq!(hex::encode(secret.0), gl["gate_secret"].as_str().unwrap());
    let found = obscura_seal::share::find_share("2.25.42", std::slice::from_ref(&gated), &link, now).unwrap();
    let k = obscura_seal::share::unwrap_share("2.25.42", found, &link, Some(&pc), Some(&secret)).unwrap();
    assert_eq!(k, study_key);

    // Certificates and the enrolment request parse and verify.
    for (name, role) in [("gateway", Role::Gateway), ("escrow", Role::Escrow), ("reader", Role::Reader)] {
        let c = Certificate::from_json(&stored["certificates"][name].to_string()).unwrap();
        c.verify(&anchor, role, 1_800_000_000).unwrap();
    }
    let c = Certificate::from_json(&stored["certificates"]["reader"].to_string()).unwrap();
    assert_eq!(hex::encode(c.signed_bytes()), stored["certificates"]["reader_signed_bytes"].as_str().unwrap());
    let r = EnrolmentRequest::from_json(&stored["enrolment_request"].to_string()).unwrap();
    assert_eq!(r.public_key, recipient.public_key().clone());
    assert_eq!(r.signing_key, *SigningKey::from_bytes(&[0x66; 32]).unwrap().public_key());
    assert_eq!(hex::encode(r.signed_bytes()), stored["enrolment_request_signed_bytes"].as_str().unwrap());
    assert_eq!(r.fingerprint(), stored["enrolment_request_fingerprint"].as_str().unwrap());
    let sig = &stored["signature"];
    let org = SigningKey::from_bytes(&secret32(&sig["secret"])).unwrap();
    verify(org.public_key(), b"obscura/v1/test", b"message", &Signature(h(&sig["signature"]).try_into().unwrap()))
        .unwrap();
}

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
            objects: vec![ObjectEntry::for_sealed(object_id, "2.25.43", "2.25.44", &sealed_obj)],
        },
        &gateway,
        &cert,
        &study_key,
        &mut rng,
    )
    .unwrap();

    json!({
        "description": "Obscura seal format v1 known-answer vectors; see docs/FORMAT.md. Byte strings are lowercase hex, except inside the certificate, which is in its JSON form (base64).",
        "keys": {
            "secrets": { "recipient": hex::encode([0x11; 32]), "ephemeral": hex::encode([0x22; 32]), "organisation": hex::encode([0x33; 32]), "gateway": hex::encode([0x44; 32]), "escrow": hex::encode([0x55; 32]) },
            "public": keys,
        },
        "object_key": {
            "study_key": hex::encode(study_key.as_bytes()),
            "object_id": object_id.to_string(),
            "object_key": hex::encode(*study_key.object_key(&object_id)),
        },
        "objects": objects,
        "stanza": {
            "recipient_secret": hex::encode([0x11; 32]),
            "ephemeral_secret": hex::encode([0x22; 32]),
            "study_uid": "2.25.42",
            "study_key": hex::encode(study_key.as_bytes()),
            "key_id": stanza.key_id.to_string(),
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
        "manifest": {
            "anchor": hex::encode(org.public_key().to_sec1()),
            "now": 1_800_000_000,
            "sealed_object": { "object_id": object_id.to_string(), "sealed": hex::encode(&sealed_obj), "plaintext": hex::encode(b"pixels") },
            "bytes": hex::encode(&manifest),
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
        let pt = block(open_object(&RustCryptoAead, &study_key, &object_id, &h(&o["sealed"]))).unwrap();
        assert_eq!(pt.to_vec(), h(&o["plaintext"]));
    }
    let recipient = DhSecretKey::from_bytes(&secret32(&stored["stanza"]["recipient_secret"])).unwrap();
    let st = &stored["stanza"];
    let stanza = Stanza {
        key_id: KeyId::from_hex(st["key_id"].as_str().unwrap()).unwrap(),
        enc: h(&st["enc"]).try_into().unwrap(),
        wrapped: h(&st["wrapped"]),
    };
    assert_eq!(block(unwrap_study_key(&recipient, "2.25.42", &[stanza])).unwrap(), study_key);
    let mf = &stored["manifest"];
    let anchor = PublicKey::from_sec1(&h(&mf["anchor"])).unwrap();
    let m = open_manifest(&h(&mf["bytes"]), &anchor, mf["now"].as_i64().unwrap(), None).unwrap();
    let key = block(m.study_key(&recipient)).unwrap();
    assert_eq!(key, study_key);
    let idx = block(m.index(&RustCryptoAead, &key)).unwrap();
    assert_eq!(idx.patient_name, "DOE^JANE");
    let so = &mf["sealed_object"];
    m.verify_object_digest(&object_id, &h(&so["sealed"])).unwrap();
    let sig = &stored["signature"];
    let org = SigningKey::from_bytes(&secret32(&sig["secret"])).unwrap();
    verify(org.public_key(), b"obscura/v1/test", b"message", &Signature(h(&sig["signature"]).try_into().unwrap()))
        .unwrap();
}

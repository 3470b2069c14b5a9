//! The key-lifecycle commands as an administrator runs them, checked by opening the store's
//! manifests natively as a reader (the same code the viewer runs over WebCrypto).

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use obscura_dicomweb::carrier::CarrierKind;
use obscura_dicomweb::{layout, qido};
use obscura_seal::gate::{GateAnswer, GateRecord};
use obscura_seal::share::{find_share, unwrap_share};
use obscura_seal::{
    open_manifest, DhSecretKey, EnrolmentRequest, PublicKey, RustCryptoAead, SealError, ShareLink, SigningKey,
};
use rand_core::OsRng;
use std::path::Path;
use std::process::Command;

fn obscura(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_obscura")).args(args).current_dir(dir).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "obscura {args:?} failed: {}{}", stdout, String::from_utf8_lossy(&out.stderr));
    stdout
}

fn obscura_fails(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_obscura")).args(args).current_dir(dir).output().unwrap();
    assert!(!out.status.success(), "obscura {args:?} should have failed");
    String::from_utf8(out.stderr).unwrap()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The study UID and the current manifest bytes. Each manifest version is its own carrier (a new
/// SOP Instance UID, Instance Number = version) and the static tree keeps only the current one.
fn manifest(store: &Path) -> (String, Vec<u8>) {
    let uids = qido::parse_study_uids(&std::fs::read(store.join(layout::studies_index_path())).unwrap()).unwrap();
    let uid = uids[0].clone();
    let carriers =
        qido::parse_instances(&std::fs::read(store.join(layout::study_instances_index_path(&uid))).unwrap()).unwrap();
    let manifests: Vec<_> = carriers.iter().filter(|c| c.kind == CarrierKind::Manifest).collect();
    assert_eq!(manifests.len(), 1, "one manifest carrier in the static tree");
    let m = manifests[0];
    let bytes =
        std::fs::read(store.join(layout::sealed_path(&m.study_uid, &m.series_uid, &m.sop_instance_uid))).unwrap();
    let version = open_manifest(&bytes, &org_pub(&store.join("../keys")), now(), None).unwrap().version();
    assert_eq!(m.instance_number as u64, version, "Instance Number = manifest version");
    let (parsed, _) =
        obscura_dicomweb::carrier::Carrier::from_part10(&std::fs::read(store.join(layout::carrier_path(m))).unwrap())
            .unwrap();
    assert_eq!(&parsed, m, "the carrier file agrees with the index");
    let study_dir = store.join(layout::study_dir(&uid)).join("series").join(&m.series_uid).join("instances");
    assert_eq!(std::fs::read_dir(study_dir).unwrap().count(), 1, "the previous manifest carrier is removed");
    MANIFEST_SOPS.with(|s| s.borrow_mut().insert(m.sop_instance_uid.clone()));
    (uid, bytes)
}

thread_local! {
    /// Every manifest SOP Instance UID seen: each version must have a new one.
    static MANIFEST_SOPS: std::cell::RefCell<std::collections::BTreeSet<String>> = Default::default();
}

fn org_pub(keys: &Path) -> PublicKey {
    let text = std::fs::read_to_string(keys.join("org.pub")).unwrap();
    PublicKey::from_sec1(&B64.decode(text.lines().next().unwrap()).unwrap()).unwrap()
}

#[test]
fn admin_walk_through() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    obscura(d, &["org", "init", "--name", "St. Example", "--keys", "keys"]);
    obscura(d, &["gateway", "init", "--name", "Radiology gateway", "--keys", "keys"]);
    obscura(d, &["synthetic-ct", "--out", "ct", "--slices", "2", "--patient-name", "LIFECYCLE^TEST"]);
    obscura(d, &["seal", "--keys", "keys", "--store", "store", "ct"]);
    let org = org_pub(&d.join("keys"));
    let (uid, v1) = manifest(&d.join("store"));
    let m1 = open_manifest(&v1, &org, now(), None).unwrap();
    let reader = DhSecretKey::generate(&mut OsRng);
    assert!(!m1.has_recipient(&reader.public_key().key_id()));

    // The reader's browser produced an enrolment request; the admin certifies it after comparing
    // fingerprints (a wrong one is refused).
    let signer = SigningKey::generate(&mut OsRng);
    let request =
        pollster::block_on(EnrolmentRequest::new(reader.public_key().clone(), &signer, "Dr. A. Example", now()))
            .unwrap();
    std::fs::write(d.join("request.json"), request.to_json()).unwrap();
    let err = obscura_fails(d, &["reader", "certify", "--keys", "keys", "request.json", "--fingerprint", "12345"]);
    assert!(err.contains("do not certify it"), "{err}");
    // An altered request (another subject) is refused: its signature no longer verifies.
    std::fs::write(d.join("altered.json"), request.to_json().replace("Dr. A. Example", "Dr. Mallory")).unwrap();
    let err = obscura_fails(d, &["reader", "certify", "--keys", "keys", "altered.json"]);
    assert!(err.contains("not signed by its own signing key"), "{err}");
    let fp = reader.public_key().fingerprint();
    let out = obscura(
        d,
        &["reader", "certify", "--keys", "keys", "request.json", "--fingerprint", &fp, "--out", "dr.cert.json"],
    );
    // The certificate shows the fingerprint the request showed.
    assert!(out.contains(&format!("fingerprint: {fp}")), "{out}");
    let cert = obscura_seal::Certificate::from_json(&std::fs::read_to_string(d.join("dr.cert.json")).unwrap()).unwrap();
    assert_eq!(cert.public_key.fingerprint(), request.fingerprint());

    // Re-wrap: the reader now opens the study; no object changed.
    let objects_before: Vec<_> = m1.body().objects.clone();
    let out = obscura(d, &["rewrap", "--keys", "keys", "--store", "store", "--reader", "dr.cert.json", "--all"]);
    assert!(out.contains("manifest version 1 -> 2"), "{out}");
    let (_, v2) = manifest(&d.join("store"));
    let m2 = open_manifest(&v2, &org, now(), Some(1)).unwrap();
    assert_eq!(m2.body().objects, objects_before);
    let keys = pollster::block_on(m2.unlock(&reader, &RustCryptoAead)).unwrap();
    assert_eq!(pollster::block_on(m2.index(&keys)).unwrap().patient_name, "LIFECYCLE^TEST");
    let inspect = obscura(d, &["inspect", "--keys", "keys", "--store", "store"]);
    assert!(inspect.contains("(reader \"Dr. A. Example\")") && inspect.contains("(escrow)"), "{inspect}");
    assert!(!inspect.contains("LIFECYCLE"), "inspect must not show PHI");

    // A share link with a passcode (read from a file, never the command line).
    std::fs::write(d.join("code.txt"), "river stone 42\n").unwrap();
    let out = obscura(
        d,
        &[
            "share",
            "--keys",
            "keys",
            "--store",
            "store",
            "--study",
            &uid,
            "--expires",
            "1d",
            "--passcode-file",
            "code.txt",
            "--viewer-url",
            "https://viewer.example.org/",
        ],
    );
    let url = out.lines().find(|l| l.starts_with("https://viewer.example.org/#share=1~")).expect("a link");
    let link = ShareLink::from_fragment(url.split_once('#').unwrap().1).unwrap();
    let (_, v3) = manifest(&d.join("store"));
    let m3 = open_manifest(&v3, &org, now(), Some(2)).unwrap();
    assert!(!String::from_utf8_lossy(&v3).contains(url.split('~').nth(2).unwrap()), "the link secret is not stored");
    // The link is gated: the manifest and the link alone do not test passcodes (no offline
    // guessing); the gate record (in keys/gates, not in the store) releases the gate secret.
    assert_eq!(
        pollster::block_on(m3.unlock_share(&link, Some("river stone 42"), now(), &RustCryptoAead)).err(),
        Some(SealError::ShareGateRequired)
    );
    let record_path = d.join("keys/gates").join(format!("{}.json", link.link_id));
    let mut record = GateRecord::from_json(&std::fs::read_to_string(&record_path).unwrap()).unwrap();
    assert_eq!(record.attempts_left, 5);
    let inspect = obscura(d, &["inspect", "--keys", "keys", "--store", "store"]);
    assert!(inspect.contains(&format!("link {}: expires", link.link_id)), "{inspect}");
    assert!(inspect.contains("passcode, 5 wrong attempts left"), "{inspect}");
    assert!(!walk(&d.join("store")).iter().any(|p| p.to_string_lossy().contains("gates")), "no gate in the store");
    let stanza = find_share(&uid, &m3.body().shares, &link, now()).unwrap();
    let pc = stanza.passcode_key("river stone 42").unwrap();
    let GateAnswer::Open(secret) = record.attempt(&link.gate_verifier(&pc), now()) else { panic!("gate refused") };
    let key = unwrap_share(&uid, stanza, &link, Some(&pc), Some(&secret)).unwrap();
    let via = pollster::block_on(m3.unlock_with_key(key, &RustCryptoAead)).unwrap();
    assert_eq!(pollster::block_on(m3.index(&via)).unwrap().patient_name, "LIFECYCLE^TEST");
    let wrong = stanza.passcode_key("river stone 43").unwrap();
    assert_eq!(record.attempt(&link.gate_verifier(&wrong), now()), GateAnswer::Wrong { attempts_left: 4 });
    assert_eq!(
        pollster::block_on(m3.unlock_share(&link, None, now() + 2 * 86400, &RustCryptoAead)).err(),
        Some(SealError::ShareExpired { expires: m3.body().shares[0].expires, now: now() + 2 * 86400 })
    );

    // Revoke: the reader is gone from the next version, the key rotated, the link dropped;
    // the escrow still opens every object; replaying version 3 is a rollback.
    let out = obscura(d, &["revoke", "--keys", "keys", "--store", "store", "--reader", "dr.cert.json", "--all"]);
    assert!(out.contains("1 share links no longer open it"), "{out}");
    assert!(!record_path.exists(), "the dropped link's gate record is deleted");
    let (_, v4) = manifest(&d.join("store"));
    let m4 = open_manifest(&v4, &org, now(), Some(3)).unwrap();
    assert_eq!((m4.version(), m4.body().key_epoch), (4, 1));
    assert!(pollster::block_on(m4.unlock(&reader, &RustCryptoAead)).is_err());
    assert!(matches!(
        pollster::block_on(m4.unlock_share(&link, Some("river stone 42"), now(), &RustCryptoAead)),
        Err(SealError::NoSuchShare { .. })
    ));
    assert!(matches!(open_manifest(&v3, &org, now(), Some(4)), Err(SealError::Rollback { .. })));
    let escrow = {
        let text = std::fs::read_to_string(d.join("keys/escrow.key")).unwrap();
        let bytes: [u8; 32] = B64.decode(text.lines().nth(2).unwrap()).unwrap().try_into().unwrap();
        DhSecretKey::from_bytes(&bytes).unwrap()
    };
    let keys = pollster::block_on(m4.unlock(&escrow, &RustCryptoAead)).unwrap();
    let carriers =
        qido::parse_instances(&std::fs::read(d.join("store").join(layout::study_instances_index_path(&uid))).unwrap())
            .unwrap();
    let mut opened = 0;
    for o in &m4.body().objects {
        let c = carriers.iter().find(|c| c.sop_instance_uid == o.sop_instance_uid).unwrap();
        let sealed =
            std::fs::read(d.join("store").join(layout::sealed_path(&c.study_uid, &c.series_uid, &c.sop_instance_uid)))
                .unwrap();
        assert!(!pollster::block_on(m4.open_object(&keys, &o.object_id, &sealed)).unwrap().is_empty());
        opened += 1;
    }
    assert_eq!(opened, 2);

    // The escrow key cannot be revoked; revoking again says the reader is not a recipient.
    let escrow_id = escrow.public_key().key_id().to_string();
    let err = obscura_fails(d, &["revoke", "--keys", "keys", "--store", "store", "--reader", &escrow_id, "--all"]);
    assert!(err.contains("escrow key is a recipient of every study"), "{err}");
    let err = obscura_fails(
        d,
        &["revoke", "--keys", "keys", "--store", "store", "--reader", "dr.cert.json", "--study", &uid],
    );
    assert!(err.contains("is not a recipient"), "{err}");

    // Rotate once more: epoch 2, still one version further.
    obscura(d, &["rotate", "--keys", "keys", "--store", "store", "--study", &uid]);
    let (_, v5) = manifest(&d.join("store"));
    let m5 = open_manifest(&v5, &org, now(), Some(4)).unwrap();
    assert_eq!((m5.version(), m5.body().key_epoch), (5, 2));
    // Versions 1 to 5 were each published under a SOP Instance UID of their own (so each reaches a PACS).
    assert_eq!(MANIFEST_SOPS.with(|s| s.borrow().len()), 5);

    // `share --revoke` removes the stanza and the gate record (a 30-second link: seconds are allowed).
    let out = obscura(
        d,
        &[
            "share",
            "--keys",
            "keys",
            "--store",
            "store",
            "--study",
            &uid,
            "--expires",
            "30s",
            "--passcode-file",
            "code.txt",
            "--attempts",
            "3",
            "--viewer-url",
            "https://viewer.example.org/",
        ],
    );
    let url = out.lines().find(|l| l.starts_with("https://viewer.example.org/#share=1~")).expect("a link");
    let link = ShareLink::from_fragment(url.split_once('#').unwrap().1).unwrap();
    let record_path = d.join("keys/gates").join(format!("{}.json", link.link_id));
    let record = GateRecord::from_json(&std::fs::read_to_string(&record_path).unwrap()).unwrap();
    assert_eq!(record.attempts_left, 3);
    assert!((now() + 25..=now() + 30).contains(&record.expires), "{}", record.expires);
    let id = link.link_id.to_string();
    obscura(d, &["share", "--keys", "keys", "--store", "store", "--study", &uid, "--revoke", &id]);
    assert!(!record_path.exists(), "the revoked link's gate record is deleted");
    let (_, v7) = manifest(&d.join("store"));
    assert!(open_manifest(&v7, &org, now(), Some(6)).unwrap().body().shares.is_empty());
}

//! The seed corpus of the fuzz targets (`fuzz/corpus/<target>/`), made from the known-answer vectors
//! in `docs/test-vectors/seal-v1.json` plus edge cases derived from them.
//!
//! This test checks that the committed seeds are exactly what this generator makes, and that the
//! vector seeds still open under the fixed keys of `fuzz/src/lib.rs` (so fuzzing starts deep inside
//! unwrapping, decryption and signature checks). Regenerate after a deliberate change with
//! `OBSCURA_REGEN_FUZZ_CORPUS=1 cargo test -p obscura-seal --test fuzz_corpus`.

mod common;

use std::path::{Path, PathBuf};

use common::block;
use obscura_seal::*;
use serde_json::Value;

/// The fixed inputs of the fuzz targets (`fuzz/src/lib.rs`): the vectors' secrets.
const RECIPIENT_SECRET: [u8; 32] = [0x11; 32];
const ORGANISATION_SECRET: [u8; 32] = [0x33; 32];
const STUDY_KEY: [u8; 32] = [0x66; 32];
const STUDY_UID: &str = "2.25.42";
const NOW: i64 = 1_800_000_000;
const LAST_SEEN_VERSION: u64 = 1;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

fn with_header(sealed: &[u8], edit: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let mut s = sealed.to_vec();
    edit(&mut s[..HEADER_LEN]);
    s
}

fn json_edit(v: &Value, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Vec<u8> {
    let mut v = v.clone();
    edit(v.as_object_mut().expect("a JSON object"));
    serde_json::to_vec(&v).unwrap()
}

/// Every seed: (target, file name, bytes).
fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let vectors: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/test-vectors/seal-v1.json")).expect("the vectors file"),
    )
    .unwrap();
    let mut out = Vec::new();

    // stanza: the vector stanza in its JSON form, and variants that stop at each check.
    let st = &vectors["stanza"];
    let stanza = Stanza {
        recipient: PublicKey::from_sec1(&h(&st["recipient"])).unwrap(),
        enc: h(&st["enc"]).try_into().unwrap(),
        wrapped: h(&st["wrapped"]),
    };
    let sj = serde_json::to_value(&stanza).unwrap();
    let b64 = |b: &[u8]| Value::String(base64_encode(b));
    let org = SigningKey::from_bytes(&ORGANISATION_SECRET).unwrap();
    out.push(("stanza", "vector.json", serde_json::to_vec(&sj).unwrap()));
    out.push(("stanza", "vector-pretty.json", serde_json::to_vec_pretty(&sj).unwrap()));
    out.push((
        "stanza",
        "other-recipient.json",
        json_edit(&sj, |m| {
            m.insert("recipient".into(), b64(&org.public_key().to_sec1()));
        }),
    ));
    out.push((
        "stanza",
        "enc-not-on-curve.json",
        json_edit(&sj, |m| {
            let mut enc = [0u8; 65];
            enc[0] = 4;
            m.insert("enc".into(), b64(&enc));
        }),
    ));
    out.push((
        "stanza",
        "wrapped-bit-flipped.json",
        json_edit(&sj, |m| {
            let mut w = stanza.wrapped.clone();
            w[0] ^= 1;
            m.insert("wrapped".into(), b64(&w));
        }),
    ));
    out.push((
        "stanza",
        "wrapped-short.json",
        json_edit(&sj, |m| {
            m.insert("wrapped".into(), b64(&stanza.wrapped[..16]));
        }),
    ));
    out.push((
        "stanza",
        "unknown-field.json",
        json_edit(&sj, |m| {
            m.insert("extra".into(), Value::from(1));
        }),
    ));

    // object_header: the vector objects (chunk size 64; 0, 1, 64 and 150 plaintext bytes), and
    // variants that fail each header check, the length checks and the tag.
    for (o, name) in vectors["objects"].as_array().unwrap().iter().zip(["empty", "1-byte", "1-chunk", "3-chunks"]) {
        out.push(("object_header", leak(format!("vector-{name}.bin")), h(&o["sealed"])));
    }
    let three = h(&vectors["objects"][3]["sealed"]);
    let chunk = 64 + TAG_LEN;
    out.push(("object_header", "header-only.bin", three[..HEADER_LEN].to_vec()));
    out.push(("object_header", "truncated-1-byte.bin", three[..three.len() - 1].to_vec()));
    out.push(("object_header", "extended-1-byte.bin", [&three[..], &[0]].concat()));
    let mut flipped = three.clone();
    flipped[HEADER_LEN + chunk + 3] ^= 0x10;
    out.push(("object_header", "chunk-1-bit-flipped.bin", flipped));
    let mut swapped = three.clone();
    swapped[HEADER_LEN..HEADER_LEN + 2 * chunk].rotate_left(chunk);
    out.push(("object_header", "chunks-0-1-swapped.bin", swapped));
    out.push(("object_header", "bad-magic.bin", with_header(&three, |hd| hd[7] = b'2')));
    out.push(("object_header", "version-2.bin", with_header(&three, |hd| hd[8] = 2)));
    out.push(("object_header", "reserved-nonzero.bin", with_header(&three, |hd| hd[11] = 1)));
    out.push(("object_header", "chunk-size-0.bin", with_header(&three, |hd| hd[12..16].fill(0))));
    out.push((
        "object_header",
        "chunk-size-over-max.bin",
        with_header(&three, |hd| hd[12..16].copy_from_slice(&(MAX_CHUNK_SIZE + 1).to_be_bytes())),
    ));
    out.push((
        "object_header",
        "plaintext-len-overflows.bin",
        with_header(&three, |hd| hd[32..40].copy_from_slice(&u64::MAX.to_be_bytes())),
    ));
    out.push((
        "object_header",
        "2-pow-59-chunks.bin",
        with_header(&three, |hd| {
            hd[12..16].copy_from_slice(&1u32.to_be_bytes());
            hd[32..40].copy_from_slice(&(1u64 << 59).to_be_bytes());
        }),
    ));

    // manifest: the vector manifest and its rotated version 2 (key epoch 1), and variants that fail the envelope, the body and the signature.
    let mf = h(&vectors["manifest"]["bytes"]);
    out.push(("manifest", "vector.bin", mf.clone()));
    out.push(("manifest", "vector-rotated.bin", h(&vectors["rotated_manifest"]["bytes"])));
    let mut v2 = mf.clone();
    v2[7] = b'2';
    out.push(("manifest", "envelope-version-2.bin", v2));
    let mut len = mf.clone();
    len[11] = len[11].wrapping_add(1);
    out.push(("manifest", "body-len-mismatch.bin", len));
    out.push(("manifest", "truncated-1-byte.bin", mf[..mf.len() - 1].to_vec()));
    let mut sig = mf.clone();
    *sig.last_mut().unwrap() ^= 1;
    out.push(("manifest", "signature-bit-flipped.bin", sig));
    let format_at = find(&mf, b"\"format\":1").expect("the vector body starts with its format") + 9;
    let mut f2 = mf.clone();
    f2[format_at] = b'2';
    out.push(("manifest", "format-2.bin", f2));
    let mut empty = b"OBSCMAN1\0\0\0\0".to_vec();
    empty.extend_from_slice(&[0; 64]);
    out.push(("manifest", "empty-body.bin", empty));

    // certificate: the vector certificates (gateway as the CLI writes it and compact, reader,
    // escrow), and variants.
    let cj = &vectors["certificate"];
    let cert: Certificate = serde_json::from_value(cj.clone()).unwrap();
    out.push(("certificate", "vector.json", cert.to_json().into_bytes()));
    out.push(("certificate", "vector-compact.json", serde_json::to_vec(cj).unwrap()));
    for role in ["reader", "escrow"] {
        let c: Certificate = serde_json::from_value(vectors["certificates"][role].clone()).unwrap();
        out.push(("certificate", leak(format!("vector-{role}.json")), c.to_json().into_bytes()));
    }
    out.push((
        "certificate",
        "format-2.json",
        json_edit(cj, |m| {
            m.insert("format".into(), Value::from(2));
        }),
    ));
    out.push((
        "certificate",
        "role-reader.json",
        json_edit(cj, |m| {
            m.insert("role".into(), Value::from("reader"));
        }),
    ));
    out.push((
        "certificate",
        "expired.json",
        json_edit(cj, |m| {
            m.insert("not_after".into(), Value::from(NOW - 1));
        }),
    ));
    out.push((
        "certificate",
        "other-issuer.json",
        json_edit(cj, |m| {
            m.insert("issuer".into(), Value::from("00".repeat(16)));
        }),
    ));
    out.push((
        "certificate",
        "compressed-public-key.json",
        json_edit(cj, |m| {
            let mut k = cert.public_key.to_sec1()[..33].to_vec();
            k[0] = 2;
            m.insert("public_key".into(), b64(&k));
        }),
    ));
    out.push((
        "certificate",
        "unknown-field.json",
        json_edit(cj, |m| {
            m.insert("extra".into(), Value::from(1));
        }),
    ));
    // share_link: a fragment, a newline, then a JSON array of share stanzas: the lone vector link,
    // the passcode link of the rotated manifest (with its stanza), and variants.
    let sl = &vectors["share_link"];
    let lone = format!("{}\n{}", sl["fragment"].as_str().unwrap(), Value::Array(vec![sl["stanza"].clone()]));
    out.push(("share_link", "vector.txt", lone.clone().into_bytes()));
    let rm = &vectors["rotated_manifest"];
    let rotated_bytes = h(&rm["bytes"]);
    let rotated_body: Value = serde_json::from_slice(&rotated_bytes[12..rotated_bytes.len() - 64]).unwrap();
    let coded = format!("{}\n{}", rm["share_fragment"].as_str().unwrap(), rotated_body["shares"]);
    out.push(("share_link", "vector-passcode.txt", coded.into_bytes()));
    out.push(("share_link", "version-2.txt", lone.replacen("share=1~", "share=2~", 1).into_bytes()));
    let expired = json_edit(&sl["stanza"], |m| {
        m.insert("expires".into(), Value::from(NOW - 1));
    });
    let expired = format!("{}\n[{}]", sl["fragment"].as_str().unwrap(), String::from_utf8(expired).unwrap());
    out.push(("share_link", "expired.txt", expired.into_bytes()));
    out.push(("share_link", "no-stanzas.txt", format!("{}\n[]", sl["fragment"].as_str().unwrap()).into_bytes()));
    out.push(("share_link", "fragment-only.txt", sl["fragment"].as_str().unwrap().as_bytes().to_vec()));

    // share_link: the gated vector link (it stops at the gate: no offline test of the passcode).
    let gl = &vectors["gated_share_link"];
    let gated = format!("{}\n{}", gl["fragment"].as_str().unwrap(), Value::Array(vec![gl["stanza"].clone()]));
    out.push(("share_link", "vector-gated.txt", gated.into_bytes()));

    // gate_record: the vector record and variants.
    let gr = &gl["gate_record"];
    out.push(("gate_record", "vector.json", serde_json::to_vec_pretty(gr).unwrap()));
    out.push((
        "gate_record",
        "locked.json",
        json_edit(gr, |m| {
            m.insert("gate_secret".into(), Value::Null);
            m.insert("attempts_left".into(), Value::from(0));
        }),
    ));
    out.push((
        "gate_record",
        "last-attempt.json",
        json_edit(gr, |m| {
            m.insert("attempts_left".into(), Value::from(1));
        }),
    ));
    out.push((
        "gate_record",
        "format-2.json",
        json_edit(gr, |m| {
            m.insert("format".into(), Value::from(2));
        }),
    ));
    out.push((
        "gate_record",
        "unknown-field.json",
        json_edit(gr, |m| {
            m.insert("extra".into(), Value::from(1));
        }),
    ));

    // enrolment_request: the vector request and variants.
    let er = &vectors["enrolment_request"];
    out.push(("enrolment_request", "vector.json", serde_json::to_vec_pretty(er).unwrap()));
    out.push((
        "enrolment_request",
        "format-1.json",
        json_edit(er, |m| {
            m.insert("format".into(), Value::from(1));
        }),
    ));
    out.push((
        "enrolment_request",
        "other-subject.json",
        json_edit(er, |m| {
            m.insert("subject".into(), Value::from("Dr. Mallory"));
        }),
    ));
    out.push((
        "enrolment_request",
        "control-characters.json",
        json_edit(er, |m| {
            m.insert("subject".into(), Value::from("a\u{1b}[2Jb"));
        }),
    ));
    out.push((
        "enrolment_request",
        "unknown-field.json",
        json_edit(er, |m| {
            m.insert("extra".into(), Value::from(1));
        }),
    ));
    out
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    // The stanza and certificate JSON forms are standard base64 with padding (FORMAT.md §1.1).
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The one call into the AEAD backend (natively the study key is its own handle).
fn open(key: &StudyKey, id: &ObjectId, sealed: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, SealError> {
    block(open_object(key, id, sealed))
}

fn seed<'a>(all: &'a [(&str, &str, Vec<u8>)], target: &str, name: &str) -> &'a [u8] {
    &all.iter().find(|(t, n, _)| *t == target && *n == name).expect("seed").2
}

#[test]
fn fuzz_seed_corpus_is_current() {
    let all = seeds();
    let dir = root().join("fuzz/corpus");
    if std::env::var_os("OBSCURA_REGEN_FUZZ_CORPUS").is_some() {
        for (target, name, bytes) in &all {
            std::fs::create_dir_all(dir.join(target)).unwrap();
            std::fs::write(dir.join(target).join(name), bytes).unwrap();
        }
    }
    for (target, name, bytes) in &all {
        let path = dir.join(target).join(name);
        let stored = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run with OBSCURA_REGEN_FUZZ_CORPUS=1", path.display()));
        assert!(
            stored == *bytes,
            "{} differs from the generator; run with OBSCURA_REGEN_FUZZ_CORPUS=1",
            path.display()
        );
    }
}

/// The vector seeds open under the fuzz targets' fixed keys, so fuzzing starts past the parsers.
#[test]
fn fuzz_seeds_reach_the_crypto() {
    let all = seeds();
    let recipient = DhSecretKey::from_bytes(&RECIPIENT_SECRET).unwrap();
    let stanza: Stanza = serde_json::from_slice(seed(&all, "stanza", "vector.json")).unwrap();
    let key = block(unwrap_study_key(&recipient, STUDY_UID, &[stanza])).unwrap();
    assert_eq!(key, StudyKey::from_bytes(STUDY_KEY));

    let sealed = seed(&all, "object_header", "vector-3-chunks.bin");
    let header = ObjectHeader::parse(sealed).unwrap();
    let pt = open(&key, &header.object_id, sealed).unwrap();
    assert_eq!(pt.len(), 150);

    let anchor = SigningKey::from_bytes(&ORGANISATION_SECRET).unwrap().public_key().clone();
    let m = open_manifest(seed(&all, "manifest", "vector.bin"), &anchor, NOW, Some(LAST_SEEN_VERSION)).unwrap();
    assert_eq!(block(m.study_key(&recipient)).unwrap(), key);
    let rotated = seed(&all, "manifest", "vector-rotated.bin");
    let m = open_manifest(rotated, &anchor, NOW, Some(LAST_SEEN_VERSION)).unwrap();
    let keys = block(m.unlock(&recipient, &RustCryptoAead)).unwrap();
    assert_eq!(keys.epoch(0), Some(&key));

    let cert = Certificate::from_json(std::str::from_utf8(seed(&all, "certificate", "vector.json")).unwrap()).unwrap();
    cert.verify(&anchor, Role::Gateway, NOW).unwrap();
    let reader = std::str::from_utf8(seed(&all, "certificate", "vector-reader.json")).unwrap();
    Certificate::from_json(reader).unwrap().verify(&anchor, Role::Reader, NOW).unwrap();

    let coded = std::str::from_utf8(seed(&all, "share_link", "vector-passcode.txt")).unwrap();
    let (fragment, stanzas) = coded.split_once('\n').unwrap();
    let link = ShareLink::from_fragment(fragment).unwrap();
    let stanzas: Vec<ShareStanza> = serde_json::from_str(stanzas).unwrap();
    share::open_share(STUDY_UID, &stanzas, &link, Some("4711"), NOW).unwrap();
    EnrolmentRequest::from_json(std::str::from_utf8(seed(&all, "enrolment_request", "vector.json")).unwrap()).unwrap();
    let gated = std::str::from_utf8(seed(&all, "share_link", "vector-gated.txt")).unwrap();
    let (fragment, stanzas) = gated.split_once('\n').unwrap();
    let link = ShareLink::from_fragment(fragment).unwrap();
    let stanzas: Vec<ShareStanza> = serde_json::from_str(stanzas).unwrap();
    assert_eq!(share::open_share(STUDY_UID, &stanzas, &link, Some("4711"), NOW), Err(SealError::ShareGateRequired));
    gate::GateRecord::from_json(std::str::from_utf8(seed(&all, "gate_record", "vector.json")).unwrap()).unwrap();
}

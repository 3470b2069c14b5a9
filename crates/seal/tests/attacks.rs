//! Round trips and one test per attack class.

mod common;

use common::{block, TestRng};
use obscura_seal::*;

const CS: u32 = 64;

fn open(key: &StudyKey, id: &ObjectId, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    block(open_object(key, id, sealed)).map(|z| z.to_vec())
}

fn fixture(len: usize) -> (StudyKey, ObjectId, Vec<u8>, Vec<u8>) {
    let mut rng = TestRng::new("fixture");
    let key = StudyKey::generate(&mut rng);
    let id = ObjectId::generate(&mut rng);
    let pt: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
    let sealed = seal_object(&key, &id, &pt, CS).unwrap();
    (key, id, pt, sealed)
}

fn layout_of(sealed: &[u8]) -> ObjectLayout {
    ObjectHeader::parse(sealed).unwrap().layout().unwrap()
}

fn chunk(sealed: &[u8], i: u64) -> Vec<u8> {
    let r = layout_of(sealed).chunk_range(i);
    sealed[r.start as usize..r.end as usize].to_vec()
}

// ---------- round trips ----------

#[test]
fn round_trip_sizes() {
    for len in [0usize, 1, 63, 64, 65, 128, 200, 64 * 5] {
        let (key, id, pt, sealed) = fixture(len);
        let l = layout_of(&sealed);
        assert_eq!(sealed.len() as u64, l.sealed_len(), "len {len}");
        assert_eq!(l.chunk_count(), if len == 0 { 1 } else { len.div_ceil(64) as u64 });
        assert_eq!(open(&key, &id, &sealed).unwrap(), pt, "len {len}");
    }
}

#[test]
fn round_trip_many_sizes_and_chunk_sizes() {
    // A cheap exhaustive stand-in for a property test.
    let mut rng = TestRng::new("prop");
    let key = StudyKey::generate(&mut rng);
    for cs in [1u32, 7, 16, 64] {
        for len in 0..300usize {
            let id = ObjectId::generate(&mut rng);
            let pt: Vec<u8> = (0..len).map(|i| (i ^ (len * 31)) as u8).collect();
            let sealed = seal_object(&key, &id, &pt, cs).unwrap();
            assert_eq!(open(&key, &id, &sealed).unwrap(), pt, "cs {cs} len {len}");
        }
    }
}

#[test]
fn round_trip_default_chunk_size() {
    let mut rng = TestRng::new("big");
    let key = StudyKey::generate(&mut rng);
    let id = ObjectId::generate(&mut rng);
    let pt: Vec<u8> = (0..(2 * DEFAULT_CHUNK_SIZE as usize + 3)).map(|i| i as u8).collect();
    let sealed = seal_object(&key, &id, &pt, DEFAULT_CHUNK_SIZE).unwrap();
    assert_eq!(layout_of(&sealed).chunk_count(), 3);
    assert_eq!(open(&key, &id, &sealed).unwrap(), pt);
}

#[test]
fn seal_is_deterministic() {
    let (key, id, pt, sealed) = fixture(150);
    assert_eq!(seal_object(&key, &id, &pt, CS).unwrap(), sealed);
}

#[test]
fn layout_ranges_and_streaming_opener() {
    let (key, id, pt, sealed) = fixture(200);
    let l = layout_of(&sealed);
    assert_eq!(l.chunk_count(), 4);
    assert_eq!(l.chunk_range(0), 40..40 + 80);
    assert_eq!(l.chunk_range(1), 120..200);
    assert_eq!(l.chunk_range(3), 40 + 3 * 80..40 + 3 * 80 + 8 + 16);
    assert_eq!(l.chunk_range(3).end, sealed.len() as u64);
    assert_eq!(l.chunks_for_plaintext(0..1), 0..1);
    assert_eq!(l.chunks_for_plaintext(63..65), 0..2);
    assert_eq!(l.chunks_for_plaintext(128..1000), 2..4);
    assert_eq!(l.chunks_for_plaintext(5..5), 0..0);
    assert_eq!(l.sealed_range_for_chunks(1..3), 120..280);
    assert_eq!(l.sealed_range_for_chunks(0..4), 40..sealed.len() as u64);
    // Random access: open only chunk 2 from the header and its byte range.
    let opener = block(ObjectOpener::new(&key, &id, &sealed[..40])).unwrap();
    let c2 = block(opener.open_chunk(2, &chunk(&sealed, 2))).unwrap();
    assert_eq!(&c2[..], &pt[128..192]);
    // A short or long range fetch is refused.
    let mut short = chunk(&sealed, 2);
    short.pop();
    assert_eq!(block(opener.open_chunk(2, &short)).unwrap_err(), SealError::Truncated);
    let mut long = chunk(&sealed, 2);
    long.push(0);
    assert_eq!(block(opener.open_chunk(2, &long)).unwrap_err(), SealError::Extended);
    // Chunk 1's bytes presented as chunk 2.
    assert!(matches!(block(opener.open_chunk(2, &chunk(&sealed, 1))), Err(SealError::Tampered { .. })));
}

// ---------- object attacks ----------

#[test]
fn flipped_byte_in_header() {
    let (key, id, _, sealed) = fixture(200);
    for pos in 0..HEADER_LEN {
        let mut s = sealed.clone();
        s[pos] ^= 0x01;
        assert!(open(&key, &id, &s).is_err(), "flip at header byte {pos} accepted");
    }
    // Length and chunk-size fields are authenticated by every chunk.
    for pos in [15usize, 39] {
        let mut s = sealed.clone();
        s[pos] ^= 0x01;
        assert!(matches!(open(&key, &id, &s), Err(SealError::Tampered { .. })), "pos {pos}");
    }
    let mut s = sealed.clone();
    s[16] ^= 1;
    assert!(matches!(open(&key, &id, &s), Err(SealError::ObjectSwapped { .. })));
}

#[test]
fn flipped_byte_in_chunk() {
    let (key, id, _, sealed) = fixture(200);
    let mut s = sealed.clone();
    s[layout_of(&sealed).chunk_range(1).start as usize + 5] ^= 0x80;
    assert_eq!(open(&key, &id, &s).unwrap_err(), SealError::Tampered { what: "object chunk" });
}

#[test]
fn flipped_byte_in_tag() {
    let (key, id, _, sealed) = fixture(200);
    let mut s = sealed.clone();
    s[layout_of(&sealed).chunk_range(1).end as usize - 1] ^= 0x01;
    assert_eq!(open(&key, &id, &s).unwrap_err(), SealError::Tampered { what: "object chunk" });
}

#[test]
fn truncation_at_chunk_boundary() {
    let (key, id, _, sealed) = fixture(200);
    let cut = layout_of(&sealed).chunk_range(2).start as usize;
    assert_eq!(open(&key, &id, &sealed[..cut]).unwrap_err(), SealError::Truncated);
    assert_eq!(open(&key, &id, &sealed[..40]).unwrap_err(), SealError::Truncated);
    assert_eq!(open(&key, &id, &sealed[..10]).unwrap_err(), SealError::Truncated);
}

#[test]
fn dropped_last_chunk() {
    let (key, id, _, sealed) = fixture(64 * 3);
    let l = layout_of(&sealed);
    let cut = l.chunk_range(l.chunk_count() - 1).start as usize;
    assert_eq!(open(&key, &id, &sealed[..cut]).unwrap_err(), SealError::Truncated);
}

#[test]
fn dropped_last_chunk_with_forged_length() {
    // Drop the last chunk and rewrite the header to claim the shorter length: the header is the
    // AAD of every chunk and the new last chunk was not sealed as last.
    let (key, id, _, sealed) = fixture(64 * 3);
    let mut s = sealed[..layout_of(&sealed).chunk_range(2).start as usize].to_vec();
    s[32..40].copy_from_slice(&128u64.to_be_bytes());
    assert_eq!(open(&key, &id, &s).unwrap_err(), SealError::Tampered { what: "object chunk" });
}

#[test]
fn chunk_reorder() {
    let (key, id, _, sealed) = fixture(200);
    let (c0, c1) = (chunk(&sealed, 0), chunk(&sealed, 1));
    let mut s = sealed[..40].to_vec();
    s.extend_from_slice(&c1);
    s.extend_from_slice(&c0);
    s.extend_from_slice(&sealed[40 + 160..]);
    assert_eq!(s.len(), sealed.len());
    assert_eq!(open(&key, &id, &s).unwrap_err(), SealError::Tampered { what: "object chunk" });
}

#[test]
fn chunk_duplicated() {
    let (key, id, _, sealed) = fixture(200);
    let c0 = chunk(&sealed, 0);
    let mut s = sealed.clone();
    s[120..200].copy_from_slice(&c0);
    assert_eq!(open(&key, &id, &s).unwrap_err(), SealError::Tampered { what: "object chunk" });
    // Appending a duplicate of the last chunk extends the object.
    let l = layout_of(&sealed);
    let mut s = sealed.clone();
    s.extend_from_slice(&chunk(&sealed, l.chunk_count() - 1));
    assert_eq!(open(&key, &id, &s).unwrap_err(), SealError::Extended);
}

#[test]
fn object_swapped_within_study() {
    let mut rng = TestRng::new("swap");
    let key = StudyKey::generate(&mut rng);
    let (a, b) = (ObjectId::generate(&mut rng), ObjectId::generate(&mut rng));
    let sealed_b = seal_object(&key, &b, b"object b", CS).unwrap();
    assert_eq!(open(&key, &a, &sealed_b).unwrap_err(), SealError::ObjectSwapped { expected: a, found: b });
    // Rewriting the header id to the expected one does not help.
    let mut s = sealed_b.clone();
    s[16..32].copy_from_slice(&a.0);
    assert!(matches!(open(&key, &a, &s), Err(SealError::Tampered { .. })));
}

#[test]
fn object_spliced_from_another_study() {
    let mut rng = TestRng::new("splice");
    let (k1, k2) = (StudyKey::generate(&mut rng), StudyKey::generate(&mut rng));
    let id = ObjectId::generate(&mut rng);
    let other = seal_object(&k2, &id, b"another patient's pixels", CS).unwrap();
    assert_eq!(open(&k1, &id, &other).unwrap_err(), SealError::Tampered { what: "object chunk" });
}

#[test]
fn unknown_format_version() {
    let (key, id, _, sealed) = fixture(10);
    let mut s = sealed.clone();
    s[8] = 2;
    assert_eq!(open(&key, &id, &s).unwrap_err(), SealError::UnsupportedVersion { what: "object", version: 2 });
}

#[test]
fn malformed_headers() {
    let (key, id, _, sealed) = fixture(10);
    let mut s = sealed.clone();
    s[10] = 1; // reserved
    assert!(matches!(open(&key, &id, &s), Err(SealError::Malformed(_))));
    let mut s = sealed.clone();
    s[12..16].copy_from_slice(&0u32.to_be_bytes());
    assert!(matches!(open(&key, &id, &s), Err(SealError::Malformed(_))));
    let mut s = sealed.clone();
    s[12..16].copy_from_slice(&(MAX_CHUNK_SIZE + 1).to_be_bytes());
    assert!(matches!(open(&key, &id, &s), Err(SealError::Malformed(_))));
    let mut s = sealed.clone();
    s[32..40].copy_from_slice(&u64::MAX.to_be_bytes());
    assert!(open(&key, &id, &s).is_err());
    let mut s = sealed.clone();
    s[0] = b'X';
    assert!(matches!(open(&key, &id, &s), Err(SealError::Malformed(_))));
    assert!(seal_object(&key, &id, b"x", 0).is_err());
}

// ---------- keys ----------

#[test]
fn public_key_encoding_is_strict() {
    let mut rng = TestRng::new("pk");
    let k = DhSecretKey::generate(&mut rng);
    let sec1 = k.public_key().to_sec1();
    assert_eq!(PublicKey::from_sec1(&sec1).unwrap(), *k.public_key());
    assert!(PublicKey::from_sec1(&sec1[..64]).is_err());
    let mut compressed = [0u8; 33];
    compressed[0] = 2 + (sec1[64] & 1);
    compressed[1..].copy_from_slice(&sec1[1..33]);
    assert!(PublicKey::from_sec1(&compressed).is_err());
    let mut off = sec1;
    off[64] ^= 1;
    assert!(matches!(PublicKey::from_sec1(&off), Err(SealError::InvalidKey(_))));
    assert!(PublicKey::from_sec1(&[0u8; 65]).is_err());
    let fp = k.public_key().fingerprint();
    assert_eq!(fp.split(' ').count(), 12);
    assert!(fp.split(' ').all(|g| g.len() == 5 && g.chars().all(|c| c.is_ascii_digit())));
    assert_eq!(k.public_key().key_id().to_string().len(), 32);
    assert_eq!(DhSecretKey::from_bytes(&k.to_bytes()).unwrap().public_key(), k.public_key());
}

#[test]
fn signatures_are_domain_separated() {
    let mut rng = TestRng::new("sig");
    let k = SigningKey::generate(&mut rng);
    let sig = k.sign(b"obscura/v1/manifest", b"hello");
    verify(k.public_key(), b"obscura/v1/manifest", b"hello", &sig).unwrap();
    assert!(verify(k.public_key(), b"obscura/v1/certificate", b"hello", &sig).is_err());
    assert!(verify(k.public_key(), b"obscura/v1/manifest", b"hellO", &sig).is_err());
    // The separator prevents shifting bytes between context and message.
    assert!(verify(k.public_key(), b"obscura/v1/manifes", b"t\0hello", &sig).is_err());
    assert_eq!(SigningKey::from_bytes(&k.to_bytes()).unwrap().public_key(), k.public_key());
}

// ---------- stanzas ----------

#[test]
fn stanza_round_trip_and_no_stanza() {
    let mut rng = TestRng::new("stanza");
    let (a, b) = (DhSecretKey::generate(&mut rng), DhSecretKey::generate(&mut rng));
    let key = StudyKey::generate(&mut rng);
    let s = wrap_study_key(a.public_key(), "2.25.1", &key, &mut rng);
    assert_eq!(s.wrapped.len(), 48);
    assert_eq!(block(unwrap_study_key(&a, "2.25.1", std::slice::from_ref(&s))).unwrap(), key);
    assert_eq!(
        block(unwrap_study_key(&b, "2.25.1", std::slice::from_ref(&s))).unwrap_err(),
        SealError::NoStanzaForKey { key_id: b.public_key().key_id() }
    );
}

#[test]
fn stanza_retargeted_to_another_key_id() {
    let mut rng = TestRng::new("retarget");
    let (a, b) = (DhSecretKey::generate(&mut rng), DhSecretKey::generate(&mut rng));
    let key = StudyKey::generate(&mut rng);
    let mut s = wrap_study_key(a.public_key(), "2.25.1", &key, &mut rng);
    s.recipient = b.public_key().clone();
    assert_eq!(
        block(unwrap_study_key(&b, "2.25.1", &[s])).unwrap_err(),
        SealError::Tampered { what: "recipient stanza" }
    );
}

#[test]
fn stanza_moved_to_another_study() {
    let mut rng = TestRng::new("moved");
    let a = DhSecretKey::generate(&mut rng);
    let key = StudyKey::generate(&mut rng);
    let s = wrap_study_key(a.public_key(), "2.25.1", &key, &mut rng);
    assert_eq!(
        block(unwrap_study_key(&a, "2.25.2", &[s])).unwrap_err(),
        SealError::Tampered { what: "recipient stanza" }
    );
}

#[test]
fn stanza_flipped_byte() {
    let mut rng = TestRng::new("flipstanza");
    let a = DhSecretKey::generate(&mut rng);
    let key = StudyKey::generate(&mut rng);
    let s = wrap_study_key(a.public_key(), "2.25.1", &key, &mut rng);
    for i in 0..48 {
        let mut t = s.clone();
        t.wrapped[i] ^= 4;
        assert!(block(unwrap_study_key(&a, "2.25.1", &[t])).is_err());
    }
    let mut t = s.clone();
    t.enc[40] ^= 4; // off-curve or another point: either way refused
    assert!(block(unwrap_study_key(&a, "2.25.1", &[t])).is_err());
}

//! Property tests of sealed objects (FORMAT.md §3): seal/open round trips at every size class
//! (empty, one chunk, chunk boundaries k·chunk and k·chunk ± 1, random sizes, many small chunks),
//! random access to single chunks through `ObjectOpener`, the `ObjectLayout` range maths against the
//! actual sealed bytes, and that any single flipped bit makes `open_object` fail.

mod common;

use core::ops::Range;

use common::block;
use obscura_seal::zeroize::Zeroizing;
use obscura_seal::*;
use proptest::prelude::*;

// The only calls into the AEAD backend (natively the study key is its own handle).

/// Opens a whole object.
fn open(key: &StudyKey, id: &ObjectId, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
    block(open_object(key, id, sealed))
}

/// An opener for random access to chunks.
fn opener(key: &StudyKey, id: &ObjectId, header: &[u8]) -> Result<ObjectOpener<impl ChunkCipher>, SealError> {
    block(ObjectOpener::new(key, id, header))
}

fn plaintext(len: usize, seed: u64) -> Vec<u8> {
    // xorshift64*: cheap varied bytes (proptest shrinking a 100 KiB Vec<u8> would be slow).
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

fn usize_range(r: Range<u64>) -> Range<usize> {
    r.start as usize..r.end as usize
}

/// Small chunk sizes (many chunks cheaply) more often than large ones.
fn chunk_size() -> impl Strategy<Value = u32> {
    prop_oneof![1u32..=16, 17u32..=256, 257u32..=4096]
}

/// (chunk size, plaintext length): empty, exactly one chunk, k·chunk and k·chunk ± 1, or random.
fn sizes(max_chunks: usize) -> impl Strategy<Value = (u32, usize)> {
    chunk_size().prop_flat_map(move |cs| {
        let c = cs as usize;
        prop_oneof![
            Just((cs, 0)),
            Just((cs, c)),
            (1..=max_chunks, -1isize..=1).prop_map(move |(k, d)| (cs, (k * c).saturating_add_signed(d))),
            (0..=max_chunks * c + c).prop_map(move |n| (cs, n)),
        ]
    })
}

struct Case {
    key: StudyKey,
    id: ObjectId,
    pt: Vec<u8>,
    sealed: Vec<u8>,
    layout: ObjectLayout,
}

fn case(cs: u32, len: usize, seed: u64, key: [u8; 32], id: [u8; 16]) -> Case {
    let (key, id, pt) = (StudyKey::from_bytes(key), ObjectId(id), plaintext(len, seed));
    let sealed = seal_object(&key, &id, &pt, cs).unwrap();
    let layout = ObjectLayout::new(cs, len as u64).unwrap();
    Case { key, id, pt, sealed, layout }
}

/// Round trip, header and the layout's length formulas (FORMAT.md §3.2).
fn check_round_trip(c: &Case) {
    let (cs, n) = (u64::from(c.layout.chunk_size()), c.pt.len() as u64);
    let chunks = if n == 0 { 1 } else { n.div_ceil(cs) };
    assert_eq!(c.layout.chunk_count(), chunks);
    assert_eq!(c.layout.sealed_len(), HEADER_LEN as u64 + n + TAG_LEN as u64 * chunks);
    assert_eq!(c.sealed.len() as u64, c.layout.sealed_len());
    let header = ObjectHeader::parse(&c.sealed).unwrap();
    assert_eq!(header, ObjectHeader { chunk_size: c.layout.chunk_size(), object_id: c.id, plaintext_len: n });
    assert_eq!(header.layout().unwrap(), c.layout);
    assert_eq!(open(&c.key, &c.id, &c.sealed).unwrap()[..], c.pt[..]);
}

/// Every chunk opens alone from exactly its byte range, to exactly its plaintext slice (also into a
/// caller's buffer, which must have exactly its length); the chunk ranges tile the sealed object.
fn check_random_access(c: &Case) {
    let o = opener(&c.key, &c.id, &c.sealed[..HEADER_LEN]).unwrap();
    assert_eq!(*o.layout(), c.layout);
    let mut at = HEADER_LEN as u64;
    for i in 0..c.layout.chunk_count() {
        let r = c.layout.chunk_range(i);
        let p = c.layout.chunk_plaintext_range(i);
        assert_eq!(r.start, at, "chunk {i} does not follow chunk {}", i.wrapping_sub(1));
        assert_eq!(r.end - r.start, p.end - p.start + TAG_LEN as u64);
        assert!(p.end - p.start <= u64::from(c.layout.chunk_size()));
        assert!(c.layout.is_last(i) || p.end - p.start == u64::from(c.layout.chunk_size()));
        let bytes = &c.sealed[usize_range(r.clone())];
        assert_eq!(block(o.open_chunk(i, bytes)).unwrap()[..], c.pt[usize_range(p.clone())]);
        let mut into = vec![0xa5; (p.end - p.start) as usize];
        block(o.open_chunk_into(i, bytes, &mut into)).unwrap();
        assert_eq!(into[..], c.pt[usize_range(p)]);
        into.push(0);
        assert!(matches!(block(o.open_chunk_into(i, bytes, &mut into)), Err(SealError::Malformed(_))));
        at = r.end;
    }
    assert_eq!(at, c.sealed.len() as u64);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn seal_open_round_trip(
        (cs, len) in sizes(40),
        seed in any::<u64>(),
        key in any::<[u8; 32]>(),
        id in any::<[u8; 16]>(),
    ) {
        let c = case(cs, len, seed, key, id);
        check_round_trip(&c);
        check_random_access(&c);
    }

    /// Another chunk's bytes (same length) in place of chunk i fail: the nonce binds the index and
    /// the last flag. A slice one byte short or long is refused before decryption.
    #[test]
    fn chunks_open_only_at_their_index(
        (cs, len) in sizes(12),
        seed in any::<u64>(),
        i in any::<prop::sample::Index>(),
        j in any::<prop::sample::Index>(),
    ) {
        let c = case(cs, len, seed, [7; 32], [9; 16]);
        let o = opener(&c.key, &c.id, &c.sealed).unwrap();
        let n = c.layout.chunk_count() as usize;
        let (i, j) = (i.index(n) as u64, j.index(n) as u64);
        let (ri, rj) = (c.layout.chunk_range(i), c.layout.chunk_range(j));
        if i != j && ri.end - ri.start == rj.end - rj.start {
            let r = block(o.open_chunk(i, &c.sealed[usize_range(rj.clone())]));
            prop_assert!(matches!(r, Err(SealError::Tampered { .. })), "chunk {j} opened as chunk {i}");
        }
        let bytes = &c.sealed[usize_range(ri.clone())];
        prop_assert_eq!(block(o.open_chunk(i, &bytes[..bytes.len() - 1])).unwrap_err(), SealError::Truncated);
        let longer = [bytes, &[0]].concat();
        prop_assert_eq!(block(o.open_chunk(i, &longer)).unwrap_err(), SealError::Extended);
        prop_assert!(matches!(block(o.open_chunk(c.layout.chunk_count(), &[])), Err(SealError::Malformed(_))));
    }

    /// `chunks_for_plaintext` finds the fewest chunks covering [a, b) (clamped to the object), and
    /// the bytes of `sealed_range_for_chunks` (one range request) open to a plaintext containing it.
    #[test]
    fn layout_ranges_match_the_sealed_bytes(
        (cs, len) in sizes(40),
        seed in any::<u64>(),
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
    ) {
        let c = case(cs, len, seed, [3; 32], [4; 16]);
        let n = c.pt.len() as u64;
        let span = n + u64::from(cs) + 2;
        let (a, b) = (a.index(span as usize) as u64, b.index(span as usize) as u64);
        let chunks = c.layout.chunks_for_plaintext(a..b);
        let end = b.min(n);
        if a >= end {
            prop_assert!(chunks.is_empty());
            prop_assert_eq!(c.layout.sealed_range_for_chunks(chunks), 0..0);
            return Ok(());
        }
        prop_assert!(chunks.start < chunks.end && chunks.end <= c.layout.chunk_count());
        let first = c.layout.chunk_plaintext_range(chunks.start);
        let last = c.layout.chunk_plaintext_range(chunks.end - 1);
        prop_assert!(first.start <= a && a < first.end, "chunk {} does not hold byte {a}", chunks.start);
        prop_assert!(last.start < end && end <= last.end, "chunk {} does not hold byte {}", chunks.end - 1, end - 1);

        let range = c.layout.sealed_range_for_chunks(chunks.clone());
        prop_assert_eq!(range.start, c.layout.chunk_range(chunks.start).start);
        prop_assert_eq!(range.end, c.layout.chunk_range(chunks.end - 1).end);
        let fetched = &c.sealed[usize_range(range.clone())];
        let o = opener(&c.key, &c.id, &c.sealed[..HEADER_LEN]).unwrap();
        let mut got = Vec::new();
        for i in chunks {
            let r = c.layout.chunk_range(i);
            got.extend_from_slice(&block(o.open_chunk(i, &fetched[usize_range(r.start - range.start..r.end - range.start)])).unwrap());
        }
        prop_assert_eq!(&got[..], &c.pt[usize_range(first.start..last.end)]);
        prop_assert_eq!(&got[usize_range(a - first.start..end - first.start)], &c.pt[usize_range(a..end)]);
    }

    /// Any single flipped bit, header included, makes `open_object` fail (nothing is returned);
    /// a bit flipped inside chunk i fails chunk i alone under random access.
    #[test]
    fn any_flipped_bit_fails(
        (cs, len) in sizes(6),
        seed in any::<u64>(),
        bit in any::<prop::sample::Index>(),
    ) {
        let c = case(cs, len, seed, [5; 32], [6; 16]);
        let bit = bit.index(c.sealed.len() * 8);
        let mut bad = c.sealed.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(open(&c.key, &c.id, &bad).is_err(), "bit {bit} flipped and the object still opened");
        if bit / 8 >= HEADER_LEN {
            let o = opener(&c.key, &c.id, &bad).unwrap();
            for i in 0..c.layout.chunk_count() {
                let r = c.layout.chunk_range(i);
                let opened = block(o.open_chunk(i, &bad[usize_range(r.clone())]));
                prop_assert_eq!(opened.is_ok(), !r.contains(&((bit / 8) as u64)), "chunk {}", i);
            }
        }
    }
}

/// Exhaustively, every plaintext length 0..=20 with chunk sizes 1..=5 (every boundary case).
#[test]
fn every_small_size_round_trips() {
    for cs in 1..=5 {
        for len in 0..=20 {
            let c = case(cs, len, len as u64, [1; 32], [2; 16]);
            check_round_trip(&c);
            check_random_access(&c);
        }
    }
}

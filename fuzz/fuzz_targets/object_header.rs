//! Bytes → `ObjectHeader::parse`; when a header parses, the whole input is opened as a sealed
//! object under a fixed study key, whole (`open_object`) and chunk by chunk (`ObjectOpener`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use obscura_seal::zeroize::Zeroizing;
use obscura_seal::{open_object, ChunkCipher, ObjectHeader, ObjectId, ObjectOpener, ObjectReceiver, SealError, StudyKey, HEADER_LEN};
use obscura_seal_fuzz::study_key;

// The only calls into the AEAD backend (natively the study key is its own handle).

/// Opens a whole object.
async fn open(key: &StudyKey, id: &ObjectId, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
    open_object(key, id, sealed).await
}

/// An opener for random access to chunks.
async fn opener(key: &StudyKey, id: &ObjectId, header: &[u8]) -> Result<ObjectOpener<impl ChunkCipher>, SealError> {
    ObjectOpener::new(key, id, header).await
}

fn block<F: core::future::Future>(f: F) -> F::Output {
    pollster::block_on(f)
}

fn clamped(data: &[u8], r: core::ops::Range<u64>) -> &[u8] {
    let end = usize::try_from(r.end).unwrap_or(usize::MAX).min(data.len());
    let start = usize::try_from(r.start).unwrap_or(usize::MAX).min(end);
    &data[start..end]
}

fuzz_target!(|data: &[u8]| {
    let Ok(header) = ObjectHeader::parse(data) else { return };
    assert_eq!(header.to_bytes()[..], data[..HEADER_LEN], "parse and to_bytes disagree");
    let layout = header.layout().expect("parse validated the layout");
    let (n, sealed_len) = (layout.chunk_count(), layout.sealed_len());

    // Range maths on the header's (arbitrary, possibly huge) numbers: no overflow, and the chunks
    // found for a plaintext range cover it.
    let a = u64::from_be_bytes(header.object_id.0[..8].try_into().unwrap());
    let b = u64::from_be_bytes(header.object_id.0[8..].try_into().unwrap());
    let chunks = layout.chunks_for_plaintext(a..b);
    if !chunks.is_empty() {
        assert!(chunks.end <= n);
        assert!(layout.chunk_plaintext_range(chunks.start).start <= a);
        assert!(layout.chunk_plaintext_range(chunks.end - 1).end >= b.min(layout.plaintext_len()));
        let sealed = layout.sealed_range_for_chunks(chunks);
        assert!(HEADER_LEN as u64 <= sealed.start && sealed.start < sealed.end && sealed.end <= sealed_len);
    }

    let key = study_key();
    let whole = block(open(key, &header.object_id, data));
    if let Ok(pt) = &whole {
        assert_eq!(data.len() as u64, sealed_len);
        assert_eq!(pt.len() as u64, layout.plaintext_len());
    }
    let mut other = header.object_id;
    other.0[0] ^= 1;
    assert!(matches!(block(open(key, &other, data)), Err(SealError::ObjectSwapped { .. })));

    // Random access to a bounded set of chunks (the header may claim 2^60 of them).
    let opener = block(opener(key, &header.object_id, data)).expect("the header parsed and its id is the one expected");
    let mut indices = [0, 1, n / 2, n.saturating_sub(1), n, u64::MAX];
    indices.sort_unstable();
    for (k, &i) in indices.iter().enumerate() {
        if k > 0 && indices[k - 1] == i {
            continue;
        }
        if i >= n {
            assert!(matches!(block(opener.open_chunk(i, &[])), Err(SealError::Malformed(_))));
            continue;
        }
        let r = layout.chunk_range(i);
        assert!(r.end <= sealed_len);
        let bytes = clamped(data, r.clone());
        let got = block(opener.open_chunk(i, bytes));
        if (bytes.len() as u64) < r.end - r.start {
            assert!(matches!(got, Err(SealError::Truncated)));
        }
        if let Ok(whole) = &whole {
            let chunk = got.expect("a chunk of an object that opened whole opens alone");
            assert_eq!(chunk[..], *clamped(whole, layout.chunk_plaintext_range(i)));
        }
    }

    // Streamed in uneven pieces under the digest of these very bytes: the receiver gives exactly
    // what opening the whole object gives (or an error when that failed).
    let digest: [u8; 32] = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(data)).into();
    let streamed = block(async {
        let mut rx = ObjectReceiver::new(key, header.object_id, data.len() as u64, digest).await?;
        for piece in data.chunks(1 + (data.len() % 977)) {
            rx.push(piece).await?;
        }
        rx.finish().await
    });
    match (&whole, &streamed) {
        (Ok(w), Ok(s)) => assert_eq!(w[..], s[..]),
        (Ok(_), Err(e)) => panic!("the whole object opened but streaming failed: {e:?}"),
        (Err(_), Ok(_)) => panic!("streaming opened an object that does not open whole"),
        (Err(_), Err(_)) => {}
    }
});

//! `ObjectReceiver`: streamed opening gives exactly what `open_object` gives, whatever the split
//! of the bytes, and never releases plaintext of a cut, extended, altered or foreign object.

use obscura_seal::{open_object, seal_object, ObjectId, ObjectReceiver, SealError, StudyKey};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn sealed(len: usize, chunk: u32) -> (StudyKey, ObjectId, Vec<u8>, Vec<u8>) {
    let key = StudyKey::from_bytes([9; 32]);
    let id = ObjectId([3; 16]);
    let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    let sealed = seal_object(&key, &id, &plain, chunk).unwrap();
    (key, id, plain, sealed)
}

fn digest(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

async fn receive(
    key: &StudyKey,
    id: ObjectId,
    sealed: &[u8],
    manifest_len: u64,
    manifest_digest: [u8; 32],
    pieces: &[usize],
) -> Result<Vec<u8>, SealError> {
    let mut rx = ObjectReceiver::new(key, id, manifest_len, manifest_digest).await?;
    let mut at = 0usize;
    for &n in pieces.iter().chain(std::iter::once(&usize::MAX)) {
        let end = at.saturating_add(n).min(sealed.len());
        rx.push(&sealed[at..end]).await?;
        at = end;
        if at == sealed.len() {
            break;
        }
    }
    rx.finish().await.map(|p| p.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_split_opens_like_open_object(len in 0usize..20_000, chunk in 1u32..5000, pieces in proptest::collection::vec(0usize..3000, 0..40)) {
        let (key, id, plain, sealed) = sealed(len, chunk);
        let got = pollster::block_on(receive(&key, id, &sealed, sealed.len() as u64, digest(&sealed), &pieces)).unwrap();
        prop_assert_eq!(&got, &plain);
        let whole = pollster::block_on(open_object(&key, &id, &sealed)).unwrap();
        prop_assert_eq!(&got[..], &whole[..]);
    }
}

#[test]
fn a_cut_object_gives_no_plaintext() {
    let (key, id, _, sealed) = sealed(10_000, 1024);
    let mut rx = pollster::block_on(ObjectReceiver::new(&key, id, sealed.len() as u64, digest(&sealed))).unwrap();
    pollster::block_on(rx.push(&sealed[..sealed.len() - 1])).unwrap();
    assert_eq!(rx.received(), sealed.len() as u64 - 1);
    assert!(matches!(pollster::block_on(rx.finish()), Err(SealError::Truncated)));
}

#[test]
fn bytes_past_the_signed_length_are_refused_at_once() {
    let (key, id, _, sealed) = sealed(10_000, 1024);
    let mut longer = sealed.clone();
    longer.push(0);
    let err = pollster::block_on(receive(&key, id, &longer, sealed.len() as u64, digest(&sealed), &[])).unwrap_err();
    assert!(matches!(err, SealError::Extended));
}

#[test]
fn a_flipped_byte_fails_and_releases_nothing() {
    let (key, id, _, sealed) = sealed(10_000, 1024);
    for at in [0, 20, 45, 5000, sealed.len() - 1] {
        let mut bad = sealed.clone();
        bad[at] ^= 1;
        // the manifest vouches for the original bytes
        let err =
            pollster::block_on(receive(&key, id, &bad, sealed.len() as u64, digest(&sealed), &[777])).unwrap_err();
        assert!(
            matches!(
                err,
                SealError::Tampered { .. }
                    | SealError::DigestMismatch { .. }
                    | SealError::Malformed(_)
                    | SealError::ObjectSwapped { .. }
            ),
            "byte {at}: {err:?}"
        );
    }
}

#[test]
fn authentic_chunks_with_a_digest_the_manifest_does_not_sign_are_refused() {
    // e.g. the same object id sealed twice with different content: every chunk authenticates,
    // only the signed digest tells them apart.
    let (key, id, _, sealed) = sealed(10_000, 1024);
    let err = pollster::block_on(receive(&key, id, &sealed, sealed.len() as u64, [0; 32], &[])).unwrap_err();
    assert!(matches!(err, SealError::DigestMismatch { .. }));
}

#[test]
fn a_header_that_disagrees_with_the_manifest_length_is_refused_before_allocating() {
    let (key, id, _, sealed) = sealed(10_000, 1024);
    let err =
        pollster::block_on(receive(&key, id, &sealed, sealed.len() as u64 + 5, digest(&sealed), &[])).unwrap_err();
    assert!(matches!(err, SealError::DigestMismatch { .. }));
}

#[test]
fn another_object_is_refused() {
    let (key, _, _, sealed) = sealed(1000, 256);
    let err = pollster::block_on(receive(&key, ObjectId([4; 16]), &sealed, sealed.len() as u64, digest(&sealed), &[]))
        .unwrap_err();
    assert!(matches!(err, SealError::ObjectSwapped { .. }));
}

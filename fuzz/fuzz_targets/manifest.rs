//! Signed manifest bytes → `open_manifest` with a fixed anchor, time and last seen version; when one
//! verifies, its study keys are unwrapped and its index opened. Ok or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use obscura_seal::{open_manifest, RustCryptoAead, SealError, StudyIndex, VerifiedManifest};
use obscura_seal_fuzz::{anchor, recipient, LAST_SEEN_VERSION, NOW};

/// The one place naming the AEAD backend: unlocking the study keys (every epoch) with the fixed
/// reader key, and opening the study index.
async fn index(m: &VerifiedManifest) -> Result<StudyIndex, SealError> {
    let keys = m.unlock(recipient(), &RustCryptoAead).await?;
    m.index(&keys).await
}

fuzz_target!(|data: &[u8]| {
    let Ok(m) = open_manifest(data, anchor(), NOW, Some(LAST_SEEN_VERSION)) else { return };
    assert!(m.version() >= LAST_SEEN_VERSION);
    let _ = pollster::block_on(index(&m));
});

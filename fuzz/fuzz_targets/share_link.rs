//! A share link and share stanzas (UTF-8: the URL fragment, a newline, a JSON array of share
//! stanzas) → `ShareLink::from_fragment`, then `open_share` without and with a passcode: Ok or a
//! typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use obscura_seal::share::open_share;
use obscura_seal::{SealError, ShareLink, ShareStanza};
use obscura_seal_fuzz::{NOW, SHARE_PASSCODE};

/// Argon2id work the harness lets a stanza ask for (KiB × passes). The parser's own bounds allow
/// far more (256 MiB × 16 passes), which is correct for a viewer but would make each run take
/// seconds and starve the fuzzer; those bounds are tested in `crates/seal/tests/share.rs`.
const MAX_HARNESS_WORK: u64 = 4096;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (fragment, stanzas) = text.split_once('\n').unwrap_or((text, "[]"));
    let Ok(link) = ShareLink::from_fragment(fragment) else { return };
    let again = ShareLink::from_fragment(&link.to_fragment()).expect("a parsed link re-parses");
    assert_eq!((again.link_id, &again.study_uid), (link.link_id, &link.study_uid));
    let Ok(stanzas) = serde_json::from_str::<Vec<ShareStanza>>(stanzas) else { return };
    if stanzas
        .iter()
        .any(|s| s.passcode.as_ref().is_some_and(|p| u64::from(p.cost.m_kib) * u64::from(p.cost.t) > MAX_HARNESS_WORK))
    {
        return;
    }
    for passcode in [None, Some(SHARE_PASSCODE)] {
        match open_share(&link.study_uid, &stanzas, &link, passcode, NOW) {
            Ok(_)
            | Err(
                SealError::NoSuchShare { .. }
                | SealError::ShareExpired { .. }
                | SealError::PasscodeRequired
                | SealError::ShareGateRequired
                | SealError::WrongPasscode
                | SealError::Tampered { .. }
                | SealError::Malformed(_),
            ) => {}
            Err(e) => panic!("open_share returned an undocumented error class: {e:?}"),
        }
    }
});

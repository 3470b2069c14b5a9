//! Recipient stanza JSON → `Stanza`, then unwrapping with a fixed reader key: Ok or a typed error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use obscura_seal::{unwrap_study_key, SealError, Stanza};
use obscura_seal_fuzz::{recipient, STUDY_UID};

fuzz_target!(|data: &[u8]| {
    let Ok(stanza) = serde_json::from_slice::<Stanza>(data) else { return };
    // What parsed serializes back to the same stanza.
    let json = serde_json::to_vec(&stanza).expect("a stanza serializes");
    assert_eq!(serde_json::from_slice::<Stanza>(&json).expect("re-parses"), stanza);

    match pollster::block_on(unwrap_study_key(recipient(), STUDY_UID, std::slice::from_ref(&stanza))) {
        Ok(_) | Err(SealError::NoStanzaForKey { .. }) | Err(SealError::Tampered { .. }) => {}
        Err(e) => panic!("unwrap_study_key returned an undocumented error class: {e:?}"),
    }
});

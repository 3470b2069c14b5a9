//! Gate record JSON (UTF-8) → `GateRecord::from_json`: Ok (and then it re-parses to itself, and an
//! attempt with the fuzz verifier keeps the record's rules: attempts never grow, the gate secret
//! is gone exactly when no attempt is left) or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use obscura_seal::gate::{GateAnswer, GateRecord};
use obscura_seal::SealError;
use obscura_seal_fuzz::NOW;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match GateRecord::from_json(text) {
        Ok(mut r) => {
            assert_eq!(GateRecord::from_json(&r.to_json()).expect("re-parses"), r);
            let before = r.attempts_left;
            let answer = r.attempt(&[0x5a; 32], NOW);
            assert!(r.attempts_left <= before);
            assert_eq!(r.gate_secret.is_some(), r.attempts_left > 0);
            if let GateAnswer::Wrong { attempts_left } = answer {
                assert!(attempts_left > 0 && attempts_left == before - 1);
            }
            GateRecord::from_json(&r.to_json()).expect("the record after an attempt re-parses");
        }
        Err(SealError::Malformed(_) | SealError::UnsupportedVersion { .. }) => {}
        Err(e) => panic!("GateRecord::from_json returned an undocumented error class: {e:?}"),
    }
});

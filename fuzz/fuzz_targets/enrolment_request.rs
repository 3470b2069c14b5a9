//! Enrolment request JSON (UTF-8) → `EnrolmentRequest::from_json`: Ok (and then it re-parses to
//! itself) or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use obscura_seal::{EnrolmentRequest, SealError};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match EnrolmentRequest::from_json(text) {
        Ok(r) => assert_eq!(EnrolmentRequest::from_json(&r.to_json()).expect("re-parses"), r),
        Err(
            SealError::Malformed(_)
            | SealError::UnsupportedVersion { .. }
            | SealError::InvalidKey(_)
            | SealError::BadSignature { what: "enrolment request" },
        ) => {}
        Err(e) => panic!("EnrolmentRequest::from_json returned an undocumented error class: {e:?}"),
    }
});

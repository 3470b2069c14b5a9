//! Certificate JSON (UTF-8) → `Certificate::from_json`, then `verify` against a fixed anchor for
//! every role. Ok or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use obscura_seal::{Certificate, Role, SealError};
use obscura_seal_fuzz::{anchor, NOW};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(cert) = Certificate::from_json(text) else { return };
    assert_eq!(Certificate::from_json(&cert.to_json()).expect("re-parses"), cert);
    for role in [Role::Gateway, Role::Reader, Role::Escrow] {
        match cert.verify(anchor(), role, NOW) {
            Ok(()) => assert_eq!(cert.role, role),
            Err(
                SealError::UnsupportedVersion { .. }
                | SealError::UntrustedCertificate { .. }
                | SealError::WrongRole { .. }
                | SealError::NotYetValid { .. }
                | SealError::CertificateExpired { .. },
            ) => {}
            Err(e) => panic!("Certificate::verify returned an undocumented error class: {e:?}"),
        }
    }
});

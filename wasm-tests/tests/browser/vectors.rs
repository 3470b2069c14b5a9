//! Third-party known-answer vectors through the viewer's WebCrypto backend, with every private key
//! imported as a **non-extractable** CryptoKey and used only through `WebCryptoIdentity`
//! (`deriveBits`).
//!
//! - Wycheproof ECDH P-256, SPKI and JWK forms, under the same per-flag policy as the native test
//!   (`crates/seal/tests/common/wycheproof_ecdh.rs`): valid cases agree, no case ever yields a
//!   wrong shared secret, the counts of refusals are pinned.
//! - RFC 9180 HPKE mode 0, DHKEM(P-256, HKDF-SHA256)/HKDF-SHA256 with AES-128-GCM and AES-256-GCM:
//!   Decap through WebCrypto, then the key schedule and every encryption opened.

#[allow(dead_code)]
#[path = "../../../crates/seal/tests/common/wycheproof_ecdh.rs"]
mod wycheproof_ecdh;

use js_sys::{Array, Object, Uint8Array};
use obscura_seal::hpke::{self, AeadId, Context};
use obscura_seal::{DhSecretKey, Identity, PublicKey};
use obscura_viewer::webcrypto::{js_object, subtle, WebCryptoIdentity};
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::CryptoKey;
use wycheproof_ecdh::{Outcome, Refused, Tally};

const RFC9180: &str = include_str!("../../../crates/seal/tests/data/rfc9180-p256-sha256-aesgcm-base.json");

/// PKCS#8 `PrivateKeyInfo` of a P-256 key (RFC 5208 / RFC 5915) up to the 32-byte scalar; the
/// optional public key is left out, WebCrypto computes it.
const P256_PKCS8_PREFIX: [u8; 35] = [
    0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20,
];

/// Imports an ECDH P-256 private key as non-extractable, usable only for `deriveBits`.
async fn import_private(format: &str, key_data: &Object) -> CryptoKey {
    let algo = js_object(&[("name", "ECDH".into()), ("namedCurve", "P-256".into())]);
    let usages: Array = [JsValue::from_str("deriveBits")].into_iter().collect();
    let p = subtle().unwrap().import_key_with_object(format, key_data, &algo, false, &usages).unwrap();
    let key: CryptoKey =
        JsFuture::from(p).await.unwrap_or_else(|e| panic!("importKey({format}): {e:?}")).unchecked_into();
    assert!(!key.extractable(), "the private key must be non-extractable");
    assert_eq!(key.type_(), "private");
    key
}

/// A 32-byte scalar imported through PKCS#8.
async fn import_pkcs8(scalar: &[u8; 32]) -> CryptoKey {
    let mut der = P256_PKCS8_PREFIX.to_vec();
    der.extend_from_slice(scalar);
    let data = Uint8Array::from(&der[..]);
    let key = import_private("pkcs8", &data).await;
    data.fill(0, 0, data.length());
    key
}

/// A private JWK, as the vector file gives it, imported through `importKey("jwk")`.
async fn import_jwk(jwk: &Value) -> CryptoKey {
    let obj: Object = js_sys::JSON::parse(&jwk.to_string()).unwrap().unchecked_into();
    import_private("jwk", &obj).await
}

/// Runs one Wycheproof file through `WebCryptoIdentity::ecdh`.
async fn wycheproof_file(file: &str) -> Tally {
    let mut tally = Tally::default();
    for case in wycheproof_ecdh::cases(file) {
        let outcome = match &case.peer {
            // Refused before any private-key operation: nothing to ask WebCrypto.
            Err(refused) => Outcome::Refused(*refused),
            Ok(peer) => {
                // The identity's own public key (WebCryptoIdentity needs it for HPKE's kem_context).
                let own = DhSecretKey::from_bytes(&case.private).unwrap().public_key().clone();
                let private = match &case.private_jwk {
                    Some(jwk) => {
                        assert_eq!(Some(own.to_sec1()), wycheproof_ecdh::sec1_from_jwk(jwk), "tc {}", case.id);
                        import_jwk(jwk).await
                    }
                    None => import_pkcs8(&case.private).await,
                };
                match WebCryptoIdentity::new(private, own).ecdh(peer).await {
                    Ok(secret) => Outcome::Secret(secret.to_vec()),
                    Err(_) => Outcome::Refused(Refused::Ecdh),
                }
            }
        };
        tally.check(&case, outcome);
    }
    tally
}

#[wasm_bindgen_test]
async fn wycheproof_ecdh_spki_through_webcrypto() {
    assert_eq!(wycheproof_file(wycheproof_ecdh::SPKI_FILE).await, wycheproof_ecdh::SPKI_TALLY);
}

#[wasm_bindgen_test]
async fn wycheproof_ecdh_jwk_through_webcrypto() {
    assert_eq!(wycheproof_file(wycheproof_ecdh::JWK_FILE).await, wycheproof_ecdh::JWK_TALLY);
}

fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

#[wasm_bindgen_test]
async fn rfc9180_hpke_decap_through_webcrypto() {
    let all: Vec<Value> = serde_json::from_str(RFC9180).unwrap();
    let mut opened = [0usize; 3];
    for v in &all {
        assert_eq!((v["mode"].as_u64(), v["kem_id"].as_u64(), v["kdf_id"].as_u64()), (Some(0), Some(16), Some(1)));
        let aead = match v["aead_id"].as_u64().unwrap() {
            1 => AeadId::Aes128Gcm,
            2 => AeadId::Aes256Gcm,
            other => panic!("unexpected aead {other}"),
        };
        let sk: [u8; 32] = h(&v["skRm"]).try_into().unwrap();
        let pk_r = PublicKey::from_sec1(&h(&v["pkRm"])).unwrap();
        let identity = WebCryptoIdentity::new(import_pkcs8(&sk).await, pk_r);
        let enc: [u8; hpke::N_ENC] = h(&v["enc"]).try_into().unwrap();
        let ss = hpke::decap(&identity, &enc).await.unwrap();
        assert_eq!(hex::encode(&ss[..]), v["shared_secret"].as_str().unwrap());
        let info = h(&v["info"]);
        let mut ctx = Context::key_schedule_base(aead, &ss, &info);
        assert_eq!(hex::encode(ctx.key()), v["key"].as_str().unwrap());
        assert_eq!(hex::encode(ctx.base_nonce()), v["base_nonce"].as_str().unwrap());
        assert_eq!(hex::encode(ctx.exporter_secret()), v["exporter_secret"].as_str().unwrap());
        let encs = v["encryptions"].as_array().unwrap();
        for (seq, e) in encs.iter().enumerate() {
            let pt = ctx.open(&h(&e["aad"]), &h(&e["ct"])).unwrap_or_else(|err| panic!("open seq {seq}: {err:?}"));
            assert_eq!(&pt[..], &h(&e["pt"])[..], "seq {seq}");
        }
        // Obscura's single-shot OpenBase (AES-256-GCM, sequence 0), and a flipped bit refused.
        if aead == AeadId::Aes256Gcm {
            let e = &encs[0];
            let (aad, mut ct) = (h(&e["aad"]), h(&e["ct"]));
            let pt = hpke::open_base(&identity, &enc, &info, &aad, &ct).await.unwrap();
            assert_eq!(&pt[..], &h(&e["pt"])[..]);
            ct[0] ^= 1;
            assert!(hpke::open_base(&identity, &enc, &info, &aad, &ct).await.is_err());
        }
        opened[aead.id() as usize] += encs.len();
    }
    assert!(opened[1] >= 257 && opened[2] >= 257, "{opened:?}");
}

//! Runs in headless Chromium (`cargo xtask test`): the viewer's WebCrypto backends against the
//! seal crate, the native format's known-answer vectors opened in the page, and the renderer.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64URL, Engine};
use js_sys::{Array, Reflect};
use obscura_seal::{
    open_manifest, open_object, unwrap_study_key, wrap_study_key, AeadBackend, DhSecretKey, ObjectId, PublicKey,
    SealError, Stanza, StudyKey, StudyKeyHandle,
};
use obscura_viewer::webcrypto::{
    derive_wrapping_key, export_public, generate_key_pair, js_object, subtle, unwrap_private_key, wrap_private_key,
    KeyKind, WebCryptoAead, WebCryptoIdentity, WebCryptoSigner,
};
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::CryptoKey;

wasm_bindgen_test_configure!(run_in_browser);

// Wycheproof ECDH and RFC 9180 vectors through `WebCryptoIdentity`. A module of this test binary,
// not a binary of its own: each binary costs the runner ~25 s to process its debug wasm.
#[path = "browser/vectors.rs"]
mod vectors;

// The browser part of the decoding corpus (`target/corpus/wasm-subset.json`).
#[path = "browser/corpus.rs"]
mod corpus;

// The renderer on WebGPU and on WebGL2 against the CPU display pipeline.
#[path = "browser/render.rs"]
mod render;

const VECTORS: &str = include_str!("../../docs/test-vectors/seal-v1.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn hex32(v: &Value) -> [u8; 32] {
    hex::decode(v.as_str().unwrap()).unwrap().try_into().unwrap()
}

/// Imports a native secret scalar into WebCrypto as a non-extractable ECDH key (via JWK).
async fn import_identity(secret: [u8; 32]) -> WebCryptoIdentity {
    let native = DhSecretKey::from_bytes(&secret).unwrap();
    let public = native.public_key().clone();
    let sec1 = public.to_sec1();
    let jwk = js_object(&[
        ("kty", "EC".into()),
        ("crv", "P-256".into()),
        ("d", B64URL.encode(secret).into()),
        ("x", B64URL.encode(&sec1[1..33]).into()),
        ("y", B64URL.encode(&sec1[33..65]).into()),
        ("ext", false.into()),
    ]);
    let algo = js_object(&[("name", "ECDH".into()), ("namedCurve", "P-256".into())]);
    let usages: Array = [JsValue::from_str("deriveBits")].into_iter().collect();
    let p = subtle().unwrap().import_key_with_object("jwk", &jwk, &algo, false, &usages).unwrap();
    let key: CryptoKey = JsFuture::from(p).await.unwrap().unchecked_into();
    assert!(!key.extractable());
    WebCryptoIdentity::new(key, public)
}

async fn export_rejects(format: &str, key: &CryptoKey) -> bool {
    match subtle().unwrap().export_key(format, key) {
        Err(_) => true,
        Ok(p) => JsFuture::from(p).await.is_err(),
    }
}

/// A reader key generated non-extractable (the other tests' identity).
async fn generate_reader_key() -> Result<(CryptoKey, CryptoKey), String> {
    generate_key_pair(KeyKind::ReaderEcdh, false).await
}

#[wasm_bindgen_test]
async fn reader_key_is_generated_non_extractable() {
    let (private, public) = generate_reader_key().await.unwrap();
    assert!(!private.extractable(), "the private key must be non-extractable");
    assert_eq!(Reflect::get(&private.algorithm().unwrap(), &"name".into()).unwrap(), "ECDH");
    assert!(export_rejects("pkcs8", &private).await, "exportKey(pkcs8) must reject");
    assert!(export_rejects("jwk", &private).await, "exportKey(jwk) must reject");
    let raw = export_public(&public).await.unwrap();
    assert_eq!(raw.len(), 65);
    PublicKey::from_sec1(&raw).unwrap();
}

/// The protection at rest (`protect.rs`): keys generated extractable once, wrapped under a key
/// derived from a second factor, come back non-extractable and working; another factor, IV or
/// associated data opens nothing.
#[wasm_bindgen_test]
async fn wrapped_keys_unwrap_non_extractable_and_only_with_the_same_factor() {
    let info = b"obscura/v1/reader-key-wrap";
    let wrapping = derive_wrapping_key(&[7u8; 32], b"salt", info).await.unwrap();
    assert!(!wrapping.extractable());
    let (iv, aad) = ([1u8; 12], b"aad of the reader key".to_vec());

    let (ecdh, ecdh_public) = generate_key_pair(KeyKind::ReaderEcdh, true).await.unwrap();
    assert!(ecdh.extractable());
    let me = PublicKey::from_sec1(&export_public(&ecdh_public).await.unwrap()).unwrap();
    let wrapped = wrap_private_key(&ecdh, &wrapping, &iv, &aad).await.unwrap();
    drop(ecdh);
    let unwrapped = unwrap_private_key(&wrapped, &wrapping, &iv, &aad, KeyKind::ReaderEcdh).await.unwrap();
    assert!(!unwrapped.extractable(), "the unwrapped key must be non-extractable");
    assert!(export_rejects("pkcs8", &unwrapped).await && export_rejects("jwk", &unwrapped).await);
    // It is the same key: it opens a study key wrapped to the public key.
    let key = StudyKey::generate(&mut rand_core::OsRng);
    let stanza = wrap_study_key(&me, "2.25.9", &key, &mut rand_core::OsRng);
    let identity = WebCryptoIdentity::new(unwrapped, me.clone());
    assert_eq!(unwrap_study_key(&identity, "2.25.9", &[stanza]).await.unwrap().as_bytes(), key.as_bytes());

    // Another factor, IV, associated data (e.g. a substituted public key) or a flipped bit: refused.
    let other = derive_wrapping_key(&[8u8; 32], b"salt", info).await.unwrap();
    assert!(unwrap_private_key(&wrapped, &other, &iv, &aad, KeyKind::ReaderEcdh).await.is_err());
    assert!(unwrap_private_key(&wrapped, &wrapping, &[2u8; 12], &aad, KeyKind::ReaderEcdh).await.is_err());
    assert!(unwrap_private_key(&wrapped, &wrapping, &iv, b"other aad", KeyKind::ReaderEcdh).await.is_err());
    let mut flipped = wrapped.clone();
    flipped[5] ^= 1;
    assert!(unwrap_private_key(&flipped, &wrapping, &iv, &aad, KeyKind::ReaderEcdh).await.is_err());

    // The signing key likewise; its signature on an enrolment request verifies natively.
    let (ecdsa, ecdsa_public) = generate_key_pair(KeyKind::SigningEcdsa, true).await.unwrap();
    let signing_public = PublicKey::from_sec1(&export_public(&ecdsa_public).await.unwrap()).unwrap();
    let wrapped = wrap_private_key(&ecdsa, &wrapping, &iv, b"signing").await.unwrap();
    let signer = WebCryptoSigner::new(
        unwrap_private_key(&wrapped, &wrapping, &iv, b"signing", KeyKind::SigningEcdsa).await.unwrap(),
        signing_public,
    );
    assert!(!signer.crypto_key().extractable());
    let request = obscura_seal::EnrolmentRequest::new(me, &signer, "Dr. Browser", 1_800_000_000).await.unwrap();
    assert_eq!(obscura_seal::EnrolmentRequest::from_json(&request.to_json()).unwrap(), request);
}

#[wasm_bindgen_test]
async fn study_key_wrapped_by_rust_unwraps_through_webcrypto_derive_bits() {
    let (private, public) = generate_reader_key().await.unwrap();
    let me = PublicKey::from_sec1(&export_public(&public).await.unwrap()).unwrap();
    let identity = WebCryptoIdentity::new(private, me.clone());
    let mut rng = rand_core::OsRng;
    let key = StudyKey::generate(&mut rng);
    let other = DhSecretKey::generate(&mut rng);
    let stanzas = vec![
        wrap_study_key(other.public_key(), "2.25.7", &key, &mut rng),
        wrap_study_key(&me, "2.25.7", &key, &mut rng),
    ];
    let unwrapped = unwrap_study_key(&identity, "2.25.7", &stanzas).await.unwrap();
    assert_eq!(unwrapped.as_bytes(), key.as_bytes());
    // Bound to the study: the same stanza does not open under another study UID.
    assert!(unwrap_study_key(&identity, "2.25.8", &stanzas).await.is_err());
    // No stanza for this key.
    let err = unwrap_study_key(&identity, "2.25.7", &stanzas[..1]).await.unwrap_err();
    assert!(matches!(err, SealError::NoStanzaForKey { .. }), "{err:?}");
}

#[wasm_bindgen_test]
async fn natively_sealed_vectors_open_in_the_page() {
    let v = vectors();
    // The stanza vector: its recipient's key imported into WebCrypto, ECDH by deriveBits.
    let s = &v["stanza"];
    let identity = import_identity(hex32(&s["recipient_secret"])).await;
    let stanza = Stanza {
        recipient: PublicKey::from_sec1(&hex::decode(s["recipient"].as_str().unwrap()).unwrap()).unwrap(),
        enc: hex::decode(s["enc"].as_str().unwrap()).unwrap().try_into().unwrap(),
        wrapped: hex::decode(s["wrapped"].as_str().unwrap()).unwrap(),
    };
    let key = unwrap_study_key(&identity, s["study_uid"].as_str().unwrap(), &[stanza]).await.unwrap();
    assert_eq!(key.as_bytes(), &hex32(&s["study_key"]));

    // The object vectors, decrypted by WebCrypto AES-GCM under keys derived inside WebCrypto.
    let study_key =
        WebCryptoAead.import_study_key(StudyKey::from_bytes(hex32(&v["object_key"]["study_key"]))).await.unwrap();
    let id = ObjectId::from_hex(v["object_key"]["object_id"].as_str().unwrap()).unwrap();
    let objects = v["objects"].as_array().unwrap();
    assert!(objects.len() >= 3);
    for o in objects {
        let sealed = hex::decode(o["sealed"].as_str().unwrap()).unwrap();
        let plain = open_object(&study_key, &id, &sealed).await.unwrap();
        assert_eq!(&plain[..], &hex::decode(o["plaintext"].as_str().unwrap()).unwrap()[..]);
    }

    // The signed manifest: verified against its anchor, unwrapped and its object opened in the page.
    let m = &v["manifest"];
    let anchor = PublicKey::from_sec1(&hex::decode(m["anchor"].as_str().unwrap()).unwrap()).unwrap();
    let bytes = hex::decode(m["bytes"].as_str().unwrap()).unwrap();
    let manifest = open_manifest(&bytes, &anchor, m["now"].as_i64().unwrap(), None).unwrap();
    let keys = manifest.unlock(&identity, &WebCryptoAead).await.unwrap();
    assert_eq!(manifest.index(&keys).await.unwrap().patient_name, "DOE^JANE");
    let o = &m["sealed_object"];
    let oid = ObjectId::from_hex(o["object_id"].as_str().unwrap()).unwrap();
    let sealed = hex::decode(o["sealed"].as_str().unwrap()).unwrap();
    let plain = manifest.open_object(&keys, &oid, &sealed).await.unwrap();
    assert_eq!(&plain[..], &hex::decode(o["plaintext"].as_str().unwrap()).unwrap()[..]);

    // The rotated version: the epoch-0 key comes out of the epoch-1 index blob into WebCrypto,
    // and the share link with its passcode opens it too.
    let r = &v["rotated_manifest"];
    let bytes = hex::decode(r["bytes"].as_str().unwrap()).unwrap();
    let now = r["now"].as_i64().unwrap();
    let rotated = open_manifest(&bytes, &anchor, now, Some(manifest.version())).unwrap();
    let keys = rotated.unlock(&identity, &WebCryptoAead).await.unwrap();
    assert_eq!(&rotated.open_object(&keys, &oid, &sealed).await.unwrap()[..], b"pixels");
    let link = obscura_seal::ShareLink::from_fragment(r["share_fragment"].as_str().unwrap()).unwrap();
    let via_link = rotated.unlock_share(&link, r["passcode"].as_str(), now, &WebCryptoAead).await.unwrap();
    assert_eq!(rotated.index(&via_link).await.unwrap().patient_name, "DOE^JANE");
    let wrong = rotated.unlock_share(&link, Some("0000"), now, &WebCryptoAead).await;
    assert_eq!(wrong.err(), Some(SealError::WrongPasscode));
}

#[wasm_bindgen_test]
async fn unwrapped_study_key_lives_in_webcrypto_as_non_extractable() {
    let key = WebCryptoAead.import_study_key(StudyKey::from_bytes([7; 32])).await.unwrap();
    let k = key.crypto_key();
    assert!(!k.extractable());
    assert_eq!(k.type_(), "secret");
    let export = subtle().unwrap().export_key("raw", k).unwrap();
    assert!(wasm_bindgen_futures::JsFuture::from(export).await.is_err(), "the study key must not be exportable");
    // Object keys derived from it are not extractable either, and decrypt only.
    let cipher = key.object_cipher(&ObjectId([1; 16])).await.unwrap();
    assert!(!cipher.crypto_key().extractable());
}

#[wasm_bindgen_test]
async fn webcrypto_refuses_a_flipped_ciphertext_byte() {
    let v = vectors();
    let study_key =
        WebCryptoAead.import_study_key(StudyKey::from_bytes(hex32(&v["object_key"]["study_key"]))).await.unwrap();
    let id = ObjectId::from_hex(v["object_key"]["object_id"].as_str().unwrap()).unwrap();
    let o = v["objects"].as_array().unwrap().last().unwrap();
    let mut sealed = hex::decode(o["sealed"].as_str().unwrap()).unwrap();
    let i = sealed.len() - 20;
    sealed[i] ^= 0x80;
    let err = open_object(&study_key, &id, &sealed).await.unwrap_err();
    assert!(matches!(err, SealError::Tampered { .. }), "{err:?}");
}

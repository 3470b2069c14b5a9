//! The browser backends of `obscura-seal`'s joints: ECDH and ECDSA on non-extractable private
//! keys, and bulk AES-256-GCM, all inside WebCrypto; and the key wrapping that protects the
//! reader's private keys at rest (`protect.rs` decides when and under which key).

use js_sys::{Array, Object, Reflect, Uint8Array};
use obscura_seal::study::OBJECT_KEY_INFO;
use obscura_seal::{
    signed_message, AeadBackend, ChunkCipher, Identity, ObjectId, PublicKey, SealError, Signature, Signer, StudyKey,
    StudyKeyHandle,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};
use zeroize::Zeroizing;

/// The page's SubtleCrypto.
pub fn subtle() -> Result<SubtleCrypto, String> {
    let window = web_sys::window().ok_or("no window")?;
    Ok(window
        .crypto()
        .map_err(|_| "WebCrypto is unavailable (the page must be served over https or from localhost)")?
        .subtle())
}

/// Builds a JS object from key/value pairs.
pub fn js_object(pairs: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o
}

fn usages(list: &[&str]) -> Array {
    list.iter().map(|s| JsValue::from_str(s)).collect()
}

fn ecdh_params() -> Object {
    js_object(&[("name", "ECDH".into()), ("namedCurve", "P-256".into())])
}

/// Text of a rejected promise, for error messages.
pub fn js_error(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

fn ecdsa_params() -> Object {
    js_object(&[("name", "ECDSA".into()), ("namedCurve", "P-256".into())])
}

/// What a private key of the reader is for: its WebCrypto algorithm and usages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// The reader key: ECDH P-256, `deriveBits` (unwraps study keys).
    ReaderEcdh,
    /// The signing key: ECDSA P-256, `sign` (enrolment requests, later audit events).
    SigningEcdsa,
}

impl KeyKind {
    fn params(self) -> Object {
        match self {
            KeyKind::ReaderEcdh => ecdh_params(),
            KeyKind::SigningEcdsa => ecdsa_params(),
        }
    }

    fn private_usages(self) -> Array {
        match self {
            KeyKind::ReaderEcdh => usages(&["deriveBits"]),
            KeyKind::SigningEcdsa => usages(&["sign"]),
        }
    }
}

/// Generates a P-256 key pair of `kind`. `extractable` applies to the private key: it is true only
/// at enrolment, for the one `wrapKey` that protects it at rest (`protect.rs`); the extractable
/// key is dropped right after.
pub async fn generate_key_pair(kind: KeyKind, extractable: bool) -> Result<(CryptoKey, CryptoKey), String> {
    let p =
        subtle()?.generate_key_with_object(&kind.params(), extractable, &kind.private_usages()).map_err(js_error)?;
    let pair = JsFuture::from(p).await.map_err(js_error)?;
    let private: CryptoKey = Reflect::get(&pair, &"privateKey".into()).map_err(js_error)?.unchecked_into();
    let public: CryptoKey = Reflect::get(&pair, &"publicKey".into()).map_err(js_error)?.unchecked_into();
    Ok((private, public))
}

/// A non-extractable AES-256-GCM key for `wrapKey`/`unwrapKey`, derived inside WebCrypto as
/// HKDF-SHA256(`ikm`, `salt`, `info`); the JS copy of `ikm` is overwritten once imported.
pub async fn derive_wrapping_key(ikm: &[u8; 32], salt: &[u8], info: &[u8]) -> Result<CryptoKey, String> {
    let subtle = subtle()?;
    let raw = Uint8Array::from(&ikm[..]);
    let p = subtle.import_key_with_str("raw", &raw, "HKDF", false, &usages(&["deriveKey"]));
    raw.fill(0, 0, 32);
    let base: CryptoKey = JsFuture::from(p.map_err(js_error)?).await.map_err(js_error)?.unchecked_into();
    let hkdf = js_object(&[
        ("name", "HKDF".into()),
        ("hash", "SHA-256".into()),
        ("salt", Uint8Array::from(salt).into()),
        ("info", Uint8Array::from(info).into()),
    ]);
    let aes = js_object(&[("name", "AES-GCM".into()), ("length", 256.into())]);
    let p = subtle
        .derive_key_with_object_and_object(&hkdf, &base, &aes, false, &usages(&["wrapKey", "unwrapKey"]))
        .map_err(js_error)?;
    Ok(JsFuture::from(p).await.map_err(js_error)?.unchecked_into())
}

fn aes_gcm_params(iv: &[u8; 12], aad: &[u8]) -> Object {
    js_object(&[
        ("name", "AES-GCM".into()),
        ("iv", Uint8Array::from(&iv[..]).into()),
        ("additionalData", Uint8Array::from(aad).into()),
        ("tagLength", 128.into()),
    ])
}

/// `wrapKey("pkcs8", …)` under AES-256-GCM: the private key's PKCS#8 encoding is encrypted inside
/// WebCrypto and never reaches JS or WASM memory in clear. `key` must be extractable.
pub async fn wrap_private_key(
    key: &CryptoKey,
    wrapping: &CryptoKey,
    iv: &[u8; 12],
    aad: &[u8],
) -> Result<Vec<u8>, String> {
    let p = subtle()?.wrap_key_with_object("pkcs8", key, wrapping, &aes_gcm_params(iv, aad)).map_err(js_error)?;
    Ok(Uint8Array::new(&JsFuture::from(p).await.map_err(js_error)?).to_vec())
}

/// `unwrapKey("pkcs8", …)` to a **non-extractable** private key of `kind`. Fails (an
/// `OperationError`) when the wrapping key, the IV or the associated data differ from the wrap's.
pub async fn unwrap_private_key(
    wrapped: &[u8],
    unwrapping: &CryptoKey,
    iv: &[u8; 12],
    aad: &[u8],
    kind: KeyKind,
) -> Result<CryptoKey, String> {
    let p = subtle()?
        .unwrap_key_with_u8_array_and_object_and_object(
            "pkcs8",
            wrapped,
            unwrapping,
            &aes_gcm_params(iv, aad),
            &kind.params(),
            false,
            &kind.private_usages(),
        )
        .map_err(js_error)?;
    Ok(JsFuture::from(p).await.map_err(js_error)?.unchecked_into())
}

/// The reader's signing key: a non-extractable ECDSA P-256 key that signs inside WebCrypto
/// (enrolment requests; later audit events).
pub struct WebCryptoSigner {
    private: CryptoKey,
    public: PublicKey,
}

impl WebCryptoSigner {
    /// Wraps a private ECDSA CryptoKey and its public key.
    pub fn new(private: CryptoKey, public: PublicKey) -> Self {
        WebCryptoSigner { private, public }
    }

    /// The CryptoKey (to check its properties; it cannot be exported).
    pub fn crypto_key(&self) -> &CryptoKey {
        &self.private
    }
}

impl Signer for WebCryptoSigner {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    async fn sign(&self, context: &[u8], msg: &[u8]) -> Result<Signature, SealError> {
        let subtle = subtle().map_err(SealError::Backend)?;
        let algo = js_object(&[("name", "ECDSA".into()), ("hash", "SHA-256".into())]);
        let p = subtle
            .sign_with_object_and_u8_array(&algo, &self.private, &signed_message(context, msg))
            .map_err(|e| backend_error("sign", e))?;
        let sig = Uint8Array::new(&JsFuture::from(p).await.map_err(|e| backend_error("sign", e))?);
        let mut out = [0u8; 64];
        if sig.length() != 64 {
            return Err(SealError::Backend("WebCrypto sign returned a signature of a wrong length".into()));
        }
        sig.copy_to(&mut out);
        Ok(Signature(out))
    }
}

/// The raw SEC1 bytes of a public CryptoKey.
pub async fn export_public(key: &CryptoKey) -> Result<Vec<u8>, String> {
    let buf = JsFuture::from(subtle()?.export_key("raw", key).map_err(js_error)?).await.map_err(js_error)?;
    Ok(Uint8Array::new(&buf).to_vec())
}

/// The reader identity: a non-extractable ECDH private key that never leaves WebCrypto.
pub struct WebCryptoIdentity {
    private: CryptoKey,
    public: PublicKey,
}

impl WebCryptoIdentity {
    /// Wraps a private CryptoKey and its public key.
    pub fn new(private: CryptoKey, public: PublicKey) -> Self {
        WebCryptoIdentity { private, public }
    }

    /// The CryptoKey (to check its properties; it cannot be exported).
    pub fn crypto_key(&self) -> &CryptoKey {
        &self.private
    }
}

impl Identity for WebCryptoIdentity {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    async fn ecdh(&self, peer: &PublicKey) -> Result<Zeroizing<[u8; 32]>, SealError> {
        let fail = |what: &str, e: JsValue| SealError::Malformed(format!("WebCrypto {what} failed: {}", js_error(e)));
        let subtle = subtle().map_err(SealError::Malformed)?;
        let raw = Uint8Array::from(&peer.to_sec1()[..]);
        let p = subtle
            .import_key_with_object("raw", &raw, &ecdh_params(), true, &Array::new())
            .map_err(|e| fail("importKey", e))?;
        let peer_key: CryptoKey = JsFuture::from(p).await.map_err(|e| fail("importKey", e))?.unchecked_into();
        let algo = js_object(&[("name", "ECDH".into()), ("public", peer_key.into())]);
        let p = subtle.derive_bits_with_object(&algo, &self.private, 256).map_err(|e| fail("deriveBits", e))?;
        let bits = JsFuture::from(p).await.map_err(|e| fail("deriveBits", e))?;
        let view = Uint8Array::new(&bits);
        let mut out = Zeroizing::new([0u8; 32]);
        if view.length() != 32 {
            return Err(SealError::Malformed("WebCrypto deriveBits returned a wrong length".into()));
        }
        view.copy_to(&mut out[..]);
        // The shared secret also sits in that ArrayBuffer: overwrite it.
        view.fill(0, 0, 32);
        Ok(out)
    }
}

/// The browser AEAD backend: a study key becomes a **non-extractable** WebCrypto HKDF key the
/// moment it is unwrapped (the Rust copy is consumed and zeroised), object keys are derived from it
/// inside WebCrypto (`deriveKey`, non-extractable AES-GCM keys), and bulk decryption runs there.
pub struct WebCryptoAead;

/// A study key held by WebCrypto (HKDF, usage `deriveKey` only, not extractable).
pub struct WebCryptoStudyKey(CryptoKey);

thread_local! {
    /// How many study-key handles exist: the lock checks (and the test hooks report) that none is
    /// left reachable from the app once a study is closed or the viewer is locked.
    static LIVE_STUDY_KEYS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many WebCrypto study-key handles the app still holds.
pub fn live_study_keys() -> usize {
    LIVE_STUDY_KEYS.with(|n| n.get())
}

impl WebCryptoStudyKey {
    fn new(key: CryptoKey) -> Self {
        LIVE_STUDY_KEYS.with(|n| n.set(n.get() + 1));
        WebCryptoStudyKey(key)
    }
}

impl Drop for WebCryptoStudyKey {
    fn drop(&mut self) {
        LIVE_STUDY_KEYS.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// One object's AES-256-GCM key inside WebCrypto (usage `decrypt` only, not extractable).
pub struct WebCryptoCipher {
    key: CryptoKey,
    /// The AES-GCM parameters, made once per object: `decrypt` copies them when called, so only
    /// the nonce bytes change between calls (fewer JS objects per chunk).
    params: Object,
    iv: Uint8Array,
    /// The associated data the params hold (the object header; the same for every chunk).
    aad: std::cell::RefCell<Vec<u8>>,
}

impl WebCryptoCipher {
    fn new(key: CryptoKey) -> Self {
        let iv = Uint8Array::new_with_length(12);
        let params = js_object(&[
            ("name", "AES-GCM".into()),
            ("iv", iv.clone().into()),
            ("additionalData", Uint8Array::new_with_length(0).into()),
            ("tagLength", 128.into()),
        ]);
        WebCryptoCipher { key, params, iv, aad: std::cell::RefCell::new(Vec::new()) }
    }
}

fn backend_error(what: &str, e: JsValue) -> SealError {
    SealError::Backend(format!("WebCrypto {what} failed: {}", js_error(e)))
}

impl AeadBackend for WebCryptoAead {
    type Key = WebCryptoStudyKey;

    async fn import_study_key(&self, key: StudyKey) -> Result<WebCryptoStudyKey, SealError> {
        let subtle = subtle().map_err(SealError::Backend)?;
        let raw = Uint8Array::from(&key.as_bytes()[..]);
        drop(key);
        let p = subtle.import_key_with_str("raw", &raw, "HKDF", false, &usages(&["deriveKey"]));
        // importKey has copied the bytes: overwrite the JS-side copy now.
        raw.fill(0, 0, 32);
        let k = JsFuture::from(p.map_err(|e| backend_error("importKey", e))?)
            .await
            .map_err(|e| backend_error("importKey", e))?;
        Ok(WebCryptoStudyKey::new(k.unchecked_into()))
    }
}

impl WebCryptoStudyKey {
    /// The CryptoKey (to check its properties; it cannot be exported).
    pub fn crypto_key(&self) -> &CryptoKey {
        &self.0
    }
}

impl WebCryptoCipher {
    /// The CryptoKey (to check its properties; it cannot be exported).
    pub fn crypto_key(&self) -> &CryptoKey {
        &self.key
    }
}

impl StudyKeyHandle for WebCryptoStudyKey {
    type Cipher = WebCryptoCipher;

    async fn object_cipher(&self, id: &ObjectId) -> Result<WebCryptoCipher, SealError> {
        let subtle = subtle().map_err(SealError::Backend)?;
        let hkdf = js_object(&[
            ("name", "HKDF".into()),
            ("hash", "SHA-256".into()),
            ("salt", Uint8Array::from(&id.0[..]).into()),
            ("info", Uint8Array::from(OBJECT_KEY_INFO).into()),
        ]);
        let aes = js_object(&[("name", "AES-GCM".into()), ("length", 256.into())]);
        let p = subtle
            .derive_key_with_object_and_object(&hkdf, &self.0, &aes, false, &usages(&["decrypt"]))
            .map_err(|e| backend_error("deriveKey", e))?;
        let k = JsFuture::from(p).await.map_err(|e| backend_error("deriveKey", e))?;
        Ok(WebCryptoCipher::new(k.unchecked_into()))
    }
}

impl ChunkCipher for WebCryptoCipher {
    async fn open_chunk_into(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
        out: &mut [u8],
    ) -> Result<(), SealError> {
        let subtle = subtle().map_err(SealError::Backend)?;
        if *self.aad.borrow() != aad {
            let _ = Reflect::set(&self.params, &"additionalData".into(), &Uint8Array::from(aad));
            *self.aad.borrow_mut() = aad.to_vec();
        }
        self.iv.copy_from(&nonce[..]);
        let p = subtle
            .decrypt_with_object_and_u8_array(&self.params, &self.key, ciphertext)
            .map_err(|_| SealError::Tampered { what: "chunk" })?;
        let buf = JsFuture::from(p).await.map_err(|_| SealError::Tampered { what: "chunk" })?;
        let view = Uint8Array::new(&buf);
        if view.length() as usize != out.len() {
            view.fill(0, 0, view.length());
            return Err(SealError::Tampered { what: "chunk" });
        }
        view.copy_to(out);
        // Cleartext must not linger in the JS heap either.
        view.fill(0, 0, view.length());
        Ok(())
    }

    /// The browser's native SHA-256 (off the main thread; several times the `sha2` crate in wasm).
    async fn sha256(&self, data: &[u8]) -> Result<[u8; 32], SealError> {
        let subtle = subtle().map_err(SealError::Backend)?;
        let p = subtle.digest_with_str_and_u8_array("SHA-256", data).map_err(|e| backend_error("digest", e))?;
        let buf = JsFuture::from(p).await.map_err(|e| backend_error("digest", e))?;
        let view = Uint8Array::new(&buf);
        let mut out = [0u8; 32];
        if view.length() != 32 {
            return Err(SealError::Backend("WebCrypto digest returned a wrong length".into()));
        }
        view.copy_to(&mut out);
        Ok(out)
    }
}

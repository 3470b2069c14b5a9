//! The platform joints (`Identity`, `AeadBackend`/`StudyKeyHandle`) work with non-`Send` implementations, as in
//! the browser (WebCrypto promises are not `Send`), and backend errors propagate unchanged.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::{block, TestRng};
use obscura_seal::zeroize::Zeroizing;
use obscura_seal::*;

/// An identity whose private half sits behind an `Rc` (not `Send`), counting ECDH calls.
struct RcIdentity {
    key: Rc<DhSecretKey>,
    calls: Rc<Cell<u32>>,
    fail: bool,
}

impl Identity for RcIdentity {
    fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }
    async fn ecdh(&self, peer: &PublicKey) -> Result<Zeroizing<[u8; 32]>, SealError> {
        let held = Rc::clone(&self.calls); // held across an await point
        core::future::ready(()).await;
        held.set(held.get() + 1);
        if self.fail {
            return Err(SealError::Backend("deriveBits rejected".into()));
        }
        Ok(self.key.diffie_hellman(peer))
    }
}

/// A backend whose key handles are not `Send` either and count the chunks they open.
struct RcBackend(Rc<Cell<u32>>);
struct RcKey(StudyKey, Rc<Cell<u32>>);
struct RcCipher(RustCryptoCipher, Rc<Cell<u32>>);

impl ChunkCipher for RcCipher {
    async fn open_chunk_into(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
        out: &mut [u8],
    ) -> Result<(), SealError> {
        self.1.set(self.1.get() + 1);
        self.0.open_chunk_into(nonce, aad, ciphertext, out).await
    }
}

impl StudyKeyHandle for RcKey {
    type Cipher = RcCipher;
    async fn object_cipher(&self, id: &ObjectId) -> Result<RcCipher, SealError> {
        Ok(RcCipher(self.0.object_cipher(id).await?, Rc::clone(&self.1)))
    }
}

impl AeadBackend for RcBackend {
    type Key = RcKey;
    async fn import_study_key(&self, key: StudyKey) -> Result<RcKey, SealError> {
        Ok(RcKey(key, Rc::clone(&self.0)))
    }
}

#[test]
fn non_send_identity_and_cipher_factory() {
    let mut rng = TestRng::new("platform");
    let key = DhSecretKey::generate(&mut rng);
    let calls = Rc::new(Cell::new(0));
    let id = RcIdentity { key: Rc::new(key.clone()), calls: Rc::clone(&calls), fail: false };
    let study_key = StudyKey::generate(&mut rng);
    let stanza = wrap_study_key(key.public_key(), "2.25.9", &study_key, &mut rng);
    let got = block(unwrap_study_key(&id, "2.25.9", std::slice::from_ref(&stanza))).unwrap();
    assert_eq!(got, study_key);
    assert_eq!(calls.get(), 1);

    let oid = ObjectId::generate(&mut rng);
    let sealed = seal_object(&study_key, &oid, &[7u8; 200], 64).unwrap();
    let opened = Rc::new(Cell::new(0));
    let handle = block(RcBackend(Rc::clone(&opened)).import_study_key(got)).unwrap();
    let pt = block(open_object(&handle, &oid, &sealed)).unwrap();
    assert_eq!(&pt[..], &[7u8; 200][..]);
    assert_eq!(opened.get(), 4);

    // A backend failure is reported as such, not as tampering.
    let failing = RcIdentity { key: Rc::new(key), calls, fail: true };
    assert_eq!(
        block(unwrap_study_key(&failing, "2.25.9", &[stanza])).unwrap_err(),
        SealError::Backend("deriveBits rejected".into())
    );
}

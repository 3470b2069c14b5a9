//! Sealed objects: a 40-byte header and a chunked AES-256-GCM stream (STREAM construction).

use core::future::Future;
use core::ops::Range;
use core::pin::Pin;
use core::task::Poll;

use aes_gcm::aead::AeadInPlace as _;
use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::study::StudyKey;
use crate::SealError;

/// Magic bytes opening every sealed object.
pub const OBJECT_MAGIC: &[u8; 8] = b"OBSCOBJ1";
/// The object format version this crate writes and reads.
pub const OBJECT_FORMAT_VERSION: u8 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 40;
/// AES-GCM tag length in bytes.
pub const TAG_LEN: usize = 16;
/// Default plaintext bytes per chunk (256 KiB).
pub const DEFAULT_CHUNK_SIZE: u32 = 256 * 1024;
/// Largest chunk size accepted (16 MiB).
pub const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;

/// A random 16-byte object identifier. Displayed and serialized as 32 hex digits.
/// (`Default` is the all-zero id, only a placeholder.)
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(pub [u8; 16]);

impl ObjectId {
    /// A fresh random id.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        ObjectId(b)
    }
}

crate::b64::hex_id_impls!(ObjectId);

/// The parsed 40-byte object header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectHeader {
    /// Plaintext bytes per chunk (all but the last chunk hold exactly this many).
    pub chunk_size: u32,
    /// The object id (also the HKDF salt of the object key).
    pub object_id: ObjectId,
    /// Total plaintext length.
    pub plaintext_len: u64,
}

impl ObjectHeader {
    /// Parses the first 40 bytes strictly (magic, version 1, zero reserved bytes, chunk size in
    /// 1..=16 MiB). The header is *not* authenticated until a chunk opens under it.
    pub fn parse(bytes: &[u8]) -> Result<Self, SealError> {
        if bytes.len() < HEADER_LEN {
            return Err(SealError::Truncated);
        }
        if &bytes[..8] != OBJECT_MAGIC {
            return Err(SealError::Malformed("not an Obscura sealed object (bad magic)".into()));
        }
        if bytes[8] != OBJECT_FORMAT_VERSION {
            return Err(SealError::UnsupportedVersion { what: "object", version: u32::from(bytes[8]) });
        }
        if bytes[9..12] != [0, 0, 0] {
            return Err(SealError::Malformed("object header reserved bytes are not zero".into()));
        }
        let chunk_size = u32::from_be_bytes(bytes[12..16].try_into().expect("4 bytes"));
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[16..32]);
        let plaintext_len = u64::from_be_bytes(bytes[32..40].try_into().expect("8 bytes"));
        let h = ObjectHeader { chunk_size, object_id: ObjectId(id), plaintext_len };
        h.layout()?;
        Ok(h)
    }

    /// The 40 header bytes (also the AAD of every chunk).
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[..8].copy_from_slice(OBJECT_MAGIC);
        b[8] = OBJECT_FORMAT_VERSION;
        b[12..16].copy_from_slice(&self.chunk_size.to_be_bytes());
        b[16..32].copy_from_slice(&self.object_id.0);
        b[32..40].copy_from_slice(&self.plaintext_len.to_be_bytes());
        b
    }

    /// The chunk layout this header describes.
    pub fn layout(&self) -> Result<ObjectLayout, SealError> {
        ObjectLayout::new(self.chunk_size, self.plaintext_len)
    }
}

/// Where each chunk lives in a sealed object, so frames can be fetched by byte range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectLayout {
    chunk_size: u32,
    plaintext_len: u64,
    chunks: u64,
    sealed_len: u64,
}

impl ObjectLayout {
    /// Validates the chunk size (1..=16 MiB) and that the sealed length fits in a u64.
    pub fn new(chunk_size: u32, plaintext_len: u64) -> Result<Self, SealError> {
        if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
            return Err(SealError::Malformed(format!("chunk size {chunk_size} is outside 1..={MAX_CHUNK_SIZE}")));
        }
        let cs = u64::from(chunk_size);
        let chunks = if plaintext_len == 0 { 1 } else { plaintext_len.div_ceil(cs) };
        let sealed_len = chunks
            .checked_mul(TAG_LEN as u64)
            .and_then(|t| t.checked_add(plaintext_len))
            .and_then(|t| t.checked_add(HEADER_LEN as u64))
            .ok_or_else(|| SealError::Malformed("object length overflows".into()))?;
        Ok(ObjectLayout { chunk_size, plaintext_len, chunks, sealed_len })
    }
    /// Plaintext bytes per full chunk.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }
    /// Total plaintext length.
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }
    /// Number of chunks (at least 1: an empty object has one empty chunk).
    pub fn chunk_count(&self) -> u64 {
        self.chunks
    }
    /// Total sealed length: `40 + plaintext_len + 16 * chunk_count`.
    pub fn sealed_len(&self) -> u64 {
        self.sealed_len
    }
    /// Whether chunk `i` is the last one.
    pub fn is_last(&self, i: u64) -> bool {
        i + 1 == self.chunks
    }
    /// Plaintext byte range of chunk `i`.
    ///
    /// # Panics
    /// If `i >= chunk_count()`.
    pub fn chunk_plaintext_range(&self, i: u64) -> Range<u64> {
        assert!(i < self.chunks, "chunk index {i} out of range ({} chunks)", self.chunks);
        let start = i * u64::from(self.chunk_size);
        start..(start + u64::from(self.chunk_size)).min(self.plaintext_len)
    }
    /// Byte range of chunk `i`'s ciphertext (with tag) inside the sealed object:
    /// it starts at `40 + i * (chunk_size + 16)`.
    ///
    /// # Panics
    /// If `i >= chunk_count()`.
    pub fn chunk_range(&self, i: u64) -> Range<u64> {
        let start = HEADER_LEN as u64 + i * (u64::from(self.chunk_size) + TAG_LEN as u64);
        let p = self.chunk_plaintext_range(i);
        start..start + (p.end - p.start) + TAG_LEN as u64
    }
    /// Byte range inside the sealed object of the consecutive chunks `chunks` (e.g. from
    /// [`ObjectLayout::chunks_for_plaintext`]), for one HTTP range request. Empty if `chunks` is.
    ///
    /// # Panics
    /// If `chunks.end > chunk_count()`.
    pub fn sealed_range_for_chunks(&self, chunks: Range<u64>) -> Range<u64> {
        if chunks.start >= chunks.end {
            return 0..0;
        }
        self.chunk_range(chunks.start).start..self.chunk_range(chunks.end - 1).end
    }
    /// Indices of the chunks covering plaintext bytes `range` (clamped to the object).
    pub fn chunks_for_plaintext(&self, range: Range<u64>) -> Range<u64> {
        let end = range.end.min(self.plaintext_len);
        if range.start >= end {
            return 0..0;
        }
        let cs = u64::from(self.chunk_size);
        range.start / cs..end.div_ceil(cs)
    }
}

/// The 12-byte chunk nonce: 11-byte big-endian counter `i` then the last-chunk flag (0x01/0x00).
pub fn chunk_nonce(i: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&i.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// Opening of one AES-256-GCM chunk; the browser implements it with WebCrypto.
#[allow(async_fn_in_trait)]
pub trait ChunkCipher {
    /// AES-256-GCM decryption of `ciphertext || tag`. Fails with [`SealError::Tampered`] when the
    /// tag does not verify.
    ///
    /// The plaintext is written into `out`, which is exactly `ciphertext.len() - 16` bytes: the
    /// caller owns (and zeroizes) the only plaintext buffer, so nothing is copied twice. On error
    /// `out` may hold anything and must not be used.
    async fn open_chunk_into(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
        out: &mut [u8],
    ) -> Result<(), SealError>;

    /// SHA-256 of a whole sealed object (checked against the signed manifest). The default is the
    /// `sha2` crate; a backend with a faster native digest (WebCrypto) overrides it.
    async fn sha256(&self, data: &[u8]) -> Result<[u8; 32], SealError> {
        use sha2::Digest as _;
        Ok(sha2::Sha256::digest(data).into())
    }
}

/// A study key in the custody of a crypto backend: it derives each object's AES-256-GCM cipher
/// (HKDF-SHA256, salt = object id, info = "obscura/v1/object-key"). Natively it is the
/// [`StudyKey`] itself; in the browser a non-extractable WebCrypto HKDF key.
#[allow(async_fn_in_trait)]
pub trait StudyKeyHandle {
    /// The cipher type.
    type Cipher: ChunkCipher;
    /// The cipher of object `id`.
    async fn object_cipher(&self, id: &ObjectId) -> Result<Self::Cipher, SealError>;
}

/// A crypto backend that takes custody of unwrapped study keys (the joint where native and
/// browser AEAD differ).
#[allow(async_fn_in_trait)]
pub trait AeadBackend {
    /// The handle the study key becomes.
    type Key: StudyKeyHandle;
    /// Takes the key; the caller's copy is consumed (and so zeroised).
    async fn import_study_key(&self, key: StudyKey) -> Result<Self::Key, SealError>;
}

/// The native backend (the `aes-gcm` crate): the handle is the [`StudyKey`] itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCryptoAead;

/// The native [`ChunkCipher`]; the key schedule is zeroized on drop.
pub struct RustCryptoCipher(Aes256Gcm);

impl ChunkCipher for RustCryptoCipher {
    async fn open_chunk_into(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
        out: &mut [u8],
    ) -> Result<(), SealError> {
        let n = ciphertext.len().checked_sub(TAG_LEN).filter(|n| *n == out.len());
        let Some(n) = n else { return Err(SealError::Tampered { what: "object chunk" }) };
        out.copy_from_slice(&ciphertext[..n]);
        self.0
            .decrypt_in_place_detached(Nonce::from_slice(nonce), aad, out, ciphertext[n..].into())
            .map_err(|_| SealError::Tampered { what: "object chunk" })
    }
}

impl StudyKeyHandle for StudyKey {
    type Cipher = RustCryptoCipher;
    async fn object_cipher(&self, id: &ObjectId) -> Result<RustCryptoCipher, SealError> {
        Ok(RustCryptoCipher(Aes256Gcm::new((&*self.object_key(id)).into())))
    }
}

impl AeadBackend for RustCryptoAead {
    type Key = StudyKey;
    async fn import_study_key(&self, key: StudyKey) -> Result<StudyKey, SealError> {
        Ok(key)
    }
}

/// Seals `plaintext` as object `id` under the study key (native; deterministic given its inputs).
///
/// Fails only if `chunk_size` is 0 or above 16 MiB.
pub fn seal_object(key: &StudyKey, id: &ObjectId, plaintext: &[u8], chunk_size: u32) -> Result<Vec<u8>, SealError> {
    let header = ObjectHeader { chunk_size, object_id: *id, plaintext_len: plaintext.len() as u64 };
    let layout = header.layout()?;
    let aad = header.to_bytes();
    let okey = key.object_key(id);
    let aead = Aes256Gcm::new((&*okey).into());
    let mut out = Vec::with_capacity(usize::try_from(layout.sealed_len()).expect("fits: plaintext is in memory"));
    out.extend_from_slice(&aad);
    for i in 0..layout.chunk_count() {
        let r = layout.chunk_plaintext_range(i);
        let start = out.len();
        out.extend_from_slice(&plaintext[r.start as usize..r.end as usize]);
        let tag = aead
            .encrypt_in_place_detached(Nonce::from_slice(&chunk_nonce(i, layout.is_last(i))), &aad, &mut out[start..])
            .expect("AES-GCM chunk within limits");
        out.extend_from_slice(&tag);
    }
    debug_assert_eq!(out.len() as u64, layout.sealed_len());
    Ok(out)
}

/// Opens a sealed object chunk by chunk (streaming, or random access to byte-ranged chunks).
///
/// Construction checks the header's id against the expected one; each chunk then authenticates
/// the whole header (it is the AAD), its own index and whether it is the last one.
pub struct ObjectOpener<C: ChunkCipher> {
    header: ObjectHeader,
    header_bytes: [u8; HEADER_LEN],
    layout: ObjectLayout,
    cipher: C,
}

impl<C: ChunkCipher> ObjectOpener<C> {
    /// Parses the header (the first 40 bytes of `header`), checks its object id against
    /// `expected_id` ([`SealError::ObjectSwapped`]) and imports the object key.
    pub async fn new<K: StudyKeyHandle<Cipher = C>>(
        key: &K,
        expected_id: &ObjectId,
        header: &[u8],
    ) -> Result<Self, SealError> {
        let h = ObjectHeader::parse(header)?;
        if h.object_id != *expected_id {
            return Err(SealError::ObjectSwapped { expected: *expected_id, found: h.object_id });
        }
        let layout = h.layout()?;
        let cipher = key.object_cipher(expected_id).await?;
        Ok(ObjectOpener { header: h, header_bytes: h.to_bytes(), layout, cipher })
    }

    /// The (not yet authenticated until a chunk opens) header.
    pub fn header(&self) -> &ObjectHeader {
        &self.header
    }

    /// The chunk layout.
    pub fn layout(&self) -> &ObjectLayout {
        &self.layout
    }

    /// Opens chunk `index` from exactly the bytes of [`ObjectLayout::chunk_range`].
    pub async fn open_chunk(&self, index: u64, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let p = self.chunk_plaintext_range_checked(index)?;
        // The header is not authenticated yet: refuse a slice of the wrong length before
        // allocating (and zeroising) the up to 16 MiB it claims for this chunk.
        self.check_ciphertext_len(index, ciphertext)?;
        let mut out = Zeroizing::new(vec![0u8; (p.end - p.start) as usize]);
        self.open_chunk_into(index, ciphertext, &mut out).await?;
        Ok(out)
    }

    /// [`SealError::Truncated`] / [`SealError::Extended`] unless `ciphertext` is exactly chunk
    /// `index`'s byte range (`index` is in range).
    fn check_ciphertext_len(&self, index: u64, ciphertext: &[u8]) -> Result<(), SealError> {
        let r = self.layout.chunk_range(index);
        let (want, got) = (r.end - r.start, ciphertext.len() as u64);
        match got.cmp(&want) {
            core::cmp::Ordering::Less => Err(SealError::Truncated),
            core::cmp::Ordering::Greater => Err(SealError::Extended),
            core::cmp::Ordering::Equal => Ok(()),
        }
    }

    fn chunk_plaintext_range_checked(&self, index: u64) -> Result<Range<u64>, SealError> {
        if index >= self.layout.chunk_count() {
            return Err(SealError::Malformed(format!(
                "chunk index {index} out of range (object has {} chunks)",
                self.layout.chunk_count()
            )));
        }
        Ok(self.layout.chunk_plaintext_range(index))
    }

    /// Opens chunk `index` into `out`, which must be exactly the chunk's plaintext length
    /// ([`ObjectLayout::chunk_plaintext_range`]). On error `out` holds nothing usable.
    pub async fn open_chunk_into(&self, index: u64, ciphertext: &[u8], out: &mut [u8]) -> Result<(), SealError> {
        let p = self.chunk_plaintext_range_checked(index)?;
        if out.len() as u64 != p.end - p.start {
            return Err(SealError::Malformed("output buffer does not match the chunk's plaintext length".into()));
        }
        self.check_ciphertext_len(index, ciphertext)?;
        let nonce = chunk_nonce(index, self.layout.is_last(index));
        self.cipher.open_chunk_into(&nonce, &self.header_bytes, ciphertext, out).await.map_err(|e| match e {
            SealError::Tampered { .. } => SealError::Tampered { what: "object chunk" },
            other => other,
        })
    }
}

impl<C: ChunkCipher> ObjectOpener<C> {
    fn with_cipher(cipher: C, expected_id: &ObjectId, header: &[u8]) -> Result<Self, SealError> {
        let h = ObjectHeader::parse(header)?;
        if h.object_id != *expected_id {
            return Err(SealError::ObjectSwapped { expected: *expected_id, found: h.object_id });
        }
        Ok(ObjectOpener { header: h, header_bytes: h.to_bytes(), layout: h.layout()?, cipher })
    }
}

/// Opens a sealed object while its bytes arrive (a streamed download, possibly resumed by byte
/// range), decrypting each chunk as soon as it is complete.
///
/// It knows the length and SHA-256 the signed manifest gives for the object, refuses a byte past
/// that length at once, and releases the plaintext only from [`ObjectReceiver::finish`], after every
/// chunk authenticated and the digest (the backend's, [`ChunkCipher::sha256`]) matched: a caller
/// never sees part of an object.
///
/// ```
/// use obscura_seal::{seal_object, ObjectId, ObjectReceiver, StudyKey};
/// use sha2::{Digest, Sha256};
/// # pollster::block_on(async {
/// let key = StudyKey::from_bytes([7; 32]);
/// let id = ObjectId([1; 16]);
/// let sealed = seal_object(&key, &id, &[42u8; 100_000], 4096).unwrap();
/// let digest: [u8; 32] = Sha256::digest(&sealed).into();
/// let mut rx = ObjectReceiver::new(&key, id, sealed.len() as u64, digest).await.unwrap();
/// for piece in sealed.chunks(1000) {
///     rx.push(piece).await.unwrap();
/// }
/// assert_eq!(rx.received(), sealed.len() as u64);
/// assert_eq!(&rx.finish().await.unwrap()[..], &[42u8; 100_000][..]);
/// # });
/// ```
pub struct ObjectReceiver<C: ChunkCipher> {
    id: ObjectId,
    expected_len: u64,
    expected_digest: [u8; 32],
    /// Every byte received (the digest is taken over them at the end).
    sealed: Vec<u8>,
    /// Where the next unopened chunk starts in `sealed`.
    opened_to: usize,
    cipher: Option<C>,
    opener: Option<ObjectOpener<C>>,
    next_chunk: u64,
    plaintext: Zeroizing<Vec<u8>>,
}

impl<C: ChunkCipher> ObjectReceiver<C> {
    /// Prepares to receive object `id`, whose sealed form the signed manifest says is
    /// `expected_len` bytes with SHA-256 `expected_digest`.
    pub async fn new<K: StudyKeyHandle<Cipher = C>>(
        key: &K,
        id: ObjectId,
        expected_len: u64,
        expected_digest: [u8; 32],
    ) -> Result<Self, SealError> {
        let capacity = usize::try_from(expected_len).map_err(|_| SealError::Malformed("object too large".into()))?;
        Ok(ObjectReceiver {
            id,
            expected_len,
            expected_digest,
            sealed: Vec::with_capacity(capacity),
            opened_to: 0,
            cipher: Some(key.object_cipher(&id).await?),
            opener: None,
            next_chunk: 0,
            plaintext: Zeroizing::new(Vec::new()),
        })
    }

    /// Bytes received so far: where a resumed download continues (`Range: bytes=N-`).
    pub fn received(&self) -> u64 {
        self.sealed.len() as u64
    }

    /// The sealed length the manifest promises.
    pub fn expected_len(&self) -> u64 {
        self.expected_len
    }

    /// Takes the next bytes of the sealed object and opens every chunk they complete.
    pub async fn push(&mut self, bytes: &[u8]) -> Result<(), SealError> {
        if self.received() + bytes.len() as u64 > self.expected_len {
            return Err(SealError::Extended);
        }
        self.sealed.extend_from_slice(bytes);
        if self.opener.is_none() {
            if self.sealed.len() < HEADER_LEN {
                return Ok(());
            }
            let cipher = self.cipher.take().expect("the cipher waits for the header");
            let opener = ObjectOpener::with_cipher(cipher, &self.id, &self.sealed[..HEADER_LEN])?;
            // The header is not authenticated yet: allocate only what the signed manifest vouches for.
            if opener.layout().sealed_len() != self.expected_len {
                return Err(SealError::DigestMismatch { object: self.id });
            }
            let total = usize::try_from(opener.layout().plaintext_len())
                .map_err(|_| SealError::Malformed("object too large".into()))?;
            self.plaintext = Zeroizing::new(vec![0u8; total]);
            self.opened_to = HEADER_LEN;
            self.opener = Some(opener);
        }
        let opener = self.opener.as_ref().expect("set above");
        let layout = *opener.layout();
        while self.next_chunk < layout.chunk_count() {
            let r = layout.chunk_range(self.next_chunk);
            if (self.sealed.len() as u64) < r.end {
                break;
            }
            let p = layout.chunk_plaintext_range(self.next_chunk);
            let out = &mut self.plaintext[p.start as usize..p.end as usize];
            opener.open_chunk_into(self.next_chunk, &self.sealed[r.start as usize..r.end as usize], out).await?;
            self.opened_to = r.end as usize;
            self.next_chunk += 1;
        }
        Ok(())
    }

    /// The plaintext, once every byte arrived, every chunk authenticated and the digest matched.
    pub async fn finish(self) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let Some(opener) = self.opener.as_ref() else { return Err(SealError::Truncated) };
        let complete = self.next_chunk == opener.layout().chunk_count() && self.opened_to == self.sealed.len();
        if self.received() < self.expected_len || !complete {
            return Err(SealError::Truncated);
        }
        let digest = opener.cipher.sha256(&self.sealed).await?;
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&digest[..], &self.expected_digest[..])) {
            return Err(SealError::DigestMismatch { object: self.id });
        }
        Ok(self.plaintext)
    }
}

/// Opens a whole sealed object: id must equal `expected_id`, the length must match the header,
/// and every chunk must authenticate. On any failure nothing is returned.
pub async fn open_object<K: StudyKeyHandle>(
    key: &K,
    expected_id: &ObjectId,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let opener = ObjectOpener::new(key, expected_id, sealed).await?;
    let layout = *opener.layout();
    let have = sealed.len() as u64;
    if have != layout.sealed_len() {
        // Tell a header that lies about the length (tampering) from a genuine header whose object
        // was cut or extended: only an authentic header lets chunk 0 open.
        let r0 = layout.chunk_range(0);
        if have < r0.end {
            return Err(SealError::Truncated);
        }
        opener.open_chunk(0, &sealed[r0.start as usize..r0.end as usize]).await?;
        return Err(if have < layout.sealed_len() { SealError::Truncated } else { SealError::Extended });
    }
    let total = usize::try_from(layout.plaintext_len()).map_err(|_| SealError::Malformed("object too large".into()))?;
    // One plaintext buffer, decrypted into in place (no per-chunk copies), a few chunks at a time.
    let mut out = Zeroizing::new(vec![0u8; total]);
    let mut rest: &mut [u8] = &mut out[..];
    let n = layout.chunk_count();
    let mut i = 0;
    while i < n {
        let end = (i + CHUNKS_IN_FLIGHT).min(n);
        let mut batch = Vec::with_capacity((end - i) as usize);
        for j in i..end {
            let p = layout.chunk_plaintext_range(j);
            let (dst, tail) = core::mem::take(&mut rest).split_at_mut((p.end - p.start) as usize);
            rest = tail;
            let r = layout.chunk_range(j);
            batch.push(Box::pin(opener.open_chunk_into(j, &sealed[r.start as usize..r.end as usize], dst)));
        }
        all_ok(batch).await?;
        i = end;
    }
    Ok(out)
}

/// Chunks `open_object` keeps outstanding: WebCrypto decrypts off the main thread, so while one
/// chunk is copied into WASM memory the next ones are being decrypted.
const CHUNKS_IN_FLIGHT: u64 = 4;

/// Drives the futures together; the first error wins (the others are dropped).
async fn all_ok<F: Future<Output = Result<(), SealError>>>(mut futures: Vec<Pin<Box<F>>>) -> Result<(), SealError> {
    let mut done = vec![false; futures.len()];
    core::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, d) in futures.iter_mut().zip(done.iter_mut()).filter(|(_, d)| !**d) {
            match f.as_mut().poll(cx) {
                Poll::Ready(Ok(())) => *d = true,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => pending = true,
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(Ok(()))
        }
    })
    .await
}

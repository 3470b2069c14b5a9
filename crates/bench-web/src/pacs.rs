//! `cargo xtask bench pacs`: the viewer's own loading path, run from a bench page against the
//! test PACS, with and without decryption (`www/pacs.js` calls these).
//!
//! Every piece that touches the network, the cipher or the codec is the viewer's code, called the
//! way `crates/viewer/src/app.rs` (`open_study`, `loader`, `load_slice`) calls it:
//!
//! - listing and the manifest: `obscura_dicomweb::client::list_studies` / `fetch_sealed` through
//!   the viewer's retrying `net::StoreClient`, `obscura_seal::open_manifest`;
//! - [`Path::Encrypted`]: `VerifiedManifest::unlock` with the viewer's `WebCryptoIdentity` and
//!   `WebCryptoAead` (timed, as the viewer's clock starts before it), then per slice
//!   `receive_object` + `net::stream_object` (fetch streamed from Orthanc's raw endpoint, each
//!   256 KiB chunk decrypted by WebCrypto as it arrives, digest checked) and
//!   `DecodePool::decode` (the viewer's decode workers running the viewer's own wasm module and
//!   `www/decode-worker.js`);
//! - [`Path::Plain`]: per slice `net::get_answer` on the plaintext DICOM file (the same fetch
//!   and body-reading code, no-store, same retries) and the same `DecodePool::decode`;
//! - [`Path::Download`]: per sealed object `net::get_answer` of its raw URL, bytes dropped;
//!   [`Path::DownloadPlain`]: the same on the plaintext files (what the server and transport
//!   cost, apart from the browser's work).
//!
//! As in the viewer: [`LOADERS`] loaders, taking slices nearest to slice 0 first (ascending), each
//! downloading the next slice while the previous one is finished (digest, decode) through the
//! viewer's `pipeline::fetch_ahead`; the decode pool started lazily on the first decode with one
//! worker per spare core (at most one per loader). What the bench does not do and the viewer does: draw the first slice (the viewer
//! stamps its first-image time before the upload, so that is not in its number either), DOM
//! progress updates.
#![cfg(target_arch = "wasm32")]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures_util::future::join_all;
use obscura_dicomweb::client;
use obscura_dicomweb::layout::{SealedSource, Store};
use obscura_seal::{ObjectId, ObjectReceiver, PublicKey, VerifiedManifest};
use obscura_viewer::decoder::{self, Decoded, LOADERS};
use obscura_viewer::net::{self, FetchError, StoreClient};
use obscura_viewer::pipeline::{self, Fetched};
use obscura_viewer::webcrypto::{js_object, WebCryptoAead, WebCryptoCipher, WebCryptoIdentity};
use wasm_bindgen::prelude::*;
use web_sys::CryptoKey;

/// The sealed study as listed from the PACS.
struct Prepared {
    manifest: Rc<VerifiedManifest>,
    identity: Rc<WebCryptoIdentity>,
    /// Per slice, in the order of the study index's first series with images.
    slices: Vec<(ObjectId, SealedSource)>,
}

thread_local! {
    static PREPARED: RefCell<Option<Rc<Prepared>>> = const { RefCell::new(None) };
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}

fn now_secs() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

fn js_err(e: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&e.to_string())
}

/// Sets the bearer token the viewer's fetch code sends to the PACS.
#[wasm_bindgen(js_name = pacsSetToken)]
pub fn set_token(token: &str) {
    net::set_authorization(Some(format!("Bearer {token}")));
}

/// Lists the PACS as the viewer does, opens the one sealed study's newest manifest (checked
/// against the organisation key `org_sec1`) with `identity` (an ECDH CryptoKey of a recipient and
/// its SEC1 public key), and returns `{slices, rawUrls: [...]}`. Untimed.
#[wasm_bindgen(js_name = pacsPrepare)]
pub async fn prepare(
    dicomweb: String,
    raw: String,
    org_sec1: Vec<u8>,
    private: CryptoKey,
    public_sec1: Vec<u8>,
) -> Result<JsValue, JsValue> {
    let store = Store::dicomweb(&dicomweb).with_orthanc_raw(&raw);
    let org = PublicKey::from_sec1(&org_sec1).map_err(js_err)?;
    let public = PublicKey::from_sec1(&public_sec1).map_err(js_err)?;
    let identity = Rc::new(WebCryptoIdentity::new(private, public));
    let notify = |_: Option<String>| {};
    let http = StoreClient { notify: &notify };
    let listed = client::list_studies(&http, &store).await.map_err(js_err)?;
    let [study] = listed.as_slice() else {
        return Err(js_err(format!("the PACS lists {} sealed studies; the bench wants exactly one", listed.len())));
    };
    let m = &study.manifest;
    let bytes =
        client::fetch_sealed(&http, &store, &m.study_uid, &m.series_uid, &m.sop_instance_uid).await.map_err(js_err)?;
    let manifest = obscura_seal::open_manifest(&bytes, &org, now_secs(), None).map_err(js_err)?;
    let keys = manifest.unlock(identity.as_ref(), &WebCryptoAead).await.map_err(js_err)?;
    let index = manifest.index(&keys).await.map_err(js_err)?;
    drop(keys);
    let series = index.series.iter().find(|s| !s.instances.is_empty()).ok_or("the study has no images")?;
    let mut slices = Vec::new();
    for inst in &series.instances {
        let entry = manifest.object(&inst.object_id).ok_or("an index entry is not in the manifest")?;
        let source = store.sealed_source_parts(&study.study_uid, &entry.series_uid, &entry.sop_instance_uid);
        slices.push((inst.object_id, source));
    }
    let urls: js_sys::Array = slices.iter().map(|(_, s)| JsValue::from_str(s.url())).collect();
    let out = js_object(&[("slices", (slices.len() as u32).into()), ("rawUrls", urls.into())]);
    PREPARED.with(|p| *p.borrow_mut() = Some(Rc::new(Prepared { manifest: Rc::new(manifest), identity, slices })));
    Ok(out.into())
}

/// Starts the decode workers now (the viewer starts them on its first decode): what the viewer
/// would gain by starting them at boot, before the reader clicks a study.
#[wasm_bindgen(js_name = pacsStartDecodeWorkers)]
pub fn start_decode_workers() -> bool {
    decoder::shared_pool().is_some()
}

/// What one timed run does per slice.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    /// Sealed object: streamed fetch + WebCrypto decryption + digest, then decode.
    Encrypted,
    /// Plaintext DICOM file: fetch, then decode.
    Plain,
    /// Sealed object: fetch only.
    Download,
    /// Plaintext DICOM file: fetch only.
    DownloadPlain,
}

fn fetch_error(e: FetchError) -> String {
    e.to_string()
}

/// One timed run over every slice: `path` is `"encrypted"`, `"plain"`, `"download"` or
/// `"download-plain"` (`plain_urls` gives each slice's plaintext DICOM URL, in slice order, for
/// the plaintext paths). Resolves to `{firstMs, firstFetchedMs, completeMs, unlockMs, bytes,
/// slices, pixelsChecksum, decoded}` (`firstFetchedMs`: slice 0's plaintext in hand, before its
/// decode); rejects on the first failed slice.
#[wasm_bindgen(js_name = pacsRun)]
pub async fn run(path: String, plain_urls: Vec<String>) -> Result<JsValue, JsValue> {
    let path = match path.as_str() {
        "encrypted" => Path::Encrypted,
        "plain" => Path::Plain,
        "download" => Path::Download,
        "download-plain" => Path::DownloadPlain,
        other => return Err(js_err(format!("unknown path {other:?}"))),
    };
    let p = PREPARED.with(|p| p.borrow().clone()).ok_or("call pacsPrepare first")?;
    let n = p.slices.len();
    if matches!(path, Path::Plain | Path::DownloadPlain) && plain_urls.len() != n {
        return Err(js_err(format!("{} plaintext URLs for {n} slices", plain_urls.len())));
    }
    let t0 = now_ms();
    // The viewer unwraps the study key when the study is opened; the key lives while it is open.
    let keys = match path {
        Path::Encrypted => Some(Rc::new(p.manifest.unlock(p.identity.as_ref(), &WebCryptoAead).await.map_err(js_err)?)),
        _ => None,
    };
    let unlock_ms = now_ms() - t0;
    let next = Cell::new(0usize);
    let first_ms = Cell::new(None::<f64>);
    let first_fetched_ms = Cell::new(None::<f64>);
    let bytes = Cell::new(0u64);
    let checksum = Cell::new(0u64);
    let decoded = Cell::new(0usize);
    let failure = RefCell::new(None::<String>);
    let notify = |_: Option<String>| {};
    let wanted = || failure.borrow().is_none();
    // Plain references, so that each loader future borrows from this frame, not from the closure.
    let (next, first_ms, first_fetched_ms, bytes, checksum, decoded, failure_ref) =
        (&next, &first_ms, &first_fetched_ms, &bytes, &checksum, &decoded, &failure);
    // Slice 0's plaintext is in hand (fetched, and decrypted when sealed), before its decode.
    let fetched = move |i: usize| {
        if i == 0 {
            first_fetched_ms.set(Some(now_ms() - t0));
        }
    };
    let (p, keys_ref, plain_urls, notify, wanted) = (&p, keys.as_ref(), &plain_urls, &notify, &wanted);
    let fail = move |i: usize, e: String| {
        failure_ref.borrow_mut().get_or_insert(format!("slice {}: {e}", i + 1));
    };
    // What a fetch hands to its finish: the sealed object's receiver, or the plaintext file.
    enum Got {
        Sealed(Box<ObjectReceiver<WebCryptoCipher>>),
        Plain(Vec<u8>),
        Dropped,
    }
    let fetch_next = move || {
        if failure_ref.borrow().is_some() {
            return None;
        }
        let i = next.get();
        if i >= n {
            return None;
        }
        next.set(i + 1);
        Some(async move {
            let (object_id, source) = &p.slices[i];
            let got: Result<Got, String> = match path {
                Path::Encrypted => {
                    async {
                        let keys = keys_ref.unwrap();
                        let rx = p.manifest.receive_object(keys, object_id).await.map_err(|e| e.to_string())?;
                        let counted = Cell::new(0u64);
                        let progress = |received: u64, _total: u64| {
                            bytes.set(bytes.get() + received.saturating_sub(counted.replace(received)));
                        };
                        let rx =
                            net::stream_object(source, rx, &progress, notify, wanted).await.map_err(fetch_error)?;
                        Ok(Got::Sealed(Box::new(rx)))
                    }
                    .await
                }
                Path::Plain | Path::Download | Path::DownloadPlain => {
                    let url = if path == Path::Download { source.url() } else { plain_urls[i].as_str() };
                    match net::get_answer(url, None, notify).await {
                        Ok(answer) => {
                            bytes.set(bytes.get() + answer.body.len() as u64);
                            Ok(if path == Path::Plain { Got::Plain(answer.body) } else { Got::Dropped })
                        }
                        Err(e) => Err(fetch_error(e)),
                    }
                }
            };
            match got {
                Ok(got) => Fetched::Object((i, got)),
                Err(e) => {
                    fail(i, e);
                    Fetched::Stop
                }
            }
        })
    };
    let finish = move |(i, got): (usize, Got)| async move {
        let result: Result<Option<Decoded>, String> = match got {
            Got::Sealed(rx) => match net::finish_object(*rx).await {
                Ok(plain) => {
                    fetched(i);
                    decoder::decode(&plain).await.map(Some)
                }
                Err(e) => Err(fetch_error(e)),
            },
            Got::Plain(body) => {
                fetched(i);
                decoder::decode(&body).await.map(Some)
            }
            Got::Dropped => {
                fetched(i);
                Ok(None)
            }
        };
        match result {
            Ok(d) => {
                if let Some(d) = d {
                    // Touch the result (and prove both paths decoded the same pixels).
                    let values = d.image.0.values16(0).unwrap_or_default();
                    let sum = values.iter().fold(0u64, |a, &v| a.wrapping_mul(31).wrapping_add(v as u64));
                    checksum.set(checksum.get().wrapping_add(sum.wrapping_mul(i as u64 + 1)));
                    decoded.set(decoded.get() + 1);
                }
                if i == 0 {
                    first_ms.set(Some(now_ms() - t0));
                }
            }
            Err(e) => fail(i, e),
        }
    };
    let loader = || pipeline::fetch_ahead(fetch_next, finish);
    join_all((0..LOADERS).map(|_| loader())).await;
    let complete_ms = now_ms() - t0;
    let (first_ms, first_fetched_ms, bytes, checksum, decoded) =
        (first_ms.get(), first_fetched_ms.get(), bytes.get(), checksum.get(), decoded.get());
    drop(keys);
    if let Some(e) = failure.into_inner() {
        return Err(js_err(e));
    }
    Ok(js_object(&[
        ("firstMs", first_ms.unwrap_or(f64::NAN).into()),
        ("firstFetchedMs", first_fetched_ms.unwrap_or(f64::NAN).into()),
        ("completeMs", complete_ms.into()),
        ("unlockMs", unlock_ms.into()),
        ("bytes", (bytes as f64).into()),
        ("slices", (n as u32).into()),
        ("decoded", (decoded as u32).into()),
        // as a hex string: a u64 does not fit a JS number
        ("pixelsChecksum", format!("{checksum:016x}").into()),
    ])
    .into())
}

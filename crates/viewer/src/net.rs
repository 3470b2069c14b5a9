//! DICOMweb over `fetch`: credentials for the store (in memory only), retries with backoff,
//! and sealed objects streamed into an [`ObjectReceiver`] chunk by chunk, resumed by byte range
//! when a transfer breaks. Everything fetched is ciphertext or public indexes.

use js_sys::{Promise, Reflect, Uint8Array};
use obscura_dicomweb::client::{self, Answer, HttpClient};
use obscura_dicomweb::layout::{SealedSource, WADO_ACCEPT};
use obscura_dicomweb::retry::{self, Backoff, Resumption, StatusClass};
use obscura_dicomweb::DicomWebError;
use obscura_seal::{ChunkCipher, ObjectReceiver};
use std::cell::{Cell, RefCell};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, ReadableStreamDefaultReader, RequestInit, Response};

/// A transfer that receives no byte for this long is abandoned and retried.
const STALL_MS: i32 = 15_000;
/// Attempts at a request that only ever fails transiently before giving up (about a minute).
const MAX_TRANSIENT_ATTEMPTS: u32 = 12;

thread_local! {
    /// The `Authorization` header value for the store, as the reader typed it. Memory only.
    static AUTHORIZATION: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Bumped whenever the credentials change, so waiting loaders know to try again.
    static AUTH_GENERATION: Cell<u32> = const { Cell::new(0) };
}

/// Sets (or clears) the credentials sent to the store.
pub fn set_authorization(value: Option<String>) {
    AUTHORIZATION.with(|a| *a.borrow_mut() = value);
    AUTH_GENERATION.with(|g| g.set(g.get().wrapping_add(1)));
}

/// Whether the store's credentials are held (test state: Log out forgets them).
pub fn has_authorization() -> bool {
    AUTHORIZATION.with(|a| a.borrow().is_some())
}

/// Which credentials the store has been given (changes each time they are set).
pub fn auth_generation() -> u32 {
    AUTH_GENERATION.with(|g| g.get())
}

/// Why a fetch failed, as the viewer must react to it.
#[derive(Debug)]
pub enum FetchError {
    /// The store wants (other) credentials: HTTP 401 or 403.
    Auth(String),
    /// The store kept failing transiently (5xx, resets, stalls) past the retry budget.
    Unreachable(String),
    /// Retrying cannot help (404, a malformed answer).
    Fatal(String),
    /// The bytes did not authenticate: nothing of the object may be shown.
    Integrity(String),
    /// The caller no longer wants the object.
    Cancelled,
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Auth(m) => write!(f, "the image store refused the credentials: {m}"),
            FetchError::Unreachable(m) => write!(f, "the image store is not answering ({m})"),
            FetchError::Fatal(m) => write!(f, "{m}"),
            FetchError::Integrity(m) => write!(f, "integrity check failed ({m}); nothing of this image is shown"),
            FetchError::Cancelled => write!(f, "cancelled"),
        }
    }
}

/// Resolves after `ms` milliseconds.
pub async fn sleep_ms(ms: u32) {
    let promise = Promise::new(&mut |resolve, _| {
        let _ = web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms.min(i32::MAX as u32) as i32);
    });
    let _ = JsFuture::from(promise).await;
}

struct Started {
    response: Response,
    controller: AbortController,
}

/// Starts one request; `Ok` whatever the status (the caller classifies it).
async fn start(
    url: &str,
    method: &str,
    accept: Option<&str>,
    range: Option<&str>,
    json_body: Option<&str>,
) -> Result<Started, String> {
    let init = RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(|_| "cannot build headers".to_string())?;
    if let Some(a) = accept {
        let _ = headers.set("Accept", a);
    }
    if let Some(r) = range {
        let _ = headers.set("Range", r);
    }
    if let Some(auth) = AUTHORIZATION.with(|a| a.borrow().clone()) {
        let _ = headers.set("Authorization", &auth);
    }
    if let Some(body) = json_body {
        init.set_body(&body.into());
        let _ = headers.set("Content-Type", "application/json");
    }
    init.set_headers(&headers);
    // Ciphertext needs no disk cache; a memory budget is the viewer's to keep.
    init.set_cache(web_sys::RequestCache::NoStore);
    let controller = AbortController::new().map_err(|_| "cannot create an AbortController".to_string())?;
    init.set_signal(Some(&controller.signal()));
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|e| format!("network error: {}", crate::webcrypto::js_error(e)))?;
    Ok(Started { response: resp.unchecked_into(), controller })
}

/// The next piece of a body: `Ok(None)` at its end, `Err` when the transfer broke or stalled.
async fn read_piece(
    reader: &ReadableStreamDefaultReader,
    controller: &AbortController,
) -> Result<Option<Vec<u8>>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let timer = Cell::new(None);
    let stall = Promise::new(&mut |resolve, _| {
        let id = window.set_timeout_with_callback_and_timeout_and_arguments_1(
            &resolve,
            STALL_MS,
            &JsValue::from_str("stall"),
        );
        timer.set(id.ok());
    });
    let race = Promise::race(&js_sys::Array::of2(&reader.read(), &stall));
    let v = JsFuture::from(race).await;
    // One timer per piece: clear it, or thousands of dead timers pile up during a study.
    if let Some(id) = timer.get() {
        window.clear_timeout_with_handle(id);
    }
    let v = v.map_err(|e| format!("transfer interrupted: {}", crate::webcrypto::js_error(e)))?;
    if v.as_string().as_deref() == Some("stall") {
        controller.abort();
        return Err(format!("no data for {} s", STALL_MS / 1000));
    }
    if Reflect::get(&v, &"done".into()).ok().and_then(|d| d.as_bool()).unwrap_or(true) {
        return Ok(None);
    }
    let value = Reflect::get(&v, &"value".into()).map_err(|_| "unreadable body".to_string())?;
    Ok(Some(value.unchecked_into::<Uint8Array>().to_vec()))
}

fn body_reader(resp: &Response) -> Result<ReadableStreamDefaultReader, String> {
    let body = resp.body().ok_or("the answer has no body")?;
    Ok(body.get_reader().unchecked_into())
}

/// Reads a whole body (bounded by stalls).
async fn read_all(started: &Started) -> Result<Vec<u8>, String> {
    let reader = body_reader(&started.response)?;
    let mut out = Vec::new();
    while let Some(piece) = read_piece(&reader, &started.controller).await? {
        out.extend_from_slice(&piece);
    }
    Ok(out)
}

fn error_detail(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]).trim().to_string();
    if text.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {text}")
    }
}

/// Waits before the next attempt and reports it; `Err` when the budget is spent.
async fn pause(
    backoff: &mut Backoff,
    what: &str,
    url: &str,
    notify: &dyn Fn(Option<String>),
) -> Result<(), FetchError> {
    if backoff.failures() >= MAX_TRANSIENT_ATTEMPTS {
        return Err(FetchError::Unreachable(format!("{what}, {} attempts at {url}", backoff.failures())));
    }
    let ms = backoff.next_delay_ms();
    notify(Some(format!("The image store is not answering ({what}); trying again in {:.1} s…", ms as f64 / 1000.0)));
    sleep_ms(ms).await;
    Ok(())
}

/// GETs a whole answer, retrying transient failures. `notify` hears about pauses (`None` once
/// the store answers again).
pub async fn get_answer(
    url: &str,
    accept: Option<&str>,
    notify: &dyn Fn(Option<String>),
) -> Result<Answer, FetchError> {
    let mut backoff = Backoff::default();
    loop {
        let failure = match start(url, "GET", accept, None, None).await {
            Err(e) => e,
            Ok(s) => {
                let status = s.response.status();
                match (retry::classify_status(status), read_all(&s).await) {
                    (StatusClass::Success, Ok(body)) => {
                        if backoff.failures() > 0 {
                            notify(None);
                        }
                        let content_type = s.response.headers().get("Content-Type").ok().flatten();
                        return Ok(Answer { content_type, body });
                    }
                    (StatusClass::Success | StatusClass::Transient, Err(e)) => e,
                    (StatusClass::Transient, Ok(body)) => error_detail(status, &body),
                    (StatusClass::Auth, body) => {
                        return Err(FetchError::Auth(error_detail(status, &body.unwrap_or_default())))
                    }
                    (StatusClass::Fatal, body) => {
                        return Err(FetchError::Fatal(format!(
                            "{url}: {}",
                            error_detail(status, &body.unwrap_or_default())
                        )))
                    }
                }
            }
        };
        pause(&mut backoff, &failure, url, notify).await?;
    }
}

/// The plaintext of a receiver that has every byte: [`ObjectReceiver::finish`] (every chunk
/// authenticated, the signed digest matched), or an integrity error and nothing.
pub async fn finish_object<C: ChunkCipher>(rx: ObjectReceiver<C>) -> Result<zeroize::Zeroizing<Vec<u8>>, FetchError> {
    rx.finish().await.map_err(integrity)
}

fn integrity(e: obscura_seal::SealError) -> FetchError {
    FetchError::Integrity(e.to_string())
}

/// Streams the sealed object at `source` into `rx` and returns it with every byte in, for
/// [`finish_object`]: each chunk is decrypted as soon as it has arrived; a broken transfer
/// continues with `Range: bytes=N-` (or starts over when the store ignores ranges); transient
/// failures are retried with backoff. `progress(received, total)` follows the bytes, `notify` the
/// pauses, `wanted()` is asked before every attempt. The digest is left to the caller so that the
/// next download need not wait for it (`pipeline::fetch_ahead`).
pub async fn stream_object<C: ChunkCipher>(
    source: &SealedSource,
    mut rx: ObjectReceiver<C>,
    progress: &dyn Fn(u64, u64),
    notify: &dyn Fn(Option<String>),
    wanted: &dyn Fn() -> bool,
) -> Result<ObjectReceiver<C>, FetchError> {
    let total = rx.expected_len();
    let mut backoff = Backoff::default();
    loop {
        if !wanted() {
            return Err(FetchError::Cancelled);
        }
        let from = rx.received();
        let failure: String = match source {
            SealedSource::WadoInstance { url, sop } => match get_answer(url, Some(WADO_ACCEPT), notify).await {
                Ok(answer) => {
                    let sealed =
                        client::sealed_from_wado(&answer, sop).map_err(|e| FetchError::Fatal(e.to_string()))?;
                    rx.push(&sealed).await.map_err(integrity)?;
                    progress(rx.received(), total);
                    return Ok(rx);
                }
                Err(e) => return Err(e),
            },
            SealedSource::Raw(url) => {
                let range = (from > 0).then(|| retry::range_from(from));
                match start(url, "GET", None, range.as_deref(), None).await {
                    Err(e) => e,
                    Ok(s) => {
                        let status = s.response.status();
                        match retry::classify_status(status) {
                            StatusClass::Auth => {
                                let body = read_all(&s).await.unwrap_or_default();
                                return Err(FetchError::Auth(error_detail(status, &body)));
                            }
                            StatusClass::Fatal => {
                                let body = read_all(&s).await.unwrap_or_default();
                                return Err(FetchError::Fatal(format!("{url}: {}", error_detail(status, &body))));
                            }
                            StatusClass::Transient => {
                                let body = read_all(&s).await.unwrap_or_default();
                                error_detail(status, &body)
                            }
                            StatusClass::Success => {
                                let content_range = s.response.headers().get("Content-Range").ok().flatten();
                                match retry::resumption(from, status, content_range.as_deref()) {
                                    Resumption::Mismatch => {
                                        s.controller.abort();
                                        format!("HTTP {status} with Content-Range {content_range:?} for bytes {from}-")
                                    }
                                    Resumption::Skip(skip) => {
                                        match receive_body(&s, &mut rx, skip, total, progress).await {
                                            Ok(()) => {
                                                if backoff.failures() > 0 {
                                                    notify(None);
                                                }
                                                return Ok(rx);
                                            }
                                            Err(BodyError::Integrity(e)) => return Err(integrity(e)),
                                            Err(BodyError::Broken(e)) => {
                                                if rx.received() > from {
                                                    backoff.reset(); // progress was made: resume soon
                                                }
                                                e
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        };
        pause(&mut backoff, &failure, source.url(), notify).await?;
    }
}
enum BodyError {
    Integrity(obscura_seal::SealError),
    Broken(String),
}

/// Feeds a body, after its first `skip` bytes (received before), into the receiver until the
/// object is complete (a raw endpoint may add one padding byte: DICOM values have even length).
async fn receive_body<C: ChunkCipher>(
    s: &Started,
    rx: &mut ObjectReceiver<C>,
    mut skip: u64,
    total: u64,
    progress: &dyn Fn(u64, u64),
) -> Result<(), BodyError> {
    let reader = body_reader(&s.response).map_err(BodyError::Broken)?;
    let mut beyond = 0u64;
    loop {
        match read_piece(&reader, &s.controller).await.map_err(BodyError::Broken)? {
            None => {
                return if rx.received() == total {
                    Ok(())
                } else {
                    Err(BodyError::Broken(format!("the answer ended after {} of {total} bytes", rx.received())))
                }
            }
            Some(piece) => {
                let dropped = skip.min(piece.len() as u64) as usize;
                skip -= dropped as u64;
                let piece = &piece[dropped..];
                let room = (total - rx.received()) as usize;
                let (mine, extra) = piece.split_at(room.min(piece.len()));
                beyond += extra.len() as u64;
                if beyond > 1 || extra.iter().any(|&b| b != 0) {
                    return Err(BodyError::Integrity(obscura_seal::SealError::Extended));
                }
                rx.push(mine).await.map_err(BodyError::Integrity)?;
                progress(rx.received(), total);
            }
        }
    }
}

/// POSTs a JSON body once (no retries: each attempt may count, e.g. at a share link's gate) and
/// returns the status and the body, whatever the status.
pub async fn post_json(url: &str, body: &str) -> Result<(u16, Vec<u8>), String> {
    let s = start(url, "POST", None, None, Some(body)).await?;
    let status = s.response.status();
    Ok((status, read_all(&s).await?))
}

/// The plain `fetch` client of the dicomweb crate (same-origin configuration and the demo
/// enrolment API; no retries).
pub struct FetchClient;

impl FetchClient {
    /// GET or POST through fetch, returning the body of a 2xx answer.
    pub async fn request(&self, url: &str, method: &str, json_body: Option<&str>) -> Result<Vec<u8>, DicomWebError> {
        let err = |message: String, status: Option<u16>| DicomWebError::Http { url: url.to_string(), message, status };
        let s = start(url, method, None, None, json_body).await.map_err(|e| err(e, None))?;
        let status = s.response.status();
        let body = read_all(&s).await.map_err(|e| err(e, Some(status)))?;
        if !(200..300).contains(&status) {
            return Err(err(error_detail(status, &body), Some(status)));
        }
        Ok(body)
    }
}

/// The retrying client the store listing goes through.
pub struct StoreClient<'a> {
    /// Hears about pauses while the store does not answer.
    pub notify: &'a dyn Fn(Option<String>),
}

impl HttpClient for StoreClient<'_> {
    async fn get(&self, url: &str, accept: Option<&str>) -> Result<Answer, DicomWebError> {
        get_answer(url, accept, self.notify).await.map_err(|e| DicomWebError::Http {
            url: url.to_string(),
            // what the caller reacts to: credentials (401), or a store that stayed unavailable
            // past the retry budget (503, worth trying again later)
            status: match e {
                FetchError::Auth(_) => Some(401),
                FetchError::Unreachable(_) => Some(503),
                _ => None,
            },
            message: e.to_string(),
        })
    }
}

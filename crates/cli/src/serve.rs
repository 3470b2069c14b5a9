//! `obscura serve`: the viewer bundle, the static store, the gate of passcode share links, and
//! (with `--demo`) the enrolment inbox.
//!
//! The server is trusted for availability only: it never sees a reader's private key, a share
//! link's secret (it stays in the URL fragment) or any cleartext. The gate
//! (`POST /api/share/<link id>/gate`) compares a passcode verifier with the link's gate record and
//! releases the gate secret, a limited number of times (`crate::gates`). In demo mode it also plays the organisation's admin: it certifies an enrolling
//! reader's public key with the demo organisation key and re-wraps the stored studies for it
//! through the escrow key, exactly as `obscura reader certify` + `obscura rewrap` would.

use crate::gates::Gates;
use crate::keyfile::KeysDir;
use crate::store;
use anyhow::{Context, Result};
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use obscura_seal::gate::GateAnswer;
use obscura_seal::{Certificate, EnrolmentRequest, LinkId, PublicKey, Role};
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

pub struct ServeOptions {
    pub keys: PathBuf,
    pub store: PathBuf,
    pub site: PathBuf,
    pub port: u16,
    pub demo: bool,
    /// Read studies from this DICOMweb server instead of the static store.
    pub dicomweb: Option<String>,
    /// Orthanc's raw attribute endpoint in front of that server (byte ranges).
    pub orthanc_raw: Option<String>,
    /// The gates folder (default `KEYS/gates`).
    pub gates: Option<PathBuf>,
    /// Append every request to this file (JSON lines), for tests.
    pub request_log: Option<PathBuf>,
    /// The viewer's idle lock, in minutes (config.json `idle_lock_seconds`).
    pub idle_lock_minutes: u32,
}

struct AppState {
    keys: KeysDir,
    store: PathBuf,
    org: PublicKey,
    demo: bool,
    dicomweb: Option<String>,
    orthanc_raw: Option<String>,
    idle_lock_minutes: u32,
    /// Re-wrapping rewrites manifests: one at a time.
    lock: tokio::sync::Mutex<()>,
    gates: Gates,
    /// Gate records are read, decided and written back one at a time (no two guesses on one count).
    gate_lock: tokio::sync::Mutex<()>,
}

pub fn serve(opts: ServeOptions) -> Result<()> {
    let keys = KeysDir(opts.keys.clone());
    let org = keys.org_public()?;
    if !opts.site.join("index.html").exists() {
        anyhow::bail!("{} has no index.html: build the viewer first (`cargo xtask build-web`)", opts.site.display());
    }
    // The viewer may fetch from its own origin and from the PACS, nowhere else.
    let mut connect = vec!["'self'".to_string()];
    for url in opts.dicomweb.iter().chain(opts.orthanc_raw.iter()) {
        let origin = origin_of(url).with_context(|| {
            format!("{url} is not an http(s) URL; give the DICOMweb base like https://pacs.example/dicom-web")
        })?;
        if !connect.contains(&origin) {
            connect.push(origin);
        }
    }
    let csp = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
         connect-src {}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        connect.join(" ")
    );
    let csp = HeaderValue::from_str(&csp).context("the PACS URL cannot go into a header")?;
    let gates = Gates::new(opts.gates.clone(), &keys);
    let state = Arc::new(AppState {
        keys,
        gates,
        gate_lock: Default::default(),
        store: opts.store.clone(),
        org,
        demo: opts.demo,
        dicomweb: opts.dicomweb.clone(),
        orthanc_raw: opts.orthanc_raw.clone(),
        idle_lock_minutes: opts.idle_lock_minutes,
        lock: Default::default(),
    });
    let app = Router::new()
        .route("/config.json", get(config))
        .route("/api/enrol", post(enrol))
        .route("/api/share/{link}/gate", post(gate))
        .nest_service("/store", ServeDir::new(&opts.store))
        .fallback_service(ServeDir::new(&opts.site))
        .with_state(state)
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, csp))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-cache")));
    let app = match &opts.request_log {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the request log {}", path.display()))?;
            let log = Arc::new(std::sync::Mutex::new(file));
            app.layer(axum::middleware::from_fn(move |req: Request, next: axum::middleware::Next| {
                let log = log.clone();
                async move { log_request(&log, req, next).await }
            }))
        }
        None => app,
    };
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], opts.port));
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        println!("Obscura viewer: http://{addr}/");
        if let Some(pacs) = &opts.dicomweb {
            println!("studies come from the DICOMweb server {pacs}");
        }
        if opts.demo {
            println!("demo mode: readers who open the viewer are enrolled and given access to every stored study");
        }
        axum::serve(listener, app).await.context("the server stopped")
    })
}

async fn config(State(s): State<Arc<AppState>>) -> Response {
    let store = match &s.dicomweb {
        Some(base) => ViewerStore::DicomWeb { base: base.clone(), orthanc_raw: s.orthanc_raw.clone() },
        None => ViewerStore::Static("/store".into()),
    };
    ([(header::CACHE_CONTROL, "no-store")], Json(viewer_config(&s.org, &store, s.demo, s.idle_lock_minutes)))
        .into_response()
}

/// Where a viewer reads sealed studies from.
pub enum ViewerStore {
    /// A static DICOMweb tree at this URL (absolute, or relative to the viewer).
    Static(String),
    /// A DICOMweb server, optionally with Orthanc's raw endpoint for byte ranges.
    DicomWeb { base: String, orthanc_raw: Option<String> },
}

/// The viewer's `config.json`: the trust anchor, the store and the idle lock (read by
/// `crates/viewer/src/app.rs`; readers may shorten the idle lock, never lengthen it).
pub fn viewer_config(org: &PublicKey, store: &ViewerStore, demo: bool, idle_lock_minutes: u32) -> serde_json::Value {
    let store = match store {
        ViewerStore::Static(url) => serde_json::json!(url),
        ViewerStore::DicomWeb { base, orthanc_raw: Some(raw) } => {
            serde_json::json!({ "dicomweb": base, "orthanc_raw": raw })
        }
        ViewerStore::DicomWeb { base, orthanc_raw: None } => serde_json::json!({ "dicomweb": base }),
    };
    serde_json::json!({
        "org_public_key": B64.encode(org.to_sec1()),
        "org_fingerprint": org.fingerprint(),
        "store": store,
        "demo": demo,
        "idle_lock_seconds": u64::from(idle_lock_minutes) * 60,
    })
}

/// Largest request body the request log buffers (the gate and enrolment bodies are tiny).
const LOGGED_BODY_LIMIT: usize = 1 << 20;

/// Writes one JSON line (method, path and query, headers, body) and passes the request on.
async fn log_request(log: &std::sync::Mutex<std::fs::File>, req: Request, next: axum::middleware::Next) -> Response {
    use std::io::Write as _;
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, LOGGED_BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return reject(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let line = serde_json::json!({
        "method": parts.method.as_str(),
        "uri": parts.uri.to_string(),
        "headers": headers,
        "body": String::from_utf8_lossy(&bytes),
    });
    if let Ok(mut f) = log.lock() {
        let _ = writeln!(f, "{line}");
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

fn reject(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": msg.into() }))).into_response()
}

async fn enrol(State(s): State<Arc<AppState>>, body: String) -> Response {
    if !s.demo {
        return reject(
            StatusCode::FORBIDDEN,
            "enrolment is certified by an admin with `obscura reader certify`; this server is not in demo mode",
        );
    }
    let req = match EnrolmentRequest::from_json(&body) {
        Ok(r) => r,
        Err(e) => return reject(StatusCode::BAD_REQUEST, format!("not an enrolment request: {e}")),
    };
    let _guard = s.lock.lock().await;
    match certify_and_rewrap(&s, req.public_key, &req.subject).await {
        Ok(cert) => {
            ([(header::CACHE_CONTROL, "no-store")], Json(serde_json::json!({ "certificate": cert }))).into_response()
        }
        Err(e) => reject(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
    }
}

/// What the viewer sends the gate: `{"verifier": "<base64 of 32 bytes>"}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GateRequest {
    verifier: String,
}

/// `POST /api/share/<link id>/gate`: 200 `{"gate_secret"}` for the right verifier; 403
/// `{"error", "attempts_left"}` for a wrong one; 410 `{"error", "locked": true}` once the attempts
/// are spent (and from then on), 410 `{"error", "expired": true}` after the expiry; 404 for a link
/// without a record (revoked, or unknown).
async fn gate(State(s): State<Arc<AppState>>, UrlPath(link): UrlPath<String>, body: String) -> Response {
    let no_store = |status: StatusCode, v: serde_json::Value| {
        (status, [(header::CACHE_CONTROL, "no-store")], Json(v)).into_response()
    };
    let Ok(link_id) = LinkId::from_hex(&link) else {
        return reject(StatusCode::BAD_REQUEST, "a share link id is 32 hex digits");
    };
    let verifier: Option<[u8; 32]> = serde_json::from_str::<GateRequest>(&body)
        .ok()
        .and_then(|r| B64.decode(r.verifier).ok())
        .and_then(|v| v.try_into().ok());
    let Some(verifier) = verifier else {
        return reject(StatusCode::BAD_REQUEST, "expected {\"verifier\": base64 of 32 bytes}");
    };
    let _guard = s.gate_lock.lock().await;
    let mut record = match s.gates.read(&link_id) {
        Ok(Some(r)) => r,
        Ok(None) => {
            return no_store(
                StatusCode::NOT_FOUND,
                serde_json::json!({ "error": "this share link was revoked or never existed", "revoked": true }),
            )
        }
        Err(e) => return reject(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
    };
    let before = record.attempts_left;
    let answer = record.attempt(&verifier, crate::sealcmd::now());
    if record.attempts_left != before {
        // Persisted before answering: a crash or a restart never gives an attempt back.
        if let Err(e) = s.gates.write(&record) {
            return reject(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}"));
        }
    }
    match answer {
        GateAnswer::Open(secret) => {
            no_store(StatusCode::OK, serde_json::json!({ "gate_secret": B64.encode(&secret.0) }))
        }
        GateAnswer::Wrong { attempts_left } => no_store(
            StatusCode::FORBIDDEN,
            serde_json::json!({ "error": "wrong passcode", "attempts_left": attempts_left }),
        ),
        GateAnswer::Locked => no_store(
            StatusCode::GONE,
            serde_json::json!({ "error": "too many wrong passcodes: this share link is locked for good", "locked": true }),
        ),
        GateAnswer::Expired => {
            no_store(StatusCode::GONE, serde_json::json!({ "error": "this share link has expired", "expired": true }))
        }
    }
}

async fn certify_and_rewrap(s: &AppState, key: PublicKey, subject: &str) -> Result<Certificate> {
    let now = crate::sealcmd::now();
    let org_key = s.keys.org_key()?;
    let cert = Certificate::issue(&org_key, Role::Reader, subject, &key, now - 300, now + 365 * 86400);
    if !store::studies(&s.store)?.is_empty() {
        // The same re-wrap as `obscura rewrap --all`; it reads and writes files, so off the runtime.
        let (keys, store) = (s.keys.clone(), s.store.clone());
        tokio::task::spawn_blocking(move || {
            crate::lifecycle::add_readers(&keys, &store, &[key], &crate::lifecycle::Studies::All)
        })
        .await
        .context("the re-wrapping task failed")??;
    }
    Ok(cert)
}

/// `scheme://host[:port]` of an http(s) URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty() && !host.contains(['@', ' ', '\'', ';'])).then(|| format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn origins() {
        assert_eq!(
            super::origin_of("https://pacs.example:8443/dicom-web").as_deref(),
            Some("https://pacs.example:8443")
        );
        assert_eq!(super::origin_of("ftp://x/"), None);
        assert_eq!(super::origin_of("https://user@x/"), None);
    }
}

//! `obscura serve`: the viewer bundle, the static store, and (with `--demo`) the enrolment inbox.
//!
//! The server is trusted for availability only: it never sees a reader's private key or any
//! cleartext. In demo mode it also plays the organisation's admin: it certifies an enrolling
//! reader's public key with the demo organisation key and re-wraps the stored studies for it
//! through the escrow key, exactly as `obscura reader certify` + `obscura rewrap` would.

use crate::keyfile::KeysDir;
use crate::store;
use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use obscura_seal::{Certificate, EnrolmentRequest, PublicKey, Role};
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
}

struct AppState {
    keys: KeysDir,
    store: PathBuf,
    org: PublicKey,
    demo: bool,
    dicomweb: Option<String>,
    orthanc_raw: Option<String>,
    /// Re-wrapping rewrites manifests: one at a time.
    lock: tokio::sync::Mutex<()>,
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
    let state = Arc::new(AppState {
        keys,
        store: opts.store.clone(),
        org,
        demo: opts.demo,
        dicomweb: opts.dicomweb.clone(),
        orthanc_raw: opts.orthanc_raw.clone(),
        lock: Default::default(),
    });
    let app = Router::new()
        .route("/config.json", get(config))
        .route("/api/enrol", post(enrol))
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
    ([(header::CACHE_CONTROL, "no-store")], Json(viewer_config(&s.org, &store, s.demo))).into_response()
}

/// Where a viewer reads sealed studies from.
pub enum ViewerStore {
    /// A static DICOMweb tree at this URL (absolute, or relative to the viewer).
    Static(String),
    /// A DICOMweb server, optionally with Orthanc's raw endpoint for byte ranges.
    DicomWeb { base: String, orthanc_raw: Option<String> },
}

/// The viewer's `config.json`: the trust anchor and the store (read by `crates/viewer/src/app.rs`).
pub fn viewer_config(org: &PublicKey, store: &ViewerStore, demo: bool) -> serde_json::Value {
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
    })
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

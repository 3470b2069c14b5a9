//! The viewer's state, its DOM and its input handling.
//!
//! One `App` lives in a thread-local; event handlers and loader tasks borrow it briefly and never
//! across an `await`. Decrypted slices live in WASM memory only and are zeroised when the study is
//! closed or the page goes away.

use crate::decoder::{self, Decoded, LOADERS};
use crate::gpu::{Backend, Gpu};
use crate::keystore::{self, KeyStore};
use crate::net::{self, FetchClient, FetchError, StoreClient};
use crate::pipeline::{self, Fetched};
use crate::webcrypto::{self, WebCryptoAead, WebCryptoCipher, WebCryptoIdentity, WebCryptoStudyKey};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use js_sys::Uint8Array;
use obscura_dicomweb::client::{self, ListedStudy};
use obscura_dicomweb::layout::{SealedSource, Store};
use obscura_render::{Image, Modality, Pixels, View, Voi, VoiFunction, Window};
use obscura_seal::{
    Certificate, EnrolmentRequest, ObjectId, ObjectReceiver, PublicKey, Role, StudyIndex, StudyKeys, VerifiedManifest,
};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, HtmlCanvasElement, HtmlElement};

thread_local! {
    static APP: RefCell<Option<App>> = const { RefCell::new(None) };
    static GPU: RefCell<Option<Gpu>> = const { RefCell::new(None) };
}

struct Config {
    org: PublicKey,
    store: Store,
    demo: bool,
}

struct Study {
    listed: ListedStudy,
    manifest: Rc<VerifiedManifest>,
    index: StudyIndex,
}

enum SliceState {
    Pending,
    Loading,
    Ready(Decoded),
    Failed(String),
}

struct Slice {
    object_id: ObjectId,
    source: SealedSource,
    label: String,
    state: SliceState,
}

struct OpenStudy {
    generation: u32,
    keys: Rc<StudyKeys<WebCryptoStudyKey>>,
    manifest: Rc<VerifiedManifest>,
    slices: Vec<Slice>,
    current: usize,
    shown: Option<usize>,
    window: Option<Window>,
    opened_at: f64,
    first_image_ms: Option<f64>,
    complete_ms: Option<f64>,
    /// Sealed bytes received for the series so far.
    bytes_received: u64,
    /// Why loading is paused (the store does not answer, or wants credentials).
    paused: Option<String>,
}

struct App {
    config: Config,
    identity: Rc<WebCryptoIdentity>,
    studies: Vec<Study>,
    open: Option<OpenStudy>,
    generation: u32,
    drag: Option<(f64, f64, Window)>,
    phase: &'static str,
    message: Option<String>,
    backend: Backend,
}

fn document() -> Document {
    web_sys::window().unwrap().document().unwrap()
}

fn el(id: &str) -> HtmlElement {
    document().get_element_by_id(id).unwrap_or_else(|| panic!("index.html lacks #{id}")).unchecked_into()
}

fn set_text(id: &str, text: &str) {
    el(id).set_text_content(Some(text));
}

fn set_hidden(id: &str, hidden: bool) {
    el(id).set_hidden(hidden);
}

fn now_secs() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}

fn status(text: &str) {
    set_text("status", text);
}

fn with_app<R>(f: impl FnOnce(&mut App) -> R) -> Option<R> {
    APP.with(|a| a.borrow_mut().as_mut().map(f))
}

async fn fetch_config() -> Result<Config, String> {
    let body = FetchClient.request("config.json", "GET", None).await.map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| format!("config.json is not JSON: {e}"))?;
    let org_b64 = v["org_public_key"].as_str().ok_or("config.json has no org_public_key")?;
    let org = B64
        .decode(org_b64)
        .ok()
        .and_then(|b| PublicKey::from_sec1(&b).ok())
        .ok_or("config.json: org_public_key is not a P-256 public key")?;
    let absolute = |u: &str| {
        web_sys::Url::new_with_base(u, &web_sys::window().unwrap().location().href().unwrap_or_default())
            .map(|u| u.href())
            .unwrap_or_else(|_| u.to_string())
    };
    // "store": "path/or/url/" is a static tree; {"dicomweb": URL, "orthanc_raw": URL} a PACS.
    let store = match &v["store"] {
        serde_json::Value::String(base) => Store::static_tree(&absolute(base)),
        serde_json::Value::Object(o) => {
            let base = o
                .get("dicomweb")
                .and_then(|b| b.as_str())
                .ok_or("config.json: \"store\" must be a URL or {\"dicomweb\": URL, \"orthanc_raw\": URL}")?;
            let store = Store::dicomweb(&absolute(base));
            match o.get("orthanc_raw").and_then(|r| r.as_str()) {
                Some(raw) => store.with_orthanc_raw(&absolute(raw)),
                None => store,
            }
        }
        _ => return Err("config.json has no store".into()),
    };
    Ok(Config { org, store, demo: v["demo"].as_bool().unwrap_or(false) })
}

/// Loads or creates the reader's key pair; returns the identity and its public key.
async fn reader_identity(keys: &KeyStore) -> Result<WebCryptoIdentity, String> {
    let rec = keys.get("reader").await?;
    let (private, public_raw) = if rec.is_object() {
        let private: web_sys::CryptoKey = keystore::field(&rec, "privateKey").unchecked_into();
        let raw = Uint8Array::new(&keystore::field(&rec, "publicRaw")).to_vec();
        (private, raw)
    } else {
        status("Creating your reader key (it never leaves this browser)…");
        let (private, public) = webcrypto::generate_reader_key().await?;
        let raw = webcrypto::export_public(&public).await?;
        let record = keystore::record(&[
            ("privateKey", private.clone().into()),
            ("publicKey", public.into()),
            ("publicRaw", Uint8Array::from(&raw[..]).into()),
        ]);
        keys.put("reader", &record).await?;
        (private, raw)
    };
    let public = PublicKey::from_sec1(&public_raw).map_err(|e| format!("stored reader key is damaged: {e}"))?;
    Ok(WebCryptoIdentity::new(private, public))
}

/// Makes sure this reader holds a certificate from the organisation (asking the demo server for
/// one when in demo mode).
async fn ensure_certificate(keys: &KeyStore, config: &Config, me: &PublicKey) -> Result<Certificate, String> {
    let stored = keys.get("certificate").await?;
    let cert: Option<Certificate> = stored.as_string().and_then(|s| serde_json::from_str(&s).ok());
    let cert = match cert {
        Some(c) => c,
        None if config.demo => {
            status("Enrolling this reader key with the demo organisation…");
            let body =
                EnrolmentRequest::new(me.clone(), "Demo reader", now_secs()).map_err(|e| e.to_string())?.to_json();
            let answer = FetchClient
                .request("api/enrol", "POST", Some(&body))
                .await
                .map_err(|e| format!("enrolment failed: {e}"))?;
            let v: serde_json::Value =
                serde_json::from_slice(&answer).map_err(|e| format!("enrolment answer is not JSON: {e}"))?;
            let c: Certificate = serde_json::from_value(v["certificate"].clone())
                .map_err(|e| format!("enrolment answer has no certificate: {e}"))?;
            keys.put("certificate", &JsValue::from_str(&serde_json::to_string(&c).unwrap())).await?;
            c
        }
        None => {
            let request = EnrolmentRequest::new(me.clone(), "Reader", now_secs()).map_err(|e| e.to_string())?;
            el("enrolment-request").unchecked_into::<web_sys::HtmlTextAreaElement>().set_value(&request.to_json());
            set_hidden("enrol", false);
            return Err(format!(
                "This browser's reader key is not enrolled yet. Give your administrator the request below and this fingerprint: {}",
                me.fingerprint()
            ));
        }
    };
    cert.verify(&config.org, Role::Reader, now_secs())
        .map_err(|e| format!("your reader certificate is not valid for this organisation: {e}"))?;
    if &cert.public_key != me {
        return Err("the stored certificate is for another key: re-enrol this browser".into());
    }
    Ok(cert)
}

pub(crate) async fn boot() -> Result<(), String> {
    let result = boot_inner().await;
    if let Err(e) = &result {
        status(&format!("Error: {e}"));
        with_app(|a| a.phase = "error");
    }
    result
}

async fn boot_inner() -> Result<(), String> {
    status("Loading configuration…");
    let config = fetch_config().await?;
    set_text("org-fp", &config.org.fingerprint());
    let keys = KeyStore::open().await?;
    let identity = reader_identity(&keys).await?;
    set_text("reader-fp", &identity_fp(&identity));
    ensure_certificate(&keys, &config, obscura_seal::Identity::public_key(&identity)).await?;

    let canvas: HtmlCanvasElement = el("canvas").unchecked_into();
    let force_webgl = web_sys::window().unwrap().location().search().unwrap_or_default().contains("gpu=webgl");
    let gpu = Gpu::new(canvas, force_webgl).await?;
    let backend = gpu.backend;
    GPU.with(|g| *g.borrow_mut() = Some(gpu));

    APP.with(|a| {
        *a.borrow_mut() = Some(App {
            config,
            identity: Rc::new(identity),
            studies: Vec::new(),
            open: None,
            generation: 0,
            drag: None,
            phase: "listing",
            message: None,
            backend,
        })
    });
    install_input_handlers();
    // Start the decode workers now: each compiles the module once, before the reader opens a study.
    let _ = decoder::shared_pool();
    list_studies(&keys).await
}

fn identity_fp(identity: &WebCryptoIdentity) -> String {
    obscura_seal::Identity::public_key(identity).fingerprint()
}

/// How often the listing asks again once the store has stayed down past the retry budget.
const LISTING_RETRY_MS: u32 = 15_000;

async fn list_studies(keys: &KeyStore) -> Result<(), String> {
    status("Looking for studies sealed for you…");
    let (store, org, identity) =
        with_app(|a| (a.config.store.clone(), a.config.org.clone(), a.identity.clone())).unwrap();
    let notify = |m: Option<String>| status(m.as_deref().unwrap_or("Looking for studies sealed for you…"));
    let http = StoreClient { notify: &notify };
    let listed = loop {
        match client::list_studies(&http, &store).await {
            Ok(l) => break l,
            Err(obscura_dicomweb::DicomWebError::Http { status: Some(401), message, .. }) => {
                ask_for_credentials(&message);
                return Err(format!("{message}. Enter the image store's credentials below."));
            }
            // Down for longer than the retry budget: keep asking, less often, until it answers.
            Err(obscura_dicomweb::DicomWebError::Http { status: Some(503), message, .. }) => {
                status(&format!(
                    "{message}. Trying again every {} s; your studies appear as soon as it answers.",
                    LISTING_RETRY_MS / 1000
                ));
                net::sleep_ms(LISTING_RETRY_MS).await;
            }
            Err(e) => return Err(format!("cannot list the image store: {e}")),
        }
    };
    let versions = keys.get("manifest-versions").await?;
    let versions = if versions.is_object() { versions } else { js_sys::Object::new().into() };
    let mut studies = Vec::new();
    let mut problems = Vec::new();
    for study in listed {
        let m = &study.manifest;
        let bytes = match client::fetch_sealed(&http, &store, &m.study_uid, &m.series_uid, &m.sop_instance_uid).await {
            Ok(b) => b,
            Err(e) => {
                problems.push(format!("study {}: {e}", study.study_uid));
                continue;
            }
        };
        let last_seen = keystore::field(&versions, &study.study_uid).as_f64().map(|v| v as u64);
        let manifest = match obscura_seal::open_manifest(&bytes, &org, now_secs(), last_seen) {
            Ok(m) => m,
            Err(e) => {
                problems.push(format!("study {} refused: {e}", study.study_uid));
                continue;
            }
        };
        if manifest.study_uid() != study.study_uid {
            problems.push(format!("study {} refused: its manifest belongs to another study", study.study_uid));
            continue;
        }
        if !manifest.has_recipient(&obscura_seal::Identity::public_key(identity.as_ref()).key_id()) {
            continue; // not sealed for this reader
        }
        let keys = match manifest.unlock(identity.as_ref(), &WebCryptoAead).await {
            Ok(k) => k,
            Err(e) => {
                problems.push(format!("study {}: cannot unwrap the study key: {e}", study.study_uid));
                continue;
            }
        };
        let index = match manifest.index(&keys).await {
            Ok(i) => i,
            Err(e) => {
                problems.push(format!("study {}: the study index does not decrypt: {e}", study.study_uid));
                continue;
            }
        };
        drop(keys);
        let _ = js_sys::Reflect::set(
            &versions,
            &JsValue::from_str(&study.study_uid),
            &JsValue::from_f64(manifest.version() as f64),
        );
        studies.push(Study { listed: study, manifest: Rc::new(manifest), index });
    }
    keys.put("manifest-versions", &versions).await?;
    let count = studies.len();
    with_app(|a| {
        a.studies = studies;
        a.phase = "list";
        a.message = if problems.is_empty() { None } else { Some(problems.join("; ")) };
    });
    render_study_list();
    let mut text = match count {
        0 => "No study is sealed for you yet".to_string(),
        1 => "1 study sealed for you".to_string(),
        n => format!("{n} studies sealed for you"),
    };
    if !problems.is_empty() {
        text.push_str(&format!(" — {} could not be opened: {}", problems.len(), problems.join("; ")));
    }
    status(&text);
    Ok(())
}

fn pretty_date(d: &str) -> String {
    if d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &d[0..4], &d[4..6], &d[6..8])
    } else {
        d.to_string()
    }
}

fn pretty_name(pn: &str) -> String {
    let parts: Vec<&str> = pn.split('^').filter(|s| !s.is_empty()).collect();
    match parts.as_slice() {
        [] => "(no name)".into(),
        [family] => family.to_string(),
        [family, given @ ..] => format!("{}, {}", family, given.join(" ")),
    }
}

fn render_study_list() {
    let doc = document();
    let list = el("study-list");
    list.set_inner_html("");
    with_app(|a| {
        for (i, s) in a.studies.iter().enumerate() {
            let images: usize = s.index.series.iter().map(|se| se.instances.len()).sum();
            let li = doc.create_element("li").unwrap();
            let button: HtmlElement = doc.create_element("button").unwrap().unchecked_into();
            button.set_class_name("study");
            button.set_attribute("data-study", &i.to_string()).unwrap();
            let mut modalities: Vec<&str> = Vec::new();
            for m in s.index.series.iter().map(|se| se.modality.as_str()).filter(|m| !m.is_empty()) {
                if !modalities.contains(&m) {
                    modalities.push(m);
                }
            }
            let text = format!(
                "{} · {} · {} · {} · {} images",
                pretty_name(&s.index.patient_name),
                pretty_date(&s.index.study_date),
                if modalities.is_empty() { "?".to_string() } else { modalities.join("/") },
                if s.index.study_description.is_empty() { "(no description)" } else { &s.index.study_description },
                images
            );
            button.set_text_content(Some(&text));
            let cb = Closure::<dyn FnMut()>::new(move || wasm_bindgen_futures::spawn_local(open_study(i)));
            button.set_onclick(Some(cb.as_ref().unchecked_ref()));
            cb.forget();
            li.append_child(&button).unwrap();
            list.append_child(&li).unwrap();
        }
    });
    set_hidden("studies", false);
}

async fn open_study(i: usize) {
    // The reader waits from the click: unwrapping the study key is part of opening it.
    let opened_at = now_ms();
    close_study();
    let Some((identity, manifest, store, study_uid)) = with_app(|a| {
        let s = &a.studies[i];
        (a.identity.clone(), s.manifest.clone(), a.config.store.clone(), s.listed.study_uid.clone())
    }) else {
        return;
    };
    status("Opening the study…");
    let keys = match manifest.unlock(identity.as_ref(), &WebCryptoAead).await {
        Ok(k) => Rc::new(k),
        Err(e) => {
            status(&format!("Cannot open the study: {e}"));
            return;
        }
    };
    let generation = with_app(|a| {
        a.generation += 1;
        let s = &a.studies[i];
        // The first series with images, instances in their stored order.
        let series = s.index.series.iter().find(|se| !se.instances.is_empty());
        let mut slices = Vec::new();
        if let Some(series) = series {
            for inst in &series.instances {
                let Some(entry) = manifest.object(&inst.object_id) else { continue };
                slices.push(Slice {
                    object_id: inst.object_id,
                    source: store.sealed_source_parts(&study_uid, &entry.series_uid, &entry.sop_instance_uid),
                    label: inst.instance_number.map(|n| n.to_string()).unwrap_or_default(),
                    state: SliceState::Pending,
                });
            }
        }
        set_text(
            "corner-tl",
            &format!(
                "{}\n{}\n{}",
                pretty_name(&s.index.patient_name),
                s.index.patient_id,
                pretty_date(&s.index.study_date)
            ),
        );
        set_text(
            "corner-tr",
            &format!(
                "{}\n{}",
                s.index.study_description,
                series.map(|se| format!("{} {}", se.modality, se.series_description)).unwrap_or_default()
            ),
        );
        a.open = Some(OpenStudy {
            generation: a.generation,
            keys,
            manifest: manifest.clone(),
            slices,
            current: 0,
            shown: None,
            window: None,
            opened_at,
            first_image_ms: None,
            complete_ms: None,
            bytes_received: 0,
            paused: None,
        });
        a.phase = "study";
        a.generation
    })
    .unwrap();
    set_hidden("studies", true);
    set_hidden("viewer", false);
    status("Study open: the wheel scrolls, left-drag sets window/level");
    refresh();
    for _ in 0..LOADERS {
        wasm_bindgen_futures::spawn_local(loader(generation));
    }
}

/// Drops the open study: its key, every decoded slice (zeroised), the GPU texture.
fn close_study() {
    with_app(|a| {
        a.open = None;
        a.phase = "list";
    });
    GPU.with(|g| {
        if let Ok(mut g) = g.try_borrow_mut() {
            if let Some(g) = g.as_mut() {
                let _ = g.set_image(None);
            }
        }
    });
    set_hidden("viewer", true);
    set_hidden("error", true);
    set_hidden("studies", false);
}

/// Fetches, verifies, decrypts and decodes slices, nearest to the current one first; the next
/// slice downloads while the previous one is checked and decoded (`pipeline::fetch_ahead`).
async fn loader(generation: u32) {
    let fetch_next = || {
        let job = with_app(|a| {
            let open = a.open.as_mut().filter(|o| o.generation == generation)?;
            let cur = open.current as isize;
            let next = (0..open.slices.len())
                .filter(|&i| matches!(open.slices[i].state, SliceState::Pending))
                .min_by_key(|&i| ((i as isize - cur).abs(), i))?;
            open.slices[next].state = SliceState::Loading;
            Some((
                next,
                open.slices[next].source.clone(),
                open.slices[next].object_id,
                open.keys.clone(),
                open.manifest.clone(),
            ))
        })
        .flatten();
        let (index, source, object_id, keys, manifest) = job?;
        Some(async move {
            match fetch_slice(generation, &source, &object_id, &keys, &manifest).await {
                Ok(rx) => Fetched::Object((index, Ok(rx))),
                Err(FetchError::Cancelled) => Fetched::Stop,
                Err(FetchError::Auth(message)) => {
                    // Back in the queue; wait for the reader to give credentials, then go on.
                    let asked = net::auth_generation();
                    with_app(|a| {
                        if let Some(open) = a.open.as_mut().filter(|o| o.generation == generation) {
                            open.slices[index].state = SliceState::Pending;
                        }
                    });
                    ask_for_credentials(&message);
                    while net::auth_generation() == asked {
                        if !study_is_open(generation) {
                            return Fetched::Stop;
                        }
                        net::sleep_ms(300).await;
                    }
                    Fetched::Retry
                }
                Err(e) => Fetched::Object((index, Err(e))),
            }
        })
    };
    let finish = |(index, fetched): (usize, Result<ObjectReceiver<WebCryptoCipher>, FetchError>)| async move {
        let decoded = match fetched {
            Ok(rx) => match net::finish_object(rx).await {
                Ok(plain) => decoder::decode(&plain).await.map_err(FetchError::Fatal),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let state = match decoded {
            Ok(d) => SliceState::Ready(d),
            Err(e) => SliceState::Failed(e.to_string()),
        };
        let is_current = with_app(|a| {
            let open = a.open.as_mut().filter(|o| o.generation == generation)?;
            open.slices[index].state = state;
            if open.complete_ms.is_none()
                && open.slices.iter().all(|s| matches!(s.state, SliceState::Ready(_) | SliceState::Failed(_)))
            {
                open.complete_ms = Some(now_ms() - open.opened_at);
            }
            Some(open.current == index)
        })
        .flatten();
        match is_current {
            None => {}
            Some(true) => refresh(),
            Some(false) => update_progress(),
        }
    };
    pipeline::fetch_ahead(fetch_next, finish).await;
}

fn study_is_open(generation: u32) -> bool {
    with_app(|a| a.open.as_ref().is_some_and(|o| o.generation == generation)).unwrap_or(false)
}

/// Streams one sealed slice from the store, decrypting chunk by chunk; the receiver it returns
/// holds every byte, and yields the plaintext only once the signed digest matches
/// (`net::finish_object`).
async fn fetch_slice(
    generation: u32,
    source: &SealedSource,
    object_id: &ObjectId,
    keys: &StudyKeys<WebCryptoStudyKey>,
    manifest: &VerifiedManifest,
) -> Result<ObjectReceiver<WebCryptoCipher>, FetchError> {
    let rx = manifest.receive_object(keys, object_id).await.map_err(|e| FetchError::Integrity(e.to_string()))?;
    let counted = std::cell::Cell::new(0u64);
    let progress = |received: u64, _total: u64| {
        let delta = received.saturating_sub(counted.replace(received));
        with_app(|a| {
            if let Some(open) = a.open.as_mut().filter(|o| o.generation == generation) {
                open.bytes_received += delta;
            }
        });
    };
    let notify = |pause: Option<String>| {
        with_app(|a| {
            if let Some(open) = a.open.as_mut().filter(|o| o.generation == generation) {
                open.paused = pause;
            }
        });
        update_progress();
    };
    let wanted = || study_is_open(generation);
    net::stream_object(source, rx, &progress, &notify, &wanted).await
}

/// Shows the credentials form: the store answered 401/403.
fn ask_for_credentials(message: &str) {
    set_text("auth-reason", &format!("The image store asks for credentials ({message})."));
    set_hidden("auth", false);
}

/// The credentials form was submitted: keep them in memory and carry on.
fn submit_credentials() {
    let value = |id: &str| el(id).unchecked_into::<web_sys::HtmlInputElement>().value();
    let kind = el("auth-kind").unchecked_into::<web_sys::HtmlSelectElement>().value();
    let header = if kind == "basic" {
        format!("Basic {}", B64.encode(format!("{}:{}", value("auth-user"), value("auth-secret"))))
    } else {
        format!("Bearer {}", value("auth-secret").trim())
    };
    el("auth-secret").unchecked_into::<web_sys::HtmlInputElement>().set_value("");
    set_hidden("auth", true);
    net::set_authorization(Some(header));
    // Listing failed for want of credentials: list again. (Open studies' loaders resume by themselves.)
    if with_app(|a| a.phase == "error" || a.phase == "listing").unwrap_or(false) {
        wasm_bindgen_futures::spawn_local(async {
            with_app(|a| a.phase = "listing");
            let result = match KeyStore::open().await {
                Ok(keys) => list_studies(&keys).await,
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                status(&format!("Error: {e}"));
                with_app(|a| a.phase = "error");
            }
        });
    }
}

/// A decoded slice as the renderer takes it (borrowing its pixels).
fn display_image(d: &Decoded) -> Image<'_> {
    Image {
        width: d.width,
        height: d.height,
        pixels: Pixels::Gray {
            values: d.pixels.as_slice().into(),
            signed: d.signed,
            modality: Modality::Rescale { slope: f64::from(d.slope), intercept: f64::from(d.intercept) },
            inverse: false,
        },
    }
}

fn default_window(d: &Decoded) -> Window {
    if let Some(w) = d.window {
        return w;
    }
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for &p in &d.pixels {
        let v = if d.signed { f64::from(p as i16) } else { f64::from(p) } * f64::from(d.slope) + f64::from(d.intercept);
        lo = lo.min(v);
        hi = hi.max(v);
    }
    Window { center: (lo + hi) / 2.0, width: (hi - lo).max(1.0) }
}

thread_local! {
    /// Whether a progress update is already scheduled.
    static PROGRESS_SCHEDULED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How often, at most, the progress line and bar are rewritten while a series loads: each DOM
/// change repaints the page, which costs the loaders CPU time (notably with software compositing).
const PROGRESS_INTERVAL_MS: i32 = 200;

/// Schedules a progress update (at most one per [`PROGRESS_INTERVAL_MS`]).
fn update_progress() {
    if PROGRESS_SCHEDULED.with(|s| s.replace(true)) {
        return;
    }
    let cb = Closure::once_into_js(|| {
        PROGRESS_SCHEDULED.with(|s| s.set(false));
        write_progress();
    });
    let _ = web_sys::window()
        .unwrap()
        .set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), PROGRESS_INTERVAL_MS);
}

/// Writes the progress line and bar of the open study.
fn write_progress() {
    with_app(|a| {
        if let Some(open) = &a.open {
            let ready = open.slices.iter().filter(|s| matches!(s.state, SliceState::Ready(_))).count();
            let failed = open.slices.iter().filter(|s| matches!(s.state, SliceState::Failed(_))).count();
            let total = open.slices.len();
            let mut text = if ready + failed == total {
                String::new()
            } else {
                format!("loading {}/{total} ({:.1} MB)", ready + failed, open.bytes_received as f64 / 1e6)
            };
            if failed > 0 {
                text.push_str(&format!("  {failed} of {total} images could not be shown"));
            }
            if let Some(p) = &open.paused {
                text.push_str(&format!("  {p}"));
            }
            set_text("progress", &text);
            let bar = el("series-progress");
            let _ = bar.set_attribute("max", &total.max(1).to_string());
            let _ = bar.set_attribute("value", &(ready + failed).to_string());
            bar.set_hidden(ready + failed == total);
        }
    });
}

/// Shows the current slice (or nothing, with the reason) and the corner texts.
fn refresh() {
    let t = now_ms();
    let view = with_app(|a| {
        let open = a.open.as_mut()?;
        let i = open.current;
        let total = open.slices.len();
        let slice = open.slices.get(i)?;
        let label = &slice.label;
        let mut upload = None;
        let mut error = None;
        let mut loading = false;
        match &slice.state {
            SliceState::Ready(d) => {
                if open.window.is_none() {
                    open.window = Some(default_window(d));
                }
                if open.shown != Some(i) {
                    upload = Some(true);
                }
                if open.first_image_ms.is_none() {
                    open.first_image_ms = Some(t - open.opened_at);
                }
            }
            SliceState::Failed(e) => {
                error = Some(format!("Slice {} of {}: {}", i + 1, total, e));
                upload = Some(false);
            }
            _ => {
                loading = true;
                upload = Some(false);
            }
        }
        let w = open.window.unwrap_or(Window { center: 40.0, width: 400.0 });
        set_text("corner-br", &format!("Im {}/{}  (#{})\nW {:.0} L {:.0}", i + 1, total, label, w.width, w.center));
        match &error {
            Some(e) => {
                set_text("error", e);
                set_hidden("error", false);
            }
            None => set_hidden("error", true),
        }
        set_text("slice-status", if loading { "loading…" } else { "" });
        let view = View { voi: Voi::Window(w, VoiFunction::Linear), ..View::default() };
        let upload_now = match upload {
            Some(true) => {
                open.shown = Some(i);
                if let SliceState::Ready(d) = &open.slices[i].state {
                    Some(Some((d.width, d.height, d.signed, d.slope, d.intercept)))
                } else {
                    None
                }
            }
            Some(false) => {
                open.shown = None;
                Some(None)
            }
            None => None,
        };
        Some((view, upload_now, i))
    })
    .flatten();
    update_progress();
    let Some((view, upload, index)) = view else { return };
    if GPU.with(|g| g.try_borrow().is_ok_and(|g| g.as_ref().is_some_and(Gpu::is_lost))) {
        recover_gpu();
        return;
    }
    GPU.with(|g| {
        let Ok(mut g) = g.try_borrow_mut() else {
            // A read-back is in flight; it redraws when done.
            with_app(|a| {
                if let Some(o) = a.open.as_mut() {
                    o.shown = None
                }
            });
            return;
        };
        let Some(gpu) = g.as_mut() else {
            with_app(|a| {
                if let Some(o) = a.open.as_mut() {
                    o.shown = None
                }
            });
            return;
        };
        let uploaded = match upload {
            Some(Some(_)) => APP.with(|a| {
                let a = a.borrow();
                match a.as_ref().and_then(|a| a.open.as_ref()).map(|o| &o.slices[index].state) {
                    Some(SliceState::Ready(d)) => gpu.set_image(Some(&display_image(d))),
                    _ => gpu.set_image(None),
                }
            }),
            Some(None) => gpu.set_image(None),
            None => Ok(()),
        };
        if let Err(e) = uploaded {
            with_app(|a| {
                if let Some(o) = a.open.as_mut() {
                    o.shown = None
                }
            });
            set_text("error", &format!("Cannot display this image: {e}"));
            set_hidden("error", false);
        }
        gpu.draw(&view);
    });
}

/// Replaces a lost GPU device / WebGL context by a new one on the same canvas, then redraws: the
/// current slice is uploaded again from the decoded pixels in memory, nothing is refetched.
fn recover_gpu() {
    let Some(lost) = GPU.with(|g| g.try_borrow_mut().ok().and_then(|mut g| g.take())) else { return };
    let canvas = lost.canvas().clone();
    drop(lost);
    with_app(|a| {
        if let Some(o) = a.open.as_mut() {
            o.shown = None
        }
    });
    status("The GPU was lost; restarting it…");
    let force_webgl = web_sys::window().unwrap().location().search().unwrap_or_default().contains("gpu=webgl");
    wasm_bindgen_futures::spawn_local(async move {
        // A lost WebGL context comes back asynchronously: try a few times.
        let mut last_error = String::new();
        for _ in 0..20 {
            match Gpu::new(canvas.clone(), force_webgl).await {
                Ok(gpu) => {
                    GPU.with(|g| *g.borrow_mut() = Some(gpu));
                    status("");
                    refresh();
                    return;
                }
                Err(e) => last_error = e,
            }
            sleep_ms(250).await;
        }
        set_text("error", &format!("The GPU was lost and could not be restarted: {last_error}"));
        set_hidden("error", false);
    });
}

fn step_slice(delta: isize) {
    let changed = with_app(|a| {
        let open = a.open.as_mut()?;
        let n = open.slices.len() as isize;
        let next = (open.current as isize + delta).clamp(0, (n - 1).max(0)) as usize;
        let changed = next != open.current;
        open.current = next;
        Some(changed)
    })
    .flatten()
    .unwrap_or(false);
    if changed {
        refresh();
    }
}

fn install_input_handlers() {
    let canvas = el("canvas");
    let wheel = Closure::<dyn FnMut(web_sys::WheelEvent)>::new(|e: web_sys::WheelEvent| {
        e.prevent_default();
        if e.delta_y() > 0.0 {
            step_slice(1);
        } else if e.delta_y() < 0.0 {
            step_slice(-1);
        }
    });
    let opts = web_sys::AddEventListenerOptions::new();
    opts.set_passive(false);
    canvas
        .add_event_listener_with_callback_and_add_event_listener_options("wheel", wheel.as_ref().unchecked_ref(), &opts)
        .unwrap();
    wheel.forget();

    let down = Closure::<dyn FnMut(web_sys::PointerEvent)>::new(|e: web_sys::PointerEvent| {
        if e.button() != 0 {
            return;
        }
        if let Some(t) = e.target().and_then(|t| t.dyn_into::<HtmlElement>().ok()) {
            let _ = t.set_pointer_capture(e.pointer_id());
        }
        with_app(|a| {
            if let Some(w) = a.open.as_ref().and_then(|o| o.window) {
                a.drag = Some((e.client_x() as f64, e.client_y() as f64, w));
            }
        });
    });
    canvas.add_event_listener_with_callback("pointerdown", down.as_ref().unchecked_ref()).unwrap();
    down.forget();

    let moved = Closure::<dyn FnMut(web_sys::PointerEvent)>::new(|e: web_sys::PointerEvent| {
        let changed = with_app(|a| {
            let (x0, y0, w0) = a.drag?;
            let open = a.open.as_mut()?;
            // Horizontal drag widens/narrows the window, vertical moves the level, as in PACS viewers.
            let dx = e.client_x() as f64 - x0;
            let dy = e.client_y() as f64 - y0;
            let scale = (w0.width / 256.0).max(1.0);
            open.window = Some(Window { center: w0.center + dy * scale, width: (w0.width + dx * scale).max(1.0) });
            Some(())
        })
        .flatten();
        if changed.is_some() {
            refresh();
        }
    });
    canvas.add_event_listener_with_callback("pointermove", moved.as_ref().unchecked_ref()).unwrap();
    moved.forget();

    let up = Closure::<dyn FnMut(web_sys::PointerEvent)>::new(|_e: web_sys::PointerEvent| {
        with_app(|a| a.drag = None);
    });
    canvas.add_event_listener_with_callback("pointerup", up.as_ref().unchecked_ref()).unwrap();
    canvas.add_event_listener_with_callback("pointercancel", up.as_ref().unchecked_ref()).unwrap();
    up.forget();

    let submit = Closure::<dyn FnMut(web_sys::Event)>::new(|e: web_sys::Event| {
        e.prevent_default();
        submit_credentials();
    });
    el("auth").set_onsubmit(Some(submit.as_ref().unchecked_ref()));
    submit.forget();
    let kind_changed = Closure::<dyn FnMut()>::new(|| {
        let basic = el("auth-kind").unchecked_into::<web_sys::HtmlSelectElement>().value() == "basic";
        set_hidden("auth-user-label", !basic);
    });
    el("auth-kind").set_onchange(Some(kind_changed.as_ref().unchecked_ref()));
    kind_changed.forget();

    let back = Closure::<dyn FnMut()>::new(close_study);
    el("back").set_onclick(Some(back.as_ref().unchecked_ref()));
    back.forget();

    let resized = Closure::<dyn FnMut()>::new(refresh);
    web_sys::window().unwrap().set_onresize(Some(resized.as_ref().unchecked_ref()));
    resized.forget();

    // Closing the tab: drop keys and zeroise slices while the page still runs.
    let hide = Closure::<dyn FnMut()>::new(close_study);
    web_sys::window().unwrap().set_onpagehide(Some(hide.as_ref().unchecked_ref()));
    hide.forget();
}

pub(crate) fn debug_state() -> JsValue {
    let v = APP.with(|a| {
        let a = a.borrow();
        let Some(a) = a.as_ref() else { return serde_json::json!({ "phase": "booting" }) };
        let open = a.open.as_ref().map(|o| {
            let ready = o.slices.iter().filter(|s| matches!(s.state, SliceState::Ready(_))).count();
            let failed: Vec<usize> =
                (0..o.slices.len()).filter(|&i| matches!(o.slices[i].state, SliceState::Failed(_))).collect();
            let w = o.window.unwrap_or(Window { center: 0.0, width: 0.0 });
            let errors: Vec<String> = o
                .slices
                .iter()
                .filter_map(|s| if let SliceState::Failed(e) = &s.state { Some(e.clone()) } else { None })
                .collect();
            serde_json::json!({
                "current": o.current, "slices": o.slices.len(), "ready": ready, "failed": failed,
                "errors": errors, "paused": o.paused,
                "shown": o.shown, "window": [w.center, w.width], "first_image_ms": o.first_image_ms,
                "complete_ms": o.complete_ms, "bytes_received": o.bytes_received,
            })
        });
        serde_json::json!({
            "phase": a.phase,
            "studies": a.studies.len(),
            "message": a.message,
            "backend": match a.backend { Backend::WebGpu => "webgpu", Backend::WebGl2 => "webgl2" },
            "open": open,
        })
    });
    JsValue::from_str(&v.to_string())
}

pub(crate) fn sealed_url_for_slice(index: usize) -> Option<String> {
    with_app(|a| a.open.as_ref().and_then(|o| o.slices.get(index)).map(|s| s.source.url().to_string())).flatten()
}

async fn yield_to_event_loop() {
    sleep_ms(0).await
}

async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

pub(crate) async fn read_back() -> Result<JsValue, String> {
    let Some(view) = with_app(|a| {
        let o = a.open.as_ref()?;
        o.shown?;
        Some(View { voi: Voi::Window(o.window?, VoiFunction::Linear), ..View::default() })
    })
    .flatten() else {
        return Ok(JsValue::NULL);
    };
    // Hold the GPU out of the thread-local while awaiting, so that loaders never find it borrowed
    // mid-await; put it back afterwards.
    let mut gpu = GPU.with(|g| g.borrow_mut().take()).ok_or("no GPU")?;
    // One gray byte per image pixel: the image at 1:1 into a target of its own size.
    let size = gpu.renderer_mut().image_size().unwrap_or([1, 1]);
    // WebGL2 maps buffers only when polled on a later turn of the event loop: yield to it.
    let result = gpu.renderer_mut().read_back_with_yield(&view, &[], size, yield_to_event_loop).await;
    GPU.with(|g| *g.borrow_mut() = Some(gpu));
    refresh();
    let rgb = result.map_err(|e| e.to_string())?;
    let gray: Vec<u8> = rgb.chunks_exact(3).map(|p| p[0]).collect();
    Ok(Uint8Array::from(&gray[..]).into())
}

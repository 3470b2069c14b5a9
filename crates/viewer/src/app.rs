//! The viewer's state, its DOM and its input handling.
//!
//! One `App` lives in a thread-local; event handlers and loader tasks borrow it briefly and never
//! across an `await`. Decrypted slices live in WASM memory only and are zeroised when the study is
//! closed or the page goes away.

use crate::decoder;
use crate::gpu::{Backend, Gpu};
use crate::keystore::{self, KeyStore};
use crate::net::{self, FetchClient, StoreClient};
use crate::room;
use crate::webcrypto::{WebCryptoAead, WebCryptoIdentity};
use crate::{enrol, lock, protect, trust};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use js_sys::Uint8Array;
use obscura_dicomweb::client::{self, ListedStudy};
use obscura_dicomweb::layout::Store;
use obscura_imaging::Attributes;
use obscura_reading::layout::Series;
use obscura_render::{View, Voi, VoiFunction};
use obscura_seal::{PublicKey, StudyIndex, VerifiedManifest};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, HtmlCanvasElement, HtmlElement};

thread_local! {
    pub(crate) static APP: RefCell<Option<App>> = const { RefCell::new(None) };
    pub(crate) static GPU: RefCell<Option<Gpu>> = const { RefCell::new(None) };
}

pub(crate) struct Config {
    pub(crate) org: PublicKey,
    pub(crate) store: Store,
    demo: bool,
    /// The administrator's idle timeout (config.json `idle_lock_seconds`), seconds.
    pub(crate) idle_seconds: u64,
}

struct Study {
    listed: ListedStudy,
    manifest: Rc<VerifiedManifest>,
    index: StudyIndex,
}

pub(crate) struct App {
    config: Config,
    /// The reader's key; `None` in share mode (a share link opens one study without any key).
    identity: Option<Rc<WebCryptoIdentity>>,
    studies: Vec<Study>,
    pub(crate) open: Option<room::OpenStudy>,
    generation: u32,
    phase: &'static str,
    message: Option<String>,
    backend: Backend,
}

pub(crate) fn document() -> Document {
    web_sys::window().unwrap().document().unwrap()
}

pub(crate) fn el(id: &str) -> HtmlElement {
    document().get_element_by_id(id).unwrap_or_else(|| panic!("index.html lacks #{id}")).unchecked_into()
}

pub(crate) fn set_text(id: &str, text: &str) {
    el(id).set_text_content(Some(text));
}

pub(crate) fn set_hidden(id: &str, hidden: bool) {
    el(id).set_hidden(hidden);
}

/// The wall clock, in unix seconds (certificate validity, share-link expiry).
pub(crate) fn now_secs() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// A unix time as the reader reads it in a message: "2026-12-09 14:30 UTC".
pub(crate) fn utc(secs: i64) -> String {
    let iso = String::from(js_sys::Date::new(&JsValue::from_f64(secs as f64 * 1000.0)).to_iso_string());
    // "2026-12-09T14:30:00.000Z"
    match (iso.get(..10), iso.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => iso,
    }
}

pub(crate) fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}

/// Shows an error that ends the page's life (after a panic the module cannot run again).
pub(crate) fn show_fatal(text: &str) {
    set_text("error", text);
    set_hidden("error", false);
}

pub(crate) fn status(text: &str) {
    set_text("status", text);
}

pub(crate) fn with_app<R>(f: impl FnOnce(&mut App) -> R) -> Option<R> {
    APP.with(|a| a.borrow_mut().as_mut().map(f))
}

pub(crate) async fn fetch_config() -> Result<Config, String> {
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
    let idle_seconds = match &v["idle_lock_seconds"] {
        serde_json::Value::Null => lock::DEFAULT_IDLE_SECONDS,
        n => n
            .as_u64()
            .filter(|&n| n >= 1)
            .ok_or("config.json: idle_lock_seconds must be a whole number of seconds, at least 1")?,
    };
    Ok(Config { org, store, demo: v["demo"].as_bool().unwrap_or(false), idle_seconds })
}

pub(crate) async fn boot() -> Result<(), String> {
    let result = boot_inner().await;
    if let Err(e) = &result {
        status(&format!("Error: {e}"));
        if with_app(|a| a.phase = "error").is_none() {
            protect::set_phase("error");
        }
    }
    result
}

async fn boot_inner() -> Result<(), String> {
    status("Loading configuration…");
    let config = fetch_config().await?;
    set_text("org-fp", &config.org.fingerprint());
    // the help for a new or lost device is there from the start (the lock screen needs it most)
    crate::device::install_handlers();
    let keys = KeyStore::open().await?;
    // The organisation this browser was enrolled with: another one is refused, loudly.
    let re_enrol = trust::check_organisation(&keys, &config.org).await?;
    // The reader's keys, unlocked with their second factor (or enrolled on first use).
    let reader = protect::reader_keys(&keys).await?;
    set_text("reader-fp", &identity_fp(&reader.identity));
    if re_enrol {
        trust::re_enrol(&keys, &config.org).await?;
    }
    enrol::ensure_certificate(&keys, &config.org, config.demo, &reader).await?;
    trust::pin_organisation(&keys, &config.org).await?;
    let identity = reader.identity;
    let idle = config.idle_seconds;
    start(config, Some(identity), "listing").await?;
    lock::install(idle);
    lock::arm();
    crate::device::show_pending(&keys).await?;
    list_studies(&keys).await
}

/// After a lock: the second factor again (the unlock screen says why it shows), the
/// organisation and the certificate checked again, then the study list anew.
pub(crate) async fn unlock_again(reason: &str) -> Result<(), String> {
    set_text("lock-reason", reason);
    set_hidden("lock-reason", false);
    let keys = KeyStore::open().await?;
    let reader = protect::reader_keys(&keys).await?;
    set_hidden("lock-reason", true);
    set_text("reader-fp", &identity_fp(&reader.identity));
    let (org, demo) = with_app(|a| (a.config.org.clone(), a.config.demo)).ok_or("the viewer is not running")?;
    enrol::ensure_certificate(&keys, &org, demo, &reader).await?;
    with_app(|a| {
        a.identity = Some(Rc::new(reader.identity));
        a.phase = "listing";
    });
    lock::arm();
    list_studies(&keys).await
}

/// This browser's reader key (public), while unlocked.
pub(crate) fn reader_public_key() -> Option<PublicKey> {
    with_app(|a| a.identity.as_ref().map(|i| identity_public(i))).flatten()
}

fn identity_public(identity: &WebCryptoIdentity) -> PublicKey {
    obscura_seal::Identity::public_key(identity).clone()
}

/// The organisation key the viewer was configured with (the trust anchor).
pub(crate) fn organisation() -> Option<PublicKey> {
    with_app(|a| a.config.org.clone())
}

/// Lists the studies again (after a certificate was installed).
pub(crate) async fn relist() -> Result<(), String> {
    close_study();
    let keys = KeyStore::open().await?;
    list_studies(&keys).await
}

impl App {
    /// Drops the reader's key and every listed study (their indexes hold PHI): the lock.
    pub(crate) fn forget_reader(&mut self) {
        self.identity = None;
        self.studies.clear();
        self.message = None;
        self.phase = "locked";
    }
}

thread_local! {
    /// Whether the canvas was last presented empty (after a lock; test state).
    static CANVAS_BLANK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Zeroes and destroys every pane's texture and presents an empty frame, so that the canvas no
/// longer holds the last image.
pub(crate) fn blank_canvas() {
    GPU.with(|g| {
        if let Ok(mut g) = g.try_borrow_mut() {
            if let Some(g) = g.as_mut() {
                g.clear_all();
                g.draw_panes(&[]);
                CANVAS_BLANK.with(|b| b.set(true));
            }
        }
    });
}

/// The GPU, the app state, the input handlers and the decode workers: what the reading room
/// needs, for a reader (`identity`) or a share link (`None`).
pub(crate) async fn start(
    config: Config,
    identity: Option<WebCryptoIdentity>,
    phase: &'static str,
) -> Result<(), String> {
    let canvas: HtmlCanvasElement = el("canvas").unchecked_into();
    let force_webgl = web_sys::window().unwrap().location().search().unwrap_or_default().contains("gpu=webgl");
    let gpu = Gpu::new(canvas, force_webgl).await?;
    let backend = gpu.backend;
    GPU.with(|g| *g.borrow_mut() = Some(gpu));

    APP.with(|a| {
        *a.borrow_mut() = Some(App {
            config,
            identity: identity.map(Rc::new),
            studies: Vec::new(),
            open: None,
            generation: 0,
            phase,
            message: None,
            backend,
        })
    });
    install_input_handlers();
    watch_gpu();
    // Start the decode workers now: each compiles the module once, before the reader opens a study.
    let _ = decoder::shared_pool();
    Ok(())
}

/// Sets the phase the test hooks report.
pub(crate) fn set_phase(phase: &'static str) {
    with_app(|a| a.phase = phase);
}

/// The phase the test hooks report.
pub(crate) fn phase() -> Option<&'static str> {
    with_app(|a| a.phase)
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
    let identity = identity.ok_or("no reader key")?;
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
            // Not sealed for this reader. If this browser opened it before, its access was taken
            // away (revoked, or its key replaced): say so rather than let it vanish.
            if last_seen.is_some() {
                problems.push(format!(
                    "study {}: your key no longer has access to it (its version {} has no key for you: your access was \
                     revoked, or your key was replaced by a new one). Ask your administrator if you still need it",
                    study.study_uid,
                    manifest.version()
                ));
            }
            continue;
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
    if with_app(|a| a.identity.is_none()).unwrap_or(true) {
        return Ok(()); // locked while listing: what was listed goes now
    }
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
    // The study, then its priors (same patient, earlier date) for the default hanging.
    let Some((identity, chosen)) = with_app(|a| {
        let s = a.studies.get(i)?;
        let mut chosen = vec![i];
        let date_ok = |d: &str| d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit());
        for (k, other) in a.studies.iter().enumerate() {
            if k != i
                && !s.index.patient_id.is_empty()
                && other.index.patient_id == s.index.patient_id
                && date_ok(&other.index.study_date)
                && other.index.study_date < s.index.study_date
            {
                chosen.push(k);
            }
        }
        Some((a.identity.clone(), chosen))
    })
    .flatten() else {
        return;
    };
    let Some(identity) = identity else { return };
    status("Opening the study…");
    let mut parts = Vec::new();
    for (n, &k) in chosen.iter().enumerate() {
        // `get`: a lock while an earlier key was unwrapped has emptied the list
        let Some((manifest, index, study_uid)) =
            with_app(|a| a.studies.get(k).map(|s| (s.manifest.clone(), s.index.clone(), s.listed.study_uid.clone())))
                .flatten()
        else {
            return;
        };
        let keys = match manifest.unlock(identity.as_ref(), &WebCryptoAead).await {
            Ok(k) => Rc::new(k),
            Err(e) if n == 0 => {
                status(&format!("Cannot open the study: {e}"));
                return;
            }
            Err(_) => continue, // a prior that does not open is left out
        };
        parts.push(RoomStudy { manifest, index, study_uid, keys });
    }
    show_room(parts, opened_at);
}

/// One study handed to the reading room: its verified manifest, index and unlocked keys.
pub(crate) struct RoomStudy {
    pub(crate) manifest: Rc<VerifiedManifest>,
    pub(crate) index: StudyIndex,
    pub(crate) study_uid: String,
    pub(crate) keys: Rc<obscura_seal::StudyKeys<crate::webcrypto::WebCryptoStudyKey>>,
}

/// Opens the reading room on `parts`: the first is the study, the others its priors.
pub(crate) fn show_room(parts: Vec<RoomStudy>, opened_at: f64) {
    if !lock::armed() {
        return; // locked while the study was being opened: its keys go now
    }
    CANVAS_BLANK.with(|b| b.set(false));
    let Some(store) = with_app(|a| a.config.store.clone()) else { return };
    let mut series_states = Vec::new();
    let mut series_attrs = Vec::new();
    for (n, RoomStudy { manifest, index, study_uid, keys }) in parts.into_iter().enumerate() {
        for se in index.series.iter().filter(|se| !se.instances.is_empty()) {
            let mut entries = Vec::new();
            let mut attrs = Vec::new();
            for inst in &se.instances {
                let Some(entry) = manifest.object(&inst.object_id) else { continue };
                attrs.push(index_attributes(&index, se, inst, &study_uid, &entry.sop_instance_uid));
                entries.push((
                    entry.sop_instance_uid.clone(),
                    room::SliceEntry {
                        object_id: inst.object_id,
                        source: store.sealed_source_parts(&study_uid, &entry.series_uid, &entry.sop_instance_uid),
                        state: room::SliceState::Pending,
                        loaded_once: false,
                    },
                ));
            }
            let prior = if n == 0 { String::new() } else { format!(" · prior {}", pretty_date(&index.study_date)) };
            let label = format!(
                "{} {} {} ({}){prior}",
                se.series_number.map(|n| format!("S{n}")).unwrap_or_default(),
                se.modality,
                se.series_description,
                entries.len()
            );
            series_states.push((label, keys.clone(), manifest.clone(), entries));
            series_attrs.push(attrs);
        }
    }
    // Stack order is the reading crate's; the entries follow it.
    let mut reading = Vec::new();
    let mut states = Vec::new();
    for ((label, keys, manifest, mut entries), attrs) in series_states.into_iter().zip(series_attrs) {
        let series = Series::new(attrs);
        let instances = series
            .instances()
            .iter()
            .filter_map(|a| {
                let k = entries.iter().position(|(sop, _)| *sop == a.sop_instance_uid)?;
                Some(entries.swap_remove(k).1)
            })
            .collect();
        reading.push(series);
        states.push(room::SeriesState { label, keys, manifest, instances });
    }
    set_hidden("studies", true);
    set_hidden("viewer", false);
    let budget = el("budget").unchecked_into::<web_sys::HtmlSelectElement>();
    let bytes = room::default_budget();
    budget.set_value(&(bytes >> 20).to_string());
    let generation = with_app(|a| {
        a.generation += 1;
        a.open = Some(room::OpenStudy {
            generation: a.generation,
            room: room::Room::new(states, reading, bytes),
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
    room::render_thumbnails();
    status("Study open: wheel scrolls, left-drag sets window/level, ? lists every binding");
    room::ensure_loaders(generation);
    room::request_frame();
}

/// What the study index says of an instance, before its header is decoded (the reading room
/// learns the rest as it decodes).
fn index_attributes(
    index: &StudyIndex,
    series: &obscura_seal::SeriesIndex,
    inst: &obscura_seal::InstanceIndex,
    study_uid: &str,
    sop: &str,
) -> Attributes {
    Attributes {
        patient_name: index.patient_name.clone(),
        patient_id: index.patient_id.clone(),
        patient_birth_date: index.patient_birth_date.clone(),
        patient_sex: index.patient_sex.clone(),
        study_date: index.study_date.clone(),
        study_time: index.study_time.clone(),
        study_description: index.study_description.clone(),
        accession_number: index.accession_number.clone(),
        study_instance_uid: study_uid.to_string(),
        series_instance_uid: series.series_uid.clone(),
        sop_instance_uid: sop.to_string(),
        modality: series.modality.clone(),
        series_number: series.series_number,
        series_description: series.series_description.clone(),
        instance_number: inst.instance_number,
        slice_location: inst.slice_location,
        rows: Some(inst.rows),
        columns: Some(inst.columns),
        number_of_frames: Some(inst.frames.max(1)),
        ..Default::default()
    }
}

/// Drops the open study: its keys, every decoded slice (zeroised), the GPU textures.
pub(crate) fn close_study() {
    with_app(|a| {
        a.open = None;
        a.phase = "list";
    });
    GPU.with(|g| {
        if let Ok(mut g) = g.try_borrow_mut() {
            if let Some(g) = g.as_mut() {
                g.clear_all();
            }
        }
    });
    set_hidden("viewer", true);
    set_hidden("error", true);
    // corner texts, measurement labels and series labels name the patient
    el("panes").set_inner_html("");
    el("thumbnails").set_inner_html("");
    // a share link shows one study and never a list
    set_hidden("studies", crate::share::active());
}

/// Shows the credentials form: the store answered 401/403.
pub(crate) fn ask_for_credentials(message: &str) {
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

thread_local! {
    /// Whether a progress update is already scheduled.
    static PROGRESS_SCHEDULED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How often, at most, the progress line and bar are rewritten while a series loads: each DOM
/// change repaints the page, which costs the loaders CPU time (notably with software compositing).
const PROGRESS_INTERVAL_MS: i32 = 200;

/// Schedules a progress update (at most one per [`PROGRESS_INTERVAL_MS`]).
pub(crate) fn update_progress() {
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

/// Writes the progress line and bar of the open study (the series on screen).
fn write_progress() {
    with_app(|a| {
        if let Some(open) = &a.open {
            let r = &open.room;
            let shown: Vec<usize> = {
                let mut v: Vec<usize> = r.hanging.panes().iter().filter_map(|p| p.series).collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            let entries = || shown.iter().flat_map(|&s| r.series[s].instances.iter());
            let total = entries().count();
            let failed = entries().filter(|e| matches!(e.state, room::SliceState::Failed(_))).count();
            let done = entries().filter(|e| e.loaded_once).count() + failed;
            let mut text = if done == total {
                String::new()
            } else {
                format!("loading {done}/{total} ({:.1} MB)", open.bytes_received as f64 / 1e6)
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
            let _ = bar.set_attribute("value", &done.to_string());
            bar.set_hidden(done == total);
        }
    });
}

thread_local! {
    /// How often a lost GPU was rebuilt (test state).
    static GPU_REBUILDS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// How often the GPU is checked for a loss while nothing else draws: a device lost while the
/// reader only looks (a driver reset) is rebuilt within this time, not at the next input.
const GPU_WATCH_MS: i32 = 1000;

/// Starts the GPU watchdog (once, at boot).
fn watch_gpu() {
    let cb = Closure::<dyn FnMut()>::new(|| {
        let lost = GPU.with(|g| g.try_borrow().ok().and_then(|g| g.as_ref().map(|g| g.is_lost())).unwrap_or(false));
        if lost {
            room::request_frame();
        }
    });
    let _ = web_sys::window()
        .unwrap()
        .set_interval_with_callback_and_timeout_and_arguments_0(cb.as_ref().unchecked_ref(), GPU_WATCH_MS);
    cb.forget();
}

/// Builds a new GPU on the canvas after a lost device or context, then draws again (every pane
/// uploads its slice again from the decoded pixels kept in memory; nothing is refetched).
pub(crate) fn recover_gpu() {
    let Some(lost) = GPU.with(|g| g.try_borrow_mut().ok().and_then(|mut g| g.take())) else { return };
    let canvas = lost.canvas().clone();
    drop(lost);
    with_app(|a| {
        if let Some(o) = a.open.as_mut() {
            o.room.uploaded.iter_mut().for_each(|u| *u = None);
        }
    });
    status("The GPU was lost; restarting it…");
    let force_webgl = web_sys::window().unwrap().location().search().unwrap_or_default().contains("gpu=webgl");
    wasm_bindgen_futures::spawn_local(async move {
        // A lost WebGL context comes back asynchronously (the browser restores it): wait up to 10 s.
        let mut last_error = String::new();
        for _ in 0..40 {
            if !Gpu::canvas_ready(&canvas) {
                last_error = "the WebGL context was not restored".into();
                sleep_ms(250).await;
                continue;
            }
            match Gpu::new(canvas.clone(), force_webgl).await {
                Ok(gpu) => {
                    GPU.with(|g| *g.borrow_mut() = Some(gpu));
                    GPU_REBUILDS.with(|n| n.set(n.get() + 1));
                    status("");
                    room::request_frame();
                    return;
                }
                Err(e) => last_error = e,
            }
            sleep_ms(250).await;
        }
        show_fatal(&format!("The GPU was lost and could not be restarted: {last_error}"));
    });
}

fn install_input_handlers() {
    room::install_handlers();
    room::render_help();

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

    let resized = Closure::<dyn FnMut()>::new(room::request_frame);
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
        // Before the app exists, the key screens say where boot is (locked, choosing, enrolling),
        // or the share link's screens do.
        let Some(a) = a.as_ref() else {
            let keys = protect::debug();
            let share = crate::share::debug();
            let phase = if share.is_null() { keys["phase"].clone() } else { "booting".into() };
            return serde_json::json!({ "phase": phase, "keys": keys, "share": share });
        };
        // `open` describes the active pane's series (what the single-pane tests read) and, under
        // `room`, every pane.
        let open = a.open.as_ref().map(|o| {
            let r = &o.room;
            let active = r.hanging.active();
            let pane = &r.hanging.panes()[active];
            let series = pane.series.map(|s| &r.series[s]);
            let entries: Vec<&room::SliceEntry> = series.map(|s| s.instances.iter().collect()).unwrap_or_default();
            let ready = entries.iter().filter(|e| e.loaded_once).count();
            let failed: Vec<usize> =
                (0..entries.len()).filter(|&i| matches!(entries[i].state, room::SliceState::Failed(_))).collect();
            let errors: Vec<String> = entries
                .iter()
                .filter_map(|e| if let room::SliceState::Failed(m) = &e.state { Some(m.clone()) } else { None })
                .collect();
            // the stack position of what the pane's GPU slot holds (drawn on the last frame)
            let shown = r.uploaded.get(active).copied().flatten().and_then(|(s, i, f)| {
                (pane.series == Some(s))
                    .then(|| r.reading[s].slices().iter().position(|x| x.instance == i && x.frame == f))
                    .flatten()
            });
            let w = pane.window.as_ref().map(|w| [w.window.center, w.window.width]).unwrap_or([0.0, 0.0]);
            serde_json::json!({
                "current": pane.stack.index(), "slices": entries.len(), "ready": ready, "failed": failed,
                "errors": errors, "paused": o.paused,
                "shown": shown, "window": w, "first_image_ms": o.first_image_ms,
                "complete_ms": o.complete_ms, "bytes_received": o.bytes_received,
                "room": room::debug_room(o),
            })
        });
        let gpu_images = GPU.with(|g| {
            g.try_borrow().ok().and_then(|g| {
                g.as_ref().map(|g| (0..obscura_render::MAX_PANES).filter(|&p| g.pane_image_size(p).is_some()).count())
            })
        });
        serde_json::json!({
            "phase": a.phase,
            "studies": a.studies.len(),
            "readerKey": a.identity.is_some(),
            "studyKeys": crate::webcrypto::live_study_keys(),
            "decoded": crate::decoder::live_decoded(),
            "cacheBytes": a.open.as_ref().map_or(0, |o| o.room.cache.usage().bytes),
            "gpuImages": gpu_images,
            "canvasBlank": CANVAS_BLANK.with(|b| b.get()),
            "lock": lock::debug(),
            "storeCredentials": net::has_authorization(),
            "message": a.message,
            "backend": match a.backend { Backend::WebGpu => "webgpu", Backend::WebGl2 => "webgl2" },
            "gpuRebuilds": GPU_REBUILDS.with(|n| n.get()),
            "share": crate::share::debug(),
            "keys": protect::debug(),
            "open": open,
        })
    });
    JsValue::from_str(&v.to_string())
}

/// The store URL of the sealed object behind slice `index` of the active pane's series.
pub(crate) fn sealed_url_for_slice(index: usize) -> Option<String> {
    with_app(|a| {
        let r = &a.open.as_ref()?.room;
        let s = r.hanging.panes()[r.hanging.active()].series?;
        let instance = r.reading[s].slices().get(index)?.instance;
        Some(r.series[s].instances[instance].source.url().to_string())
    })
    .flatten()
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

/// The active pane's slice rendered at 1:1 (image px = target px) through the GPU pipeline with
/// the pane's window, as one gray byte per image pixel; `null` when the pane shows nothing.
pub(crate) async fn read_back() -> Result<JsValue, String> {
    let Some((pane, window, function, invert)) = with_app(|a| {
        let r = &a.open.as_ref()?.room;
        let pane = r.hanging.active();
        r.uploaded.get(pane).copied().flatten()?;
        let p = &r.hanging.panes()[pane];
        let w = p.window.as_ref()?;
        let function = match w.source {
            obscura_reading::window::WindowSource::Object(_) => {
                let (s, i, _) = r.pane_slice(pane)?;
                r.cache.peek(&(s, i)).map_or(VoiFunction::Linear, |d| d.image.0.voi_function)
            }
            _ => VoiFunction::Linear,
        };
        Some((pane, w.window, function, w.invert))
    })
    .flatten() else {
        return Ok(JsValue::NULL);
    };
    let view = View { voi: Voi::Window(window, function), invert, ..View::default() };
    // Hold the GPU out of the thread-local while awaiting, so that drawing never finds it
    // borrowed mid-await; put it back afterwards.
    let mut gpu = GPU.with(|g| g.borrow_mut().take()).ok_or("no GPU")?;
    let result = gpu.read_back_pane(pane, &view, yield_to_event_loop).await;
    GPU.with(|g| *g.borrow_mut() = Some(gpu));
    room::request_frame();
    let rgb = result?;
    let gray: Vec<u8> = rgb.chunks_exact(3).map(|p| p[0]).collect();
    Ok(Uint8Array::from(&gray[..]).into())
}

/// Test hook: loses the GPU device (the next frame rebuilds it and uploads every pane again).
pub(crate) fn lose_gpu() {
    GPU.with(|g| {
        if let Some(g) = g.borrow().as_ref() {
            g.destroy_device();
        }
    });
    room::request_frame();
}

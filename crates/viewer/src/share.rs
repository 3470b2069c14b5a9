//! Share mode: a referring physician opens one study through a share link (`docs/FORMAT.md` §6),
//! read-only, without a reader key.
//!
//! `www/app.js` takes the `#share=…` fragment out of the address bar and the history entry
//! before anything is fetched and hands it here. Nothing is written to browser storage: no key is
//! created, nothing is enrolled, the manifest version seen is kept in memory. The study's manifest
//! comes from the configured store, the link's stanza opens the study key (with the passcode, and
//! for a gated link the gate secret that the sharing service releases against the passcode's
//! verifier, a limited number of times), and the reading room shows that one study: no list, no
//! priors. Before every slice fetch the manifest is checked again, so a revoked or expired link
//! stops the session at its next fetch (the study is closed and its cleartext zeroised).

use std::cell::RefCell;
use std::rc::Rc;

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use obscura_dicomweb::carrier::Carrier;
use obscura_dicomweb::client::{self, HttpClient};
use obscura_dicomweb::layout::Store;
use obscura_dicomweb::{qido, DicomWebError};
use obscura_seal::share::{find_share, unwrap_share};
use obscura_seal::{GateSecret, PublicKey, SealError, ShareLink, StudyKey, VerifiedManifest};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use zeroize::Zeroizing;

use crate::app::{self, el, now_ms, now_secs, set_hidden, set_text, status, utc};
use crate::net::{self, StoreClient};
use crate::webcrypto::WebCryptoAead;

/// Why a share link does not (or no longer) open the study; each says what to do.
#[derive(Debug, Clone)]
pub(crate) enum Problem {
    /// The fragment does not parse.
    Malformed,
    /// A link format this viewer does not know.
    Unsupported,
    /// The store or the sharing service does not answer.
    Unreachable(String),
    /// The link's stanza is gone (revoked, or replaced by a rotation), or the study is gone.
    Revoked,
    /// Past its expiry (unix seconds).
    Expired(i64),
    /// A wrong passcode; for a gated link, the attempts left.
    WrongPasscode(Option<u32>),
    /// Too many wrong passcodes: the gate secret is erased.
    Locked,
    /// What the store sent does not verify (signature, chain, rollback, tampering).
    Refused(String),
    /// Closed after the idle timeout (its text, e.g. "15 min"): nothing to unlock it with.
    Idle(String),
    /// Anything else (e.g. no GPU).
    Other(String),
}

impl Problem {
    fn kind(&self) -> &'static str {
        match self {
            Problem::Malformed => "malformed",
            Problem::Unsupported => "unsupported",
            Problem::Unreachable(_) => "unreachable",
            Problem::Revoked => "revoked",
            Problem::Expired(_) => "expired",
            Problem::WrongPasscode(_) => "wrong-passcode",
            Problem::Locked => "locked",
            Problem::Refused(_) => "refused",
            Problem::Idle(_) => "idle",
            Problem::Other(_) => "other",
        }
    }

    /// What happened (a title) and what to do.
    fn message(&self) -> (String, String) {
        const NEW_LINK: &str = "Ask the radiology department that sent it for a new link.";
        let (title, text) = match self {
            Problem::Malformed => (
                "This link is incomplete or damaged.".into(),
                "The part after “#” is missing or cut off (some mail programs break long links). Open the link again \
                 from the message you received, copying all of it, or ask the sender for a new one."
                    .into(),
            ),
            Problem::Unsupported => (
                "This link was made for a newer version of the viewer.".into(),
                format!("This viewer cannot open it. {NEW_LINK}"),
            ),
            Problem::Unreachable(why) => (
                "The image store cannot be reached.".into(),
                format!(
                    "Check your network connection, then open the link again from the message you received (this \
                     page no longer holds it, for safety). Details: {why}"
                ),
            ),
            Problem::Revoked => (
                "This link no longer works.".into(),
                format!("The sender withdrew it, or the study was re-shared or removed. {NEW_LINK}"),
            ),
            Problem::Expired(at) => (
                "This link has expired.".into(),
                format!("It could be opened until {}. {NEW_LINK}", utc(*at)),
            ),
            Problem::WrongPasscode(Some(n)) => (
                "Wrong passcode.".into(),
                format!(
                    "{n} attempt{} left before the link locks for good. The passcode was sent to you separately from \
                     the link (by phone or text message, for instance).",
                    if *n == 1 { "" } else { "s" }
                ),
            ),
            Problem::WrongPasscode(None) => (
                "Wrong passcode.".into(),
                "Check it and try again. The passcode was sent to you separately from the link.".into(),
            ),
            Problem::Locked => (
                "This link is locked.".into(),
                format!("Too many wrong passcodes were entered: it cannot be opened any more, not even with the right passcode. {NEW_LINK}"),
            ),
            Problem::Refused(why) => (
                "This study could not be verified.".into(),
                format!(
                    "What the image store sent was not sealed by the hospital, or was altered, so nothing of it is \
                     shown. Tell the radiology department. Details: {why}"
                ),
            ),
            Problem::Idle(after) => (
                "The study was closed.".into(),
                format!(
                    "Nothing was done in this page for {after}, so the study was closed and removed from it, in case \
                     the screen was left unattended. To see it again, open the link again from the message you \
                     received (this page no longer holds it, for safety)."
                ),
            ),
            Problem::Other(why) => ("The study cannot be shown on this device.".into(), why.clone()),
        };
        (title, text)
    }
}

/// The open share session.
struct Session {
    link: Rc<ShareLink>,
    store: Store,
    org: PublicKey,
    /// The manifest carrier in use and its version (a newer one is checked again; an older one
    /// is a rollback).
    manifest_sop: String,
    version: u64,
    /// The stanza's expiry (checked on this device's clock before every fetch).
    expires: i64,
    generation: u32,
}

/// What the test hooks see.
#[derive(Default)]
struct Shown {
    state: &'static str,
    problem: Option<&'static str>,
    attempts_left: Option<u32>,
    rechecks: u32,
}

thread_local! {
    static ACTIVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
    static SHOWN: RefCell<Shown> = RefCell::new(Shown::default());
    /// Resolves the pending passcode prompt.
    static PASSCODE: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
}

/// Whether the page was opened with a share link.
pub(crate) fn active() -> bool {
    ACTIVE.with(|a| a.get())
}

/// The share part of the test state (`null` outside share mode).
pub(crate) fn debug() -> serde_json::Value {
    if !active() {
        return serde_json::Value::Null;
    }
    SHOWN.with(|s| {
        let s = s.borrow();
        serde_json::json!({ "state": s.state, "problem": s.problem, "attemptsLeft": s.attempts_left, "rechecks": s.rechecks })
    })
}

fn set_state(state: &'static str) {
    SHOWN.with(|s| s.borrow_mut().state = state);
}

/// Shows `problem` in the share panel (the passcode form stays for a wrong passcode).
fn show_problem(problem: &Problem) {
    let (title, text) = problem.message();
    set_text("share-title", &title);
    set_text("share-text", &text);
    set_hidden("share", false);
    set_hidden("share-passcode", !matches!(problem, Problem::WrongPasscode(_)));
    status("");
    SHOWN.with(|s| {
        let mut s = s.borrow_mut();
        s.problem = Some(problem.kind());
        if let Problem::WrongPasscode(n) = problem {
            s.attempts_left = *n;
        }
        if !matches!(problem, Problem::WrongPasscode(_)) {
            s.state = "ended";
        }
    });
    app::set_phase("share");
}

/// Opens the study of a share link: `fragment` is the `#share=…` part of the address.
pub(crate) async fn boot(fragment: String) -> Result<(), String> {
    let fragment = Zeroizing::new(fragment);
    ACTIVE.with(|a| a.set(true));
    set_state("opening");
    // read-only, keyless: no reader fingerprint, no way back to a list
    set_hidden("reader-fp-box", true);
    set_hidden("device-help-toggle", true);
    set_hidden("back", true);
    set_text("share-title", "Opening the shared study…");
    set_text("share-text", "");
    set_hidden("share", false);
    if let Err(p) = open(&fragment).await {
        show_problem(&p);
    }
    Ok(())
}

async fn open(fragment: &str) -> Result<(), Problem> {
    let opened_at = now_ms();
    let link = Rc::new(ShareLink::from_fragment(fragment).map_err(|e| match e {
        SealError::UnsupportedVersion { .. } => Problem::Unsupported,
        _ => Problem::Malformed,
    })?);
    status("Loading configuration…");
    let config = app::fetch_config().await.map_err(Problem::Unreachable)?;
    set_text("org-fp", &config.org.fingerprint());
    let (store, org) = (config.store.clone(), config.org.clone());
    status("Fetching the shared study's manifest…");
    let (carrier, manifest) = fetch_manifest(&store, &org, &link.study_uid).await?;
    let stanza = find_share(manifest.study_uid(), &manifest.body().shares, &link, now_secs()).map_err(share_problem)?;
    let expires = stanza.expires;
    let idle = config.idle_seconds;
    app::start(config, None, "share").await.map_err(Problem::Other)?;
    crate::lock::install(idle);
    crate::lock::arm();
    install_passcode_form();
    let key = if stanza.needs_passcode() {
        ask_until_open(&manifest, &link).await?
    } else {
        unwrap_share(manifest.study_uid(), stanza, &link, None, None).map_err(share_problem)?
    };
    status("Opening the study…");
    let keys = manifest.unlock_with_key(key, &WebCryptoAead).await.map_err(|e| Problem::Refused(e.to_string()))?;
    let index = manifest.index(&keys).await.map_err(|e| Problem::Refused(e.to_string()))?;
    let manifest = Rc::new(manifest);
    set_hidden("share", true);
    let study_uid = link.study_uid.clone();
    app::show_room(
        vec![app::RoomStudy { manifest: manifest.clone(), index, study_uid, keys: Rc::new(keys) }],
        opened_at,
    );
    let generation = app::with_app(|a| a.open.as_ref().map(|o| o.generation)).flatten().unwrap_or(0);
    SESSION.with(|s| {
        *s.borrow_mut() = Some(Session {
            link,
            store,
            org,
            manifest_sop: carrier.sop_instance_uid,
            version: manifest.version(),
            expires,
            generation,
        })
    });
    set_state("open");
    // Say what this is: someone's study shared with the recipient, for a limited time.
    status(&format!(
        "Shared with you, read only, until {}: wheel scrolls, left-drag sets window/level, ? lists every binding",
        utc(expires)
    ));
    Ok(())
}

/// The problem a share error stands for.
fn share_problem(e: SealError) -> Problem {
    match e {
        SealError::NoSuchShare { .. } => Problem::Revoked,
        SealError::ShareExpired { expires, .. } => Problem::Expired(expires),
        SealError::WrongPasscode => Problem::WrongPasscode(None),
        e => Problem::Refused(e.to_string()),
    }
}

/// The newest manifest carrier of the study and the verified manifest.
async fn fetch_manifest(
    store: &Store,
    org: &PublicKey,
    study_uid: &str,
) -> Result<(Carrier, VerifiedManifest), Problem> {
    let carrier = newest_carrier(store, study_uid).await?;
    let manifest = open_carrier(store, org, &carrier, None).await?;
    Ok((carrier, manifest))
}

fn store_client_notify(m: Option<String>) {
    if let Some(m) = m {
        status(&m)
    }
}

fn store_problem(e: DicomWebError) -> Problem {
    match e {
        DicomWebError::Http { status: Some(401), .. } => {
            Problem::Unreachable("the image store asks for credentials a share link does not have".into())
        }
        DicomWebError::Http { status: Some(503), message, .. } => Problem::Unreachable(message),
        // the study's listing is gone: the study was removed from the store
        DicomWebError::Http { status: None, .. } => Problem::Revoked,
        e => Problem::Refused(e.to_string()),
    }
}

/// The study's newest manifest carrier, as the store lists it.
async fn newest_carrier(store: &Store, study_uid: &str) -> Result<Carrier, Problem> {
    let http = StoreClient { notify: &store_client_notify };
    let answer =
        http.get(&store.study_instances_url(study_uid), Some("application/dicom+json")).await.map_err(store_problem)?;
    let instances = qido::parse_instances(&answer.body).map_err(|e| Problem::Refused(e.to_string()))?;
    client::newest_manifest(instances, study_uid).ok_or(Problem::Revoked)
}

/// Fetches and verifies the manifest in `carrier` (not older than `last_seen`).
async fn open_carrier(
    store: &Store,
    org: &PublicKey,
    carrier: &Carrier,
    last_seen: Option<u64>,
) -> Result<VerifiedManifest, Problem> {
    let http = StoreClient { notify: &store_client_notify };
    let uid = &carrier.study_uid;
    let bytes = client::fetch_sealed(&http, store, uid, &carrier.series_uid, &carrier.sop_instance_uid)
        .await
        .map_err(store_problem)?;
    let manifest =
        obscura_seal::open_manifest(&bytes, org, now_secs(), last_seen).map_err(|e| Problem::Refused(e.to_string()))?;
    if manifest.study_uid() != uid {
        return Err(Problem::Refused("the manifest belongs to another study".into()));
    }
    Ok(manifest)
}

/// Asks for the passcode until it opens the study key (or the link locks, expires, is revoked).
async fn ask_until_open(manifest: &VerifiedManifest, link: &ShareLink) -> Result<StudyKey, Problem> {
    let stanza = find_share(manifest.study_uid(), &manifest.body().shares, link, now_secs()).map_err(share_problem)?;
    set_text("share-title", "This study is protected by a passcode.");
    set_text("share-text", "Enter the passcode you received separately from the link.");
    set_hidden("share-passcode", false);
    loop {
        set_state("passcode");
        status("");
        let code = ask_passcode().await;
        set_state("checking");
        status("Checking the passcode…");
        set_hidden("share-passcode", true);
        // let the page paint the message before Argon2id holds the thread for a moment
        net::sleep_ms(30).await;
        let pc = stanza.passcode_key(&code).map_err(|e| Problem::Refused(e.to_string()))?;
        drop(code);
        let gate = if stanza.is_gated() {
            match open_gate(link, &link.gate_verifier(&pc), stanza.expires).await {
                Ok(secret) => Some(secret),
                Err(p @ Problem::WrongPasscode(_)) => {
                    show_problem(&p);
                    continue;
                }
                Err(p) => return Err(p),
            }
        } else {
            None
        };
        match unwrap_share(manifest.study_uid(), stanza, link, Some(&pc), gate.as_ref()) {
            Ok(key) => return Ok(key),
            Err(SealError::WrongPasscode) => show_problem(&Problem::WrongPasscode(None)),
            Err(e) => return Err(share_problem(e)),
        }
    }
}

/// Asks the sharing service for the gate secret with the passcode's verifier.
async fn open_gate(link: &ShareLink, verifier: &[u8; 32], expires: i64) -> Result<GateSecret, Problem> {
    let url = format!("api/share/{}/gate", link.link_id);
    let body = serde_json::json!({ "verifier": B64.encode(verifier) }).to_string();
    let (code, answer) = net::post_json(&url, &body)
        .await
        .map_err(|e| Problem::Unreachable(format!("the sharing service does not answer ({e})")))?;
    let v: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
    match code {
        200 => {
            let bytes = Zeroizing::new(
                v["gate_secret"]
                    .as_str()
                    .and_then(|s| B64.decode(s).ok())
                    .ok_or(Problem::Refused("the sharing service's answer has no gate secret".into()))?,
            );
            let secret: [u8; 32] =
                bytes[..].try_into().map_err(|_| Problem::Refused("the gate secret is not 32 bytes".into()))?;
            Ok(GateSecret(secret))
        }
        403 => Err(Problem::WrongPasscode(v["attempts_left"].as_u64().map(|n| n as u32))),
        404 => Err(Problem::Revoked),
        410 if v["expired"].as_bool() == Some(true) => Err(Problem::Expired(expires)),
        410 => Err(Problem::Locked),
        other => Err(Problem::Unreachable(format!("the sharing service answered HTTP {other}"))),
    }
}

/// Waits for the passcode form to be submitted; the field is emptied at once.
async fn ask_passcode() -> Zeroizing<String> {
    let promise = js_sys::Promise::new(&mut |resolve, _| PASSCODE.with(|p| *p.borrow_mut() = Some(resolve)));
    let value = wasm_bindgen_futures::JsFuture::from(promise).await.unwrap_or_default();
    Zeroizing::new(value.as_string().unwrap_or_default())
}

fn install_passcode_form() {
    let submit = Closure::<dyn FnMut(web_sys::Event)>::new(|e: web_sys::Event| {
        e.prevent_default();
        let input = el("share-passcode-input").unchecked_into::<web_sys::HtmlInputElement>();
        let code = input.value();
        input.set_value("");
        if code.is_empty() {
            return;
        }
        if let Some(resolve) = PASSCODE.with(|p| p.borrow_mut().take()) {
            let _ = resolve.call1(&JsValue::NULL, &JsValue::from_str(&code));
        }
    });
    el("share-passcode").set_onsubmit(Some(submit.as_ref().unchecked_ref()));
    submit.forget();
}

/// Before each slice fetch of a share session: is the link still valid? The manifest is listed
/// again (and fetched again when a new version appeared); a revoked or expired link (or a store
/// that no longer answers) ends the session: the study is closed, its keys dropped and its slices
/// zeroised, and the reason is shown. `true` lets the fetch go on; outside share mode, always.
pub(crate) async fn still_valid(generation: u32) -> bool {
    let Some((link, store, org, sop, version, expires)) = SESSION.with(|s| {
        s.borrow()
            .as_ref()
            .filter(|s| s.generation == generation)
            .map(|s| (s.link.clone(), s.store.clone(), s.org.clone(), s.manifest_sop.clone(), s.version, s.expires))
    }) else {
        return !active();
    };
    SHOWN.with(|s| s.borrow_mut().rechecks += 1);
    match recheck(&link, &store, &org, &sop, version, expires).await {
        Ok(Some((sop, version))) => {
            SESSION.with(|s| {
                if let Some(s) = s.borrow_mut().as_mut() {
                    s.manifest_sop = sop;
                    s.version = version;
                }
            });
            true
        }
        Ok(None) => true,
        Err(p) => {
            end(&p);
            false
        }
    }
}

/// The newest manifest carrier and version when they changed (and the link still opens the
/// study), `None` when unchanged.
async fn recheck(
    link: &ShareLink,
    store: &Store,
    org: &PublicKey,
    sop: &str,
    version: u64,
    expires: i64,
) -> Result<Option<(String, u64)>, Problem> {
    if now_secs() > expires {
        return Err(Problem::Expired(expires));
    }
    let carrier = newest_carrier(store, &link.study_uid).await?;
    if carrier.sop_instance_uid == sop {
        return Ok(None);
    }
    let m = open_carrier(store, org, &carrier, Some(version)).await?;
    find_share(m.study_uid(), &m.body().shares, link, now_secs()).map_err(share_problem)?;
    Ok(Some((carrier.sop_instance_uid, m.version())))
}

/// Ends the share session: the study is closed (keys dropped, slices zeroised) and `p` shown.
fn end(p: &Problem) {
    if SESSION.with(|s| s.borrow_mut().take()).is_none() {
        return; // another loader got there first
    }
    app::close_study();
    show_problem(p);
}

/// The idle lock of a share session: the session ends (whatever stage it is at: a pending
/// passcode prompt is abandoned too) and the recipient is told to open the link again.
pub(crate) fn end_idle(after: &str) {
    if SHOWN.with(|s| s.borrow().state) == "ended" {
        return; // already ended (revoked, expired…): that message stays
    }
    SESSION.with(|s| s.borrow_mut().take());
    PASSCODE.with(|p| p.borrow_mut().take());
    app::close_study();
    show_problem(&Problem::Idle(after.to_string()));
}

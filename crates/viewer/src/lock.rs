//! Locking the viewer: after an idle timeout, with the Lock button, and on Log out.
//!
//! A lock takes away everything a person walking up to an unattended screen could use: the open
//! study is closed (its study-key handles dropped, every decoded slice zeroised, the GPU textures
//! zeroed and destroyed and an empty frame presented), the listed studies' indexes (PHI) are
//! dropped, the DOM that showed PHI is emptied, and the reader's unwrapped private keys are
//! dropped. Unlocking asks for the second factor again (`protect.rs`' unlock screen) and lists the
//! studies anew. Log out does the same and also forgets the image store's credentials kept in
//! memory (`net.rs`). In share mode there is nothing to unlock with: the idle lock ends the
//! session and tells the recipient to open the link again.
//!
//! Idle means no pointer, key, touch or wheel input: a playing cine is not activity. The
//! administrator sets the timeout in config.json (`idle_lock_seconds`); the reader may shorten it
//! (`?idle=SECONDS` in the address), never lengthen it.

use std::cell::Cell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::app::{self, el, set_hidden, set_text, status, with_app};

/// The administrator's timeout when config.json names none: 15 minutes.
pub const DEFAULT_IDLE_SECONDS: u64 = 900;
/// How often the idle clock is looked at.
const TICK_MS: i32 = 1000;

/// Why the viewer locks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Why {
    /// No input for the timeout.
    Idle,
    /// The Lock button.
    Manual,
    /// The Log out button: also forgets the store credentials.
    Logout,
    /// A replacement key's certificate was installed: the new key is unlocked with its factor.
    Replaced,
}

thread_local! {
    /// When the reader last used a pointer, key, touch or wheel (`performance.now()` ms).
    static LAST_INPUT: Cell<f64> = const { Cell::new(0.0) };
    /// The timeout in force (seconds).
    static TIMEOUT: Cell<u64> = const { Cell::new(DEFAULT_IDLE_SECONDS) };
    /// Whether anything is unlocked that a lock would take away.
    static ARMED: Cell<bool> = const { Cell::new(false) };
    /// How often the viewer locked, and why the last time (test state).
    static LOCKS: Cell<u32> = const { Cell::new(0) };
    static LAST_WHY: Cell<Option<Why>> = const { Cell::new(None) };
    static INSTALLED: Cell<bool> = const { Cell::new(false) };
}

/// The timeout in force: the administrator's, or the reader's `?idle=` when shorter (at least
/// one second; a value that does not parse, or a longer one, is ignored).
pub(crate) fn effective_timeout(admin: u64, search: &str) -> u64 {
    let reader = search
        .trim_start_matches('?')
        .split('&')
        .find_map(|kv| kv.strip_prefix("idle="))
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&v| v >= 1);
    match reader {
        Some(r) if r < admin => r,
        _ => admin,
    }
}

/// The lock state for the test hooks.
pub(crate) fn debug() -> serde_json::Value {
    serde_json::json!({
        "armed": ARMED.with(|a| a.get()),
        "timeout": TIMEOUT.with(|t| t.get()),
        "locks": LOCKS.with(|n| n.get()),
        "why": LAST_WHY.with(|w| w.get()).map(|w| match w {
            Why::Idle => "idle",
            Why::Manual => "manual",
            Why::Logout => "logout",
            Why::Replaced => "replaced",
        }),
    })
}

fn touch() {
    LAST_INPUT.with(|t| t.set(app::now_ms()));
}

/// Starts the idle clock (once per page) with the administrator's timeout from config.json, and
/// wires the Lock and Log out buttons.
pub(crate) fn install(admin_seconds: u64) {
    let search = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    TIMEOUT.with(|t| t.set(effective_timeout(admin_seconds, &search)));
    if INSTALLED.with(|i| i.replace(true)) {
        return;
    }
    touch();
    let window = web_sys::window().unwrap();
    let activity = Closure::<dyn FnMut()>::new(touch);
    for kind in ["pointerdown", "pointermove", "keydown", "wheel", "touchstart"] {
        // capture: the reading room stops some events from bubbling
        let _ = window.add_event_listener_with_callback_and_bool(kind, activity.as_ref().unchecked_ref(), true);
    }
    activity.forget();
    let tick = Closure::<dyn FnMut()>::new(|| {
        let idle_ms = app::now_ms() - LAST_INPUT.with(|t| t.get());
        if ARMED.with(|a| a.get()) && idle_ms >= TIMEOUT.with(|t| t.get()) as f64 * 1000.0 {
            lock(Why::Idle);
        }
    });
    let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), TICK_MS);
    tick.forget();
    for (id, why) in [("lock", Why::Manual), ("logout", Why::Logout)] {
        let cb = Closure::<dyn FnMut()>::new(move || lock(why));
        el(id).set_onclick(Some(cb.as_ref().unchecked_ref()));
        cb.forget();
    }
}

/// Something worth locking is unlocked now: the clock runs from here, and the buttons show
/// (share mode has only the idle lock).
pub(crate) fn arm() {
    touch();
    ARMED.with(|a| a.set(true));
    let share = crate::share::active();
    set_hidden("lock", share);
    set_hidden("logout", share);
}

/// Whether the viewer is unlocked (a study may be shown).
pub(crate) fn armed() -> bool {
    ARMED.with(|a| a.get())
}

fn disarm() {
    ARMED.with(|a| a.set(false));
    set_hidden("lock", true);
    set_hidden("logout", true);
}

/// Empties every element that showed PHI: the study list, the series thumbnails, the panes'
/// corner texts, markers and measurement labels, the progress line, the alert.
pub(crate) fn clear_phi_dom() {
    for id in ["study-list", "thumbnails", "panes", "help"] {
        el(id).set_inner_html("");
    }
    for id in ["progress", "error"] {
        set_text(id, "");
    }
}

/// Locks now (see the module doc). Does nothing when nothing is unlocked.
pub(crate) fn lock(why: Why) {
    if !ARMED.with(|a| a.get()) {
        return;
    }
    disarm();
    LOCKS.with(|n| n.set(n.get() + 1));
    LAST_WHY.with(|w| w.set(Some(why)));
    let minutes = |s: u64| if s.is_multiple_of(60) { format!("{} min", s / 60) } else { format!("{s} s") };
    let idle = minutes(TIMEOUT.with(|t| t.get()));
    if crate::share::active() {
        crate::share::end_idle(&idle);
        clear_phi_dom();
        app::blank_canvas();
        return;
    }
    app::close_study();
    with_app(|a| a.forget_reader());
    // panels that wait for the unlocked reader: the lock screen comes instead
    for id in ["cert-change", "device-help", "enrol"] {
        set_hidden(id, true);
    }
    crate::protect::forget_session();
    clear_phi_dom();
    set_hidden("studies", true);
    app::blank_canvas();
    if why == Why::Logout {
        crate::net::set_authorization(None);
        set_hidden("auth", true);
    }
    status(match why {
        Why::Idle => "Locked after a while without activity",
        Why::Manual => "Locked",
        Why::Logout => "Logged out",
        Why::Replaced => "Your new key is installed",
    });
    let reason = match why {
        Why::Idle => format!("Locked after {idle} without activity: nothing of your studies is left in this page."),
        Why::Manual => "Locked: nothing of your studies is left in this page.".into(),
        Why::Logout => "Logged out: your studies, your keys for this session and the image store's credentials are gone from this page.".into(),
        Why::Replaced => "Your new key's certificate is installed and the old key is deleted from this browser: unlock the new key with the security key or passphrase you protected it with.".into(),
    };
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = app::unlock_again(&reason).await {
            status(&format!("Error: {e}"));
            app::set_phase("error");
        }
    });
}

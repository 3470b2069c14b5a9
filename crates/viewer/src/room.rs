//! The reading room in the page: the open study's series, the panes and their tools
//! (`obscura-reading` holds every rule; this module wires it to the DOM, the loaders, the
//! cleartext cache and the GPU).
//!
//! Drawing happens once per animation frame (`request_frame`): input only changes state, so a
//! burst of wheel events costs one draw. Decoded slices live in a byte-budgeted LRU cache
//! (`reading::cache`), zeroised on eviction; the slices shown are pinned; loaders fetch what is
//! nearest to each pane's slice, as far as the budget allows, and wake up when the reader moves.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;

use obscura_dicomweb::layout::SealedSource;
use obscura_imaging::display::Voi;
use obscura_imaging::{Attributes, VoiFunction};
use obscura_reading::cache::{CacheError, SliceCache, DESKTOP_BUDGET, TABLET_BUDGET};
use obscura_reading::input::{
    help, Action, Button, Command, InputEvent, InputMachine, Modifiers, PointerKind, WheelUnit,
};
use obscura_reading::layout::{Applied, Hanging, Layout, Series};
use obscura_reading::measure::{AnnotationStore, ImageKey, MeasureContext, Shape as MShape, Tool};
use obscura_reading::overlay::{corners, orientation_markers};
use obscura_reading::viewport::Interpolation;
use obscura_reading::window::WindowSource;
use obscura_render::{Image, Overlay, PaneDraw, Shape as RShape, Space, Transform, View};
use obscura_seal::{ObjectId, ObjectReceiver, StudyKeys, VerifiedManifest};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

use crate::app::{document, el, now_ms, set_hidden, set_text, with_app, APP, GPU};
use crate::decoder::{self, Decoded, LOADERS};
use crate::net::{self, FetchError};
use crate::pipeline::{self, Fetched};
use crate::webcrypto::{WebCryptoCipher, WebCryptoStudyKey};

/// Where one instance of a series is in its life.
pub(crate) enum SliceState {
    /// Not fetched (or evicted from the cache).
    Pending,
    /// A loader has it.
    Loading,
    /// Decoded, in the cache.
    Ready,
    /// It failed for good: the message says why; nothing of it is shown.
    Failed(String),
}

/// One sealed instance of a series.
pub(crate) struct SliceEntry {
    pub object_id: ObjectId,
    pub source: SealedSource,
    pub state: SliceState,
    /// Decoded at least once (progress counts it even if the cache evicted it since).
    pub loaded_once: bool,
}

/// A series of the open study (or of a prior): its keys and its instances in stack order.
pub(crate) struct SeriesState {
    /// The thumbnail's text.
    pub label: String,
    pub keys: Rc<StudyKeys<WebCryptoStudyKey>>,
    pub manifest: Rc<VerifiedManifest>,
    /// In the order of `reading::Series::instances`.
    pub instances: Vec<SliceEntry>,
}

/// Cache key: (series, instance).
type SliceKey = (usize, usize);

/// The reading room of an open study.
pub(crate) struct Room {
    pub series: Vec<SeriesState>,
    pub reading: Vec<Series>,
    pub hanging: Hanging,
    pub input: InputMachine,
    pub annotations: AnnotationStore,
    pub cache: SliceCache<SliceKey, Decoded>,
    /// What each pane's GPU slot holds: (series, instance, frame).
    pub uploaded: Vec<Option<(usize, usize, u32)>>,
    /// The pane a pointer gesture started in (it keeps the gesture until the last pointer is up).
    pub captured: Option<usize>,
    pub pointers_down: HashSet<i32>,
    pub help_shown: bool,
}

/// The study open in the viewer.
pub(crate) struct OpenStudy {
    pub generation: u32,
    pub room: Room,
    pub opened_at: f64,
    pub first_image_ms: Option<f64>,
    pub complete_ms: Option<f64>,
    /// Sealed bytes received so far.
    pub bytes_received: u64,
    /// Why loading is paused (the store does not answer, or wants credentials).
    pub paused: Option<String>,
}

thread_local! {
    static FRAME_REQUESTED: Cell<bool> = const { Cell::new(false) };
    static ACTIVE_LOADERS: Cell<usize> = const { Cell::new(0) };
    /// Per drawn frame: time, ms spent drawing, each pane's slice and whether its image was on
    /// screen (for `cargo xtask bench scroll`).
    static FRAME_LOG: RefCell<Vec<FrameRecord>> = const { RefCell::new(Vec::new()) };
}

/// One drawn frame: when (ms), how long drawing took (ms), each pane's slice, and whether each
/// pane showed that slice's image (false while it is still loading).
type FrameRecord = (f64, f64, Vec<Option<usize>>, Vec<bool>);

/// Frames the log keeps at most (a benchmark reads and clears it).
const FRAME_LOG_MAX: usize = 20_000;

/// The cleartext budget: `?budget=MiB` in the page URL, else the setting's default for this
/// device (a tablet's when the main pointer is coarse).
pub(crate) fn default_budget() -> usize {
    let w = web_sys::window().unwrap();
    let search = w.location().search().unwrap_or_default();
    if let Some(mib) = search
        .trim_start_matches('?')
        .split('&')
        .find_map(|kv| kv.strip_prefix("budget="))
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&m| (16..=16384).contains(&m))
    {
        return mib << 20;
    }
    let coarse = w.match_media("(pointer: coarse)").ok().flatten().is_some_and(|m| m.matches());
    if coarse {
        TABLET_BUDGET
    } else {
        DESKTOP_BUDGET
    }
}

impl Room {
    pub fn new(series: Vec<SeriesState>, reading: Vec<Series>, budget: usize) -> Room {
        let (area, dpr) = area_size();
        let layout =
            if reading.iter().filter(|s| !s.is_empty()).count() > 1 { Layout::OneByTwo } else { Layout::Single };
        let hanging = Hanging::new(layout, area, dpr, &reading, 0);
        let panes = hanging.panes().len();
        Room {
            series,
            reading,
            hanging,
            input: InputMachine::new(),
            annotations: AnnotationStore::new(),
            cache: SliceCache::new(budget),
            uploaded: vec![None; panes],
            captured: None,
            pointers_down: HashSet::new(),
            help_shown: false,
        }
    }

    /// Pane `pane`'s current slice: (series, instance, frame).
    pub fn pane_slice(&self, pane: usize) -> Option<(usize, usize, u32)> {
        let p = self.hanging.panes().get(pane)?;
        let s = p.series?;
        let r = self.reading.get(s)?.slices().get(p.stack.index())?;
        Some((s, r.instance, r.frame))
    }

    /// The slices on screen, pinned in the cache.
    fn pin_shown(&mut self) {
        let shown: Vec<SliceKey> =
            (0..self.hanging.panes().len()).filter_map(|p| self.pane_slice(p)).map(|(s, i, _)| (s, i)).collect();
        self.cache.set_pinned(shown);
    }

    /// The next instance to fetch: nearest to a pane's slice in a series on screen, within what
    /// the budget can hold around each pane.
    fn next_job(&mut self) -> Option<SliceKey> {
        let panes: Vec<(usize, usize)> =
            self.hanging.panes().iter().filter_map(|p| Some((p.series?, p.stack.index()))).collect();
        let visible = panes.len().max(1);
        let budget = self.cache.usage().budget;
        let mut best: Option<(usize, SliceKey)> = None;
        for &(s, current) in &panes {
            let series = &self.reading[s];
            let per_slice = series
                .first()
                .map_or(1 << 19, |a| (a.rows.unwrap_or(512) as usize * a.columns.unwrap_or(512) as usize * 2).max(1));
            // slices each pane may keep on either side of its own, a tenth of the budget spare
            let reach = (budget / per_slice * 9 / 10 / visible / 2).max(1);
            for (k, r) in series.slices().iter().enumerate() {
                let d = k.abs_diff(current);
                if d > reach {
                    continue;
                }
                if !matches!(self.series[s].instances[r.instance].state, SliceState::Pending) {
                    continue;
                }
                if best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, (s, r.instance)));
                }
            }
        }
        let (_, key) = best?;
        self.series[key.0].instances[key.1].state = SliceState::Loading;
        Some(key)
    }

    /// A loaded slice: into the cache (what it evicts goes back to Pending).
    fn store(&mut self, key: SliceKey, decoded: Result<Decoded, String>) {
        let entry = &mut self.series[key.0].instances[key.1];
        match decoded {
            Err(e) => entry.state = SliceState::Failed(e),
            Ok(d) => {
                self.reading[key.0].set_attributes(key.1, d.attributes.clone());
                match self.cache.insert(key, d) {
                    Ok(()) => {
                        entry.state = SliceState::Ready;
                        entry.loaded_once = true;
                    }
                    Err(CacheError::LargerThanBudget { .. }) => {
                        entry.state = SliceState::Failed(
                            "this image is larger than the memory budget; raise it in the toolbar".into(),
                        )
                    }
                    // every byte is pinned by what is on screen: fetch it again when there is room
                    Err(_) => entry.state = SliceState::Pending,
                }
            }
        }
        self.store_evictions();
    }

    /// Every instance of the series on screen has loaded once (or failed).
    fn shown_series_complete(&self) -> bool {
        self.hanging
            .panes()
            .iter()
            .filter_map(|p| p.series)
            .all(|s| self.series[s].instances.iter().all(|e| e.loaded_once || matches!(e.state, SliceState::Failed(_))))
    }
}

/// The viewer area's size in CSS px and the device pixel ratio.
fn area_size() -> ([f64; 2], f64) {
    let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let r = el("area").get_bounding_client_rect();
    ([r.width().max(1.0), r.height().max(1.0)], dpr)
}

// ---------------------------------------------------------------------------------------------
// Loading

/// Starts loaders until [`LOADERS`] run or nothing is left to fetch.
pub(crate) fn ensure_loaders(generation: u32) {
    while ACTIVE_LOADERS.with(|n| n.get()) < LOADERS {
        let has_work = with_app(|a| {
            let o = a.open.as_ref().filter(|o| o.generation == generation)?;
            let r = &o.room;
            Some(
                r.hanging
                    .panes()
                    .iter()
                    .filter_map(|p| p.series)
                    .any(|s| r.series[s].instances.iter().any(|e| matches!(e.state, SliceState::Pending))),
            )
        })
        .flatten()
        .unwrap_or(false);
        if !has_work {
            return;
        }
        ACTIVE_LOADERS.with(|n| n.set(n.get() + 1));
        wasm_bindgen_futures::spawn_local(async move {
            loader(generation).await;
            ACTIVE_LOADERS.with(|n| n.set(n.get() - 1));
        });
    }
}

struct Job {
    key: SliceKey,
    source: SealedSource,
    object_id: ObjectId,
    keys: Rc<StudyKeys<WebCryptoStudyKey>>,
    manifest: Rc<VerifiedManifest>,
}

/// Fetches, verifies, decrypts and decodes slices; the next one downloads while the previous one
/// is checked and decoded (`pipeline::fetch_ahead`).
async fn loader(generation: u32) {
    let fetch_next = || {
        let job = with_app(|a| {
            let o = a.open.as_mut().filter(|o| o.generation == generation)?;
            let key = o.room.next_job()?;
            let s = &o.room.series[key.0];
            let e = &s.instances[key.1];
            Some(Job {
                key,
                source: e.source.clone(),
                object_id: e.object_id,
                keys: s.keys.clone(),
                manifest: s.manifest.clone(),
            })
        })
        .flatten()?;
        Some(async move {
            // a share link may have been revoked or have expired since the last fetch
            if !crate::share::still_valid(generation).await {
                return Fetched::Stop;
            }
            match fetch_slice(generation, &job).await {
                Ok(rx) => Fetched::Object((job.key, Ok(rx))),
                Err(FetchError::Cancelled) => Fetched::Stop,
                Err(FetchError::Auth(message)) => {
                    // Back in the queue; wait for the reader to give credentials, then go on.
                    let asked = net::auth_generation();
                    with_app(|a| {
                        if let Some(o) = a.open.as_mut().filter(|o| o.generation == generation) {
                            o.room.series[job.key.0].instances[job.key.1].state = SliceState::Pending;
                        }
                    });
                    crate::app::ask_for_credentials(&message);
                    while net::auth_generation() == asked {
                        if !study_is_open(generation) {
                            return Fetched::Stop;
                        }
                        net::sleep_ms(300).await;
                    }
                    Fetched::Retry
                }
                Err(e) => Fetched::Object((job.key, Err(e))),
            }
        })
    };
    let finish = |(key, fetched): (SliceKey, Result<ObjectReceiver<WebCryptoCipher>, FetchError>)| async move {
        let decoded = match fetched {
            Ok(rx) => match net::finish_object(rx).await {
                Ok(plain) => decoder::decode(&plain).await,
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        let shown = with_app(|a| {
            let o = a.open.as_mut().filter(|o| o.generation == generation)?;
            o.room.store(key, decoded);
            o.room.pin_shown();
            if o.complete_ms.is_none() && o.room.shown_series_complete() {
                o.complete_ms = Some(now_ms() - o.opened_at);
            }
            Some((0..o.room.hanging.panes().len()).any(|p| o.room.pane_slice(p).is_some_and(|(s, i, _)| (s, i) == key)))
        })
        .flatten();
        match shown {
            None => {}
            Some(true) => request_frame(),
            Some(false) => crate::app::update_progress(),
        }
    };
    pipeline::fetch_ahead(fetch_next, finish).await;
}

fn study_is_open(generation: u32) -> bool {
    with_app(|a| a.open.as_ref().is_some_and(|o| o.generation == generation)).unwrap_or(false)
}

/// Streams one sealed slice, decrypting chunk by chunk; the receiver it returns holds every byte
/// and yields the plaintext only once the signed digest matches (`net::finish_object`).
async fn fetch_slice(generation: u32, job: &Job) -> Result<ObjectReceiver<WebCryptoCipher>, FetchError> {
    let rx = job
        .manifest
        .receive_object(job.keys.as_ref(), &job.object_id)
        .await
        .map_err(|e| FetchError::Integrity(e.to_string()))?;
    let counted = Cell::new(0u64);
    let progress = |received: u64, _total: u64| {
        let delta = received.saturating_sub(counted.replace(received));
        with_app(|a| {
            if let Some(o) = a.open.as_mut().filter(|o| o.generation == generation) {
                o.bytes_received += delta;
            }
        });
    };
    let notify = |pause: Option<String>| {
        with_app(|a| {
            if let Some(o) = a.open.as_mut().filter(|o| o.generation == generation) {
                o.paused = pause;
            }
        });
        crate::app::update_progress();
    };
    let wanted = || study_is_open(generation);
    net::stream_object(&job.source, rx, &progress, &notify, &wanted).await
}

// ---------------------------------------------------------------------------------------------
// Drawing

/// Draws on the next animation frame (once, however often it is asked).
pub(crate) fn request_frame() {
    if FRAME_REQUESTED.with(|f| f.replace(true)) {
        return;
    }
    let cb = Closure::once_into_js(move |_t: f64| {
        FRAME_REQUESTED.with(|f| f.set(false));
        frame();
    });
    let _ = web_sys::window().unwrap().request_animation_frame(cb.unchecked_ref());
}

const MEASURE_COLOUR: [u8; 4] = [255, 213, 74, 255];
const SELECTED_COLOUR: [u8; 4] = [108, 182, 255, 255];
const DRAFT_COLOUR: [u8; 4] = [255, 150, 60, 255];

fn shape_overlays(shape: &MShape, colour: [u8; 4], handles: bool, out: &mut Vec<Overlay>) {
    let f = |p: [f64; 2]| [p[0] as f32, p[1] as f32];
    match shape {
        MShape::Probe { at } => {
            out.push(Overlay { shape: RShape::Handle { centre: f(*at) }, space: Space::Image, colour, width: 7.0 })
        }
        _ => out.push(Overlay {
            shape: RShape::Polyline { points: shape.outline().into_iter().map(f).collect(), closed: false },
            space: Space::Image,
            colour,
            width: 2.0,
        }),
    }
    if handles {
        for h in shape.handles() {
            out.push(Overlay { shape: RShape::Handle { centre: f(h) }, space: Space::Image, colour, width: 8.0 });
        }
    }
}

/// What one pane shows this frame.
struct PanePlan {
    rect: [u32; 4],
    transform: Transform,
    voi: Option<(obscura_imaging::Window, VoiFunction, bool)>,
    invert: bool,
    interpolation: Interpolation,
    overlays: Vec<Overlay>,
}

/// One frame: cine, uploads of newly shown slices, every pane, and the DOM text over them.
fn frame() {
    let t0 = now_ms();
    let playing = with_app(|a| {
        let o = a.open.as_mut()?;
        let changed = o.room.hanging.tick(t0, &o.room.reading);
        if !changed.is_empty() {
            o.room.pin_shown();
        }
        Some(o.room.hanging.panes().iter().any(|p| p.stack.is_playing()))
    })
    .flatten()
    .unwrap_or(false);
    draw();
    update_dom();
    if playing {
        request_frame();
    }
    let generation = with_app(|a| a.open.as_ref().map(|o| o.generation)).flatten();
    if let Some(g) = generation {
        ensure_loaders(g);
    }
    let (slices, shown) = with_app(|a| {
        a.open.as_ref().map(|o| {
            let panes = o.room.hanging.panes();
            let slices = panes.iter().map(|p| p.series.map(|_| p.stack.index())).collect();
            let shown = (0..panes.len()).map(|k| o.room.uploaded.get(k).copied().flatten().is_some()).collect();
            (slices, shown)
        })
    })
    .flatten()
    .unwrap_or_default();
    FRAME_LOG.with(|l| {
        let mut l = l.borrow_mut();
        if l.len() < FRAME_LOG_MAX {
            l.push((t0, now_ms() - t0, slices, shown));
        }
    });
}

/// Uploads what each pane must show and draws every pane. A lost GPU is rebuilt first.
fn draw() {
    let lost = GPU.with(|g| g.borrow().as_ref().is_some_and(|g| g.is_lost()));
    if lost {
        crate::app::recover_gpu();
        return;
    }
    let t = now_ms();
    APP.with(|app| {
        let mut app = app.borrow_mut();
        let Some(a) = app.as_mut() else { return };
        GPU.with(|g| {
            let Ok(mut g) = g.try_borrow_mut() else { return };
            let Some(gpu) = g.as_mut() else { return };
            let Some(o) = a.open.as_mut() else {
                gpu.clear_all();
                return;
            };
            let (area, dpr) = area_size();
            o.room.hanging.resize(area, dpr);
            let panes = o.room.hanging.panes().len();
            o.room.uploaded.resize(panes, None);
            gpu.fit_to_css_size();
            let rects = o.room.hanging.rects();
            let mut plans = Vec::with_capacity(panes);
            for (p, r) in rects.iter().enumerate() {
                let rect = [
                    (r.x * dpr).round() as u32,
                    (r.y * dpr).round() as u32,
                    (r.width * dpr).round() as u32,
                    (r.height * dpr).round() as u32,
                ];
                let slice = o.room.pane_slice(p);
                let ready =
                    slice.filter(|(s, i, _)| matches!(o.room.series[*s].instances[*i].state, SliceState::Ready));
                // upload when the pane shows another slice now
                if ready != o.room.uploaded[p] {
                    let uploaded = match ready {
                        Some((s, i, frame)) => match o.room.cache.get(&(s, i)) {
                            Some(d) => match Image::from_decoded(&d.image.0, frame as usize) {
                                Ok(img) => gpu.set_pane_image(p, &img).map(|()| Some((s, i, frame))),
                                Err(e) => Err(e.to_string()),
                            },
                            None => Ok(None),
                        },
                        None => Ok(None),
                    };
                    o.room.uploaded[p] = match uploaded {
                        Ok(u) => {
                            if u.is_none() {
                                gpu.clear_pane(p);
                            }
                            u
                        }
                        Err(e) => {
                            gpu.clear_pane(p);
                            if let Some((s, i, _)) = ready {
                                o.room.series[s].instances[i].state =
                                    SliceState::Failed(format!("cannot display this image: {e}"));
                            }
                            None
                        }
                    };
                    if o.room.uploaded[p].is_some() && o.first_image_ms.is_none() {
                        o.first_image_ms = Some(t - o.opened_at);
                    }
                }
                // the image's window, once it is known
                let image = ready.and_then(|(s, i, _)| o.room.cache.get(&(s, i)));
                let pane = &mut o.room.hanging.pane_mut(p).expect("pane exists");
                let voi = match (image, ready) {
                    (Some(d), Some((_, _, frame))) => {
                        let wl = pane.ensure_window(&d.image.0, frame as usize);
                        let function = match wl.source {
                            WindowSource::Object(_) => d.image.0.voi_function,
                            _ => VoiFunction::Linear,
                        };
                        Some((wl.window, function, matches!(wl.source, WindowSource::VoiLut)))
                    }
                    _ => None,
                };
                let invert = pane.window.as_ref().is_some_and(|w| w.invert);
                let m = pane.viewport.image_to_device();
                let rows = m.to_rows_f32();
                let transform = Transform([
                    [rows[0][0], rows[0][1], rows[0][2] + rect[0] as f32],
                    [rows[1][0], rows[1][1], rows[1][2] + rect[1] as f32],
                ]);
                let interpolation = pane.viewport.interpolation();
                let mut overlays = Vec::new();
                if let Some((s, i, frame)) = slice {
                    let key = image_key(&o.room.reading[s], i, frame);
                    let selected = o.room.annotations.selected().cloned();
                    for ann in o.room.annotations.list(&key) {
                        let is_selected = selected.as_ref().is_some_and(|(k, id)| *k == key && *id == ann.id);
                        let colour = if is_selected { SELECTED_COLOUR } else { MEASURE_COLOUR };
                        shape_overlays(&ann.shape, colour, is_selected, &mut overlays);
                    }
                    if let Some((_, shape)) = o.room.annotations.draft_shape() {
                        shape_overlays(&shape, DRAFT_COLOUR, false, &mut overlays);
                    }
                }
                // the active pane's frame
                if panes > 1 && p == o.room.hanging.active() {
                    let (x, y, w, h) = (rect[0] as f32, rect[1] as f32, rect[2] as f32, rect[3] as f32);
                    overlays.push(Overlay {
                        shape: RShape::Rectangle { from: [x + 1.0, y + 1.0], to: [x + w - 1.0, y + h - 1.0] },
                        space: Space::Target,
                        colour: [108, 182, 255, 200],
                        width: 2.0,
                    });
                }
                plans.push(PanePlan { rect, transform, voi, invert, interpolation, overlays });
            }
            // the VOI LUTs are borrowed from the cached images
            let luts: Vec<Option<obscura_imaging::Lut>> = (0..panes)
                .map(|p| {
                    let (s, i, _) = o.room.uploaded[p]?;
                    plans[p].voi.filter(|v| v.2)?;
                    o.room.cache.get(&(s, i))?.image.0.voi_luts.first().cloned()
                })
                .collect();
            let views: Vec<View> = plans
                .iter()
                .zip(&luts)
                .map(|(plan, lut)| View {
                    voi: match (plan.voi, lut) {
                        (Some(_), Some(l)) => Voi::Lut(l),
                        (Some((w, f, _)), None) => Voi::Window(w, f),
                        (None, _) => {
                            Voi::Window(obscura_imaging::Window { center: 0.0, width: 1.0 }, VoiFunction::Linear)
                        }
                    },
                    invert: plan.invert,
                    interpolation: plan.interpolation,
                    transform: plan.transform,
                    background: [0, 0, 0],
                })
                .collect();
            let draws: Vec<PaneDraw> = plans
                .iter()
                .zip(&views)
                .enumerate()
                .map(|(p, (plan, view))| PaneDraw { pane: p, rect: plan.rect, view, overlays: &plan.overlays })
                .collect();
            gpu.draw_panes(&draws);
        });
    });
}

fn image_key(series: &Series, instance: usize, frame: u32) -> ImageKey {
    ImageKey {
        sop_instance_uid: series.instances().get(instance).map(|a| a.sop_instance_uid.clone()).unwrap_or_default(),
        frame,
    }
}

/// The DOM over the canvas: each pane's corners, orientation letters, measurement labels and
/// status; the thumbnails' state; the active pane's error; progress.
pub(crate) fn update_dom() {
    let doc = document();
    let container = el("panes");
    with_app(|a| {
        let Some(o) = a.open.as_mut() else { return };
        let room = &mut o.room;
        let rects = room.hanging.rects();
        let n = rects.len();
        // one overlay element per pane
        while container.child_element_count() as usize > n {
            if let Some(last) = container.last_element_child() {
                last.remove();
            }
        }
        while (container.child_element_count() as usize) < n {
            let div = doc.create_element("div").unwrap();
            div.set_class_name("pane");
            div.set_inner_html(
                "<pre class=\"corner tl\"></pre><pre class=\"corner tr\"></pre><pre class=\"corner bl\"></pre>\
                 <pre class=\"corner br\"></pre><span class=\"marker top\"></span><span class=\"marker right\"></span>\
                 <span class=\"marker bottom\"></span><span class=\"marker left\"></span><div class=\"labels\"></div>\
                 <span class=\"pane-status\"></span>",
            );
            container.append_child(&div).unwrap();
        }
        let active = room.hanging.active();
        let mut active_error = None;
        for (p, r) in rects.iter().enumerate() {
            let div: HtmlElement =
                container.unchecked_ref::<web_sys::Element>().children().item(p as u32).unwrap().unchecked_into();
            let _ = div.style().set_property("left", &format!("{}px", r.x));
            let _ = div.style().set_property("top", &format!("{}px", r.y));
            let _ = div.style().set_property("width", &format!("{}px", r.width));
            let _ = div.style().set_property("height", &format!("{}px", r.height));
            let _ = div.set_attribute("data-pane", &p.to_string());
            let q = |sel: &str| -> HtmlElement { div.query_selector(sel).unwrap().unwrap().unchecked_into() };
            let slice = room.pane_slice(p);
            let pane = &room.hanging.panes()[p];
            let (mut tl, mut tr, mut bl, mut br) = (String::new(), String::new(), String::new(), String::new());
            let mut markers = None;
            let mut status = String::new();
            // (position, id, text) of each measurement's label, pane CSS px
            let mut labels: Vec<([f64; 2], u64, String)> = Vec::new();
            if let Some((s, i, frame)) = slice {
                let attrs = room.reading[s].attributes(pane.stack.index());
                if let (Some(attrs), Some(w)) = (attrs, pane.window.as_ref()) {
                    let c = corners(attrs, &pane.stack, w, &pane.viewport);
                    tl = c.top_left.join("\n");
                    tr = c.top_right.join("\n");
                    bl = c.bottom_left.join("\n");
                    br = c.bottom_right.join("\n");
                    markers = orientation_markers(attrs.image_orientation_patient, &pane.viewport);
                } else {
                    bl = pane.stack.position_text();
                }
                match &room.series[s].instances[i].state {
                    SliceState::Failed(e) => {
                        let msg = format!("Slice {} of {}: {}", pane.stack.index() + 1, pane.stack.len(), e);
                        // the active pane's failure is the page's alert; the others say it in place
                        if p == active {
                            active_error = Some(msg);
                        } else {
                            status = msg;
                        }
                    }
                    SliceState::Ready => {}
                    _ => status = "loading…".into(),
                }
                let key = image_key(&room.reading[s], i, frame);
                for ann in room.annotations.list(&key) {
                    let anchor = ann.shape.handles().last().copied().unwrap_or([0.0, 0.0]);
                    let at = pane.viewport.image_to_css(anchor);
                    labels.push(([at[0] + 8.0, at[1] + 8.0], ann.id.0, ann.value.lines().join("\n")));
                }
            }
            q(".tl").set_text_content(Some(&tl));
            q(".tr").set_text_content(Some(&tr));
            q(".bl").set_text_content(Some(&bl));
            q(".br").set_text_content(Some(&br));
            let m = markers.unwrap_or_default();
            q(".top").set_text_content(Some(&m.top));
            q(".right").set_text_content(Some(&m.right));
            q(".bottom").set_text_content(Some(&m.bottom));
            q(".left").set_text_content(Some(&m.left));
            // Built through the DOM: the page's CSP refuses inline style attributes.
            let holder = q(".labels");
            holder.set_inner_html("");
            for (at, id, text) in labels {
                let l: HtmlElement = doc.create_element("div").unwrap().unchecked_into();
                l.set_class_name("label");
                let _ = l.set_attribute("data-annotation", &id.to_string());
                let _ = l.style().set_property("left", &format!("{:.1}px", at[0]));
                let _ = l.style().set_property("top", &format!("{:.1}px", at[1]));
                l.set_text_content(Some(&text));
                let _ = holder.append_child(&l);
            }
            q(".pane-status").set_text_content(Some(&status));
            let _ = div.class_list().toggle_with_force("active", p == active && n > 1);
        }
        match active_error {
            Some(e) => {
                set_text("error", &e);
                set_hidden("error", false);
            }
            None => set_hidden("error", true),
        }
        // thumbnails: which series each pane shows
        let thumbs = doc.query_selector_all("#thumbnails .thumb").unwrap();
        for k in 0..thumbs.length() {
            let t: HtmlElement = thumbs.item(k).unwrap().unchecked_into();
            let shown = room.hanging.panes().iter().any(|p| p.series == Some(k as usize));
            let _ = t.class_list().toggle_with_force("shown", shown);
        }
        // toolbar state
        let tool = room.input.tool();
        let buttons = doc.query_selector_all("[data-tool]").unwrap();
        for k in 0..buttons.length() {
            let b: HtmlElement = buttons.item(k).unwrap().unchecked_into();
            let on = b.get_attribute("data-tool").as_deref() == tool.map(tool_name);
            let _ = b.set_attribute("aria-pressed", if on { "true" } else { "false" });
        }
        let layout = layout_name(room.hanging.layout());
        let buttons = doc.query_selector_all("[data-layout]").unwrap();
        for k in 0..buttons.length() {
            let b: HtmlElement = buttons.item(k).unwrap().unchecked_into();
            let on = b.get_attribute("data-layout").as_deref() == Some(layout);
            let _ = b.set_attribute("aria-pressed", if on { "true" } else { "false" });
        }
        set_hidden("help", !room.help_shown);
    });
    crate::app::update_progress();
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn tool_name(t: Tool) -> &'static str {
    match t {
        Tool::Length => "length",
        Tool::Angle => "angle",
        Tool::Ellipse => "ellipse",
        Tool::Rectangle => "rectangle",
        Tool::Probe => "probe",
    }
}

fn layout_name(l: Layout) -> &'static str {
    match l {
        Layout::Single => "1x1",
        Layout::OneByTwo => "1x2",
        Layout::TwoByTwo => "2x2",
    }
}

// ---------------------------------------------------------------------------------------------
// Input

/// Pane-local CSS px of a client point, and the pane: the captured one during a gesture, else
/// the one under the point.
fn locate(client: [f64; 2], capture: bool) -> Option<(usize, [f64; 2])> {
    let r = el("area").get_bounding_client_rect();
    let at = [client[0] - r.left(), client[1] - r.top()];
    with_app(|a| {
        let o = a.open.as_mut()?;
        let room = &mut o.room;
        let pane = match room.captured {
            Some(p) => p,
            None => {
                let p = room.hanging.pane_at(at)?;
                if capture {
                    room.captured = Some(p);
                }
                p
            }
        };
        let rect = room.hanging.rects()[pane];
        Some((pane, [at[0] - rect.x, at[1] - rect.y]))
    })
    .flatten()
}

fn pointer_kind(e: &web_sys::PointerEvent) -> PointerKind {
    match e.pointer_type().as_str() {
        "touch" => PointerKind::Touch,
        "pen" => PointerKind::Pen,
        _ => PointerKind::Mouse,
    }
}

fn modifiers(ctrl: bool, meta: bool, alt: bool, shift: bool) -> Modifiers {
    Modifiers { ctrl, meta, alt, shift }
}

/// Feeds one input event of pane `pane` to the gesture machine and applies what it decides.
fn feed(pane: usize, event: InputEvent) {
    with_app(|a| {
        let o = a.open.as_mut()?;
        let room = &mut o.room;
        if matches!(event, InputEvent::PointerDown { .. }) {
            room.hanging.set_active(pane);
        }
        let slice = room.pane_slice(pane);
        let key = slice.map(|(s, i, f)| image_key(&room.reading[s], i, f));
        let viewport = room.hanging.panes()[pane].viewport.clone();
        let annotations = &room.annotations;
        let hits = |at: [f64; 2], kind: PointerKind| {
            key.as_ref().is_some_and(|k| annotations.hit_test(k, at, &viewport, kind.hit_tolerance()).is_some())
        };
        let actions = room.input.handle(&event, &hits);
        for action in actions {
            apply(room, pane, &action);
        }
        room.pin_shown();
        Some(())
    });
    after_change();
}

/// Applies one action to pane `pane`.
fn apply(room: &mut Room, pane: usize, action: &Action) {
    let now = now_ms();
    let slice = room.pane_slice(pane);
    let image = slice
        .filter(|(s, i, _)| matches!(room.series[*s].instances[*i].state, SliceState::Ready))
        .and_then(|(s, i, _)| room.cache.get(&(s, i)))
        .map(|d| (&d.image.0, &d.attributes));
    if let Applied::View { .. } = room.hanging.apply(pane, action, now, &room.reading, image.map(|(i, _)| i)) {
        return;
    }
    match action {
        Action::Command(Command::Help) => {
            room.help_shown = !room.help_shown;
            return;
        }
        Action::Command(Command::Cancel) if !room.annotations.is_drawing() && room.annotations.selected().is_none() => {
            room.input.set_tool(None);
            return;
        }
        _ => {}
    }
    let Some((s, i, frame)) = slice else { return };
    let key = image_key(&room.reading[s], i, frame);
    let viewport = room.hanging.panes()[pane].viewport.clone();
    let to_image = |at: [f64; 2]| viewport.css_to_image(at);
    let attrs: Attributes;
    let ctx = match image {
        Some((img, a)) => {
            attrs = a.clone();
            Some(MeasureContext::new(img, frame as usize, &attrs))
        }
        None => None,
    };
    let ann = &mut room.annotations;
    match *action {
        Action::Command(Command::DeleteSelected) => {
            ann.delete_selected();
        }
        Action::Command(Command::Cancel) if !ann.cancel_draft() => ann.select(None),
        Action::Select { at, kind } => {
            let hit = ann.hit_test(&key, at, &viewport, kind.hit_tolerance());
            ann.select(hit.map(|h| (key.clone(), h.id)));
        }
        Action::EditStart { at, kind } => {
            if let Some(hit) = ann.hit_test(&key, at, &viewport, kind.hit_tolerance()) {
                let _ = ann.begin_drag(&key, hit, to_image(at));
            }
        }
        Action::EditMove { at } => {
            if let Some(ctx) = &ctx {
                ann.drag_to(to_image(at), ctx);
            }
        }
        Action::EditEnd => ann.end_drag(),
        Action::DrawPress { tool, at } if ctx.is_some() => ann.draw_press(&key, tool, to_image(at)),
        Action::DrawMove { at } => ann.draw_move(to_image(at)),
        Action::DrawRelease { at } => {
            if let Some(ctx) = &ctx {
                ann.draw_release(to_image(at), ctx);
            }
        }
        _ => {}
    }
}

/// A toolbar or key command, for the active pane.
pub(crate) fn command(c: Command) {
    let pane = with_app(|a| a.open.as_ref().map(|o| o.room.hanging.active())).flatten();
    if let Some(pane) = pane {
        match c {
            Command::Tool(t) => {
                with_app(|a| {
                    if let Some(o) = a.open.as_mut() {
                        let cur = o.room.input.tool();
                        o.room.input.set_tool(if cur == Some(t) { None } else { Some(t) });
                    }
                });
                request_frame();
            }
            _ => feed_action(pane, Action::Command(c)),
        }
    }
}

fn feed_action(pane: usize, action: Action) {
    with_app(|a| {
        let o = a.open.as_mut()?;
        apply(&mut o.room, pane, &action);
        o.room.pin_shown();
        Some(())
    });
    after_change();
}

/// After the reader changed what is shown: loaders for the slices now wanted, and a frame.
fn after_change() {
    if let Some(g) = with_app(|a| a.open.as_ref().map(|o| o.generation)).flatten() {
        ensure_loaders(g);
    }
    request_frame();
}

/// Changes the layout (panes that remain keep their state).
pub(crate) fn set_layout(layout: Layout) {
    with_app(|a| {
        if let Some(o) = a.open.as_mut() {
            let r = &mut o.room;
            r.hanging.set_layout(layout, &r.reading);
            r.uploaded.resize(r.hanging.panes().len(), None);
            r.pin_shown();
        }
    });
    after_change();
}

/// Shows series `index` in `pane` (a thumbnail dropped there, or clicked: the active pane).
pub(crate) fn assign(pane: Option<usize>, index: usize) {
    with_app(|a| {
        if let Some(o) = a.open.as_mut() {
            let r = &mut o.room;
            let pane = pane.unwrap_or(r.hanging.active());
            r.hanging.assign(pane, index, &r.reading);
            r.pin_shown();
        }
    });
    after_change();
}

/// Settings of the active pane or the room: interpolation, cine speed, memory budget.
pub(crate) fn set_interpolation(i: Interpolation) {
    with_app(|a| {
        if let Some(o) = a.open.as_mut() {
            for p in 0..o.room.hanging.panes().len() {
                o.room.hanging.pane_mut(p).unwrap().viewport.set_interpolation(i);
            }
        }
    });
    request_frame();
}

pub(crate) fn set_fps(fps: f64) {
    let now = now_ms();
    with_app(|a| {
        if let Some(o) = a.open.as_mut() {
            for p in 0..o.room.hanging.panes().len() {
                o.room.hanging.pane_mut(p).unwrap().stack.set_fps(fps, now);
            }
        }
    });
}

pub(crate) fn set_budget(bytes: usize) {
    with_app(|a| {
        if let Some(o) = a.open.as_mut() {
            o.room.cache.set_budget(bytes);
            o.room.store_evictions();
        }
    });
    after_change();
}

impl Room {
    /// Slices the cache no longer holds go back to Pending.
    fn store_evictions(&mut self) {
        for (s, series) in self.series.iter_mut().enumerate() {
            for (i, e) in series.instances.iter_mut().enumerate() {
                if matches!(e.state, SliceState::Ready) && !self.cache.contains(&(s, i)) {
                    e.state = SliceState::Pending;
                }
            }
        }
    }
}

/// Installs the pointer, wheel, key and toolbar handlers of the reading room. Gesture times are
/// the events' own time stamps (when the finger moved), not when a busy page got to them, so a
/// swipe is never taken for a hold.
pub(crate) fn install_handlers() {
    let canvas = el("canvas");
    let area = el("area");
    let on = |target: &HtmlElement, name: &str, f: Box<dyn FnMut(web_sys::Event)>| {
        let cb = Closure::<dyn FnMut(web_sys::Event)>::new(f);
        let opts = web_sys::AddEventListenerOptions::new();
        opts.set_passive(false);
        target
            .add_event_listener_with_callback_and_add_event_listener_options(name, cb.as_ref().unchecked_ref(), &opts)
            .unwrap();
        cb.forget();
    };
    on(
        &canvas,
        "pointerdown",
        Box::new(|e| {
            let e: web_sys::PointerEvent = e.unchecked_into();
            e.prevent_default();
            if let Some(t) = e.target().and_then(|t| t.dyn_into::<HtmlElement>().ok()) {
                let _ = t.set_pointer_capture(e.pointer_id());
            }
            let _ = el("canvas").focus();
            with_app(|a| {
                if let Some(o) = a.open.as_mut() {
                    o.room.pointers_down.insert(e.pointer_id());
                }
            });
            let Some((pane, at)) = locate([e.client_x() as f64, e.client_y() as f64], true) else { return };
            let button = match e.button() {
                1 => Button::Middle,
                2 => Button::Secondary,
                _ => Button::Primary,
            };
            feed(
                pane,
                InputEvent::PointerDown {
                    id: e.pointer_id(),
                    kind: pointer_kind(&e),
                    button,
                    at,
                    time_ms: e.time_stamp(),
                },
            );
        }),
    );
    on(
        &canvas,
        "pointermove",
        Box::new(|e| {
            let e: web_sys::PointerEvent = e.unchecked_into();
            let Some((pane, at)) = locate([e.client_x() as f64, e.client_y() as f64], false) else { return };
            feed(
                pane,
                InputEvent::PointerMove { id: e.pointer_id(), kind: pointer_kind(&e), at, time_ms: e.time_stamp() },
            );
        }),
    );
    let up = |cancel: bool| {
        move |e: web_sys::Event| {
            let e: web_sys::PointerEvent = e.unchecked_into();
            let located = locate([e.client_x() as f64, e.client_y() as f64], false);
            if let Some((pane, at)) = located {
                let ev = if cancel {
                    InputEvent::PointerCancel { id: e.pointer_id() }
                } else {
                    InputEvent::PointerUp { id: e.pointer_id(), at, time_ms: e.time_stamp() }
                };
                feed(pane, ev);
            }
            with_app(|a| {
                if let Some(o) = a.open.as_mut() {
                    o.room.pointers_down.remove(&e.pointer_id());
                    if o.room.pointers_down.is_empty() {
                        o.room.captured = None;
                    }
                }
            });
        }
    };
    on(&canvas, "pointerup", Box::new(up(false)));
    on(&canvas, "pointercancel", Box::new(up(true)));
    on(&canvas, "contextmenu", Box::new(|e| e.prevent_default()));
    on(
        &canvas,
        "wheel",
        Box::new(|e| {
            let e: web_sys::WheelEvent = e.unchecked_into();
            e.prevent_default();
            let Some((pane, at)) = locate([e.client_x() as f64, e.client_y() as f64], false) else { return };
            let unit = match e.delta_mode() {
                1 => WheelUnit::Line,
                2 => WheelUnit::Page,
                _ => WheelUnit::Pixel,
            };
            let modifiers = modifiers(e.ctrl_key(), e.meta_key(), e.alt_key(), e.shift_key());
            feed(pane, InputEvent::Wheel { at, delta_y: e.delta_y(), unit, modifiers });
        }),
    );
    // Keys go to the active pane, unless the reader is typing in a form field.
    let keydown = Closure::<dyn FnMut(web_sys::KeyboardEvent)>::new(|e: web_sys::KeyboardEvent| {
        let typing = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|t| matches!(t.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        let open = with_app(|a| a.open.as_ref().map(|o| o.room.hanging.active())).flatten();
        let (Some(pane), false) = (open, typing) else { return };
        if e.ctrl_key() || e.meta_key() || e.alt_key() {
            return; // the browser's
        }
        let key = e.key();
        let known = obscura_reading::input::binding_for_key(&key, modifiers(false, false, false, e.shift_key()));
        if known.is_none() {
            return;
        }
        e.prevent_default();
        feed(pane, InputEvent::Key { key, modifiers: modifiers(false, false, false, e.shift_key()) });
    });
    web_sys::window().unwrap().add_event_listener_with_callback("keydown", keydown.as_ref().unchecked_ref()).unwrap();
    keydown.forget();

    // toolbar buttons: data-command, data-tool, data-layout
    let click = Closure::<dyn FnMut(web_sys::Event)>::new(|e: web_sys::Event| {
        let Some(b) = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|t| t.closest("button").ok().flatten())
        else {
            return;
        };
        if let Some(c) = b.get_attribute("data-command") {
            let cmd = match c.as_str() {
                "invert" => Command::Invert,
                "fit" => Command::Fit,
                "one" => Command::OneToOne,
                "rotate" => Command::RotateClockwise,
                "flip-h" => Command::FlipHorizontal,
                "flip-v" => Command::FlipVertical,
                "reset" => Command::Reset,
                "cine" => Command::ToggleCine,
                "help" => Command::Help,
                "delete" => Command::DeleteSelected,
                "image-window" => Command::ImageWindow,
                _ => return,
            };
            command(cmd);
        } else if let Some(t) = b.get_attribute("data-tool") {
            let tool = match t.as_str() {
                "length" => Tool::Length,
                "angle" => Tool::Angle,
                "ellipse" => Tool::Ellipse,
                "rectangle" => Tool::Rectangle,
                "probe" => Tool::Probe,
                _ => return,
            };
            command(Command::Tool(tool));
        } else if let Some(l) = b.get_attribute("data-layout") {
            set_layout(match l.as_str() {
                "1x2" => Layout::OneByTwo,
                "2x2" => Layout::TwoByTwo,
                _ => Layout::Single,
            });
        } else if let Some(s) = b.get_attribute("data-series") {
            if let Ok(i) = s.parse() {
                assign(None, i);
            }
        }
    });
    el("viewer").add_event_listener_with_callback("click", click.as_ref().unchecked_ref()).unwrap();
    click.forget();

    let select = |id: &str, f: Box<dyn Fn(String)>| {
        let cb = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            if let Some(t) = e.target() {
                let v = target_value(&t);
                f(v);
            }
        });
        el(id).add_event_listener_with_callback("change", cb.as_ref().unchecked_ref()).unwrap();
        cb.forget();
    };
    select(
        "preset",
        Box::new(|v| {
            if let Ok(n) = v.parse::<u8>() {
                command(Command::Preset(n));
            }
        }),
    );
    select(
        "interpolation",
        Box::new(|v| set_interpolation(if v == "nearest" { Interpolation::Nearest } else { Interpolation::Bilinear })),
    );
    select(
        "fps",
        Box::new(|v| {
            if let Ok(f) = v.parse::<f64>() {
                set_fps(f);
            }
        }),
    );
    select(
        "budget",
        Box::new(|v| {
            if let Ok(mib) = v.parse::<usize>() {
                set_budget(mib << 20);
            }
        }),
    );

    // thumbnails dragged onto a pane
    on(&area, "dragover", Box::new(|e| e.prevent_default()));
    on(
        &area,
        "drop",
        Box::new(|e| {
            let e: web_sys::DragEvent = e.unchecked_into();
            e.prevent_default();
            let Some(series) =
                e.data_transfer().and_then(|d| d.get_data("text/plain").ok()).and_then(|s| s.parse().ok())
            else {
                return;
            };
            let pane = locate([e.client_x() as f64, e.client_y() as f64], false).map(|(p, _)| p);
            assign(pane, series);
        }),
    );
}

fn target_value(t: &wasm_bindgen::JsValue) -> String {
    js_sys::Reflect::get(t, &"value".into()).ok().and_then(|v| v.as_string()).unwrap_or_default()
}

/// Fills the thumbnail strip: one button per series (click: show it in the active pane; drag it
/// onto a pane).
pub(crate) fn render_thumbnails() {
    let doc = document();
    let nav = el("thumbnails");
    nav.set_inner_html("");
    with_app(|a| {
        let Some(o) = a.open.as_ref() else { return };
        for (k, s) in o.room.series.iter().enumerate() {
            let b: HtmlElement = doc.create_element("button").unwrap().unchecked_into();
            b.set_class_name("thumb");
            let _ = b.set_attribute("type", "button");
            let _ = b.set_attribute("data-series", &k.to_string());
            let _ = b.set_attribute("draggable", "true");
            b.set_text_content(Some(&s.label));
            let drag = Closure::<dyn FnMut(web_sys::DragEvent)>::new(move |e: web_sys::DragEvent| {
                if let Some(d) = e.data_transfer() {
                    let _ = d.set_data("text/plain", &k.to_string());
                }
            });
            b.set_ondragstart(Some(drag.as_ref().unchecked_ref()));
            drag.forget();
            nav.append_child(&b).unwrap();
        }
    });
}

/// Fills the help overlay from the bindings table (the one the dispatch reads).
pub(crate) fn render_help() {
    let mut html = String::from(
        "<h2>Reading room: every binding</h2><button type=\"button\" data-command=\"help\">Close</button>",
    );
    for section in help() {
        html.push_str(&format!("<h3>{}</h3><table>", section.title));
        for (keys, what) in section.rows {
            html.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>", html_escape(&keys), html_escape(what)));
        }
        html.push_str("</table>");
    }
    el("help").set_inner_html(&html);
}

/// Test and benchmark hook: the frames drawn since the last call (time, ms spent, each pane's
/// slice and whether its image was shown), then forgets them.
pub(crate) fn take_frame_log() -> JsValue {
    let log = FRAME_LOG.with(|l| std::mem::take(&mut *l.borrow_mut()));
    let v: Vec<serde_json::Value> = log
        .into_iter()
        .map(|(t, ms, slices, shown)| serde_json::json!({ "t": t, "ms": ms, "slices": slices, "shown": shown }))
        .collect();
    JsValue::from_str(&serde_json::Value::Array(v).to_string())
}

/// The reading room's part of the test state.
pub(crate) fn debug_room(o: &OpenStudy) -> serde_json::Value {
    let r = &o.room;
    let panes: Vec<serde_json::Value> = r
        .hanging
        .panes()
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let w = p.window.as_ref();
            let key = r.pane_slice(k).map(|(s, i, f)| image_key(&r.reading[s], i, f));
            let measurements: Vec<serde_json::Value> = key
                .as_ref()
                .map(|key| {
                    r.annotations
                        .list(key)
                        .iter()
                        .map(|a| serde_json::json!({ "id": a.id.0, "lines": a.value.lines(), "handles": a.shape.handles() }))
                        .collect()
                })
                .unwrap_or_default();
            // a checksum of the cached pixels the pane shows (tests tell which slice it is)
            let checksum = r.pane_slice(k).and_then(|(s, i, f)| {
                let v = r.cache.peek(&(s, i))?.image.0.values16(f as usize)?;
                Some(v.iter().fold(0u32, |a, &x| a.wrapping_mul(31).wrapping_add(u32::from(x))))
            });
            // where the image's centre is in the pane, CSS px (pan moves it)
            let [iw, ih] = p.viewport.image_size();
            let centre = p.viewport.image_to_css([f64::from(iw) / 2.0, f64::from(ih) / 2.0]);
            serde_json::json!({
                "series": p.series, "slice": p.stack.index(), "slices": p.stack.len(),
                "window": w.map(|w| [w.window.center, w.window.width]), "invert": w.is_some_and(|w| w.invert),
                "zoom": p.viewport.zoom_percent(), "quarterTurns": p.viewport.quarter_turns(),
                "flipH": p.viewport.flipped_horizontally(), "flipV": p.viewport.flipped_vertically(),
                "fitted": p.viewport.is_fitted(), "cine": p.stack.is_playing(), "fps": p.stack.fps(),
                "centre": centre, "checksum": checksum,
                "interpolation": format!("{:?}", p.viewport.interpolation()),
                "measurements": measurements,
                // whether the GPU slot holds the pane's current slice (drawn on the last frame)
                "shown": r.uploaded.get(k).copied().flatten().is_some() && r.uploaded[k] == r.pane_slice(k),
            })
        })
        .collect();
    let usage = r.cache.usage();
    let total: usize = r.series.iter().map(|s| s.instances.len()).sum();
    let loaded: usize = r.series.iter().map(|s| s.instances.iter().filter(|e| e.loaded_once).count()).sum();
    serde_json::json!({
        "layout": layout_name(r.hanging.layout()),
        "active": r.hanging.active(),
        "panes": panes,
        "series": r.series.iter().map(|s| s.label.clone()).collect::<Vec<_>>(),
        "tool": r.input.tool().map(tool_name),
        "help": r.help_shown,
        "cache": { "bytes": usage.bytes, "items": usage.items, "budget": usage.budget, "peak": usage.peak_bytes, "evictions": usage.evictions },
        "study": { "instances": total, "loaded": loaded },
    })
}

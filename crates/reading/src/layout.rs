//! Layouts and hanging: 1×1, 1×2, 2×2 panes, each with its own series, slice, view and window;
//! the default hanging (current series, then a prior or the next series); dropping a series
//! into a pane; synchronised scrolling between series of one Frame of Reference.

use obscura_imaging::{Attributes, DecodedImage};

use crate::input::{Action, Command, ZOOM_KEY_FACTOR};
use crate::measure::Calibration;
use crate::stack::Stack;
use crate::viewport::Viewport;
use crate::window::{preset_for_key, WindowLevel};

/// How the viewer area is divided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// One pane.
    #[default]
    Single,
    /// Two panes side by side.
    OneByTwo,
    /// Four panes, two rows of two.
    TwoByTwo,
}

/// A pane's place in the viewer area, CSS px.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

impl Rect {
    /// Whether `p` lies inside (left and top edges included).
    pub fn contains(&self, p: [f64; 2]) -> bool {
        p[0] >= self.x && p[1] >= self.y && p[0] < self.x + self.width && p[1] < self.y + self.height
    }
}

impl Layout {
    /// Columns and rows of panes.
    pub fn grid(self) -> (usize, usize) {
        match self {
            Layout::Single => (1, 1),
            Layout::OneByTwo => (2, 1),
            Layout::TwoByTwo => (2, 2),
        }
    }

    /// Number of panes.
    pub fn panes(self) -> usize {
        let (c, r) = self.grid();
        c * r
    }

    /// The panes' rectangles in an area of `size` CSS px, row by row.
    pub fn rects(self, size: [f64; 2]) -> Vec<Rect> {
        let (cols, rows) = self.grid();
        let (w, h) = (size[0] / cols as f64, size[1] / rows as f64);
        (0..rows)
            .flat_map(|r| (0..cols).map(move |c| Rect { x: c as f64 * w, y: r as f64 * h, width: w, height: h }))
            .collect()
    }
}

/// Where a slice of a series comes from: an instance, and a frame in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceRef {
    /// Index into [`Series::instances`].
    pub instance: usize,
    /// Frame in that instance, 0-based.
    pub frame: u32,
}

/// A series as the reading room sees it: its instances in stack order.
///
/// Order: by Instance Number when every instance has one (the order the modality wrote),
/// position along the slice normal breaking ties; else by position along the slice normal (row ×
/// column direction), highest first (head first for an axial series with the usual
/// orientation); else as given. A multi-frame instance contributes one slice per frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    instances: Vec<Attributes>,
    slices: Vec<SliceRef>,
    normal: Option<[f64; 3]>,
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// The unit slice normal (row × column direction) of Image Orientation (Patient).
pub fn slice_normal(iop: [f64; 6]) -> Option<[f64; 3]> {
    let n = cross([iop[0], iop[1], iop[2]], [iop[3], iop[4], iop[5]]);
    let len = dot(n, n).sqrt();
    (len > 1e-6 && len.is_finite()).then(|| n.map(|x| x / len))
}

/// Normals closer than this cosine (≈ 10°) count as parallel for synchronised scrolling.
pub const PARALLEL_COSINE: f64 = 0.985;

impl Series {
    /// A series of the given instances (any order; all of one Series Instance UID).
    pub fn new(mut instances: Vec<Attributes>) -> Self {
        let normal = instances.iter().find_map(|a| a.image_orientation_patient).and_then(slice_normal);
        let position = |a: &Attributes| -> Option<f64> { Some(dot(a.image_position_patient?, normal?)) };
        let all_numbered = instances.iter().all(|a| a.instance_number.is_some());
        let all_placed = instances.iter().all(|a| position(a).is_some());
        if all_numbered {
            instances.sort_by(|a, b| {
                a.instance_number
                    .cmp(&b.instance_number)
                    .then_with(|| position(b).unwrap_or(0.0).total_cmp(&position(a).unwrap_or(0.0)))
            });
        } else if all_placed {
            instances.sort_by(|a, b| position(b).unwrap_or(0.0).total_cmp(&position(a).unwrap_or(0.0)));
        }
        let slices = instances
            .iter()
            .enumerate()
            .flat_map(|(i, a)| {
                (0..a.number_of_frames.unwrap_or(1).max(1)).map(move |frame| SliceRef { instance: i, frame })
            })
            .collect();
        Series { instances, slices, normal }
    }

    /// Replaces what is known of instance `instance` (index into [`Series::instances`]) without
    /// reordering: a viewer builds the series from the study index before anything is decoded
    /// (instance numbers give the order) and learns each instance's full header as it decodes
    /// it. The slice normal is taken from the first orientation known. Returns whether the
    /// instance exists and its frame count is unchanged (the slice list stays valid).
    pub fn set_attributes(&mut self, instance: usize, attributes: Attributes) -> bool {
        let Some(a) = self.instances.get_mut(instance) else { return false };
        if a.number_of_frames.unwrap_or(1).max(1) != attributes.number_of_frames.unwrap_or(1).max(1) {
            return false;
        }
        *a = attributes;
        if self.normal.is_none() {
            self.normal = self.instances.iter().find_map(|a| a.image_orientation_patient).and_then(slice_normal);
        }
        true
    }

    /// The instances, in stack order.
    pub fn instances(&self) -> &[Attributes] {
        &self.instances
    }

    /// The slices, in stack order.
    pub fn slices(&self) -> &[SliceRef] {
        &self.slices
    }

    /// Number of slices.
    pub fn len(&self) -> usize {
        self.slices.len()
    }

    /// Whether the series has no slice.
    pub fn is_empty(&self) -> bool {
        self.slices.is_empty()
    }

    /// The attributes of slice `index`'s instance.
    pub fn attributes(&self, index: usize) -> Option<&Attributes> {
        self.instances.get(self.slices.get(index)?.instance)
    }

    /// The first instance's attributes (series and study level values).
    pub fn first(&self) -> Option<&Attributes> {
        self.instances.first()
    }

    /// The unit slice normal, from the first Image Orientation (Patient).
    pub fn normal(&self) -> Option<[f64; 3]> {
        self.normal
    }

    /// Position of slice `index` along `normal`, mm: its Image Position (Patient) projected.
    /// `None` for frames of a multi-frame instance (per-frame positions are not read) and
    /// without a position.
    pub fn position_along(&self, index: usize, normal: [f64; 3]) -> Option<f64> {
        let s = self.slices.get(index)?;
        let a = &self.instances[s.instance];
        if a.number_of_frames.unwrap_or(1) > 1 {
            return None;
        }
        Some(dot(a.image_position_patient?, normal))
    }

    /// Distance between neighbouring slices, mm: the median of the position steps, else the
    /// Slice Thickness.
    pub fn spacing(&self) -> Option<f64> {
        let n = self.normal?;
        let mut pos: Vec<f64> = (0..self.len()).filter_map(|i| self.position_along(i, n)).collect();
        pos.sort_by(f64::total_cmp);
        let mut steps: Vec<f64> = pos.windows(2).map(|w| w[1] - w[0]).filter(|d| *d > 1e-6).collect();
        steps.sort_by(f64::total_cmp);
        steps.get(steps.len() / 2).copied().or_else(|| self.first()?.slice_thickness.filter(|t| *t > 0.0))
    }

    /// The Frame of Reference UID ("" when absent).
    pub fn frame_of_reference_uid(&self) -> &str {
        self.first().map_or("", |a| a.frame_of_reference_uid.as_str())
    }
}

/// The slice of `target` that matches slice `source_index` of `source`: the nearest one along
/// the source's slice normal, if both series share a (non-empty) Frame of Reference UID, their
/// slices are parallel (within [`PARALLEL_COSINE`]) and it lies within half the target's slice
/// spacing; else `None` (the target does not move).
pub fn synced_slice(source: &Series, source_index: usize, target: &Series) -> Option<usize> {
    let frame = source.frame_of_reference_uid();
    if frame.is_empty() || frame != target.frame_of_reference_uid() {
        return None;
    }
    let n = source.normal()?;
    if dot(n, target.normal()?).abs() < PARALLEL_COSINE {
        return None;
    }
    let here = source.position_along(source_index, n)?;
    let half = target.spacing()? / 2.0;
    let (best, distance) = (0..target.len())
        .filter_map(|i| Some((i, (target.position_along(i, n)? - here).abs())))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    (distance <= half + 1e-6).then_some(best)
}

/// The series to show first in each of `panes` panes: `current` first; then, for the second
/// pane, the most recent prior of the same patient (same Patient ID, another study with an
/// earlier Study Date: its series of the same modality and description, else the same modality,
/// else its first); else the next series after `current`; the remaining panes take the
/// following series not shown yet. `None` for panes left empty.
pub fn default_hanging(series: &[Series], current: usize, panes: usize) -> Vec<Option<usize>> {
    let mut out: Vec<Option<usize>> = vec![None; panes];
    if panes == 0 || current >= series.len() {
        return out;
    }
    out[0] = Some(current);
    let Some(cur) = series[current].first() else { return out };
    let date_ok = |d: &str| d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit());
    let priors: Vec<usize> = (0..series.len())
        .filter(|&i| {
            series[i].first().is_some_and(|a| {
                !cur.patient_id.is_empty()
                    && a.patient_id == cur.patient_id
                    && a.study_instance_uid != cur.study_instance_uid
                    && date_ok(&a.study_date)
                    && date_ok(&cur.study_date)
                    && a.study_date < cur.study_date
            })
        })
        .collect();
    let latest = priors.iter().filter_map(|&i| series[i].first()).map(|a| a.study_date.clone()).max();
    let prior = latest.and_then(|date| {
        let in_study: Vec<usize> =
            priors.iter().copied().filter(|&i| series[i].first().is_some_and(|a| a.study_date == date)).collect();
        let same = |i: &usize, description: bool| {
            series[*i].first().is_some_and(|a| {
                a.modality == cur.modality && (!description || a.series_description == cur.series_description)
            })
        };
        in_study
            .iter()
            .find(|i| same(i, true))
            .or_else(|| in_study.iter().find(|i| same(i, false)))
            .or(in_study.first())
            .copied()
    });
    let mut next = (1..series.len()).map(|k| (current + k) % series.len()).filter(|i| Some(*i) != prior);
    if panes > 1 {
        out[1] = prior.or_else(|| next.next());
    }
    for slot in out.iter_mut().skip(2) {
        *slot = next.next();
    }
    out
}

/// One pane: its series and its own slice, view and window.
#[derive(Debug, Clone, PartialEq)]
pub struct Pane {
    /// Index of the series shown, `None` for an empty pane.
    pub series: Option<usize>,
    /// Slice position.
    pub stack: Stack,
    /// View transform.
    pub viewport: Viewport,
    /// Window/level, once the first image is decoded ([`Pane::ensure_window`]).
    pub window: Option<WindowLevel>,
}

impl Pane {
    fn empty(rect: Rect, device_pixel_ratio: f64) -> Self {
        Pane {
            series: None,
            stack: Stack::new(0, 0),
            viewport: Viewport::new(1, 1, 1.0, [rect.width, rect.height], device_pixel_ratio),
            window: None,
        }
    }

    /// Shows `series` (index `index`): first slice, fit, window from the first decoded image.
    fn show(&mut self, index: usize, series: &Series) {
        let (columns, rows, aspect) = series
            .first()
            .map_or((1, 1, 1.0), |a| (a.columns.unwrap_or(1), a.rows.unwrap_or(1), Calibration::of(a).pixel_aspect()));
        self.series = Some(index);
        self.stack = Stack::new(series.len(), 0);
        self.viewport.set_image(columns, rows, aspect);
        self.window = None;
    }

    /// Sets the window/level from the first decoded image, if it has none yet; returns it.
    pub fn ensure_window(&mut self, image: &DecodedImage, frame: usize) -> &mut WindowLevel {
        self.window.get_or_insert_with(|| WindowLevel::for_image(image, frame))
    }
}

/// The panes of the viewer area and which one is active.
#[derive(Debug, Clone, PartialEq)]
pub struct Hanging {
    layout: Layout,
    area: [f64; 2],
    device_pixel_ratio: f64,
    panes: Vec<Pane>,
    active: usize,
    /// Whether scrolling one pane scrolls the panes of the same Frame of Reference.
    pub sync_scroll: bool,
}

impl Hanging {
    /// `layout` in an area of `area` CSS px, hung by [`default_hanging`] around `current`.
    pub fn new(layout: Layout, area: [f64; 2], device_pixel_ratio: f64, series: &[Series], current: usize) -> Self {
        let panes = layout.rects(area).into_iter().map(|r| Pane::empty(r, device_pixel_ratio)).collect();
        let mut h = Hanging { layout, area, device_pixel_ratio, panes, active: 0, sync_scroll: true };
        for (pane, s) in default_hanging(series, current, layout.panes()).into_iter().enumerate() {
            if let Some(s) = s {
                h.assign(pane, s, series);
            }
        }
        // the current series' pane is where the reader starts (assigning made each active)
        h.active = 0;
        h
    }

    /// The layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Changes the layout: panes that remain keep their state, new panes take the next series
    /// not shown yet.
    pub fn set_layout(&mut self, layout: Layout, series: &[Series]) {
        let rects = layout.rects(self.area);
        let active = self.active;
        self.panes.truncate(rects.len());
        while self.panes.len() < rects.len() {
            self.panes.push(Pane::empty(rects[self.panes.len()], self.device_pixel_ratio));
            let shown: Vec<usize> = self.panes.iter().filter_map(|p| p.series).collect();
            if let Some(next) = (0..series.len()).find(|i| !shown.contains(i)) {
                let pane = self.panes.len() - 1;
                self.assign(pane, next, series);
            }
        }
        self.layout = layout;
        // filling new panes is not the reader's choice of pane
        self.active = active.min(self.panes.len() - 1);
        self.resize(self.area, self.device_pixel_ratio);
    }

    /// The viewer area changed size (or device pixel ratio).
    pub fn resize(&mut self, area: [f64; 2], device_pixel_ratio: f64) {
        self.area = area;
        self.device_pixel_ratio = device_pixel_ratio;
        for (pane, r) in self.panes.iter_mut().zip(self.layout.rects(area)) {
            pane.viewport.resize([r.width, r.height], device_pixel_ratio);
        }
    }

    /// The panes' rectangles, CSS px.
    pub fn rects(&self) -> Vec<Rect> {
        self.layout.rects(self.area)
    }

    /// The pane under `point` (CSS px in the viewer area).
    pub fn pane_at(&self, point: [f64; 2]) -> Option<usize> {
        self.rects().iter().position(|r| r.contains(point))
    }

    /// The panes.
    pub fn panes(&self) -> &[Pane] {
        &self.panes
    }

    /// One pane, to change.
    pub fn pane_mut(&mut self, pane: usize) -> Option<&mut Pane> {
        self.panes.get_mut(pane)
    }

    /// The active pane (keyboard commands go there).
    pub fn active(&self) -> usize {
        self.active
    }

    /// Makes `pane` active (a click in it).
    pub fn set_active(&mut self, pane: usize) {
        if pane < self.panes.len() {
            self.active = pane;
        }
    }

    /// Drops series `index` (a thumbnail) into `pane`; the pane becomes active. Returns whether
    /// both exist.
    pub fn assign(&mut self, pane: usize, index: usize, series: &[Series]) -> bool {
        let (Some(p), Some(s)) = (self.panes.get_mut(pane), series.get(index)) else { return false };
        p.show(index, s);
        self.active = pane;
        true
    }

    /// Scrolls `pane` by `n` slices and, with [`Hanging::sync_scroll`], moves the other panes of
    /// the same Frame of Reference to the matching slice ([`synced_slice`]). Returns the panes
    /// whose slice changed.
    pub fn scroll(&mut self, pane: usize, n: i64, now_ms: f64, series: &[Series]) -> Vec<usize> {
        let Some(p) = self.panes.get_mut(pane) else { return Vec::new() };
        let mut changed = Vec::new();
        if p.stack.scroll_by(n, now_ms) {
            changed.push(pane);
        }
        changed.extend(self.sync_from(pane, now_ms, series));
        changed
    }

    /// Moves the other panes to the slice matching `pane`'s current one (after any change of
    /// `pane`'s slice: slider, cine, home/end). Returns the panes whose slice changed.
    pub fn sync_from(&mut self, pane: usize, now_ms: f64, series: &[Series]) -> Vec<usize> {
        let mut changed = Vec::new();
        if !self.sync_scroll {
            return changed;
        }
        let Some(source) = self.panes.get(pane) else { return changed };
        let Some(src) = source.series.and_then(|i| series.get(i)) else { return changed };
        let index = source.stack.index();
        for (k, other) in self.panes.iter_mut().enumerate() {
            if k == pane {
                continue;
            }
            let Some(target) = other.series.and_then(|i| series.get(i)) else { continue };
            if let Some(to) = synced_slice(src, index, target) {
                if other.stack.set_index(to, now_ms) {
                    changed.push(k);
                }
            }
        }
        changed
    }
}

/// What [`Hanging::apply`] did with an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Applied to the pane's view, window or slice; these panes show another slice now.
    View {
        /// Panes whose slice changed (the pane itself and synchronised ones).
        slices_changed: Vec<usize>,
    },
    /// Not a view action: measurements, selection, tools, help are the caller's.
    NotView,
}

impl Hanging {
    /// Applies a view action of the [`InputMachine`](crate::input::InputMachine) to `pane`: scrolling (synchronised),
    /// window drags and presets, zoom, pan, rotation, flips, fit, reset, cine. `image` is the
    /// pane's current decoded image (window actions need it; without it they do nothing).
    pub fn apply(
        &mut self,
        pane: usize,
        action: &Action,
        now_ms: f64,
        series: &[Series],
        image: Option<&DecodedImage>,
    ) -> Applied {
        let Some(p) = self.panes.get_mut(pane) else { return Applied::NotView };
        let frame = p
            .series
            .and_then(|i| series.get(i))
            .and_then(|s| s.slices().get(p.stack.index()))
            .map_or(0, |r| r.frame as usize);
        let modality = p.series.and_then(|i| series.get(i)?.first()).map_or("", |a| a.modality.as_str()).to_string();
        let moved = match *action {
            Action::Scroll(n) => p.stack.scroll_by(n, now_ms),
            Action::Window { dx, dy } => {
                if let Some(img) = image {
                    p.ensure_window(img, frame).drag(dx, dy);
                }
                false
            }
            Action::ZoomAbout { at, factor } => {
                p.viewport.zoom_about(at, factor);
                false
            }
            Action::Pan { dx, dy } => {
                p.viewport.pan_by([dx, dy]);
                false
            }
            Action::Command(c) => match c {
                Command::ScrollBy(n) => p.stack.scroll_by(i64::from(n), now_ms),
                Command::PagePrevious => p.stack.page(-1, now_ms),
                Command::PageNext => p.stack.page(1, now_ms),
                Command::First => p.stack.home(now_ms),
                Command::Last => p.stack.end(now_ms),
                Command::Preset(n) => {
                    if let Some(img) = image {
                        if let Some((w, source)) = preset_for_key(&modality, img, n) {
                            p.ensure_window(img, frame).set(w, source);
                        }
                    }
                    false
                }
                Command::ImageWindow => {
                    if let Some(img) = image {
                        p.ensure_window(img, frame).restore_image_window();
                    }
                    false
                }
                Command::Invert => {
                    if let Some(img) = image {
                        p.ensure_window(img, frame).toggle_invert();
                    }
                    false
                }
                Command::Reset => {
                    p.viewport.reset();
                    if let Some(w) = &mut p.window {
                        w.reset();
                    }
                    false
                }
                Command::Fit => {
                    p.viewport.fit();
                    false
                }
                Command::OneToOne => {
                    p.viewport.one_to_one();
                    false
                }
                Command::ZoomIn => {
                    p.viewport.zoom_by(ZOOM_KEY_FACTOR);
                    false
                }
                Command::ZoomOut => {
                    p.viewport.zoom_by(1.0 / ZOOM_KEY_FACTOR);
                    false
                }
                Command::RotateClockwise => {
                    p.viewport.rotate_clockwise();
                    false
                }
                Command::RotateCounterClockwise => {
                    p.viewport.rotate_counter_clockwise();
                    false
                }
                Command::FlipHorizontal => {
                    p.viewport.flip_horizontal();
                    false
                }
                Command::FlipVertical => {
                    p.viewport.flip_vertical();
                    false
                }
                Command::ToggleCine => {
                    p.stack.toggle_cine(now_ms);
                    false
                }
                Command::Tool(_) | Command::DeleteSelected | Command::Cancel | Command::Help => {
                    return Applied::NotView
                }
            },
            _ => return Applied::NotView,
        };
        let mut slices_changed = Vec::new();
        if moved {
            slices_changed.push(pane);
            slices_changed.extend(self.sync_from(pane, now_ms, series));
        }
        Applied::View { slices_changed }
    }

    /// Advances every playing cine to `now_ms` (call once per animation frame), synchronising
    /// the other panes; returns the panes whose slice changed.
    pub fn tick(&mut self, now_ms: f64, series: &[Series]) -> Vec<usize> {
        let mut changed = Vec::new();
        for pane in 0..self.panes.len() {
            if self.panes[pane].stack.tick(now_ms) {
                changed.push(pane);
                changed.extend(self.sync_from(pane, now_ms, series));
            }
        }
        changed.sort_unstable();
        changed.dedup();
        changed
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An axial series of `n` slices `step` mm apart starting at z = `z0` (slice 0 highest).
    pub(crate) fn axial(uid: &str, frame: &str, study: (&str, &str), n: usize, z0: f64, step: f64) -> Series {
        Series::new(
            (0..n)
                .map(|i| Attributes {
                    patient_id: "P1".into(),
                    study_instance_uid: study.0.into(),
                    study_date: study.1.into(),
                    series_instance_uid: uid.into(),
                    sop_instance_uid: format!("{uid}.{i}"),
                    modality: "CT".into(),
                    series_description: "Axial".into(),
                    frame_of_reference_uid: frame.into(),
                    instance_number: Some(i as i32 + 1),
                    image_position_patient: Some([0.0, 0.0, z0 - i as f64 * step]),
                    image_orientation_patient: Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
                    slice_thickness: Some(step),
                    pixel_spacing: Some([0.7, 0.7]),
                    rows: Some(64),
                    columns: Some(64),
                    ..Default::default()
                })
                .rev()
                .collect(),
        )
    }

    #[test]
    fn rects_tile_the_area() {
        let r = Layout::TwoByTwo.rects([800.0, 600.0]);
        assert_eq!(r[3], Rect { x: 400.0, y: 300.0, width: 400.0, height: 300.0 });
        assert_eq!(Layout::OneByTwo.rects([800.0, 600.0])[1].x, 400.0);
        assert!(r[0].contains([0.0, 0.0]) && !r[0].contains([400.0, 0.0]));
    }

    #[test]
    fn series_sorted_by_instance_number_with_spacing() {
        let s = axial("1.1", "F", ("S1", "20240301"), 5, 10.0, 2.5);
        assert_eq!(s.instances()[0].instance_number, Some(1));
        assert_eq!(s.position_along(0, [0.0, 0.0, 1.0]), Some(10.0));
        assert_eq!(s.spacing(), Some(2.5));
        // without instance numbers: by position, head first
        let mut shuffled: Vec<Attributes> = s.instances().to_vec();
        shuffled.swap(0, 3);
        for a in &mut shuffled {
            a.instance_number = None;
        }
        let t = Series::new(shuffled);
        assert_eq!(t.instances()[0].image_position_patient.unwrap()[2], 10.0);
        let multi = Series::new(vec![Attributes { number_of_frames: Some(3), ..Default::default() }]);
        assert_eq!(multi.slices()[2], SliceRef { instance: 0, frame: 2 });
        assert_eq!(multi.spacing(), None);
    }

    #[test]
    fn attributes_learnt_later_keep_the_order_and_enable_sync() {
        let full = axial("1.1", "F", ("S1", "20240301"), 4, 0.0, 2.0);
        // what a study index gives before decoding: instance numbers only
        let sparse: Vec<Attributes> = full
            .instances()
            .iter()
            .map(|a| Attributes { instance_number: a.instance_number, ..Default::default() })
            .rev()
            .collect();
        let mut s = Series::new(sparse);
        assert_eq!(s.normal(), None);
        assert_eq!(synced_slice(&full, 2, &s), None, "no positions yet");
        for (i, a) in full.instances().iter().enumerate() {
            assert!(s.set_attributes(i, a.clone()));
        }
        assert_eq!(s.instances(), full.instances(), "same order as if built from full headers");
        assert_eq!(s.normal(), full.normal());
        assert_eq!(synced_slice(&full, 2, &s), Some(2));
        let multi = Attributes { number_of_frames: Some(2), ..Default::default() };
        assert!(!s.set_attributes(0, multi), "a frame count change is refused");
        assert!(!s.set_attributes(9, Attributes::default()));
    }

    #[test]
    fn sync_maps_to_the_nearest_slice_within_half_a_spacing() {
        let a = axial("1.1", "F", ("S1", "20240301"), 40, 0.0, 1.0); // z 0 … −39
        let b = axial("1.2", "F", ("S1", "20240301"), 8, -2.0, 5.0); // z −2, −7, … −37
        assert_eq!(synced_slice(&a, 6, &b), Some(1), "z −6 → −7");
        assert_eq!(synced_slice(&a, 4, &b), Some(0), "z −4 → −2 (2 mm ≤ 2.5)");
        assert_eq!(synced_slice(&a, 0, &b), Some(0), "z 0 → −2");
        let far = axial("1.3", "F", ("S1", "20240301"), 3, -100.0, 1.0);
        assert_eq!(synced_slice(&a, 0, &far), None, "no slice within 0.5 mm");
        let other_frame = axial("1.4", "G", ("S1", "20240301"), 40, 0.0, 1.0);
        assert_eq!(synced_slice(&a, 6, &other_frame), None);
        let no_frame = axial("1.5", "", ("S1", "20240301"), 40, 0.0, 1.0);
        assert_eq!(synced_slice(&no_frame, 6, &no_frame), None);
        let mut sagittal = axial("1.6", "F", ("S1", "20240301"), 40, 0.0, 1.0).instances().to_vec();
        for s in &mut sagittal {
            s.image_orientation_patient = Some([0.0, 1.0, 0.0, 0.0, 0.0, -1.0]);
        }
        assert_eq!(synced_slice(&a, 6, &Series::new(sagittal)), None, "not parallel");
    }

    #[test]
    fn default_hanging_prefers_the_latest_prior() {
        let cur = axial("3.1", "F3", ("S3", "20240301"), 5, 0.0, 1.0);
        let next = axial("3.2", "F3", ("S3", "20240301"), 5, 0.0, 1.0);
        let old = axial("1.1", "F1", ("S1", "20200101"), 5, 0.0, 1.0);
        let prior = axial("2.1", "F2", ("S2", "20230101"), 5, 0.0, 1.0);
        let later = axial("4.1", "F4", ("S4", "20250101"), 5, 0.0, 1.0);
        let all = [cur.clone(), next.clone(), old, prior, later];
        assert_eq!(default_hanging(&all, 0, 2), vec![Some(0), Some(3)]);
        assert_eq!(default_hanging(&all, 0, 4), vec![Some(0), Some(3), Some(1), Some(2)]);
        assert_eq!(default_hanging(&[cur, next], 0, 2), vec![Some(0), Some(1)]);
        assert_eq!(default_hanging(&[], 0, 2), vec![None, None]);
    }

    #[test]
    fn panes_scroll_in_sync_and_take_dropped_series() {
        let series = [
            axial("1.1", "F", ("S1", "20240301"), 40, 0.0, 1.0),
            axial("1.2", "F", ("S1", "20240301"), 8, -2.0, 5.0),
            axial("1.3", "G", ("S1", "20240301"), 10, 0.0, 1.0),
        ];
        let mut h = Hanging::new(Layout::OneByTwo, [800.0, 400.0], 2.0, &series, 0);
        assert_eq!(h.active(), 0, "the reader starts in the current series' pane");
        assert_eq!(h.panes().iter().map(|p| p.series).collect::<Vec<_>>(), [Some(0), Some(1)]);
        assert_eq!(h.panes()[0].viewport.device_size(), [800.0, 800.0]);
        assert_eq!(h.scroll(0, 6, 0.0, &series), vec![0, 1]);
        assert_eq!(h.panes()[1].stack.index(), 1);
        h.sync_scroll = false;
        h.scroll(0, 10, 0.0, &series);
        assert_eq!(h.panes()[1].stack.index(), 1);
        assert!(h.assign(1, 2, &series));
        assert_eq!((h.active(), h.panes()[1].stack.len()), (1, 10));
        assert!(!h.assign(5, 0, &series));
        h.set_layout(Layout::TwoByTwo, &series);
        assert_eq!(h.active(), 1);
        assert_eq!(h.panes().iter().map(|p| p.series).collect::<Vec<_>>(), [Some(0), Some(2), Some(1), None]);
        assert_eq!(h.pane_at([799.0, 399.0]), Some(3));
        h.set_layout(Layout::Single, &series);
        assert_eq!((h.panes().len(), h.active()), (1, 0));
    }

    #[test]
    fn apply_routes_view_actions_and_leaves_the_rest() {
        let series =
            [axial("1.1", "F", ("S1", "20240301"), 40, 0.0, 1.0), axial("1.2", "F", ("S1", "20240301"), 8, -2.0, 5.0)];
        let mut h = Hanging::new(Layout::OneByTwo, [800.0, 400.0], 1.0, &series, 0);
        let img = crate::window::tests::ct_image(64, 64, &[0; 64 * 64]);
        assert_eq!(
            h.apply(0, &Action::Command(Command::Last), 0.0, &series, None),
            Applied::View { slices_changed: vec![0, 1] }
        );
        assert_eq!(h.panes()[1].stack.index(), 7);
        h.apply(0, &Action::Command(Command::Preset(4)), 0.0, &series, Some(&img));
        assert_eq!(h.panes()[0].window.as_ref().unwrap().window.center, -600.0);
        h.apply(0, &Action::Command(Command::RotateClockwise), 0.0, &series, None);
        assert_eq!(h.panes()[0].viewport.quarter_turns(), 1);
        h.apply(0, &Action::Command(Command::Reset), 0.0, &series, None);
        assert_eq!(h.panes()[0].viewport.quarter_turns(), 0);
        assert_eq!(h.panes()[0].window.as_ref().unwrap().window.width, 1.0, "the image's own window again");
        assert_eq!(h.apply(0, &Action::Command(Command::Help), 0.0, &series, None), Applied::NotView);
        assert_eq!(h.apply(0, &Action::EditEnd, 0.0, &series, None), Applied::NotView);
        h.apply(1, &Action::Command(Command::First), 0.0, &series, None);
        h.apply(1, &Action::Command(Command::ToggleCine), 0.0, &series, None);
        assert_eq!(h.tick(1000.0 / crate::stack::DEFAULT_FPS, &series), vec![0, 1]);
        assert_eq!(h.panes()[0].stack.index(), 7, "pane 1 at z −7: pane 0 follows");
    }
}

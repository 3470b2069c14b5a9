//! Measurements: length, angle, elliptical and rectangular ROI statistics, the pixel probe, and
//! the in-memory annotation store with its editing rules.
//!
//! **Geometry.** Shapes live in image px (see [`viewport`](crate::viewport)); physical sizes use
//! the [`Calibration`]: Pixel Spacing (0028,0030) when present ("mm"), else Imager Pixel Spacing
//! (0018,1164) ("mm (detector)": at the detector plane, not corrected for magnification), else
//! pixels ("px": lengths in pixel widths, heights scaled by Pixel Aspect Ratio when present).
//! Angles are measured in that physical plane, so non-square pixels do not skew them.
//!
//! **Which pixels an ROI holds.** Pixel `(i, j)` is inside a rectangle with corners `(x0, y0)`,
//! `(x1, y1)` when its centre `(i + 0.5, j + 0.5)` satisfies `min(x0,x1) ≤ i + 0.5 ≤ max(x0,x1)`
//! and the same for y (edges included); inside an ellipse inscribed in that box (centre `c`,
//! radii `r`) when `((i + 0.5 − cx)/rx)² + ((j + 0.5 − cy)/ry)² ≤ 1` (an ellipse with a zero
//! radius holds no pixel). Pixels outside the image are never counted. The area is the shape's
//! geometric area (π·rx·ry or width·height, in the calibration's unit²), not the pixel count, which
//! is reported beside it. Mean, SD (population: divided by n, as Cornerstone), min and max are of
//! modality values (HU for CT), through `obscura_imaging`'s Modality LUT / rescale.

use std::collections::HashMap;
use std::f64::consts::PI;

use obscura_imaging::{Attributes, DecodedImage, Photometric};

use crate::viewport::Viewport;

/// Where physical sizes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpacingSource {
    /// Pixel Spacing (0028,0030): in the patient.
    PixelSpacing,
    /// Imager Pixel Spacing (0018,1164): at the detector.
    ImagerPixelSpacing,
    /// Neither: sizes in pixels.
    Uncalibrated,
}

/// The size of one pixel, and what it means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// Distance between rows (the pixel's height), in the unit of [`Calibration::length_unit`].
    pub row_spacing: f64,
    /// Distance between columns (the pixel's width).
    pub column_spacing: f64,
    /// Where these come from.
    pub source: SpacingSource,
}

impl Calibration {
    /// The calibration the object's attributes give (see the module documentation for the order).
    pub fn of(attributes: &Attributes) -> Self {
        let valid = |s: Option<[f64; 2]>| s.filter(|v| v.iter().all(|x| x.is_finite() && *x > 0.0));
        if let Some([row, column]) = valid(attributes.pixel_spacing) {
            return Calibration { row_spacing: row, column_spacing: column, source: SpacingSource::PixelSpacing };
        }
        if let Some([row, column]) = valid(attributes.imager_pixel_spacing) {
            return Calibration { row_spacing: row, column_spacing: column, source: SpacingSource::ImagerPixelSpacing };
        }
        let aspect = valid(attributes.pixel_aspect_ratio).map_or(1.0, |[v, h]| v / h);
        Calibration { row_spacing: aspect, column_spacing: 1.0, source: SpacingSource::Uncalibrated }
    }

    /// Displayed height / width of one pixel (what [`Viewport::new`] takes).
    pub fn pixel_aspect(&self) -> f64 {
        self.row_spacing / self.column_spacing
    }

    /// The unit of lengths: `mm`, `mm (detector)` or `px`.
    pub fn length_unit(&self) -> &'static str {
        match self.source {
            SpacingSource::PixelSpacing => "mm",
            SpacingSource::ImagerPixelSpacing => "mm (detector)",
            SpacingSource::Uncalibrated => "px",
        }
    }

    /// The unit of areas: `mm²`, `mm² (detector)` or `px²`.
    pub fn area_unit(&self) -> &'static str {
        match self.source {
            SpacingSource::PixelSpacing => "mm²",
            SpacingSource::ImagerPixelSpacing => "mm² (detector)",
            SpacingSource::Uncalibrated => "px²",
        }
    }

    /// An image-px vector in physical units.
    fn physical(&self, v: [f64; 2]) -> [f64; 2] {
        [v[0] * self.column_spacing, v[1] * self.row_spacing]
    }
}

/// What a measurement needs to know about its image.
#[derive(Debug, Clone, Copy)]
pub struct MeasureContext<'a> {
    /// The decoded image.
    pub image: &'a DecodedImage,
    /// The frame measured.
    pub frame: usize,
    /// Pixel size.
    pub calibration: Calibration,
    /// Unit of modality values: `HU` for CT, else empty (the object does not say).
    pub value_unit: &'static str,
}

impl<'a> MeasureContext<'a> {
    /// The context for `frame` of `image` whose attributes are `attributes`.
    pub fn new(image: &'a DecodedImage, frame: usize, attributes: &Attributes) -> Self {
        // CT rescales to Hounsfield units (PS3.3 C.8.2.1); a Modality LUT says nothing we keep
        let hu = attributes.modality.eq_ignore_ascii_case("CT") && image.modality_lut.is_none();
        MeasureContext {
            image,
            frame,
            calibration: Calibration::of(attributes),
            value_unit: if hu { "HU" } else { "" },
        }
    }
}

/// A measurement tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tool {
    /// Distance between two points.
    Length,
    /// Angle at a vertex between two arms.
    Angle,
    /// Elliptical ROI.
    Ellipse,
    /// Rectangular ROI.
    Rectangle,
    /// Pixel value at a point.
    Probe,
}

impl Tool {
    /// Points that define the shape.
    fn points(self) -> usize {
        match self {
            Tool::Probe => 1,
            Tool::Length | Tool::Ellipse | Tool::Rectangle => 2,
            Tool::Angle => 3,
        }
    }

    /// The tool's name in the UI.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Length => "Length",
            Tool::Angle => "Angle",
            Tool::Ellipse => "Elliptical ROI",
            Tool::Rectangle => "Rectangular ROI",
            Tool::Probe => "Probe",
        }
    }
}

/// A measured shape, in image px.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// From `a` to `b`.
    Length {
        /// One end.
        a: [f64; 2],
        /// The other end.
        b: [f64; 2],
    },
    /// The angle at `vertex` between the arms to `a` and `b`.
    Angle {
        /// End of the first arm.
        a: [f64; 2],
        /// The vertex.
        vertex: [f64; 2],
        /// End of the second arm.
        b: [f64; 2],
    },
    /// The ellipse inscribed in the axis-aligned box with opposite corners `a` and `b`.
    Ellipse {
        /// One corner of the bounding box.
        a: [f64; 2],
        /// The opposite corner.
        b: [f64; 2],
    },
    /// The axis-aligned rectangle with opposite corners `a` and `b`.
    Rectangle {
        /// One corner.
        a: [f64; 2],
        /// The opposite corner.
        b: [f64; 2],
    },
    /// The pixel under `at`.
    Probe {
        /// The probed point.
        at: [f64; 2],
    },
}

fn sub(a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
    [a[0] - b[0], a[1] - b[1]]
}

fn add(a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
    [a[0] + b[0], a[1] + b[1]]
}

fn norm(v: [f64; 2]) -> f64 {
    v[0].hypot(v[1])
}

impl Shape {
    /// The shape a tool makes from its defining points (`points.len()` ≥ the tool's count).
    fn from_points(tool: Tool, p: &[[f64; 2]]) -> Shape {
        match tool {
            Tool::Length => Shape::Length { a: p[0], b: p[1] },
            Tool::Angle => Shape::Angle { a: p[0], vertex: p[1], b: p[2] },
            Tool::Ellipse => Shape::Ellipse { a: p[0], b: p[1] },
            Tool::Rectangle => Shape::Rectangle { a: p[0], b: p[1] },
            Tool::Probe => Shape::Probe { at: p[0] },
        }
    }

    /// The handles the reader can drag, in image px: the ends (length), ends and vertex (angle),
    /// the four corners (rectangle: `a`, `(b.x, a.y)`, `b`, `(a.x, b.y)`), the four edge
    /// midpoints of the bounding box (ellipse: the `a.x` side, the `a.y` side, the `b.x` side,
    /// the `b.y` side), the point (probe).
    pub fn handles(&self) -> Vec<[f64; 2]> {
        match *self {
            Shape::Length { a, b } => vec![a, b],
            Shape::Angle { a, vertex, b } => vec![a, vertex, b],
            Shape::Rectangle { a, b } => vec![a, [b[0], a[1]], b, [a[0], b[1]]],
            Shape::Ellipse { a, b } => {
                let m = [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
                vec![[a[0], m[1]], [m[0], a[1]], [b[0], m[1]], [m[0], b[1]]]
            }
            Shape::Probe { at } => vec![at],
        }
    }

    /// Moves handle `handle` to `to` (see [`Shape::handles`]); the opposite side stays.
    fn set_handle(&mut self, handle: usize, to: [f64; 2]) -> bool {
        match self {
            Shape::Length { a, b } => match handle {
                0 => *a = to,
                1 => *b = to,
                _ => return false,
            },
            Shape::Angle { a, vertex, b } => match handle {
                0 => *a = to,
                1 => *vertex = to,
                2 => *b = to,
                _ => return false,
            },
            Shape::Rectangle { a, b } => match handle {
                0 => *a = to,
                1 => (b[0], a[1]) = (to[0], to[1]),
                2 => *b = to,
                3 => (a[0], b[1]) = (to[0], to[1]),
                _ => return false,
            },
            Shape::Ellipse { a, b } => match handle {
                0 => a[0] = to[0],
                1 => a[1] = to[1],
                2 => b[0] = to[0],
                3 => b[1] = to[1],
                _ => return false,
            },
            Shape::Probe { at } => match handle {
                0 => *at = to,
                _ => return false,
            },
        }
        true
    }

    /// Moves the whole shape by `delta` image px.
    fn translate(&mut self, delta: [f64; 2]) {
        match self {
            Shape::Length { a, b } | Shape::Ellipse { a, b } | Shape::Rectangle { a, b } => {
                *a = add(*a, delta);
                *b = add(*b, delta);
            }
            Shape::Angle { a, vertex, b } => {
                *a = add(*a, delta);
                *vertex = add(*vertex, delta);
                *b = add(*b, delta);
            }
            Shape::Probe { at } => *at = add(*at, delta),
        }
    }

    /// The outline to draw and hit-test, in image px (closed shapes repeat the first point).
    pub fn outline(&self) -> Vec<[f64; 2]> {
        match *self {
            Shape::Length { a, b } => vec![a, b],
            Shape::Angle { a, vertex, b } => vec![a, vertex, b],
            Shape::Rectangle { a, b } => vec![a, [b[0], a[1]], b, [a[0], b[1]], a],
            Shape::Ellipse { a, b } => {
                let c = [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
                let r = [(b[0] - a[0]).abs() / 2.0, (b[1] - a[1]).abs() / 2.0];
                (0..=64)
                    .map(|k| {
                        let t = f64::from(k) * 2.0 * PI / 64.0;
                        [c[0] + r[0] * t.cos(), c[1] + r[1] * t.sin()]
                    })
                    .collect()
            }
            Shape::Probe { at } => vec![at],
        }
    }

    /// Whether the shape has no extent (a click where a drag was needed).
    fn is_degenerate(&self) -> bool {
        match *self {
            Shape::Length { a, b } => a == b,
            Shape::Angle { a, vertex, b } => a == vertex || b == vertex,
            Shape::Ellipse { a, b } | Shape::Rectangle { a, b } => a[0] == b[0] || a[1] == b[1],
            Shape::Probe { .. } => false,
        }
    }
}

/// Statistics of modality values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Mean.
    pub mean: f64,
    /// Population standard deviation.
    pub sd: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// What an ROI measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionValue {
    /// Pixels whose centre is inside.
    pub pixel_count: usize,
    /// Geometric area.
    pub area: f64,
    /// Its unit (`mm²`, `mm² (detector)`, `px²`).
    pub area_unit: &'static str,
    /// Statistics of the pixels inside; `None` when none is, or for colour images.
    pub stats: Option<Stats>,
    /// Unit of the statistics (`HU` for CT, else empty).
    pub value_unit: &'static str,
}

/// The pixel under a probe.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeValue {
    /// Column (x) of the pixel.
    pub column: u32,
    /// Row (y) of the pixel.
    pub row: u32,
    /// Stored value(s): one for gray and palette images, R, G, B for colour.
    pub stored: Vec<i64>,
    /// Modality value of a gray image.
    pub modality: Option<f64>,
    /// Unit of the modality value.
    pub value_unit: &'static str,
}

/// The value of a measurement.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A distance.
    Length {
        /// The distance.
        length: f64,
        /// `mm`, `mm (detector)` or `px`.
        unit: &'static str,
    },
    /// An angle, degrees in 0..=180; `None` when an arm has no length.
    Angle {
        /// The angle.
        degrees: Option<f64>,
    },
    /// An ROI.
    Region(RegionValue),
    /// A probe; `None` outside the image.
    Probe(Option<ProbeValue>),
}

fn fmt_num(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    // "-0.0" reads as a sign error
    if s.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

fn with_unit(v: f64, decimals: usize, unit: &str) -> String {
    if unit.is_empty() {
        fmt_num(v, decimals)
    } else {
        format!("{} {unit}", fmt_num(v, decimals))
    }
}

impl Value {
    /// The text shown beside the measurement, one line each.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Value::Length { length, unit } => vec![with_unit(*length, 1, unit)],
            Value::Angle { degrees: Some(d) } => vec![format!("{}°", fmt_num(*d, 1))],
            Value::Angle { degrees: None } => vec!["—°".into()],
            Value::Region(r) => {
                let mut lines = Vec::new();
                if let Some(s) = r.stats {
                    let u = r.value_unit;
                    lines.push(format!("Mean: {} SD: {}", with_unit(s.mean, 1, u), with_unit(s.sd, 1, u)));
                    lines.push(format!("Min: {} Max: {}", with_unit(s.min, 1, u), with_unit(s.max, 1, u)));
                }
                lines.push(format!("Area: {} ({} px)", with_unit(r.area, 1, r.area_unit), r.pixel_count));
                lines
            }
            Value::Probe(Some(p)) => {
                let stored = p.stored.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
                let mut line = format!("({}, {}) SV: {stored}", p.column, p.row);
                if let Some(m) = p.modality {
                    line.push_str(&format!(" MV: {}", with_unit(m, 1, p.value_unit)));
                }
                vec![line]
            }
            Value::Probe(None) => vec!["outside the image".into()],
        }
    }
}

/// Pixel indices `first..=last` whose centres lie in `[lo, hi]`, clipped to `0..size`.
fn centres_within(lo: f64, hi: f64, size: u32) -> std::ops::Range<u32> {
    if lo.is_nan() || hi.is_nan() {
        return 0..0;
    }
    let first = (lo - 0.5).ceil().max(0.0);
    let last = (hi - 0.5).floor().min(f64::from(size) - 1.0);
    if first > last {
        return 0..0;
    }
    first as u32..last as u32 + 1
}

/// The ROI value of a rectangle or ellipse with bounding-box corners `a`, `b`.
fn region(ctx: &MeasureContext<'_>, a: [f64; 2], b: [f64; 2], ellipse: bool) -> RegionValue {
    let image = ctx.image;
    let (x0, x1) = (a[0].min(b[0]), a[0].max(b[0]));
    let (y0, y1) = (a[1].min(b[1]), a[1].max(b[1]));
    let (cx, cy, rx, ry) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0, (x1 - x0) / 2.0, (y1 - y0) / 2.0);
    let cal = ctx.calibration;
    let area = if ellipse { PI * rx * ry } else { (x1 - x0) * (y1 - y0) } * cal.row_spacing * cal.column_spacing;
    let gray = matches!(image.photometric, Photometric::Monochrome1 | Photometric::Monochrome2);
    let empty_ellipse = ellipse && (rx == 0.0 || ry == 0.0);
    let inside = |visit: &mut dyn FnMut(usize)| {
        if empty_ellipse {
            return;
        }
        for j in centres_within(y0, y1, image.rows) {
            for i in centres_within(x0, x1, image.columns) {
                let (px, py) = (f64::from(i) + 0.5, f64::from(j) + 0.5);
                if !ellipse || ((px - cx) / rx).powi(2) + ((py - cy) / ry).powi(2) <= 1.0 {
                    visit(j as usize * image.columns as usize + i as usize);
                }
            }
        }
    };
    let value = |index: usize| image.get_stored_value(ctx.frame, index).map(|s| image.to_modality(s));
    let mut n = 0usize;
    // two passes (sum, then squared deviations): exact for integer values, unlike a running mean
    let (mut sum, mut min, mut max) = (0.0, f64::INFINITY, f64::NEG_INFINITY);
    inside(&mut |index| {
        n += 1;
        if let Some(v) = value(index).filter(|_| gray) {
            sum += v;
            min = min.min(v);
            max = max.max(v);
        }
    });
    let stats = (gray && n > 0 && min <= max).then(|| {
        let mean = sum / n as f64;
        let mut squares = 0.0;
        inside(&mut |index| {
            if let Some(v) = value(index) {
                squares += (v - mean) * (v - mean);
            }
        });
        Stats { mean, sd: (squares / n as f64).sqrt(), min, max }
    });
    RegionValue { pixel_count: n, area, area_unit: cal.area_unit(), stats, value_unit: ctx.value_unit }
}

/// The pixel under image point `at`, or `None` outside the image or the frame.
pub fn probe(ctx: &MeasureContext<'_>, at: [f64; 2]) -> Option<ProbeValue> {
    let image = ctx.image;
    if !(at[0] >= 0.0 && at[1] >= 0.0 && at[0] < f64::from(image.columns) && at[1] < f64::from(image.rows)) {
        return None;
    }
    let (column, row) = (at[0].floor() as u32, at[1].floor() as u32);
    let pixel = row as usize * image.columns as usize + column as usize;
    let samples = usize::from(image.samples_per_pixel.max(1));
    let stored: Option<Vec<i64>> = if image.photometric == Photometric::Rgb {
        (0..samples).map(|s| image.get_stored_value(ctx.frame, pixel * samples + s)).collect()
    } else {
        image.get_stored_value(ctx.frame, pixel).map(|v| vec![v])
    };
    let stored = stored?;
    let gray = matches!(image.photometric, Photometric::Monochrome1 | Photometric::Monochrome2);
    let modality = gray.then(|| image.to_modality(stored[0]));
    Some(ProbeValue { column, row, stored, modality, value_unit: ctx.value_unit })
}

/// Measures `shape` on the context's image.
pub fn measure(shape: &Shape, ctx: &MeasureContext<'_>) -> Value {
    let cal = ctx.calibration;
    match *shape {
        Shape::Length { a, b } => Value::Length { length: norm(cal.physical(sub(b, a))), unit: cal.length_unit() },
        Shape::Angle { a, vertex, b } => {
            let (u, v) = (cal.physical(sub(a, vertex)), cal.physical(sub(b, vertex)));
            let degrees = (norm(u) > 0.0 && norm(v) > 0.0).then(|| {
                let cross = u[0] * v[1] - u[1] * v[0];
                let dot = u[0] * v[0] + u[1] * v[1];
                cross.abs().atan2(dot).to_degrees()
            });
            Value::Angle { degrees }
        }
        Shape::Ellipse { a, b } => Value::Region(region(ctx, a, b, true)),
        Shape::Rectangle { a, b } => Value::Region(region(ctx, a, b, false)),
        Shape::Probe { at } => Value::Probe(probe(ctx, at)),
    }
}

/// Hit-test tolerance for a mouse or pen, CSS px.
pub const HIT_TOLERANCE_MOUSE: f64 = 6.0;
/// Hit-test tolerance for a finger, CSS px.
pub const HIT_TOLERANCE_TOUCH: f64 = 16.0;

/// Which image an annotation belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageKey {
    /// SOP Instance UID of the object.
    pub sop_instance_uid: String,
    /// Frame index, 0-based.
    pub frame: u32,
}

/// An annotation's identity in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AnnotationId(pub u64);

/// A measurement on an image.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// Its identity.
    pub id: AnnotationId,
    /// The shape.
    pub shape: Shape,
    /// The value, recomputed on every edit.
    pub value: Value,
}

/// The part of an annotation under the pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Handle `n` of [`Shape::handles`].
    Handle(usize),
    /// The outline.
    Body,
}

/// What [`AnnotationStore::hit_test`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// The annotation.
    pub id: AnnotationId,
    /// Which part.
    pub part: Part,
}

/// Errors of the annotation store.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MeasureError {
    /// No annotation with that id on that image (deleted, or another image's).
    #[error("no annotation {id} on image {sop_instance_uid} frame {frame}; hit-test again to get a current id")]
    UnknownAnnotation {
        /// The id asked for.
        id: u64,
        /// The image's SOP Instance UID.
        sop_instance_uid: String,
        /// The frame.
        frame: u32,
    },
    /// The shape has fewer handles.
    #[error("handle {handle} does not exist: this shape has {handles} handles (0-based)")]
    NoSuchHandle {
        /// The handle asked for.
        handle: usize,
        /// How many the shape has.
        handles: usize,
    },
}

/// A measurement being drawn: its points so far, the last one following the pointer.
#[derive(Debug, Clone, PartialEq)]
struct Draft {
    key: ImageKey,
    tool: Tool,
    points: Vec<[f64; 2]>,
}

/// A handle or body being dragged.
#[derive(Debug, Clone, PartialEq)]
struct Drag {
    key: ImageKey,
    hit: Hit,
    last: [f64; 2],
}

/// The annotations of the open study, per image, in memory only.
///
/// Drawing works with drags and with clicks: a press starts a shape at the pointer, moves drag
/// its last point, and a release fixes that point if it moved (a click keeps it following the
/// pointer until the next click). A tool with three points (angle) goes on to its next point;
/// when all points are fixed the measurement is added. A shape without extent is dropped.
#[derive(Debug, Default)]
pub struct AnnotationStore {
    images: HashMap<ImageKey, Vec<Annotation>>,
    next_id: u64,
    selected: Option<(ImageKey, AnnotationId)>,
    draft: Option<Draft>,
    drag: Option<Drag>,
}

fn point_segment_distance(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let ab = sub(b, a);
    let len2 = ab[0] * ab[0] + ab[1] * ab[1];
    let t = if len2 == 0.0 { 0.0 } else { (((p[0] - a[0]) * ab[0] + (p[1] - a[1]) * ab[1]) / len2).clamp(0.0, 1.0) };
    norm(sub(p, [a[0] + t * ab[0], a[1] + t * ab[1]]))
}

impl AnnotationStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn unknown(key: &ImageKey, id: AnnotationId) -> MeasureError {
        MeasureError::UnknownAnnotation { id: id.0, sop_instance_uid: key.sop_instance_uid.clone(), frame: key.frame }
    }

    /// Adds a measurement of `shape` and returns its id.
    pub fn add(&mut self, key: ImageKey, shape: Shape, ctx: &MeasureContext<'_>) -> AnnotationId {
        self.next_id += 1;
        let id = AnnotationId(self.next_id);
        let value = measure(&shape, ctx);
        self.images.entry(key).or_default().push(Annotation { id, shape, value });
        id
    }

    /// The annotations of an image, oldest first.
    pub fn list(&self, key: &ImageKey) -> &[Annotation] {
        self.images.get(key).map_or(&[], Vec::as_slice)
    }

    /// One annotation.
    pub fn get(&self, key: &ImageKey, id: AnnotationId) -> Option<&Annotation> {
        self.list(key).iter().find(|a| a.id == id)
    }

    fn get_mut(&mut self, key: &ImageKey, id: AnnotationId) -> Result<&mut Annotation, MeasureError> {
        self.images.get_mut(key).and_then(|v| v.iter_mut().find(|a| a.id == id)).ok_or_else(|| Self::unknown(key, id))
    }

    /// The annotation part at `css_point` of `viewport`, within `tolerance` CSS px: handles
    /// before outlines, the newest annotation first.
    pub fn hit_test(&self, key: &ImageKey, css_point: [f64; 2], viewport: &Viewport, tolerance: f64) -> Option<Hit> {
        let list = self.list(key);
        for a in list.iter().rev() {
            for (n, h) in a.shape.handles().into_iter().enumerate() {
                if norm(sub(viewport.image_to_css(h), css_point)) <= tolerance {
                    return Some(Hit { id: a.id, part: Part::Handle(n) });
                }
            }
        }
        for a in list.iter().rev() {
            let outline: Vec<[f64; 2]> = a.shape.outline().into_iter().map(|p| viewport.image_to_css(p)).collect();
            let near = match outline.as_slice() {
                [p] => norm(sub(*p, css_point)) <= tolerance,
                pts => pts.windows(2).any(|s| point_segment_distance(css_point, s[0], s[1]) <= tolerance),
            };
            if near {
                return Some(Hit { id: a.id, part: Part::Body });
            }
        }
        None
    }

    /// Moves handle `handle` of an annotation to image point `to` and recomputes its value.
    ///
    /// # Errors
    /// [`MeasureError::UnknownAnnotation`], [`MeasureError::NoSuchHandle`].
    pub fn move_handle(
        &mut self,
        key: &ImageKey,
        id: AnnotationId,
        handle: usize,
        to: [f64; 2],
        ctx: &MeasureContext<'_>,
    ) -> Result<(), MeasureError> {
        let a = self.get_mut(key, id)?;
        if !a.shape.set_handle(handle, to) {
            return Err(MeasureError::NoSuchHandle { handle, handles: a.shape.handles().len() });
        }
        a.value = measure(&a.shape, ctx);
        Ok(())
    }

    /// Moves a whole annotation by `delta` image px and recomputes its value.
    ///
    /// # Errors
    /// [`MeasureError::UnknownAnnotation`].
    pub fn move_by(
        &mut self,
        key: &ImageKey,
        id: AnnotationId,
        delta: [f64; 2],
        ctx: &MeasureContext<'_>,
    ) -> Result<(), MeasureError> {
        let a = self.get_mut(key, id)?;
        a.shape.translate(delta);
        a.value = measure(&a.shape, ctx);
        Ok(())
    }

    /// Deletes an annotation; returns whether it existed.
    pub fn delete(&mut self, key: &ImageKey, id: AnnotationId) -> bool {
        let Some(list) = self.images.get_mut(key) else { return false };
        let before = list.len();
        list.retain(|a| a.id != id);
        if self.selected.as_ref().is_some_and(|(k, s)| k == key && *s == id) {
            self.selected = None;
        }
        list.len() != before
    }

    /// Selects an annotation (or none).
    pub fn select(&mut self, selection: Option<(ImageKey, AnnotationId)>) {
        self.selected = selection.filter(|(k, id)| self.get(k, *id).is_some());
    }

    /// The selected annotation.
    pub fn selected(&self) -> Option<&(ImageKey, AnnotationId)> {
        self.selected.as_ref()
    }

    /// Deletes the selected annotation (the Delete key); returns whether one was.
    pub fn delete_selected(&mut self) -> bool {
        match self.selected.take() {
            Some((key, id)) => self.delete(&key, id),
            None => false,
        }
    }

    /// Forgets every annotation (the study closes).
    pub fn clear(&mut self) {
        *self = AnnotationStore { next_id: self.next_id, ..Default::default() };
    }

    /// Starts dragging the part `hit` of an annotation from image point `at` (it becomes selected).
    ///
    /// # Errors
    /// [`MeasureError::UnknownAnnotation`].
    pub fn begin_drag(&mut self, key: &ImageKey, hit: Hit, at: [f64; 2]) -> Result<(), MeasureError> {
        if self.get(key, hit.id).is_none() {
            return Err(Self::unknown(key, hit.id));
        }
        self.selected = Some((key.clone(), hit.id));
        self.drag = Some(Drag { key: key.clone(), hit, last: at });
        Ok(())
    }

    /// Drags to image point `at`: a handle follows the pointer, a body moves by the pointer's
    /// motion. Returns whether a drag is going on.
    pub fn drag_to(&mut self, at: [f64; 2], ctx: &MeasureContext<'_>) -> bool {
        let Some(drag) = self.drag.clone() else { return false };
        let result = match drag.hit.part {
            Part::Handle(n) => self.move_handle(&drag.key, drag.hit.id, n, at, ctx),
            Part::Body => self.move_by(&drag.key, drag.hit.id, sub(at, drag.last), ctx),
        };
        match result {
            Ok(()) => {
                if let Some(d) = &mut self.drag {
                    d.last = at;
                }
                true
            }
            Err(_) => {
                // deleted meanwhile
                self.drag = None;
                false
            }
        }
    }

    /// Ends a drag.
    pub fn end_drag(&mut self) {
        self.drag = None;
    }

    /// The shape being drawn, for the preview.
    pub fn draft_shape(&self) -> Option<(Tool, Shape)> {
        let d = self.draft.as_ref()?;
        let mut pts = d.points.clone();
        while pts.len() < d.tool.points() {
            pts.push(*pts.last()?);
        }
        Some((d.tool, Shape::from_points(d.tool, &pts)))
    }

    /// Whether a measurement is being drawn.
    pub fn is_drawing(&self) -> bool {
        self.draft.is_some()
    }

    /// A press with `tool` at image point `at`: starts a shape, or fixes the following point
    /// of one being drawn by clicks.
    pub fn draw_press(&mut self, key: &ImageKey, tool: Tool, at: [f64; 2]) {
        match &mut self.draft {
            Some(d) if d.key == *key && d.tool == tool => {
                if let Some(last) = d.points.last_mut() {
                    *last = at;
                }
            }
            _ => {
                let points = if tool.points() == 1 { vec![at] } else { vec![at, at] };
                self.draft = Some(Draft { key: key.clone(), tool, points });
            }
        }
    }

    /// The pointer moved to `at` (pressed or hovering) while drawing.
    pub fn draw_move(&mut self, at: [f64; 2]) {
        if let Some(last) = self.draft.as_mut().and_then(|d| d.points.last_mut()) {
            *last = at;
        }
    }

    /// A release at `at` while drawing; returns the id of the finished measurement, if this
    /// release finished one.
    pub fn draw_release(&mut self, at: [f64; 2], ctx: &MeasureContext<'_>) -> Option<AnnotationId> {
        let d = self.draft.as_mut()?;
        if let Some(last) = d.points.last_mut() {
            *last = at;
        }
        let n = d.points.len();
        if n >= 2 && d.points[n - 1] == d.points[n - 2] {
            // a click: the point keeps following the pointer until the next click
            return None;
        }
        if n < d.tool.points() {
            d.points.push(at);
            return None;
        }
        let d = self.draft.take()?;
        let shape = Shape::from_points(d.tool, &d.points);
        if shape.is_degenerate() {
            return None;
        }
        let id = self.add(d.key.clone(), shape, ctx);
        self.selected = Some((d.key, id));
        Some(id)
    }

    /// Drops the shape being drawn (Esc); returns whether there was one.
    pub fn cancel_draft(&mut self) -> bool {
        self.draft.take().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::tests::ct_image;

    fn attrs(spacing: Option<[f64; 2]>) -> Attributes {
        Attributes { modality: "CT".into(), pixel_spacing: spacing, ..Default::default() }
    }

    /// 10×8 image, 0 HU everywhere except a 4×2 block (columns 2..=5, rows 3..=4) of 100 HU with one
    /// 300 HU pixel at (5, 4).
    fn phantom() -> DecodedImage {
        let mut hu = vec![0i16; 80];
        for y in 3..=4 {
            for x in 2..=5 {
                hu[y * 10 + x] = 100;
            }
        }
        hu[4 * 10 + 5] = 300;
        ct_image(10, 8, &hu)
    }

    #[test]
    fn calibration_order_and_units() {
        let mut a = attrs(None);
        a.imager_pixel_spacing = Some([0.2, 0.1]);
        a.pixel_aspect_ratio = Some([3.0, 2.0]);
        let c = Calibration::of(&a);
        assert_eq!(
            (c.source, c.length_unit(), c.pixel_aspect()),
            (SpacingSource::ImagerPixelSpacing, "mm (detector)", 2.0)
        );
        a.pixel_spacing = Some([0.7, 0.5]);
        assert_eq!(Calibration::of(&a).source, SpacingSource::PixelSpacing);
        a.pixel_spacing = None;
        a.imager_pixel_spacing = None;
        let c = Calibration::of(&a);
        assert_eq!((c.length_unit(), c.area_unit(), c.pixel_aspect()), ("px", "px²", 1.5));
        a.pixel_aspect_ratio = Some([0.0, 1.0]);
        assert_eq!(Calibration::of(&a).pixel_aspect(), 1.0, "a zero ratio is no ratio");
    }

    #[test]
    fn length_and_angle_on_anisotropic_pixels() {
        let img = phantom();
        // columns 0.5 mm apart, rows 0.7 mm: 6 columns = 3 mm, 40/7 rows = 4 mm → 5 mm
        let ctx = MeasureContext::new(&img, 0, &attrs(Some([0.7, 0.5])));
        let v = measure(&Shape::Length { a: [1.0, 1.0], b: [7.0, 1.0 + 40.0 / 7.0] }, &ctx);
        let Value::Length { length, unit } = v else { panic!("{v:?}") };
        assert!((length - 5.0).abs() < 1e-12 && unit == "mm", "{length}");
        // the right angle of the 3-4-5 triangle, and its 36.87° corner (atan(3/4))
        let right = measure(&Shape::Angle { a: [7.0, 1.0], vertex: [1.0, 1.0], b: [1.0, 1.0 + 40.0 / 7.0] }, &ctx);
        let Value::Angle { degrees: Some(d) } = right else { panic!() };
        assert!((d - 90.0).abs() < 1e-9, "{d}");
        let corner = measure(&Shape::Angle { a: [7.0, 1.0], vertex: [1.0, 1.0 + 40.0 / 7.0], b: [1.0, 1.0] }, &ctx);
        let Value::Angle { degrees: Some(d) } = corner else { panic!() };
        assert!((d - 3f64.atan2(4.0).to_degrees()).abs() < 1e-9, "{d}");
        // in pixels, the same points are 6 wide and 5.71 high: not a right triangle's 5 mm
        let px = MeasureContext::new(&img, 0, &attrs(None));
        let Value::Length { length, unit } = measure(&Shape::Length { a: [0.0, 0.0], b: [3.0, 4.0] }, &px) else {
            panic!()
        };
        assert_eq!((length, unit), (5.0, "px"));
        assert_eq!(
            measure(&Shape::Angle { a: [1.0, 1.0], vertex: [1.0, 1.0], b: [2.0, 2.0] }, &px),
            Value::Angle { degrees: None }
        );
    }

    #[test]
    fn rectangle_statistics_by_pixel_centres() {
        let img = phantom();
        let ctx = MeasureContext::new(&img, 0, &attrs(Some([0.7, 0.5])));
        // the box from (2.5, 3.5) to (5.5, 4.5) touches exactly the centres of the 4×2 block
        let Value::Region(r) = measure(&Shape::Rectangle { a: [5.5, 4.5], b: [2.5, 3.5] }, &ctx) else { panic!() };
        assert_eq!(r.pixel_count, 8);
        let s = r.stats.unwrap();
        // 7 × 100 + 300 = 1000 → mean 125; deviations: 7 × 25² + 175² = 35 000 → SD √4375
        assert_eq!((s.mean, s.min, s.max), (125.0, 100.0, 300.0));
        assert!((s.sd - 4375f64.sqrt()).abs() < 1e-9);
        // geometric area: 3 × 1 px × 0.5 × 0.7 mm²
        assert!((r.area - 1.05).abs() < 1e-12);
        assert_eq!((r.area_unit, r.value_unit), ("mm²", "HU"));
        // a hair inside the centres loses them
        let Value::Region(r) = measure(&Shape::Rectangle { a: [2.51, 3.5], b: [5.5, 4.5] }, &ctx) else { panic!() };
        assert_eq!(r.pixel_count, 6);
        // clipped to the image
        let Value::Region(r) = measure(&Shape::Rectangle { a: [-5.0, -5.0], b: [100.0, 99.0] }, &ctx) else { panic!() };
        assert_eq!(r.pixel_count, 80);
        assert_eq!(r.stats.unwrap().mean, (700.0 + 300.0) / 80.0);
        // 105 × 104 px × 0.35 mm²
        assert_eq!(Value::Region(r).lines()[2], "Area: 3822.0 mm² (80 px)");
    }

    #[test]
    fn ellipse_holds_centres_inside_the_equation() {
        let img = phantom();
        let ctx = MeasureContext::new(&img, 0, &attrs(Some([1.0, 1.0])));
        // centre (5, 4), radii 2 × 1.5: centres (i+.5, j+.5) with ((x−5)/2)² + ((y−4)/1.5)² ≤ 1
        let Value::Region(r) = measure(&Shape::Ellipse { a: [3.0, 2.5], b: [7.0, 5.5] }, &ctx) else { panic!() };
        let mut expected = 0;
        for j in 0..8 {
            for i in 0..10 {
                let (x, y) = (f64::from(i) + 0.5, f64::from(j) + 0.5);
                if ((x - 5.0) / 2.0).powi(2) + ((y - 4.0) / 1.5).powi(2) <= 1.0 {
                    expected += 1;
                }
            }
        }
        // rows 3 and 4 (y 3.5, 4.5) hold x 3.5..6.5 (4 each): ((1.5/2)² + (0.5/1.5)²) = 0.67 ≤ 1
        assert_eq!((r.pixel_count, expected), (8, 8));
        assert!((r.area - PI * 3.0).abs() < 1e-12);
        assert_eq!(r.stats.unwrap().min, 0.0);
        let Value::Region(r) = measure(&Shape::Ellipse { a: [3.0, 3.5], b: [7.0, 3.5] }, &ctx) else { panic!() };
        assert_eq!((r.pixel_count, r.stats), (0, None));
        let Value::Region(r) = measure(&Shape::Rectangle { a: [f64::NAN, 0.0], b: [5.0, 5.0] }, &ctx) else { panic!() };
        assert_eq!(r.pixel_count, 0);
    }

    #[test]
    fn probe_reports_stored_and_modality_values() {
        let img = phantom();
        let ctx = MeasureContext::new(&img, 0, &attrs(None));
        let p = probe(&ctx, [5.9, 4.2]).unwrap();
        assert_eq!((p.column, p.row, p.stored.clone(), p.modality), (5, 4, vec![1324], Some(300.0)));
        assert_eq!(Value::Probe(Some(p)).lines(), ["(5, 4) SV: 1324 MV: 300.0 HU"]);
        assert!(probe(&ctx, [10.0, 0.0]).is_none() && probe(&ctx, [-0.1, 0.0]).is_none());
        assert!(probe(&ctx, [f64::NAN, 0.0]).is_none());
    }

    #[test]
    fn store_hit_edit_move_delete() {
        let img = phantom();
        let ctx = MeasureContext::new(&img, 0, &attrs(Some([0.5, 0.5])));
        let vp = Viewport::new(10, 8, 1.0, [100.0, 80.0], 1.0); // 10 CSS px per image px
        let key = ImageKey { sop_instance_uid: "1.2.3".into(), frame: 0 };
        let other = ImageKey { sop_instance_uid: "1.2.3".into(), frame: 1 };
        let id = store_add_length(&key, &ctx);
        let mut s = id.1;
        let id = id.0;
        assert!(s.list(&other).is_empty());
        // handle b at image (4, 1) = CSS (40, 10)
        assert_eq!(s.hit_test(&key, [43.0, 12.0], &vp, 6.0), Some(Hit { id, part: Part::Handle(1) }));
        assert_eq!(s.hit_test(&key, [25.0, 14.0], &vp, 6.0), Some(Hit { id, part: Part::Body }));
        assert_eq!(s.hit_test(&key, [25.0, 30.0], &vp, 6.0), None);
        s.move_handle(&key, id, 1, [1.0, 5.0], &ctx).unwrap();
        assert_eq!(s.get(&key, id).unwrap().value, Value::Length { length: 2.0, unit: "mm" });
        assert_eq!(
            s.move_handle(&key, id, 2, [0.0, 0.0], &ctx),
            Err(MeasureError::NoSuchHandle { handle: 2, handles: 2 })
        );
        s.begin_drag(&key, Hit { id, part: Part::Body }, [1.0, 3.0]).unwrap();
        assert!(s.drag_to([3.0, 4.0], &ctx));
        s.end_drag();
        assert_eq!(s.get(&key, id).unwrap().shape, Shape::Length { a: [3.0, 2.0], b: [3.0, 6.0] });
        assert_eq!(s.selected(), Some(&(key.clone(), id)));
        assert!(s.delete_selected());
        assert!(s.list(&key).is_empty() && s.selected().is_none());
        assert!(matches!(s.move_by(&key, id, [1.0, 1.0], &ctx), Err(MeasureError::UnknownAnnotation { .. })));
    }

    fn store_add_length(key: &ImageKey, ctx: &MeasureContext<'_>) -> (AnnotationId, AnnotationStore) {
        let mut s = AnnotationStore::new();
        let id = s.add(key.clone(), Shape::Length { a: [1.0, 1.0], b: [4.0, 1.0] }, ctx);
        assert_eq!(s.get(key, id).unwrap().value, Value::Length { length: 1.5, unit: "mm" });
        (id, s)
    }

    #[test]
    fn drawing_by_drag_and_by_clicks() {
        let img = phantom();
        let ctx = MeasureContext::new(&img, 0, &attrs(Some([1.0, 1.0])));
        let key = ImageKey { sop_instance_uid: "x".into(), frame: 0 };
        let mut s = AnnotationStore::new();
        // drag a rectangle
        s.draw_press(&key, Tool::Rectangle, [2.5, 3.5]);
        s.draw_move([4.0, 4.0]);
        assert_eq!(s.draft_shape(), Some((Tool::Rectangle, Shape::Rectangle { a: [2.5, 3.5], b: [4.0, 4.0] })));
        let id = s.draw_release([5.5, 4.5], &ctx).unwrap();
        assert!(matches!(s.get(&key, id).unwrap().value, Value::Region(RegionValue { pixel_count: 8, .. })));
        // an angle by three clicks
        s.draw_press(&key, Tool::Angle, [1.0, 1.0]);
        assert_eq!(s.draw_release([1.0, 1.0], &ctx), None);
        s.draw_move([1.0, 5.0]);
        s.draw_press(&key, Tool::Angle, [1.0, 5.0]);
        assert_eq!(s.draw_release([1.0, 5.0], &ctx), None);
        s.draw_move([4.0, 5.0]);
        s.draw_press(&key, Tool::Angle, [4.0, 5.0]);
        let id = s.draw_release([4.0, 5.0], &ctx).unwrap();
        let Value::Angle { degrees: Some(d) } = s.get(&key, id).unwrap().value else { panic!() };
        assert!((d - 90.0).abs() < 1e-9);
        // a click with the length tool, then Esc: nothing added
        s.draw_press(&key, Tool::Length, [1.0, 1.0]);
        assert_eq!(s.draw_release([1.0, 1.0], &ctx), None);
        assert!(s.cancel_draft());
        assert_eq!(s.list(&key).len(), 2);
        // a probe is one click
        s.draw_press(&key, Tool::Probe, [5.2, 4.7]);
        let id = s.draw_release([5.2, 4.7], &ctx).unwrap();
        assert!(matches!(&s.get(&key, id).unwrap().value, Value::Probe(Some(p)) if p.modality == Some(300.0)));
        s.clear();
        assert!(s.list(&key).is_empty());
    }

    #[test]
    fn rectangle_and_ellipse_handles_move_one_side() {
        let mut r = Shape::Rectangle { a: [1.0, 1.0], b: [5.0, 4.0] };
        assert_eq!(r.handles()[1], [5.0, 1.0]);
        r.set_handle(1, [6.0, 0.0]);
        assert_eq!(r, Shape::Rectangle { a: [1.0, 0.0], b: [6.0, 4.0] });
        let mut e = Shape::Ellipse { a: [1.0, 1.0], b: [5.0, 3.0] };
        assert_eq!(e.handles(), vec![[1.0, 2.0], [3.0, 1.0], [5.0, 2.0], [3.0, 3.0]]);
        e.set_handle(2, [9.0, 100.0]);
        assert_eq!(e, Shape::Ellipse { a: [1.0, 1.0], b: [9.0, 3.0] });
    }
}

//! The image ↔ screen transform of one viewport: fit, 1:1, zoom about a point, pan, quarter-turn
//! rotation, flips, reset; device-pixel-ratio aware.
//!
//! Coordinates:
//! * **image px**: x right along a row (column index), y down (row index); pixel `(i, j)` covers
//!   `[i, i+1) × [j, j+1)`, its centre is at `(i + 0.5, j + 0.5)`.
//! * **CSS px**: what pointer events give, relative to the viewport's top-left corner.
//! * **device px**: CSS px × device pixel ratio, relative to the viewport's top-left corner; what
//!   the renderer draws into.
//!
//! Non-square pixels: the displayed height of a pixel is its width × [`Viewport::pixel_aspect`]
//! (row spacing / column spacing, from [`Calibration`](crate::measure::Calibration)), so a
//! circle in the patient is a circle on screen. The zoom is the displayed width of one image pixel
//! in device px.

/// An affine map of the plane, `x' = a·x + b·y + c`, `y' = d·x + e·y + f`, stored as the two
/// rows `[[a, b, c], [d, e, f]]` (the top of the 3×3 matrix whose last row is `[0, 0, 1]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    /// `[[a, b, c], [d, e, f]]`.
    pub rows: [[f64; 3]; 2],
}

impl Affine {
    /// The identity map.
    pub const IDENTITY: Affine = Affine { rows: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]] };

    /// A translation by `(tx, ty)`.
    pub fn translation(tx: f64, ty: f64) -> Affine {
        Affine { rows: [[1.0, 0.0, tx], [0.0, 1.0, ty]] }
    }

    /// The linear map `[[a, b], [d, e]]`.
    pub fn linear(a: f64, b: f64, d: f64, e: f64) -> Affine {
        Affine { rows: [[a, b, 0.0], [d, e, 0.0]] }
    }

    /// The image of point `p`.
    pub fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        let [[a, b, c], [d, e, f]] = self.rows;
        [a * p[0] + b * p[1] + c, d * p[0] + e * p[1] + f]
    }

    /// The image of vector `v` (the translation left out).
    pub fn apply_vector(&self, v: [f64; 2]) -> [f64; 2] {
        let [[a, b, _], [d, e, _]] = self.rows;
        [a * v[0] + b * v[1], d * v[0] + e * v[1]]
    }

    /// `self` first, then `next`.
    pub fn then(&self, next: &Affine) -> Affine {
        let [[a, b, c], [d, e, f]] = self.rows;
        let [[p, q, r], [s, t, u]] = next.rows;
        Affine {
            rows: [
                [p * a + q * d, p * b + q * e, p * c + q * f + r],
                [s * a + t * d, s * b + t * e, s * c + t * f + u],
            ],
        }
    }

    /// The inverse map, or `None` if the map is singular.
    pub fn inverse(&self) -> Option<Affine> {
        let [[a, b, c], [d, e, f]] = self.rows;
        let det = a * e - b * d;
        if det == 0.0 || !det.is_finite() {
            return None;
        }
        let (ia, ib, id, ie) = (e / det, -b / det, -d / det, a / det);
        Some(Affine { rows: [[ia, ib, -(ia * c + ib * f)], [id, ie, -(id * c + ie * f)]] })
    }

    /// The two rows as `f32`: `[[a, b, c], [d, e, f]]`.
    pub fn to_rows_f32(&self) -> [[f32; 3]; 2] {
        self.rows.map(|r| r.map(|v| v as f32))
    }

    /// The 3×3 matrix in column-major order (`[a, d, 0, b, e, 0, c, f, 1]`), for a column vector
    /// `(x, y, 1)`.
    pub fn to_mat3_column_major(&self) -> [f32; 9] {
        let [[a, b, c], [d, e, f]] = self.to_rows_f32();
        [a, d, 0.0, b, e, 0.0, c, f, 1.0]
    }

    /// The 3×3 matrix as a WGSL `mat3x3<f32>` lies in a uniform buffer: three columns, each padded
    /// to 16 bytes (`[a, d, 0, _, b, e, 0, _, c, f, 1, _]`, padding 0).
    pub fn to_wgsl_mat3x3(&self) -> [f32; 12] {
        let [[a, b, c], [d, e, f]] = self.to_rows_f32();
        [a, d, 0.0, 0.0, b, e, 0.0, 0.0, c, f, 1.0, 0.0]
    }
}

/// Nearest or bilinear sampling: the renderer's and the CPU reference's own type.
pub use obscura_imaging::display::Interpolation;

/// The overlay's name for an interpolation.
pub fn interpolation_label(interpolation: Interpolation) -> &'static str {
    match interpolation {
        Interpolation::Bilinear => "Linear",
        Interpolation::Nearest => "Nearest",
    }
}

/// Smallest zoom: one device px shows 100 image px.
pub const MIN_SCALE: f64 = 0.01;
/// Largest zoom: one image pixel 64 device px wide.
pub const MAX_SCALE: f64 = 64.0;

/// The view transform of one viewport.
#[derive(Debug, Clone, PartialEq)]
pub struct Viewport {
    columns: u32,
    rows: u32,
    pixel_aspect: f64,
    css_size: [f64; 2],
    device_pixel_ratio: f64,
    /// Displayed width of one image pixel, device px.
    scale: f64,
    /// Offset of the image centre from the viewport centre, device px.
    pan: [f64; 2],
    /// Clockwise quarter turns on screen, 0..=3, applied before the flips.
    quarter_turns: u8,
    flip_horizontal: bool,
    flip_vertical: bool,
    /// Whether the view is still "fit": a resize then fits again.
    fitted: bool,
    interpolation: Interpolation,
}

fn sanitize(v: f64, fallback: f64) -> f64 {
    if v.is_finite() && v > 0.0 {
        v
    } else {
        fallback
    }
}

impl Viewport {
    /// A viewport of `css_size` (width, height in CSS px) showing an image of `columns × rows`
    /// pixels whose displayed height/width ratio is `pixel_aspect` (1 for square pixels), fit.
    /// Non-positive or non-finite sizes, aspect or ratio are taken as 1.
    pub fn new(columns: u32, rows: u32, pixel_aspect: f64, css_size: [f64; 2], device_pixel_ratio: f64) -> Self {
        let mut v = Viewport {
            columns: columns.max(1),
            rows: rows.max(1),
            pixel_aspect: sanitize(pixel_aspect, 1.0),
            css_size: css_size.map(|s| sanitize(s, 1.0)),
            device_pixel_ratio: sanitize(device_pixel_ratio, 1.0),
            scale: 1.0,
            pan: [0.0, 0.0],
            quarter_turns: 0,
            flip_horizontal: false,
            flip_vertical: false,
            fitted: true,
            // what PACS viewers show by default
            interpolation: Interpolation::Bilinear,
        };
        v.fit();
        v
    }

    /// Shows another image (a new series): keeps the viewport size, resets the view.
    pub fn set_image(&mut self, columns: u32, rows: u32, pixel_aspect: f64) {
        *self = Viewport {
            interpolation: self.interpolation,
            ..Viewport::new(columns, rows, pixel_aspect, self.css_size, self.device_pixel_ratio)
        };
    }

    /// The viewport changed size or moved to a screen with another device pixel ratio. A fit view
    /// fits again; otherwise the image keeps its apparent (CSS) size and offset.
    pub fn resize(&mut self, css_size: [f64; 2], device_pixel_ratio: f64) {
        let dpr = sanitize(device_pixel_ratio, 1.0);
        let k = dpr / self.device_pixel_ratio;
        self.css_size = css_size.map(|s| sanitize(s, 1.0));
        self.device_pixel_ratio = dpr;
        if self.fitted {
            self.fit();
        } else {
            self.scale = (self.scale * k).clamp(MIN_SCALE, MAX_SCALE);
            self.pan = [self.pan[0] * k, self.pan[1] * k];
        }
    }

    /// Image size `[columns, rows]`.
    pub fn image_size(&self) -> [u32; 2] {
        [self.columns, self.rows]
    }

    /// Displayed height / width of one pixel.
    pub fn pixel_aspect(&self) -> f64 {
        self.pixel_aspect
    }

    /// Viewport size in CSS px.
    pub fn css_size(&self) -> [f64; 2] {
        self.css_size
    }

    /// Device pixel ratio.
    pub fn device_pixel_ratio(&self) -> f64 {
        self.device_pixel_ratio
    }

    /// Viewport size in device px (the render target size, rounded to whole pixels by the caller).
    pub fn device_size(&self) -> [f64; 2] {
        self.css_size.map(|s| s * self.device_pixel_ratio)
    }

    /// Displayed width of one image pixel in device px (1 = 1:1).
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The zoom as the overlay shows it: 100 % is one image pixel per device pixel.
    pub fn zoom_percent(&self) -> f64 {
        self.scale * 100.0
    }

    /// Clockwise quarter turns (0..=3); the flips apply after the rotation, on screen.
    pub fn quarter_turns(&self) -> u8 {
        self.quarter_turns
    }

    /// Whether the image is mirrored left–right on screen.
    pub fn flipped_horizontally(&self) -> bool {
        self.flip_horizontal
    }

    /// Whether the image is mirrored top–bottom on screen.
    pub fn flipped_vertically(&self) -> bool {
        self.flip_vertical
    }

    /// Whether the view is fit (no zoom or pan since the last fit).
    pub fn is_fitted(&self) -> bool {
        self.fitted
    }

    /// The sampling the renderer should use.
    pub fn interpolation(&self) -> Interpolation {
        self.interpolation
    }

    /// Chooses the sampling.
    pub fn set_interpolation(&mut self, interpolation: Interpolation) {
        self.interpolation = interpolation;
    }

    /// The displayed extent of the (rotated) image at scale 1, device px.
    fn extent_at_unit_scale(&self) -> [f64; 2] {
        let (w, h) = (f64::from(self.columns), f64::from(self.rows) * self.pixel_aspect);
        if self.quarter_turns % 2 == 1 {
            [h, w]
        } else {
            [w, h]
        }
    }

    /// The whole image in the viewport, aspect kept, centred.
    pub fn fit(&mut self) {
        let [dw, dh] = self.device_size();
        let [w, h] = self.extent_at_unit_scale();
        self.scale = (dw / w).min(dh / h).clamp(MIN_SCALE, MAX_SCALE);
        self.pan = [0.0, 0.0];
        self.fitted = true;
    }

    /// One image pixel per device pixel, centred.
    pub fn one_to_one(&mut self) {
        self.scale = 1.0;
        self.pan = [0.0, 0.0];
        self.fitted = false;
    }

    /// Zooms by `factor` (> 1 enlarges) keeping the image point under `css_point` where it is
    /// (wheel, drag and pinch zoom; the pinch centre for a pinch). The zoom stays within
    /// [`MIN_SCALE`]..=[`MAX_SCALE`].
    pub fn zoom_about(&mut self, css_point: [f64; 2], factor: f64) {
        if !factor.is_finite() || factor <= 0.0 {
            return;
        }
        let new_scale = (self.scale * factor).clamp(MIN_SCALE, MAX_SCALE);
        let k = new_scale / self.scale;
        let q = self.css_to_device(css_point);
        let [dw, dh] = self.device_size();
        let centre = [dw / 2.0, dh / 2.0];
        // the image centre c + pan moves to q + k·(c + pan − q)
        for i in 0..2 {
            self.pan[i] = q[i] - centre[i] + k * (centre[i] + self.pan[i] - q[i]);
        }
        self.scale = new_scale;
        self.fitted = false;
    }

    /// Zooms by `factor` about the viewport centre (keyboard zoom).
    pub fn zoom_by(&mut self, factor: f64) {
        let [w, h] = self.css_size;
        self.zoom_about([w / 2.0, h / 2.0], factor);
    }

    /// Moves the image by `css_delta` (CSS px).
    pub fn pan_by(&mut self, css_delta: [f64; 2]) {
        if css_delta.iter().all(|d| d.is_finite()) {
            self.pan[0] += css_delta[0] * self.device_pixel_ratio;
            self.pan[1] += css_delta[1] * self.device_pixel_ratio;
            self.fitted = false;
        }
    }

    fn after_rotation(&mut self) {
        if self.fitted {
            self.fit();
        }
    }

    /// Rotates the displayed image 90° clockwise (on screen, whatever the flips).
    pub fn rotate_clockwise(&mut self) {
        // with one flip active, a clockwise turn on screen is a counter-clockwise turn underneath
        let step = if self.flip_horizontal ^ self.flip_vertical { 3 } else { 1 };
        self.quarter_turns = (self.quarter_turns + step) % 4;
        self.after_rotation();
    }

    /// Rotates the displayed image 90° counter-clockwise.
    pub fn rotate_counter_clockwise(&mut self) {
        let step = if self.flip_horizontal ^ self.flip_vertical { 1 } else { 3 };
        self.quarter_turns = (self.quarter_turns + step) % 4;
        self.after_rotation();
    }

    /// Mirrors the displayed image left–right.
    pub fn flip_horizontal(&mut self) {
        self.flip_horizontal = !self.flip_horizontal;
        self.normalise_flips();
    }

    /// Mirrors the displayed image top–bottom.
    pub fn flip_vertical(&mut self) {
        self.flip_vertical = !self.flip_vertical;
        self.normalise_flips();
    }

    /// Both flips are a half turn: keep one canonical form so the overlay's state is unambiguous.
    fn normalise_flips(&mut self) {
        if self.flip_horizontal && self.flip_vertical {
            self.flip_horizontal = false;
            self.flip_vertical = false;
            self.quarter_turns = (self.quarter_turns + 2) % 4;
        }
    }

    /// No rotation, no flip, fit.
    pub fn reset(&mut self) {
        self.quarter_turns = 0;
        self.flip_horizontal = false;
        self.flip_vertical = false;
        self.fit();
    }

    /// The linear part: scale (with the pixel aspect), then rotation, then flips.
    fn linear_part(&self) -> Affine {
        let s = Affine::linear(self.scale, 0.0, 0.0, self.scale * self.pixel_aspect);
        // clockwise on screen with y down: (x, y) → (−y, x)
        let quarter = Affine::linear(0.0, -1.0, 1.0, 0.0);
        let mut m = s;
        for _ in 0..self.quarter_turns {
            m = m.then(&quarter);
        }
        let fx = if self.flip_horizontal { -1.0 } else { 1.0 };
        let fy = if self.flip_vertical { -1.0 } else { 1.0 };
        m.then(&Affine::linear(fx, 0.0, 0.0, fy))
    }

    /// Image px → device px of the viewport: the matrix the renderer draws the image with.
    pub fn image_to_device(&self) -> Affine {
        let [dw, dh] = self.device_size();
        Affine::translation(-f64::from(self.columns) / 2.0, -f64::from(self.rows) / 2.0)
            .then(&self.linear_part())
            .then(&Affine::translation(dw / 2.0 + self.pan[0], dh / 2.0 + self.pan[1]))
    }

    /// Image px → normalised device coordinates of the viewport (x right, y up, −1..1), for a
    /// vertex shader.
    pub fn image_to_ndc(&self) -> Affine {
        let [dw, dh] = self.device_size();
        self.image_to_device().then(&Affine { rows: [[2.0 / dw, 0.0, -1.0], [0.0, -2.0 / dh, 1.0]] })
    }

    /// CSS px → device px.
    pub fn css_to_device(&self, p: [f64; 2]) -> [f64; 2] {
        [p[0] * self.device_pixel_ratio, p[1] * self.device_pixel_ratio]
    }

    /// Image px → device px.
    pub fn to_screen(&self, image_point: [f64; 2]) -> [f64; 2] {
        self.image_to_device().apply(image_point)
    }

    /// Device px → image px (hit-testing, the pixel probe).
    pub fn to_image(&self, device_point: [f64; 2]) -> [f64; 2] {
        // scale is clamped above zero, so the map is never singular
        self.image_to_device().inverse().map_or([f64::NAN; 2], |m| m.apply(device_point))
    }

    /// CSS px → image px.
    pub fn css_to_image(&self, css_point: [f64; 2]) -> [f64; 2] {
        self.to_image(self.css_to_device(css_point))
    }

    /// Image px → CSS px.
    pub fn image_to_css(&self, image_point: [f64; 2]) -> [f64; 2] {
        let d = self.to_screen(image_point);
        [d[0] / self.device_pixel_ratio, d[1] / self.device_pixel_ratio]
    }

    /// The image-px vectors that show as one device px to the right and one device px down:
    /// which way the screen axes point in the image (for orientation markers).
    pub fn screen_axes_in_image(&self) -> [[f64; 2]; 2] {
        let inv = self.linear_part().inverse().unwrap_or(Affine::IDENTITY);
        [inv.apply_vector([1.0, 0.0]), inv.apply_vector([0.0, 1.0])]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: [f64; 2], b: [f64; 2]) -> bool {
        (a[0] - b[0]).abs() < 1e-9 && (a[1] - b[1]).abs() < 1e-9
    }

    #[test]
    fn fit_keeps_aspect_and_centres() {
        // 200×100 image in a 400×400 CSS viewport at DPR 2: 800×800 device, scale 4
        let v = Viewport::new(200, 100, 1.0, [400.0, 400.0], 2.0);
        assert_eq!(v.scale(), 4.0);
        assert!(close(v.to_screen([0.0, 0.0]), [0.0, 200.0]));
        assert!(close(v.to_screen([200.0, 100.0]), [800.0, 600.0]));
        assert!(close(v.to_screen([100.0, 50.0]), [400.0, 400.0]));
    }

    #[test]
    fn non_square_pixels_display_at_their_physical_aspect() {
        // rows 0.7 mm apart, columns 0.5 mm: a pixel shows 1.4× as high as wide
        let v = Viewport::new(100, 100, 1.4, [280.0, 280.0], 1.0);
        assert!((v.scale() - 2.0).abs() < 1e-12, "height 100·1.4 limits: {}", v.scale());
        let a = v.to_screen([0.0, 0.0]);
        let b = v.to_screen([100.0, 100.0]);
        assert!(close([b[0] - a[0], b[1] - a[1]], [200.0, 280.0]));
    }

    #[test]
    fn one_to_one_is_one_image_pixel_per_device_pixel() {
        let mut v = Viewport::new(512, 512, 1.0, [300.0, 200.0], 1.5);
        v.one_to_one();
        let a = v.to_screen([10.0, 10.0]);
        let b = v.to_screen([11.0, 11.0]);
        assert!(close([b[0] - a[0], b[1] - a[1]], [1.0, 1.0]));
        assert_eq!(v.zoom_percent(), 100.0);
    }

    #[test]
    fn zoom_about_keeps_the_point_under_the_pointer() {
        let mut v = Viewport::new(256, 256, 1.0, [512.0, 512.0], 2.0);
        let css = [100.0, 300.0];
        let before = v.css_to_image(css);
        v.zoom_about(css, 2.5);
        assert!(close(v.css_to_image(css), before));
        assert!(!v.is_fitted());
        v.zoom_about(css, 1e9);
        assert_eq!(v.scale(), MAX_SCALE);
        assert!(close(v.css_to_image(css), before), "clamped zoom still pivots about the point");
    }

    #[test]
    fn pan_moves_by_css_times_ratio() {
        let mut v = Viewport::new(100, 100, 1.0, [100.0, 100.0], 2.0);
        let a = v.to_screen([50.0, 50.0]);
        v.pan_by([10.0, -5.0]);
        let b = v.to_screen([50.0, 50.0]);
        assert!(close([b[0] - a[0], b[1] - a[1]], [20.0, -10.0]));
    }

    #[test]
    fn rotation_and_flips_compose_on_screen() {
        let mut v = Viewport::new(100, 50, 1.0, [100.0, 100.0], 1.0);
        // clockwise: the image's top-left corner goes to the top-right of the displayed image
        v.rotate_clockwise();
        let tl = v.to_screen([0.0, 0.0]);
        let br = v.to_screen([100.0, 50.0]);
        assert!(tl[0] > br[0] && tl[1] < br[1], "{tl:?} {br:?}");
        // fit of the rotated image: 50 wide × 100 high in 100×100 → scale 1
        assert_eq!(v.scale(), 1.0);
        // with a horizontal flip, a clockwise turn still turns the displayed image clockwise
        let mut f = Viewport::new(100, 100, 1.0, [100.0, 100.0], 1.0);
        f.flip_horizontal();
        let right_before = f.to_screen([0.0, 50.0]); // the image's left edge shows on the right
        assert!(right_before[0] > 90.0);
        f.rotate_clockwise();
        let after = f.to_screen([0.0, 50.0]); // right side → bottom after a clockwise turn
        assert!(after[1] > 90.0 && (after[0] - 50.0).abs() < 1e-9, "{after:?}");
        // both flips are a half turn
        let mut h = Viewport::new(10, 10, 1.0, [10.0, 10.0], 1.0);
        h.flip_horizontal();
        h.flip_vertical();
        assert_eq!((h.quarter_turns(), h.flipped_horizontally(), h.flipped_vertically()), (2, false, false));
        h.reset();
        assert_eq!(h.quarter_turns(), 0);
    }

    #[test]
    fn inverse_round_trips_and_matrices_agree() {
        let mut v = Viewport::new(300, 200, 1.25, [640.0, 480.0], 1.25);
        v.rotate_counter_clockwise();
        v.flip_vertical();
        v.zoom_about([10.0, 20.0], 1.7);
        v.pan_by([3.0, 4.0]);
        let p = [12.5, 77.25];
        assert!(close(v.to_image(v.to_screen(p)), p));
        assert!(close(v.css_to_image(v.image_to_css(p)), p));
        let m = v.image_to_device();
        let c = m.to_mat3_column_major();
        let s = v.to_screen(p);
        let x = f64::from(c[0]) * p[0] + f64::from(c[3]) * p[1] + f64::from(c[6]);
        let y = f64::from(c[1]) * p[0] + f64::from(c[4]) * p[1] + f64::from(c[7]);
        assert!((x - s[0]).abs() < 1e-2 && (y - s[1]).abs() < 1e-2);
        let w = m.to_wgsl_mat3x3();
        assert_eq!((w[0], w[4], w[8], w[10]), (c[0], c[3], c[6], 1.0));
        let ndc = v.image_to_ndc();
        let [dw, dh] = v.device_size();
        let n = ndc.apply(p);
        assert!(close([(n[0] + 1.0) / 2.0 * dw, (1.0 - n[1]) / 2.0 * dh], s));
    }

    #[test]
    fn resize_refits_a_fit_view_and_keeps_a_zoomed_one() {
        let mut v = Viewport::new(100, 100, 1.0, [100.0, 100.0], 1.0);
        v.resize([200.0, 300.0], 1.0);
        assert_eq!(v.scale(), 2.0);
        v.zoom_by(2.0);
        v.resize([400.0, 400.0], 2.0);
        assert_eq!(v.scale(), 8.0, "same CSS size on a denser screen");
        assert!(Viewport::new(0, 0, f64::NAN, [0.0, -1.0], 0.0).scale().is_finite());
    }
}

//! Window/level: the image's own window, drag to change it, CT presets, invert.
//!
//! Windows are in modality units (HU for CT), as [`Window`] is everywhere in Obscura; the
//! renderer applies them as the DICOM LINEAR VOI function.

use obscura_imaging::display::{self, Voi};
use obscura_imaging::{DecodedImage, Lut, Window};

/// Where the current window came from (shown in the overlay, and it decides what "the image's
/// window" key restores).
#[derive(Debug, Clone, PartialEq)]
pub enum WindowSource {
    /// Window Center / Width pair `n` (0-based) of the object.
    Object(usize),
    /// The input range of the object's first VOI LUT (the LUT itself is not linear; this window
    /// is a starting point for dragging).
    VoiLut,
    /// The frame's modality value range (the object has no window and no VOI LUT).
    ValueRange,
    /// A named preset.
    Preset(&'static str),
    /// Dragged by the user.
    Manual,
}

/// A named window preset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    /// What the reader calls it.
    pub name: &'static str,
    /// The window, in HU.
    pub window: Window,
}

const fn preset(name: &'static str, width: f64, center: f64) -> Preset {
    Preset { name, window: Window { center, width } }
}

/// CT presets on keys 1–9, in HU.
///
/// Values from Radiopaedia, "Windowing (CT)" (<https://radiopaedia.org/articles/windowing-ct>):
/// brain W80 L40; subdural W200 L75 (Radiopaedia gives W130–300 L50–100); stroke W40 L40 (its
/// wider variant; W8 L32 is the narrow one); lungs W1500 L−600; mediastinum W350 L50; liver W150
/// L30; bone W1800 L400; temporal bones W2800 L600. Abdomen / soft tissue W400 L40 is OHIF's
/// "Soft tissue" preset (`windowLevelPresets` of the OHIF viewer, also within Radiopaedia's
/// W350–400 L20–60).
pub const CT_PRESETS: [Preset; 9] = [
    preset("Brain", 80.0, 40.0),
    preset("Subdural", 200.0, 75.0),
    preset("Stroke", 40.0, 40.0),
    preset("Lung", 1500.0, -600.0),
    preset("Mediastinum", 350.0, 50.0),
    preset("Abdomen", 400.0, 40.0),
    preset("Liver", 150.0, 30.0),
    preset("Bone", 1800.0, 400.0),
    preset("Temporal bone", 2800.0, 600.0),
];

/// The window a viewer shows first (PS3.4 N.2 order, as [`Voi::default_for`] decides): the
/// object's first window, else the input range of its first VOI LUT, else the modality value
/// range of `frame`.
pub fn auto_window(image: &DecodedImage, frame: usize) -> (Window, WindowSource) {
    match Voi::default_for(image, frame) {
        Voi::Window(w, _) if image.window().is_some() => (w, WindowSource::Object(0)),
        Voi::Window(w, _) => (w, WindowSource::ValueRange),
        Voi::Lut(lut) => (window_of_lut(lut), WindowSource::VoiLut),
    }
}

/// The window spanning a LUT's input range.
fn window_of_lut(lut: &Lut) -> Window {
    let lo = f64::from(lut.first_mapped);
    let hi = lo + lut.data.len().saturating_sub(1) as f64;
    Window { center: (lo + hi) / 2.0, width: (hi - lo).max(1.0) }
}

/// What a number key (1–9) selects: the CT preset for CT, else the object's n-th window (MR and
/// others carry several, e.g. for different tissues). `None` when there is none for that key.
pub fn preset_for_key(modality: &str, image: &DecodedImage, key: u8) -> Option<(Window, WindowSource)> {
    let index = usize::from(key.checked_sub(1)?);
    if modality.eq_ignore_ascii_case("CT") {
        CT_PRESETS.get(index).map(|p| (p.window, WindowSource::Preset(p.name)))
    } else {
        image.windows.get(index).map(|&w| (w, WindowSource::Object(index)))
    }
}

/// Window change per CSS px of drag: the frame's value range / 1024 (Cornerstone's
/// WindowLevelTool dynamic-range multiplier), so a 12-bit CT (range ≈ 4096) moves 4 HU per px
/// and an 8-bit image ¼ per px; at least 1/1024 for a flat image.
pub fn drag_sensitivity(image: &DecodedImage, frame: usize) -> f64 {
    let range = match image.modality_range(frame) {
        Some((lo, hi)) => hi - lo,
        // colour: the samples' range
        None => ((1u64 << image.bits_stored.min(32)) - 1) as f64,
    };
    (range / 1024.0).max(1.0 / 1024.0)
}

/// The window/level state of one viewport.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowLevel {
    /// The current window.
    pub window: Window,
    /// Where it came from.
    pub source: WindowSource,
    /// The reader's invert toggle (on top of MONOCHROME1 / Presentation LUT Shape).
    pub invert: bool,
    /// Window change per CSS px of drag (see [`drag_sensitivity`]).
    pub sensitivity: f64,
    /// The image's own window, what "image window" and reset restore.
    initial: (Window, WindowSource),
}

/// Smallest window width a drag leaves (the LINEAR function treats < 1 as 1).
pub const MIN_WIDTH: f64 = 1.0;

impl WindowLevel {
    /// The state for `frame` of `image`: its [`auto_window`], not inverted.
    pub fn for_image(image: &DecodedImage, frame: usize) -> Self {
        let initial = auto_window(image, frame);
        WindowLevel {
            window: initial.0,
            source: initial.1.clone(),
            invert: false,
            sensitivity: drag_sensitivity(image, frame),
            initial,
        }
    }

    /// A drag of `(dx, dy)` CSS px: right widens, down raises the center (Cornerstone / OHIF).
    pub fn drag(&mut self, dx: f64, dy: f64) {
        if !(dx.is_finite() && dy.is_finite()) {
            return;
        }
        self.window.width = (self.window.width + dx * self.sensitivity).max(MIN_WIDTH);
        self.window.center += dy * self.sensitivity;
        self.source = WindowSource::Manual;
    }

    /// Sets a window (a preset, or one typed in).
    pub fn set(&mut self, window: Window, source: WindowSource) {
        self.window = Window { center: window.center, width: window.width.max(MIN_WIDTH) };
        self.source = source;
    }

    /// Back to the image's own window (invert unchanged).
    pub fn restore_image_window(&mut self) {
        self.window = self.initial.0;
        self.source = self.initial.1.clone();
    }

    /// The image's own window and no invert.
    pub fn reset(&mut self) {
        self.restore_image_window();
        self.invert = false;
    }

    /// Toggles the reader's invert.
    pub fn toggle_invert(&mut self) {
        self.invert = !self.invert;
    }

    /// Whether the renderer must invert the gray output: the image's own polarity (MONOCHROME1,
    /// Presentation LUT Shape INVERSE) combined with the reader's toggle.
    pub fn effective_invert(&self, image: &DecodedImage) -> bool {
        display::inverted(image) ^ self.invert
    }

    /// The overlay text, `W: 400 L: 40` (rounded to whole units; one decimal below width 10).
    pub fn label(&self) -> String {
        let f = |v: f64| {
            let v = if self.window.width < 10.0 { (v * 10.0).round() / 10.0 } else { v.round() };
            // no "-0"
            format!("{}", if v == 0.0 { 0.0 } else { v })
        };
        format!("W: {} L: {}", f(self.window.width), f(self.window.center))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use obscura_imaging::{Frame, Photometric, VoiFunction};

    /// A signed 16-bit CT-like image with stored = HU + 1024.
    pub(crate) fn ct_image(columns: u32, rows: u32, hu: &[i16]) -> DecodedImage {
        DecodedImage {
            rows,
            columns,
            samples_per_pixel: 1,
            photometric: Photometric::Monochrome2,
            bits_allocated: 16,
            bits_stored: 16,
            signed: true,
            rescale_slope: 1.0,
            rescale_intercept: -1024.0,
            modality_lut: None,
            windows: Vec::new(),
            voi_function: VoiFunction::Linear,
            voi_luts: Vec::new(),
            presentation_lut_shape: None,
            palette: None,
            frames: vec![Frame::U16(hu.iter().map(|&v| (v + 1024) as u16).collect())],
        }
    }

    #[test]
    fn auto_window_order_object_then_lut_then_range() {
        let mut img = ct_image(2, 1, &[-1000, 1048]);
        assert_eq!(auto_window(&img, 0), (Window { center: 24.0, width: 2048.0 }, WindowSource::ValueRange));
        img.voi_luts.push(Lut { first_mapped: -100, bits: 8, data: vec![0; 201] });
        assert_eq!(auto_window(&img, 0), (Window { center: 0.0, width: 200.0 }, WindowSource::VoiLut));
        img.windows.push(Window { center: 40.0, width: 400.0 });
        assert_eq!(auto_window(&img, 0), (Window { center: 40.0, width: 400.0 }, WindowSource::Object(0)));
    }

    #[test]
    fn drag_scales_with_the_value_range() {
        // range 4096 HU → 4 HU per CSS px
        let img = ct_image(2, 1, &[-1024, 3072]);
        let mut wl = WindowLevel::for_image(&img, 0);
        assert_eq!(wl.sensitivity, 4.0);
        wl.set(Window { center: 40.0, width: 400.0 }, WindowSource::Manual);
        wl.drag(10.0, -5.0);
        assert_eq!(wl.window, Window { center: 20.0, width: 440.0 });
        wl.drag(-1000.0, 0.0);
        assert_eq!(wl.window.width, MIN_WIDTH);
        assert_eq!(wl.source, WindowSource::Manual);
        wl.reset();
        assert_eq!((wl.window.center, wl.window.width), (1024.0, 4096.0));
    }

    #[test]
    fn presets_ct_by_table_others_by_object_windows() {
        let mut img = ct_image(1, 1, &[0]);
        let (w, s) = preset_for_key("CT", &img, 4).unwrap();
        assert_eq!((w.width, w.center, s), (1500.0, -600.0, WindowSource::Preset("Lung")));
        assert!(preset_for_key("CT", &img, 0).is_none() && preset_for_key("CT", &img, 10).is_none());
        assert!(preset_for_key("MR", &img, 1).is_none());
        img.windows = vec![Window { center: 1.0, width: 2.0 }, Window { center: 3.0, width: 4.0 }];
        assert_eq!(preset_for_key("MR", &img, 2).unwrap().0, Window { center: 3.0, width: 4.0 });
    }

    #[test]
    fn invert_combines_with_monochrome1_and_label() {
        let mut img = ct_image(1, 1, &[0]);
        let mut wl = WindowLevel::for_image(&img, 0);
        assert!(!wl.effective_invert(&img));
        wl.toggle_invert();
        assert!(wl.effective_invert(&img));
        img.photometric = Photometric::Monochrome1;
        assert!(!wl.effective_invert(&img));
        wl.set(Window { center: 40.0, width: 400.0 }, WindowSource::Manual);
        assert_eq!(wl.label(), "W: 400 L: 40");
        wl.set(Window { center: -600.4, width: 1500.0 }, WindowSource::Manual);
        assert_eq!(wl.label(), "W: 1500 L: -600");
        wl.set(Window { center: -0.3, width: 8.0 }, WindowSource::Manual);
        assert_eq!(wl.label(), "W: 8 L: -0.3");
        wl.set(Window { center: -0.3, width: 80.0 }, WindowSource::Manual);
        assert_eq!(wl.label(), "W: 80 L: 0");
    }
}

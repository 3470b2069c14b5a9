//! The display pipeline on the CPU (PS3.3 C.11, PS3.4 N.2): stored values → Modality LUT or
//! rescale → VOI (window with LINEAR / LINEAR_EXACT / SIGMOID, or VOI LUT) → Presentation LUT
//! shape / MONOCHROME1 polarity → 8-bit gray; palette lookup; RGB scaled to 8 bits.
//!
//! It is the reference for people (`obscura decode --png`) and for render tests; the GPU renderer
//! must agree with it.

use crate::decode::{DecodedImage, Photometric, PresentationLutShape, VoiFunction, Window};
use crate::lut::Lut;

/// The VOI transform to apply to a gray image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Voi<'a> {
    /// A window with its function.
    Window(Window, VoiFunction),
    /// A VOI LUT (its input is the modality value).
    Lut(&'a Lut),
}

impl<'a> Voi<'a> {
    /// What a viewer shows first: the object's first window, else its first VOI LUT, else a
    /// window over the frame's value range.
    pub fn default_for(image: &'a DecodedImage, frame: usize) -> Self {
        if let Some(w) = image.window() {
            Voi::Window(w, image.voi_function)
        } else if let Some(l) = image.voi_luts.first() {
            Voi::Lut(l)
        } else {
            Voi::Window(image.window_or_auto(frame), VoiFunction::Linear)
        }
    }

    /// The VOI output for modality value `x`, in 0..=1.
    pub fn apply(&self, x: f64) -> f64 {
        match *self {
            Voi::Window(w, VoiFunction::Linear) => {
                // PS3.3 C.11.2.1.2.1; a width below 1 is treated as 1
                let (c, w) = (w.center, w.width.max(1.0));
                if x <= c - 0.5 - (w - 1.0) / 2.0 {
                    0.0
                } else if x > c - 0.5 + (w - 1.0) / 2.0 || w <= 1.0 {
                    1.0
                } else {
                    (x - (c - 0.5)) / (w - 1.0) + 0.5
                }
            }
            Voi::Window(w, VoiFunction::LinearExact) => {
                let (c, w) = (w.center, w.width.max(f64::MIN_POSITIVE));
                if x <= c - w / 2.0 {
                    0.0
                } else if x > c + w / 2.0 {
                    1.0
                } else {
                    (x - c) / w + 0.5
                }
            }
            Voi::Window(win, VoiFunction::Sigmoid) => {
                let w = win.width.max(f64::MIN_POSITIVE);
                1.0 / (1.0 + (-4.0 * (x - win.center) / w).exp())
            }
            Voi::Lut(l) => f64::from(l.lookup(x.floor() as i64)) / f64::from(l.max_value()),
        }
    }
}

/// Whether the gray output is inverted: MONOCHROME1, or a Presentation LUT Shape of INVERSE.
pub fn inverted(image: &DecodedImage) -> bool {
    image.photometric == Photometric::Monochrome1 || image.presentation_lut_shape == Some(PresentationLutShape::Inverse)
}

/// 8-bit output level of a 0..=1 value (rounded to nearest).
pub fn level(y: f64) -> u8 {
    (y * 255.0 + 0.5).floor().clamp(0.0, 255.0) as u8
}

/// The 8-bit level of one RGB sample: samples of more than 8 bits keep their top 8 (BitsStored),
/// negative ones are 0.
pub fn rgb_level(image: &DecodedImage, stored: i64) -> u8 {
    let shift = image.bits_stored.saturating_sub(8);
    (stored.max(0) >> shift).min(255) as u8
}

/// How a display position between pixel centres is sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Interpolation {
    /// The pixel the position falls in.
    #[default]
    Nearest,
    /// Bilinear between the four nearest pixel centres (edges clamp), applied to modality values
    /// before the VOI for gray images (as PACS viewers do) and to the 8-bit colours of palette and
    /// RGB images.
    Bilinear,
}

/// `a (1 − t) + b t`, in this order (the shader's `mix` does the same).
fn mix(a: f64, b: f64, t: f64) -> f64 {
    a * (1.0 - t) + b * t
}

/// The pixels a position samples and how: either one pixel index, or four indices
/// (top-left, top-right, bottom-left, bottom-right) and the fractions `fx`, `fy`.
enum Taps {
    One(usize),
    Four([usize; 4], f64, f64),
}

fn taps(image: &DecodedImage, interpolation: Interpolation, x: f64, y: f64) -> Taps {
    let (w, h) = (image.columns as usize, image.rows as usize);
    let clamp = |v: f64, n: usize| (v.max(0.0) as usize).min(n.saturating_sub(1));
    match interpolation {
        Interpolation::Nearest => Taps::One(clamp(y.floor(), h) * w + clamp(x.floor(), w)),
        Interpolation::Bilinear => {
            let (u, v) = (x - 0.5, y - 0.5);
            let (x0, y0) = (u.floor(), v.floor());
            let (xa, xb) = (clamp(x0, w), clamp(x0 + 1.0, w));
            let (ya, yb) = (clamp(y0, h), clamp(y0 + 1.0, h));
            Taps::Four([ya * w + xa, ya * w + xb, yb * w + xa, yb * w + xb], u - x0, v - y0)
        }
    }
}

/// Samples `value` (one or more channels per pixel) at the taps.
fn sample<const N: usize>(taps: &Taps, value: impl Fn(usize) -> Option<[f64; N]>) -> Option<[f64; N]> {
    match *taps {
        Taps::One(i) => value(i),
        Taps::Four([a, b, c, d], fx, fy) => {
            let (a, b, c, d) = (value(a)?, value(b)?, value(c)?, value(d)?);
            Some(std::array::from_fn(|k| mix(mix(a[k], b[k], fx), mix(c[k], d[k], fx), fy)))
        }
    }
}

/// The displayed colour at image position (`x`, `y`) of `frame`, in pixel units (x right, y down,
/// pixel centres at +0.5), through the whole display pipeline: gray images through the modality
/// transform, `voi` and their polarity (MONOCHROME1 / INVERSE), palette images through their
/// palette, RGB scaled to 8 bits; then `invert` (the user's toggle) on top, for every kind.
///
/// `None` if the position is outside the image or `frame` does not exist.
pub fn rgb8_at(
    image: &DecodedImage,
    frame: usize,
    voi: Voi<'_>,
    interpolation: Interpolation,
    invert: bool,
    x: f64,
    y: f64,
) -> Option<[u8; 3]> {
    let (w, h) = (f64::from(image.columns), f64::from(image.rows));
    if !(x >= 0.0 && y >= 0.0 && x < w && y < h) {
        return None;
    }
    image.frames.get(frame)?;
    let taps = taps(image, interpolation, x, y);
    let round = |v: f64| (v + 0.5).floor().clamp(0.0, 255.0) as u8;
    let rgb = match image.photometric {
        Photometric::Monochrome1 | Photometric::Monochrome2 => {
            let [m] = sample(&taps, |i| Some([image.to_modality(image.get_stored_value(frame, i)?)]))?;
            let v = level(voi.apply(m));
            let v = if inverted(image) != invert { 255 - v } else { v };
            return Some([v, v, v]);
        }
        Photometric::PaletteColor => {
            let palette = image.palette.as_ref()?;
            let c = sample(&taps, |i| Some(palette.rgb8(image.get_stored_value(frame, i)?).map(f64::from)))?;
            c.map(round)
        }
        Photometric::Rgb => {
            let c = sample(&taps, |i| {
                let s = |k| Some(f64::from(rgb_level(image, image.get_stored_value(frame, 3 * i + k)?)));
                Some([s(0)?, s(1)?, s(2)?])
            })?;
            c.map(round)
        }
    };
    Some(if invert { rgb.map(|v| 255 - v) } else { rgb })
}

/// Frame `frame` as interleaved 8-bit RGB (gray images have R = G = B), through the whole
/// display pipeline with `voi` for gray images, at 1:1 (each pixel sampled at its centre; see
/// [`rgb8_at`]). `None` if `frame` is out of range.
pub fn render_rgb8(image: &DecodedImage, frame: usize, voi: Voi<'_>) -> Option<Vec<u8>> {
    image.frames.get(frame)?;
    let (w, h) = (image.columns as usize, image.rows as usize);
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
            out.extend_from_slice(&rgb8_at(image, frame, voi, Interpolation::Nearest, false, px, py)?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn win(c: f64, w: f64, f: VoiFunction) -> Voi<'static> {
        Voi::Window(Window { center: c, width: w }, f)
    }

    #[test]
    fn linear_matches_the_standard_example() {
        // PS3.3 C.11.2.1.2.1: c = 2048, w = 4096 maps 0 → 0 and 4095 → 1
        let v = win(2048.0, 4096.0, VoiFunction::Linear);
        assert_eq!(level(v.apply(0.0)), 0);
        assert_eq!(level(v.apply(4095.0)), 255);
        assert_eq!(level(v.apply(2047.5)), 128);
    }

    #[test]
    fn linear_exact_and_sigmoid() {
        let e = win(100.0, 200.0, VoiFunction::LinearExact);
        assert_eq!(e.apply(0.0), 0.0);
        assert_eq!(e.apply(100.0), 0.5);
        assert_eq!(e.apply(200.0), 1.0);
        let s = win(100.0, 200.0, VoiFunction::Sigmoid);
        assert!((s.apply(100.0) - 0.5).abs() < 1e-12);
        assert!(s.apply(-1e6) < 1e-6 && s.apply(1e6) > 1.0 - 1e-6);
    }

    fn gray(columns: u32, rows: u32, values: Vec<u16>) -> DecodedImage {
        DecodedImage {
            rows,
            columns,
            samples_per_pixel: 1,
            photometric: Photometric::Monochrome2,
            bits_allocated: 16,
            bits_stored: 16,
            signed: false,
            rescale_slope: 1.0,
            rescale_intercept: 0.0,
            modality_lut: None,
            windows: Vec::new(),
            voi_function: VoiFunction::Linear,
            voi_luts: Vec::new(),
            presentation_lut_shape: None,
            palette: None,
            frames: vec![crate::Frame::U16(values)],
        }
    }

    #[test]
    fn bilinear_mixes_modality_values_before_the_voi() {
        // 2x2: 0 100 / 200 300, identity-like window over 0..=255 with slope 0.5
        let mut img = gray(2, 2, vec![0, 100, 200, 300]);
        img.rescale_slope = 0.5;
        let identity = win(127.5, 256.0, VoiFunction::LinearExact);
        let at = |x, y, i| rgb8_at(&img, 0, identity, i, false, x, y).unwrap()[0];
        assert_eq!(at(0.5, 0.5, Interpolation::Nearest), 0);
        assert_eq!(at(1.99, 1.99, Interpolation::Nearest), 150);
        // the middle: mean of the modality values 0, 50, 100, 150
        assert_eq!(at(1.0, 1.0, Interpolation::Bilinear), 75);
        // a quarter of the way from the first to the second centre
        assert_eq!(at(0.75, 0.5, Interpolation::Bilinear), 13);
        // edges clamp: left of the first centre is the first value
        assert_eq!(at(0.1, 0.1, Interpolation::Bilinear), 0);
        assert_eq!(rgb8_at(&img, 0, identity, Interpolation::Nearest, false, 2.0, 0.5), None);
        assert_eq!(rgb8_at(&img, 0, identity, Interpolation::Nearest, false, -0.01, 0.5), None);
    }

    #[test]
    fn user_invert_composes_with_the_image_polarity() {
        let mut img = gray(1, 1, vec![0]);
        let v = win(128.0, 256.0, VoiFunction::Linear);
        let at = |img: &DecodedImage, invert| rgb8_at(img, 0, v, Interpolation::Nearest, invert, 0.5, 0.5).unwrap();
        assert_eq!((at(&img, false), at(&img, true)), ([0; 3], [255; 3]));
        img.photometric = Photometric::Monochrome1;
        assert_eq!((at(&img, false), at(&img, true)), ([255; 3], [0; 3]));
        img.photometric = Photometric::Monochrome2;
        img.presentation_lut_shape = Some(PresentationLutShape::Inverse);
        assert_eq!(render_rgb8(&img, 0, v), Some(vec![255; 3]));
    }

    #[test]
    fn rgb_keeps_the_top_eight_bits_and_interpolates_colours() {
        let mut img = gray(2, 1, vec![0x0FFF, 0x0800, 0x0010, 0, 0, 0]);
        img.photometric = Photometric::Rgb;
        img.samples_per_pixel = 3;
        img.bits_stored = 12;
        assert_eq!(render_rgb8(&img, 0, win(0.0, 1.0, VoiFunction::Linear)), Some(vec![255, 128, 1, 0, 0, 0]));
        let mid = rgb8_at(&img, 0, win(0.0, 1.0, VoiFunction::Linear), Interpolation::Bilinear, false, 1.0, 0.5);
        assert_eq!(mid, Some([128, 64, 1]));
        let inv = rgb8_at(&img, 0, win(0.0, 1.0, VoiFunction::Linear), Interpolation::Nearest, true, 0.5, 0.5);
        assert_eq!(inv, Some([0, 127, 254]));
    }

    #[test]
    fn voi_lut_scales_by_its_bit_depth() {
        let l = Lut { first_mapped: 10, bits: 12, data: vec![0, 4095] };
        let v = Voi::Lut(&l);
        assert_eq!((v.apply(5.0), v.apply(11.0)), (0.0, 1.0));
    }
}

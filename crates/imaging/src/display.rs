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
fn level(y: f64) -> u8 {
    (y * 255.0 + 0.5).floor().clamp(0.0, 255.0) as u8
}

/// Frame `frame` as interleaved 8-bit RGB (gray images have R = G = B), through the whole
/// display pipeline with `voi` for gray images. `None` if `frame` is out of range.
pub fn render_rgb8(image: &DecodedImage, frame: usize, voi: Voi<'_>) -> Option<Vec<u8>> {
    let f = image.frames.get(frame)?;
    let n = image.pixel_count();
    let mut out = Vec::with_capacity(n * 3);
    match image.photometric {
        Photometric::Monochrome1 | Photometric::Monochrome2 => {
            let invert = inverted(image);
            for i in 0..n {
                let stored = image.get_stored_value(frame, i)?;
                let mut v = level(voi.apply(image.to_modality(stored)));
                if invert {
                    v = 255 - v;
                }
                out.extend_from_slice(&[v, v, v]);
            }
        }
        Photometric::PaletteColor => {
            let palette = image.palette.as_ref()?;
            for i in 0..n {
                out.extend_from_slice(&palette.rgb8(image.get_stored_value(frame, i)?));
            }
        }
        Photometric::Rgb => {
            let shift = image.bits_stored.saturating_sub(8);
            for i in 0..f.len() {
                let v = image.get_stored_value(frame, i)?.max(0) >> shift;
                out.push(v.min(255) as u8);
            }
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

    #[test]
    fn voi_lut_scales_by_its_bit_depth() {
        let l = Lut { first_mapped: 10, bits: 12, data: vec![0, 4095] };
        let v = Voi::Lut(&l);
        assert_eq!((v.apply(5.0), v.apply(11.0)), (0.0, 1.0));
    }
}

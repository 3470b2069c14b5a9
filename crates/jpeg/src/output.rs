//! From decoded component planes to interleaved pixels: libjpeg's upsampling (jdsample.c, "fancy"
//! triangular filters for 2:1 ratios) and YCbCr→RGB conversion (jdcolor.c), exactly.

use crate::decoder::{Component, Frame};
use crate::ColorTransform;

/// libjpeg's YCbCr→RGB tables (jdcolor.c `build_ycc_rgb_table`) for samples up to `max`.
struct YccTables {
    cr_r: Vec<i32>,
    cb_b: Vec<i32>,
    cr_g: Vec<i32>,
    cb_g: Vec<i32>,
    max: i32,
}

const SCALEBITS: u32 = 16;
const ONE_HALF: i64 = 1 << (SCALEBITS - 1);

impl YccTables {
    fn new(max: i32) -> Self {
        let fix = |x: f64| (x * (1i64 << SCALEBITS) as f64 + 0.5) as i64;
        let n = max as usize + 1;
        let center = (max as i64 + 1) / 2;
        let mut t = YccTables {
            cr_r: Vec::with_capacity(n),
            cb_b: Vec::with_capacity(n),
            cr_g: Vec::with_capacity(n),
            cb_g: Vec::with_capacity(n),
            max,
        };
        for i in 0..n as i64 {
            let x = i - center;
            t.cr_r.push(((fix(1.40200) * x + ONE_HALF) >> SCALEBITS) as i32);
            t.cb_b.push(((fix(1.77200) * x + ONE_HALF) >> SCALEBITS) as i32);
            t.cr_g.push((-fix(0.71414) * x) as i32);
            t.cb_g.push((-fix(0.34414) * x + ONE_HALF) as i32);
        }
        t
    }

    #[inline(always)]
    fn convert(&self, y: u16, cb: u16, cr: u16) -> [u16; 3] {
        let (y, cb, cr) = (y as i32, cb as usize, cr as usize);
        let r = y + self.cr_r[cr];
        let g = y + ((self.cb_g[cb] + self.cr_g[cr]) >> SCALEBITS);
        let b = y + self.cb_b[cb];
        [r.clamp(0, self.max) as u16, g.clamp(0, self.max) as u16, b.clamp(0, self.max) as u16]
    }
}

/// How one component reaches full resolution.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Full,
    H2V1Fancy,
    H2V2Fancy,
    /// Box replication by (horizontal, vertical) integer factors (libjpeg's `int_upsample`,
    /// `h2v1_upsample`, `h2v2_upsample`).
    Replicate(usize, usize),
}

fn method(frame: &Frame, c: &Component) -> Method {
    let (hf, vf) = (frame.hmax / c.h, frame.vmax / c.v);
    // libjpeg uses the fancy filters only when the component is wider than 2 samples
    match (hf, vf) {
        (1, 1) => Method::Full,
        (2, 1) if c.width > 2 => Method::H2V1Fancy,
        (2, 2) if c.width > 2 => Method::H2V2Fancy,
        _ => Method::Replicate(hf, vf),
    }
}

/// Writes full-resolution row `y` of component `c` into `out` (`out.len()` = image width).
fn upsample_row(c: &Component, m: Method, y: usize, out: &mut [u16]) {
    let width = out.len();
    let stride = c.plane_w;
    match m {
        Method::Full => out.copy_from_slice(&c.plane[y * stride..y * stride + width]),
        Method::Replicate(hf, vf) => {
            let row = &c.plane[(y / vf) * stride..];
            for (x, o) in out.iter_mut().enumerate() {
                *o = row[x / hf];
            }
        }
        Method::H2V1Fancy => {
            let row = &c.plane[y * stride..y * stride + c.width];
            let last = c.width - 1;
            for (x, o) in out.iter_mut().enumerate() {
                let k = x / 2;
                let near = row[k] as u32 * 3;
                *o = if x & 1 == 0 {
                    ((near + row[k.saturating_sub(1)] as u32 + 1) >> 2) as u16
                } else {
                    ((near + row[(k + 1).min(last)] as u32 + 2) >> 2) as u16
                };
            }
        }
        Method::H2V2Fancy => {
            let inrow = y / 2;
            let other = if y & 1 == 0 { inrow.saturating_sub(1) } else { (inrow + 1).min(c.height - 1) };
            let r0 = &c.plane[inrow * stride..inrow * stride + c.width];
            let r1 = &c.plane[other * stride..other * stride + c.width];
            let last = c.width - 1;
            let colsum = |k: usize| r0[k] as u32 * 3 + r1[k] as u32;
            for (x, o) in out.iter_mut().enumerate() {
                let k = x / 2;
                let this = colsum(k) * 3;
                *o = if x & 1 == 0 {
                    ((this + colsum(k.saturating_sub(1)) + 8) >> 4) as u16
                } else {
                    ((this + colsum((k + 1).min(last)) + 7) >> 4) as u16
                };
            }
        }
    }
}

/// A sample type of the output.
pub(crate) trait Sample: Copy + Default {
    fn from_u16(v: u16) -> Self;
}

impl Sample for u8 {
    #[inline(always)]
    fn from_u16(v: u16) -> Self {
        v as u8
    }
}

impl Sample for u16 {
    #[inline(always)]
    fn from_u16(v: u16) -> Self {
        v
    }
}

/// Interleaves the decoded planes of `frame` (DCT processes: upsampled and optionally converted;
/// lossless: shifted by each component's point transform).
pub(crate) fn assemble<T: Sample>(frame: &Frame, transform: ColorTransform) -> Vec<T> {
    let width = frame.header.width as usize;
    let height = frame.header.height as usize;
    let nc = frame.comps.len();
    let mut out = vec![T::default(); width * height * nc];
    if frame.lossless {
        if nc == 1 {
            let c = &frame.comps[0];
            let pt = c.point_transform as u32;
            for (orow, row) in out.chunks_exact_mut(width).zip(c.plane.chunks_exact(c.plane_w)) {
                for (o, &v) in orow.iter_mut().zip(row) {
                    *o = T::from_u16(((v as u32) << pt) as u16);
                }
            }
            return out;
        }
        for (ci, c) in frame.comps.iter().enumerate() {
            let pt = c.point_transform as u32;
            for (y, orow) in out.chunks_exact_mut(width * nc).enumerate() {
                let row = &c.plane[y * c.plane_w..y * c.plane_w + width];
                for (o, &v) in orow[ci..].iter_mut().step_by(nc).zip(row) {
                    *o = T::from_u16(((v as u32) << pt) as u16);
                }
            }
        }
        return out;
    }
    let methods: Vec<Method> = frame.comps.iter().map(|c| method(frame, c)).collect();
    let max = if frame.header.precision == 12 { 4095 } else { 255 };
    let ycc = (transform == ColorTransform::YCbCrToRgb && nc == 3).then(|| YccTables::new(max));
    let mut rows: Vec<Vec<u16>> = vec![vec![0u16; width]; nc];
    for (y, orow) in out.chunks_exact_mut(width * nc).enumerate() {
        if nc == 1 {
            let c = &frame.comps[0];
            if methods[0] == Method::Full {
                let row = &c.plane[y * c.plane_w..y * c.plane_w + width];
                for (o, &v) in orow.iter_mut().zip(row) {
                    *o = T::from_u16(v);
                }
                continue;
            }
        }
        for ((c, &m), buf) in frame.comps.iter().zip(&methods).zip(rows.iter_mut()) {
            upsample_row(c, m, y, buf);
        }
        if let Some(t) = &ycc {
            for (((px, &yy), &cb), &cr) in orow.chunks_exact_mut(3).zip(&rows[0]).zip(&rows[1]).zip(&rows[2]) {
                let [r, g, b] = t.convert(yy, cb, cr);
                px[0] = T::from_u16(r);
                px[1] = T::from_u16(g);
                px[2] = T::from_u16(b);
            }
        } else {
            for (ci, buf) in rows.iter().enumerate() {
                for (o, &v) in orow[ci..].iter_mut().step_by(nc).zip(buf) {
                    *o = T::from_u16(v);
                }
            }
        }
    }
    out
}

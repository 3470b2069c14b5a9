//! Decoding one scan: context modelling, prediction, Golomb decoding and run mode (T.87 Annex A,
//! decoder side: Annex F).

use crate::bits::BitReader;
use crate::{Interleave, JpegLsError};

/// An output sample type.
pub(crate) trait Sample: Copy + Default {
    /// `v` is in 0..=MAXVAL, which fits the type.
    fn from_i32(v: i32) -> Self;
}

impl Sample for u8 {
    #[inline(always)]
    fn from_i32(v: i32) -> Self {
        v as u8
    }
}

impl Sample for u16 {
    #[inline(always)]
    fn from_i32(v: i32) -> Self {
        v as u16
    }
}

/// Preset coding parameters as an LSE segment (id 1) gives them: 0 means "the default".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Presets {
    pub(crate) maxval: u16,
    pub(crate) t1: u16,
    pub(crate) t2: u16,
    pub(crate) t3: u16,
    pub(crate) reset: u16,
}

/// The coding parameters in force for one scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Params {
    pub(crate) maxval: i32,
    pub(crate) near: i32,
    pub(crate) t1: i32,
    pub(crate) t2: i32,
    pub(crate) t3: i32,
    pub(crate) reset: i32,
    pub(crate) range: i32,
    pub(crate) qbpp: u32,
    pub(crate) limit: u32,
}

/// Smallest `n` with `2^n >= x` (x ≥ 1).
fn ceil_log2(x: i32) -> u32 {
    32 - (x - 1).max(0).leading_zeros()
}

/// The default thresholds of T.87 C.2.4.1.1.1 for this MAXVAL and NEAR.
// Written as T.87 writes it: FACTOR · (BASIC_T1 − 2) with BASIC_T1 = 3.
#[allow(clippy::identity_op)]
fn default_thresholds(maxval: i32, near: i32) -> (i32, i32, i32) {
    let clamp = |i: i32, j: i32| if i > maxval || i < j { j } else { i };
    if maxval >= 128 {
        let factor = (maxval.min(4095) + 128) / 256;
        let t1 = clamp(factor * (3 - 2) + 2 + 3 * near, near + 1);
        let t2 = clamp(factor * (7 - 3) + 3 + 5 * near, t1);
        let t3 = clamp(factor * (21 - 4) + 4 + 7 * near, t2);
        (t1, t2, t3)
    } else {
        let factor = 256 / (maxval + 1);
        let t1 = clamp((3 / factor + 3 * near).max(2), near + 1);
        let t2 = clamp((7 / factor + 5 * near).max(3), t1);
        let t3 = clamp((21 / factor + 7 * near).max(4), t2);
        (t1, t2, t3)
    }
}

impl Params {
    /// The parameters for a scan of `precision`-bit samples with this NEAR under `presets`,
    /// validated as T.87 C.2.4.1.1 requires (and as CharLS checks them).
    ///
    /// A MAXVAL below 2^P − 1 is handled as CharLS (and DCMTK's copy of it) handle it, not as
    /// T.87 says, because the streams that carry one come from those encoders: RANGE, qbpp, bpp,
    /// LIMIT and the initial A are computed from 2^P − 1; MAXVAL only feeds the default
    /// thresholds and, when RESET is not 64, the clamping of predictions and reconstructions
    /// ([`Coder::correct`]). With MAXVAL = 2^P − 1 (every other stream) both readings agree.
    pub(crate) fn new(precision: u8, near: u16, presets: &Presets) -> Result<Self, JpegLsError> {
        let full = (1i32 << precision) - 1;
        let maxval = if presets.maxval == 0 { full } else { i32::from(presets.maxval) };
        if maxval > full {
            return Err(JpegLsError::BadPresetParameters("MAXVAL above 2^P - 1"));
        }
        let near_i = i32::from(near);
        if near_i > (maxval / 2).min(255) {
            return Err(JpegLsError::NearTooLarge { near, maxval: maxval as u16 });
        }
        let (d1, d2, d3) = default_thresholds(maxval, near_i);
        let t1 = match i32::from(presets.t1) {
            0 => d1,
            t if t < near_i + 1 || t > maxval => {
                return Err(JpegLsError::BadPresetParameters("T1 outside NEAR+1..=MAXVAL"))
            }
            t => t,
        };
        let t2 = match i32::from(presets.t2) {
            0 => d2,
            t if t < t1 || t > maxval => return Err(JpegLsError::BadPresetParameters("T2 outside T1..=MAXVAL")),
            t => t,
        };
        let t3 = match i32::from(presets.t3) {
            0 => d3,
            t if t < t2 || t > maxval => return Err(JpegLsError::BadPresetParameters("T3 outside T2..=MAXVAL")),
            t => t,
        };
        let reset = match i32::from(presets.reset) {
            0 => 64,
            r if r < 3 || r > maxval.max(255) => {
                return Err(JpegLsError::BadPresetParameters("RESET outside 3..=max(255, MAXVAL)"))
            }
            r => r,
        };
        let range = (full + 2 * near_i) / (2 * near_i + 1) + 1;
        let qbpp = ceil_log2(range);
        let bpp = ceil_log2(full + 1).max(2);
        let limit = 2 * (bpp + bpp.max(8));
        let clamp = if reset == 64 { full } else { maxval };
        Ok(Params { maxval: clamp, near: near_i, t1, t2, t3, reset, range, qbpp, limit })
    }
}

/// What a scan covers.
pub(crate) struct ScanSpec<'a> {
    pub(crate) width: usize,
    pub(crate) height: usize,
    /// Components in the frame (the output's samples per pixel).
    pub(crate) frame_components: usize,
    /// Frame component indices decoded by this scan, in scan order.
    pub(crate) components: &'a [usize],
    pub(crate) interleave: Interleave,
    pub(crate) restart_interval: u32,
}

/// The run-length order table J of T.87 A.7.1.2.
const J: [u32; 32] =
    [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/// Context variables of a regular-mode context (T.87 A.2.1).
#[derive(Debug, Clone, Copy)]
struct Context {
    a: i32,
    b: i32,
    c: i32,
    n: i32,
}

/// Context variables of a run-interruption context (T.87 A.7.2).
#[derive(Debug, Clone, Copy)]
struct RunContext {
    a: i32,
    n: i32,
    nn: i32,
}

/// Smallest `k` with `n << k >= a` (T.87 A.5.1), for `n ≥ 1`, `a ≥ 0`.
#[inline(always)]
fn golomb_k(n: i32, a: i32) -> u32 {
    if n >= a {
        return 0;
    }
    let (n, a) = (n as u32, a as u32);
    let k0 = n.leading_zeros() - a.leading_zeros();
    let k = if (u64::from(n) << k0) < u64::from(a) { k0 + 1 } else { k0 };
    // Only hostile data can ask for more; capping keeps every read within 32 bits.
    k.min(24)
}

/// The median edge detector (T.87 A.3.1).
#[inline(always)]
fn med(ra: i32, rb: i32, rc: i32) -> i32 {
    let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
    if rc >= hi {
        lo
    } else if rc <= lo {
        hi
    } else {
        ra + rb - rc
    }
}

/// Size of the gradient quantization table: every gradient of 16-bit samples, + 2^16.
const QUANT_SIZE: usize = 1 << 17;
/// Context table size: 365 used, rounded up so that a masked index needs no bounds check.
const CONTEXTS: usize = 512;

/// Decodes a limited-length Golomb code (T.87 A.5.3) with parameter `k`, at most `max_prefix`
/// leading zeros before the escape, and `qbpp` bits after it.
#[inline(always)]
fn golomb(r: &mut BitReader<'_>, k: u32, max_prefix: u32, qbpp: u32) -> Result<i32, JpegLsError> {
    r.fill();
    let cache = r.cache();
    let lz = cache.leading_zeros();
    if lz < max_prefix {
        let total = lz + 1 + k;
        if total < 64 && i64::from(total) <= r.bits() {
            // The whole code is cached: one shift for the k low bits, one to drop the code.
            let low = ((cache << (lz + 1)) >> (63 - k)) >> 1;
            r.skip(total);
            return Ok(((lz << k) | low as u32) as i32);
        }
        r.skip(lz + 1);
        Ok(((lz << k) | r.read_filled(k)) as i32)
    } else if lz == max_prefix {
        r.skip(max_prefix + 1);
        Ok(r.read_filled(qbpp) as i32 + 1)
    } else {
        Err(r.bad_data("Golomb code longer than LIMIT"))
    }
}

/// The decoder state of one scan (the contexts are shared by all its components).
///
/// `L` (lossless over the full range: NEAR = 0 and MAXVAL = 2^P − 1, almost every DICOM
/// stream) lets reconstruction be a mask.
struct Coder<const L: bool> {
    maxval: i32,
    near: i32,
    /// 2 · NEAR + 1.
    step: i32,
    range: i32,
    reset: i32,
    qbpp: u32,
    limit: u32,
    /// LIMIT − qbpp − 1: the longest unary prefix of a regular-mode code.
    max_prefix: u32,
    /// Gradient quantization (T.87 A.3.3), indexed by gradient + 2^16.
    quant: Box<[i8; QUANT_SIZE]>,
    contexts: Box<[Context; CONTEXTS]>,
    run_contexts: [RunContext; 2],
    initial: Context,
}

impl<const L: bool> Coder<L> {
    fn new(p: &Params) -> Self {
        let a = ((p.range + 32) / 64).max(2);
        let initial = Context { a, b: 0, c: 0, n: 1 };
        let mut quant: Box<[i8; QUANT_SIZE]> =
            vec![0i8; QUANT_SIZE].into_boxed_slice().try_into().expect("QUANT_SIZE entries");
        let (t1, t2, t3, near) = (p.t1, p.t2, p.t3, p.near);
        let zero = (QUANT_SIZE / 2) as i32;
        let q = |d: i32| -> i8 {
            if d <= -t3 {
                -4
            } else if d <= -t2 {
                -3
            } else if d <= -t1 {
                -2
            } else if d < -near {
                -1
            } else if d <= near {
                0
            } else if d < t1 {
                1
            } else if d < t2 {
                2
            } else if d < t3 {
                3
            } else {
                4
            }
        };
        // Beyond ±T3 (and T3 ≥ T2 ≥ T1 ≥ NEAR + 1, as validated) the value is ±4: only the
        // middle needs the comparisons.
        let span = t1.max(t2).max(t3).min(p.maxval);
        quant[(zero - p.maxval) as usize..(zero - span) as usize].fill(-4);
        quant[(zero + span) as usize..=(zero + p.maxval) as usize].fill(4);
        for d in -span..=span {
            quant[(d + zero) as usize] = q(d);
        }
        Coder {
            maxval: p.maxval,
            near: p.near,
            step: 2 * p.near + 1,
            range: p.range,
            reset: p.reset,
            qbpp: p.qbpp,
            limit: p.limit,
            max_prefix: p.limit - p.qbpp - 1,
            quant,
            contexts: Box::new([initial; CONTEXTS]),
            run_contexts: [RunContext { a, n: 1, nn: 0 }; 2],
            initial,
        }
    }

    /// Back to the initial state after a restart marker.
    fn reset(&mut self) {
        *self.contexts = [self.initial; CONTEXTS];
        self.run_contexts = [RunContext { a: self.initial.a, n: 1, nn: 0 }; 2];
    }

    #[inline(always)]
    fn q(&self, d: i32) -> i32 {
        i32::from(self.quant[(d + (QUANT_SIZE / 2) as i32) as usize & (QUANT_SIZE - 1)])
    }

    /// The signed context number 81·Q1 + 9·Q2 + Q3 (T.87 A.3.4).
    #[inline(always)]
    fn context(&self, ra: i32, rb: i32, rc: i32, rd: i32) -> i32 {
        81 * self.q(rd - rb) + 9 * self.q(rb - rc) + self.q(rc - ra)
    }

    /// Brings a prediction or reconstruction back into 0..=MAXVAL, CharLS's way: a clamp when
    /// MAXVAL = 2^n − 1 (always, but for the CharLS quirk described at [`Params::new`]).
    #[inline(always)]
    fn correct(&self, v: i32) -> i32 {
        if v & self.maxval == v {
            v
        } else {
            !(v >> 31) & self.maxval
        }
    }

    /// Reconstructs a sample from its prediction and error (T.87 A.4.2, A.8).
    #[inline(always)]
    fn reconstruct(&self, px: i32, err: i32) -> i32 {
        if L {
            // RANGE = MAXVAL + 1 = 2^P: the modulo reduction is a mask.
            return (px + err) & self.maxval;
        }
        let mut v = px + err * self.step;
        if v < -self.near {
            v += self.range * self.step;
        } else if v > self.maxval + self.near {
            v -= self.range * self.step;
        }
        self.correct(v)
    }

    /// Decodes one regular-mode sample with signed context `qs` and prediction `px`.
    #[inline(always)]
    fn regular(&mut self, r: &mut BitReader<'_>, qs: i32, px: i32) -> Result<i32, JpegLsError> {
        let sign = qs >> 31;
        let index = ((qs ^ sign) - sign) as usize & (CONTEXTS - 1);
        let mut ctx = self.contexts[index];
        let px = self.correct(px + ((ctx.c ^ sign) - sign));
        let k = golomb_k(ctx.n, ctx.a);
        let merr = golomb(r, k, self.max_prefix, self.qbpp)?;
        if merr > self.range {
            return Err(r.bad_data("mapped error value out of range"));
        }
        let mut err = (merr >> 1) ^ -(merr & 1);
        if k == 0 && (L || self.near == 0) && 2 * ctx.b + ctx.n - 1 < 0 {
            err = !err;
        }
        // Context update (T.87 A.6).
        ctx.a += err.abs();
        ctx.b += if L { err } else { err * self.step };
        if ctx.n == self.reset {
            ctx.a >>= 1;
            ctx.b >>= 1;
            ctx.n >>= 1;
        }
        ctx.n += 1;
        if ctx.b <= -ctx.n {
            ctx.b += ctx.n;
            if ctx.c > -128 {
                ctx.c -= 1;
            }
            if ctx.b <= -ctx.n {
                ctx.b = -ctx.n + 1;
            }
        } else if ctx.b > 0 {
            ctx.b -= ctx.n;
            if ctx.c < 127 {
                ctx.c += 1;
            }
            if ctx.b > 0 {
                ctx.b = 0;
            }
        }
        self.contexts[index] = ctx;
        Ok(self.reconstruct(px, (err ^ sign) - sign))
    }

    /// Decodes the length of a run of at most `max` samples (T.87 A.7.1), updating the run index.
    #[inline(always)]
    fn run_length(r: &mut BitReader<'_>, max: usize, run_index: &mut usize) -> Result<usize, JpegLsError> {
        let mut count = 0usize;
        loop {
            if !r.read_bit() {
                let j = J[*run_index & 31];
                count += r.read_filled(j) as usize;
                if count > max {
                    return Err(r.bad_data("run past the end of the line"));
                }
                return Ok(count);
            }
            let rg = 1usize << J[*run_index & 31];
            let n = rg.min(max - count);
            count += n;
            if n == rg && *run_index < 31 {
                *run_index += 1;
            }
            if count == max {
                return Ok(count);
            }
        }
    }

    /// Decodes the error of a run-interruption sample (T.87 A.7.2) in context `ri_type`.
    #[inline(always)]
    fn interruption_error(
        &mut self,
        r: &mut BitReader<'_>,
        ri_type: usize,
        run_index: usize,
    ) -> Result<i32, JpegLsError> {
        let mut ctx = self.run_contexts[ri_type & 1];
        let t = ri_type as i32;
        let temp = if ri_type == 1 { ctx.a + (ctx.n >> 1) } else { ctx.a };
        let k = golomb_k(ctx.n, temp);
        let max_prefix = self.limit - J[run_index & 31] - 1 - self.qbpp - 1;
        let em = golomb(r, k, max_prefix, self.qbpp)?;
        if em > self.range {
            return Err(r.bad_data("mapped error value out of range"));
        }
        let tt = em + t;
        let map = tt & 1;
        let abs = (tt + map) / 2;
        let err = if (k != 0 || 2 * ctx.nn >= ctx.n) == (map == 1) { -abs } else { abs };
        if err < 0 {
            ctx.nn += 1;
        }
        ctx.a += (em + 1 - t) >> 1;
        if ctx.n == self.reset {
            ctx.a >>= 1;
            ctx.n >>= 1;
            ctx.nn >>= 1;
        }
        ctx.n += 1;
        self.run_contexts[ri_type & 1] = ctx;
        Ok(err)
    }

    /// Decodes one line of one component. `prev` and `cur` hold `width + 2` samples: the line
    /// at 1..=width, with the edge samples of T.87 A.2.1 at 0 and width + 1.
    #[inline(never)]
    fn line(
        &mut self,
        reader: &mut BitReader<'_>,
        prev: &mut [i32],
        cur: &mut [i32],
        run_index: &mut usize,
    ) -> Result<(), JpegLsError> {
        self.line_body(reader, prev, cur, run_index)
    }

    #[inline(always)]
    fn line_body(
        &mut self,
        r: &mut BitReader<'_>,
        prev: &mut [i32],
        cur: &mut [i32],
        run_index: &mut usize,
    ) -> Result<(), JpegLsError> {
        let w = prev.len() - 2;
        let cur = &mut cur[..w + 2];
        prev[w + 1] = prev[w];
        cur[0] = prev[1];
        let prev = &prev[..w + 2];
        // The causal neighbourhood slides along the line in registers.
        let (mut ra, mut rb, mut rc) = (cur[0], prev[1], prev[0]);
        let mut x = 1;
        while x <= w {
            let rd = prev[x + 1];
            let qs = self.context(ra, rb, rc, rd);
            if qs != 0 {
                let rx = self.regular(r, qs, med(ra, rb, rc))?;
                cur[x] = rx;
                (ra, rc, rb) = (rx, rb, rd);
                x += 1;
                continue;
            }
            // Run mode.
            let remaining = w + 1 - x;
            let n = Self::run_length(r, remaining, run_index)?;
            cur[x..x + n].fill(ra);
            x += n;
            if n == remaining {
                break;
            }
            let rb_i = prev[x];
            let rx = if (ra - rb_i).abs() <= self.near {
                let err = self.interruption_error(r, 1, *run_index)?;
                self.reconstruct(ra, err)
            } else {
                let err = self.interruption_error(r, 0, *run_index)?;
                self.reconstruct(rb_i, if rb_i < ra { -err } else { err })
            };
            cur[x] = rx;
            *run_index = run_index.saturating_sub(1);
            x += 1;
            if x <= w {
                (ra, rb, rc) = (rx, prev[x], prev[x - 1]);
            }
        }
        Ok(())
    }

    /// Decodes one line of `N` sample-interleaved components: pixel `p` (0..width + 2, edges
    /// as in [`Coder::line`]) component `c` at `p · N + c`.
    #[inline(never)]
    fn line_interleaved<const N: usize>(
        &mut self,
        reader: &mut BitReader<'_>,
        prev: &mut [i32],
        cur: &mut [i32],
        run_index: &mut usize,
    ) -> Result<(), JpegLsError> {
        self.line_interleaved_body::<N>(reader, prev, cur, run_index)
    }

    #[inline(always)]
    fn line_interleaved_body<const N: usize>(
        &mut self,
        r: &mut BitReader<'_>,
        prev: &mut [i32],
        cur: &mut [i32],
        run_index: &mut usize,
    ) -> Result<(), JpegLsError> {
        let w = prev.len() / N - 2;
        for c in 0..N {
            prev[(w + 1) * N + c] = prev[w * N + c];
            cur[c] = prev[N + c];
        }
        let mut x = 1;
        while x <= w {
            let a: [i32; N] = cur[(x - 1) * N..x * N].try_into().expect("N samples");
            let c: [i32; N] = prev[(x - 1) * N..x * N].try_into().expect("N samples");
            let b: [i32; N] = prev[x * N..(x + 1) * N].try_into().expect("N samples");
            let d: [i32; N] = prev[(x + 1) * N..(x + 2) * N].try_into().expect("N samples");
            let mut qs = [0i32; N];
            for i in 0..N {
                qs[i] = self.context(a[i], b[i], c[i], d[i]);
            }
            if qs.iter().any(|&q| q != 0) {
                let mut rx = [0i32; N];
                for i in 0..N {
                    rx[i] = self.regular(r, qs[i], med(a[i], b[i], c[i]))?;
                }
                cur[x * N..(x + 1) * N].copy_from_slice(&rx);
                x += 1;
                continue;
            }
            // Run mode: every component continues the run.
            let remaining = w + 1 - x;
            let n = Self::run_length(r, remaining, run_index)?;
            for p in cur[x * N..(x + n) * N].chunks_exact_mut(N) {
                p.copy_from_slice(&a);
            }
            x += n;
            if n == remaining {
                break;
            }
            for (i, &ra) in a.iter().enumerate() {
                let rb = prev[x * N + i];
                let err = self.interruption_error(r, 0, *run_index)?;
                cur[x * N + i] = self.reconstruct(rb, if rb < ra { -err } else { err });
            }
            x += 1;
            *run_index = run_index.saturating_sub(1);
        }
        Ok(())
    }
}

/// Skips fill bytes and an RSTm marker expected at `pos`; returns the offset after it.
fn expect_restart(data: &[u8], pos: usize, expected: u8) -> Result<usize, JpegLsError> {
    let mut i = pos;
    while data.get(i) == Some(&0xFF) {
        i += 1;
    }
    match data.get(i) {
        Some(&m) if i > pos && m == 0xD0 + expected => Ok(i + 1),
        None => Err(JpegLsError::Truncated),
        _ => Err(JpegLsError::BadRestartMarker { expected, offset: pos }),
    }
}

/// Line buffers for one component (or one group of interleaved components).
struct Lines {
    prev: Vec<i32>,
    cur: Vec<i32>,
}

impl Lines {
    fn new(len: usize) -> Self {
        Lines { prev: vec![0; len], cur: vec![0; len] }
    }
}

/// Decodes the scan whose entropy-coded data starts at `start` into `out` (sample-interleaved,
/// `spec.frame_components` samples per pixel). Returns where the marker after the scan starts.
pub(crate) fn decode_scan<T: Sample>(
    data: &[u8],
    start: usize,
    params: &Params,
    spec: &ScanSpec<'_>,
    out: &mut [T],
) -> Result<usize, JpegLsError> {
    let full_range = params.maxval & (params.maxval + 1) == 0 && params.range == params.maxval + 1;
    if params.near == 0 && full_range {
        decode_scan_with::<T, true>(data, start, params, spec, out)
    } else {
        decode_scan_with::<T, false>(data, start, params, spec, out)
    }
}

fn decode_scan_with<T: Sample, const L: bool>(
    data: &[u8],
    start: usize,
    params: &Params,
    spec: &ScanSpec<'_>,
    out: &mut [T],
) -> Result<usize, JpegLsError> {
    let (w, h, nf) = (spec.width, spec.height, spec.frame_components);
    let ns = spec.components.len();
    let mut reader = BitReader::new(data, start);
    let mut coder = Coder::<L>::new(params);
    let interleaved = ns > 1 && spec.interleave == Interleave::Sample;
    let mut lines: Vec<Lines> =
        if interleaved { vec![Lines::new((w + 2) * ns)] } else { (0..ns).map(|_| Lines::new(w + 2)).collect() };
    let mut run_index = [0usize; 4];
    let interval = spec.restart_interval as usize;
    let mut restarts = 0u8;
    for y in 0..h {
        if interval > 0 && y > 0 && y % interval == 0 {
            reader.check_overrun()?;
            let pos = reader.marker_position().ok_or(JpegLsError::Truncated)?;
            let next = expect_restart(data, pos, restarts)?;
            restarts = (restarts + 1) % 8;
            reader = BitReader::new(data, next);
            coder.reset();
            for l in &mut lines {
                l.prev.fill(0);
                l.cur.fill(0);
            }
            run_index = [0; 4];
        }
        let row = &mut out[y * w * nf..(y + 1) * w * nf];
        if interleaved {
            let l = &mut lines[0];
            match ns {
                2 => coder.line_interleaved::<2>(&mut reader, &mut l.prev, &mut l.cur, &mut run_index[0])?,
                3 => coder.line_interleaved::<3>(&mut reader, &mut l.prev, &mut l.cur, &mut run_index[0])?,
                _ => coder.line_interleaved::<4>(&mut reader, &mut l.prev, &mut l.cur, &mut run_index[0])?,
            }
            reader.check_overrun()?;
            for (px, src) in row.chunks_exact_mut(nf).zip(l.cur[ns..(w + 1) * ns].chunks_exact(ns)) {
                for (&c, &v) in spec.components.iter().zip(src) {
                    px[c] = T::from_i32(v);
                }
            }
            std::mem::swap(&mut l.prev, &mut l.cur);
        } else {
            for (i, &c) in spec.components.iter().enumerate() {
                let l = &mut lines[i];
                coder.line(&mut reader, &mut l.prev, &mut l.cur, &mut run_index[i])?;
                reader.check_overrun()?;
                if nf == 1 {
                    for (o, &v) in row.iter_mut().zip(&l.cur[1..=w]) {
                        *o = T::from_i32(v);
                    }
                } else {
                    for (px, &v) in row.chunks_exact_mut(nf).zip(&l.cur[1..=w]) {
                        px[c] = T::from_i32(v);
                    }
                }
                std::mem::swap(&mut l.prev, &mut l.cur);
            }
        }
    }
    reader.check_overrun()?;
    reader.marker_position().ok_or(JpegLsError::Truncated)
}

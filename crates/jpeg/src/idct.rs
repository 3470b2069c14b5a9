//! IJG's `jpeg_idct_islow` (jidctint.c), the accurate integer inverse DCT, exactly.
//!
//! Arithmetic is done in 64 bits as libjpeg's `INT32`/`JLONG` (`long`) is on LP64 platforms, the
//! work array holds 32-bit `int`s, and the final range limit masks and clamps as libjpeg's
//! `range_limit[... & RANGE_MASK]` table does, so even overflowing coefficients of corrupt data give
//! libjpeg's values.

const CONST_BITS: u32 = 13;

const FIX_0_298631336: i64 = 2446;
const FIX_0_390180644: i64 = 3196;
const FIX_0_541196100: i64 = 4433;
const FIX_0_765366865: i64 = 6270;
const FIX_0_899976223: i64 = 7373;
const FIX_1_175875602: i64 = 9633;
const FIX_1_501321110: i64 = 12299;
const FIX_1_847759065: i64 = 15137;
const FIX_1_961570560: i64 = 16069;
const FIX_2_053119869: i64 = 16819;
const FIX_2_562915447: i64 = 20995;
const FIX_3_072711026: i64 = 25172;

#[inline(always)]
fn descale(x: i64, n: u32) -> i64 {
    (x + (1i64 << (n - 1))) >> n
}

/// libjpeg's IDCT output range limit (`IDCT_range_limit`, indexed by `v & RANGE_MASK`) for
/// samples up to `max` = MAXJSAMPLE (255 or 4095).
pub(crate) struct RangeLimit {
    /// Indexed by `v & RANGE_MASK` (1023 or 16383); sized for the larger so that the masked
    /// index needs no bounds check.
    table: Box<[u16; 16384]>,
}

impl RangeLimit {
    pub(crate) fn new(max: i32) -> Self {
        let mut table = Box::new([0u16; 16384]);
        for (v, t) in table.iter_mut().enumerate().take((4 * max + 4) as usize) {
            *t = range_limit(v as i64, max);
        }
        RangeLimit { table }
    }

    /// `range_limit[v & RANGE_MASK]` for the precision whose PASS1_BITS is given (2: 8-bit).
    #[inline(always)]
    fn get<const PASS1_BITS: u32>(&self, v: i64) -> u16 {
        let mask = if PASS1_BITS == 2 { 1023 } else { 16383 };
        self.table[(v as i32 as usize) & mask]
    }
}

/// The value of libjpeg's `range_limit[v & RANGE_MASK]`: `v` (not yet offset by CENTERJSAMPLE)
/// is masked to `RANGE_MASK = 4·max + 3`, the index wraps to a signed value, which is offset and
/// clamped.
fn range_limit(v: i64, max: i32) -> u16 {
    let range = 4 * (max + 1); // RANGE_MASK + 1
    let half = 2 * (max + 1);
    // the masked index wraps to the signed value in [-half, half)
    let w = (((v as i32).wrapping_add(half)) & (range - 1)) - half;
    let center = (max + 1) / 2;
    (w + center).clamp(0, max) as u16
}

/// Inverse-DCTs one block: `coef` in natural order (libjpeg's `JCOEF`, i16), `quant` in natural
/// order; writes 8 rows of 8 samples at `out[offset + row * stride ..]`.
///
/// `PASS1_BITS` is 2 for 8-bit and 1 for 12-bit samples; `max` is 255 or 4095.
#[inline]
pub(crate) fn idct_islow<const PASS1_BITS: u32>(
    coef: &[i16; 64],
    quant: &[u16; 64],
    out: &mut [u16],
    offset: usize,
    stride: usize,
    range: &RangeLimit,
) {
    let mut ws = [0i32; 64];
    // whether coefficient columns 4–7 are all zero: then so are work-array columns 4–7
    let mut right_zero = true;

    // Pass 1: columns from the input, into the work array.
    for col in 0..8 {
        let q = |r: usize| coef[r * 8 + col] as i64 * quant[r * 8 + col] as i64;
        let upper_zero = coef[32 + col] == 0 && coef[40 + col] == 0 && coef[48 + col] == 0 && coef[56 + col] == 0;
        let out = if upper_zero {
            if coef[8 + col] == 0 && coef[16 + col] == 0 && coef[24 + col] == 0 {
                // libjpeg's shortcut for a column without AC terms (the same values)
                let dc = (q(0) << PASS1_BITS) as i32;
                if dc != 0 && col >= 4 {
                    right_zero = false;
                }
                for r in 0..8 {
                    ws[r * 8 + col] = dc;
                }
                continue;
            }
            kernel::<true>([q(0), q(1), q(2), q(3), 0, 0, 0, 0])
        } else {
            kernel::<false>([q(0), q(1), q(2), q(3), q(4), q(5), q(6), q(7)])
        };
        if col >= 4 {
            right_zero = false;
        }
        let n = CONST_BITS - PASS1_BITS;
        for r in 0..8 {
            ws[r * 8 + col] = descale(out[r], n) as i32;
        }
    }

    // Pass 2: rows from the work array, into the output.
    let n = CONST_BITS + PASS1_BITS + 3;
    for (r, w) in ws.chunks_exact(8).enumerate() {
        let start = offset + r * stride;
        let Some(row) = out.get_mut(start..start + 8) else {
            return;
        };
        if w[1..].iter().all(|&x| x == 0) {
            let v = range.get::<PASS1_BITS>(descale(w[0] as i64, PASS1_BITS + 3));
            row.fill(v);
            continue;
        }
        let w = |i: usize| w[i] as i64;
        let vals = if right_zero {
            kernel::<true>([w(0), w(1), w(2), w(3), 0, 0, 0, 0])
        } else {
            kernel::<false>([w(0), w(1), w(2), w(3), w(4), w(5), w(6), w(7)])
        };
        for (o, v) in row.iter_mut().zip(vals) {
            *o = range.get::<PASS1_BITS>(descale(v, n));
        }
    }
}

/// jidctint.c's 1-D transform of one column or row, before descaling, outputs in order 0–7.
/// With `HALF`, inputs 4–7 are zero (the same arithmetic, with the zero terms folded away).
#[inline(always)]
fn kernel<const HALF: bool>(x: [i64; 8]) -> [i64; 8] {
    let (x4, x5, x6, x7) = if HALF { (0, 0, 0, 0) } else { (x[4], x[5], x[6], x[7]) };
    // even part
    let z2 = x[2];
    let z3 = x6;
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    let tmp0 = (x[0] + x4) << CONST_BITS;
    let tmp1 = (x[0] - x4) << CONST_BITS;
    let tmp10 = tmp0 + tmp3;
    let tmp13 = tmp0 - tmp3;
    let tmp11 = tmp1 + tmp2;
    let tmp12 = tmp1 - tmp2;
    // odd part
    let (o0, o1, o2, o3) = odd(x7, x5, x[3], x[1]);
    [tmp10 + o3, tmp11 + o2, tmp12 + o1, tmp13 + o0, tmp13 - o0, tmp12 - o1, tmp11 - o2, tmp10 - o3]
}

/// The IDCT of a block whose AC coefficients are all zero (what [`idct_islow`] computes then,
/// through its zero-column and zero-row shortcuts).
#[inline]
pub(crate) fn idct_dc_only<const PASS1_BITS: u32>(
    dc: i16,
    q0: u16,
    out: &mut [u16],
    offset: usize,
    stride: usize,
    range: &RangeLimit,
) {
    let ws = ((dc as i64 * q0 as i64) << PASS1_BITS) as i32;
    let v = range.get::<PASS1_BITS>(descale(ws as i64, PASS1_BITS + 3));
    for r in 0..8 {
        let start = offset + r * stride;
        if let Some(row) = out.get_mut(start..start + 8) {
            row.fill(v);
        }
    }
}

/// The odd part of both passes: inputs are the values at positions 7, 5, 3, 1.
#[inline(always)]
fn odd(t0: i64, t1: i64, t2: i64, t3: i64) -> (i64, i64, i64, i64) {
    let z1 = t0 + t3;
    let z2 = t1 + t2;
    let z3 = t0 + t2;
    let z4 = t1 + t3;
    let z5 = (z3 + z4) * FIX_1_175875602;
    let t0 = t0 * FIX_0_298631336;
    let t1 = t1 * FIX_2_053119869;
    let t2 = t2 * FIX_3_072711026;
    let t3 = t3 * FIX_1_501321110;
    let z1 = z1 * -FIX_0_899976223;
    let z2 = z2 * -FIX_2_562915447;
    let z3 = z3 * -FIX_1_961570560 + z5;
    let z4 = z4 * -FIX_0_390180644 + z5;
    (t0 + z1 + z3, t1 + z2 + z4, t2 + z2 + z3, t3 + z1 + z4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_limit_matches_libjpeg_table() {
        // build libjpeg's prepare_range_limit_table for 8 bits and compare over the whole mask
        for max in [255i32, 4095] {
            let m1 = (max + 1) as usize;
            let center = m1 / 2;
            let mut table = vec![0i32; 5 * m1 + center];
            // table index 0 = sample_range_limit - (MAXJSAMPLE+1)
            let base = m1;
            for i in 0..=max as usize {
                table[base + i] = i as i32;
            }
            let rl = base + center; // IDCT_range_limit
            for i in center..2 * m1 {
                table[rl + i] = max;
            }
            for i in 2 * m1..4 * m1 - center {
                table[rl + i] = 0;
            }
            for i in 0..center {
                table[rl + 4 * m1 - center + i] = table[base + i];
            }
            let mask = 4 * max + 3;
            for v in -20000i64..20000 {
                let idx = (v as i32 & mask) as usize;
                assert_eq!(range_limit(v, max) as i32, table[rl + idx], "v={v} max={max}");
            }
        }
    }
}

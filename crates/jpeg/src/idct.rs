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
    table: Vec<u16>,
    mask: usize,
}

impl RangeLimit {
    pub(crate) fn new(max: i32) -> Self {
        let mask = (4 * max + 3) as usize;
        RangeLimit { table: (0..=mask as i64).map(|v| range_limit(v, max)).collect(), mask }
    }

    #[inline(always)]
    fn get(&self, v: i64) -> u16 {
        // the mask keeps the index in the table
        self.table[(v as i32 as usize) & self.mask]
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

    // Pass 1: columns from the input, into the work array.
    for col in 0..8 {
        let c = |r: usize| coef[r * 8 + col] as i64 * quant[r * 8 + col] as i64;
        if coef[8 + col] == 0
            && coef[16 + col] == 0
            && coef[24 + col] == 0
            && coef[32 + col] == 0
            && coef[40 + col] == 0
            && coef[48 + col] == 0
            && coef[56 + col] == 0
        {
            let dc = (c(0) << PASS1_BITS) as i32;
            for r in 0..8 {
                ws[r * 8 + col] = dc;
            }
            continue;
        }
        // even part
        let z2 = c(2);
        let z3 = c(6);
        let z1 = (z2 + z3) * FIX_0_541196100;
        let tmp2 = z1 + z3 * -FIX_1_847759065;
        let tmp3 = z1 + z2 * FIX_0_765366865;
        let z2 = c(0);
        let z3 = c(4);
        let tmp0 = (z2 + z3) << CONST_BITS;
        let tmp1 = (z2 - z3) << CONST_BITS;
        let tmp10 = tmp0 + tmp3;
        let tmp13 = tmp0 - tmp3;
        let tmp11 = tmp1 + tmp2;
        let tmp12 = tmp1 - tmp2;
        // odd part
        let (o0, o1, o2, o3) = odd(c(7), c(5), c(3), c(1));
        let n = CONST_BITS - PASS1_BITS;
        ws[col] = descale(tmp10 + o3, n) as i32;
        ws[56 + col] = descale(tmp10 - o3, n) as i32;
        ws[8 + col] = descale(tmp11 + o2, n) as i32;
        ws[48 + col] = descale(tmp11 - o2, n) as i32;
        ws[16 + col] = descale(tmp12 + o1, n) as i32;
        ws[40 + col] = descale(tmp12 - o1, n) as i32;
        ws[24 + col] = descale(tmp13 + o0, n) as i32;
        ws[32 + col] = descale(tmp13 - o0, n) as i32;
    }

    // Pass 2: rows from the work array, into the output.
    for (r, w) in ws.chunks_exact(8).enumerate() {
        let start = offset + r * stride;
        let Some(row) = out.get_mut(start..start + 8) else {
            return;
        };
        let n = CONST_BITS + PASS1_BITS + 3;
        if w[1..].iter().all(|&x| x == 0) {
            let v = range.get(descale(w[0] as i64, PASS1_BITS + 3));
            row.fill(v);
            continue;
        }
        let w = |i: usize| w[i] as i64;
        let z2 = w(2);
        let z3 = w(6);
        let z1 = (z2 + z3) * FIX_0_541196100;
        let tmp2 = z1 + z3 * -FIX_1_847759065;
        let tmp3 = z1 + z2 * FIX_0_765366865;
        let tmp0 = (w(0) + w(4)) << CONST_BITS;
        let tmp1 = (w(0) - w(4)) << CONST_BITS;
        let tmp10 = tmp0 + tmp3;
        let tmp13 = tmp0 - tmp3;
        let tmp11 = tmp1 + tmp2;
        let tmp12 = tmp1 - tmp2;
        let (o0, o1, o2, o3) = odd(w(7), w(5), w(3), w(1));
        row[0] = range.get(descale(tmp10 + o3, n));
        row[7] = range.get(descale(tmp10 - o3, n));
        row[1] = range.get(descale(tmp11 + o2, n));
        row[6] = range.get(descale(tmp11 - o2, n));
        row[2] = range.get(descale(tmp12 + o1, n));
        row[5] = range.get(descale(tmp12 - o1, n));
        row[3] = range.get(descale(tmp13 + o0, n));
        row[4] = range.get(descale(tmp13 - o0, n));
    }
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
    let v = range.get(descale(ws as i64, PASS1_BITS + 3));
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

//! JPEG 2000 Part 1 through `hayro-jpeg2000`, with the signed flag and clamping done here.

use crate::header::MainHeader;
use crate::{J2kError, Samples};

/// Decodes a Part 1 codestream (`cs` starts at SOC) whose main header `main` has passed our
/// checks.
pub(crate) fn decode(cs: &[u8], main: &MainHeader) -> Result<Samples, J2kError> {
    let settings = crate::hayro::DecodeSettings {
        // DICOM has no palette; a raw codestream has no pclr box anyway.
        resolve_palette_indices: false,
        strict: false,
        target_resolution: None,
    };
    // A raw codestream (never the JP2 wrapper): hayro then applies no colour-space conversion
    // (sYCC, CIELab), only the codestream's own RCT/ICT.
    let image = crate::hayro::Image::new(cs, &settings).map_err(|e| J2kError::Decode(e.to_string()))?;
    let h = &main.frame;
    if image.width() != h.width || image.height() != h.height {
        return Err(J2kError::Decode("inner decoder disagrees on the image size".into()));
    }
    let mut ctx = crate::hayro::DecoderContext::default();
    let decoded = image.decode(&mut ctx).map_err(|e| J2kError::Decode(e.to_string()))?;
    let comps = decoded.components();
    let n = h.width as usize * h.height as usize;
    let nc = usize::from(h.components);
    if comps.len() != nc || comps.iter().any(|c| c.samples().len() != n) {
        return Err(J2kError::Decode("inner decoder returned an unexpected component layout".into()));
    }
    // The vendored hayro leaves the level shift to us: round as OpenJPEG (lrintf: to nearest,
    // ties to even; OpenJPH's float-to-int conversion rounds the same way), add 2^(p-1) into
    // the unsigned domain, which `pack` clamps and moves back for signed streams.
    let shift = 1i32 << (h.precision - 1);
    let round = |v: f32| round_ties_even(v).saturating_add(shift);
    Ok(if nc == 1 {
        crate::pack(h, comps[0].samples().iter().map(|&v| round(v)))
    } else {
        let planes: Vec<&[f32]> = comps.iter().map(|c| c.samples()).collect();
        crate::pack(h, (0..n * nc).map(|i| round(planes[i % nc][i / nc])))
    })
}

/// `lrintf` (to nearest, ties to even) without a libm call and without a branch (so that the
/// conversion loop vectorises): values are first limited to ±2^22 (anything beyond is clamped
/// to the bit depth later anyway; NaN becomes −2^22), then adding and subtracting 1.5 · 2^23
/// rounds in the FPU's default mode.
#[inline(always)]
fn round_ties_even(v: f32) -> i32 {
    const LIMIT: f32 = 4_194_304.0;
    const MAGIC: f32 = 12_582_912.0;
    // Not `clamp`: `max`/`min` also map NaN to a number.
    #[allow(clippy::manual_clamp)]
    let v = v.max(-LIMIT).min(LIMIT);
    ((v + MAGIC) - MAGIC) as i32
}

#[cfg(test)]
mod tests {
    #[test]
    fn rounds_like_lrintf() {
        for v in [0.5f32, 1.5, 2.5, -0.5, -1.5, -2.5, 3.49999, -3.50001, 65535.5, 4_194_303.5, 1e9, -1e9, f32::NAN] {
            let expected =
                if v.is_nan() { -4_194_304 } else { v.round_ties_even().clamp(-4_194_304.0, 4_194_304.0) as i32 };
            assert_eq!(super::round_ties_even(v), expected, "{v}");
        }
    }
}

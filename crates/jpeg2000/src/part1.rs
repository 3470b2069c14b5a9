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
    let round = |v: f32| (v.round_ties_even() as i32).saturating_add(shift);
    Ok(if nc == 1 {
        crate::pack(h, comps[0].samples().iter().map(|&v| round(v)))
    } else {
        let planes: Vec<&[f32]> = comps.iter().map(|c| c.samples()).collect();
        crate::pack(h, (0..n * nc).map(|i| round(planes[i % nc][i / nc])))
    })
}

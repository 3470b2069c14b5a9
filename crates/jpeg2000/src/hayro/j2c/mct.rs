//! The irreversible multi-component transformation, as specified in
//! Annex G.2 and G.3.

use super::ComponentData;
use super::codestream::{Header, WaveletTransform};
use crate::hayro::error::{ColorError, Result, bail, err};
use crate::hayro::math::{Level, Simd, dispatch, f32x8};

/// Apply the inverse multi-component transform, as specified in G.2 and G.3.
pub(crate) fn apply_inverse(
    components: &mut [ComponentData],
    component_infos: &[super::codestream::ComponentInfo],
    header: &Header,
) -> Result<()> {
    if components.len() < 3 {
        return if header.strict { err!(ColorError::Mct) } else { Ok(()) };
    }

    let (s, _) = components.split_at_mut(3);
    let [s0, s1, s2] = s else { unreachable!() };

    let transform = component_infos[0].wavelet_transform();

    if transform != component_infos[1].wavelet_transform()
        || component_infos[1].wavelet_transform() != component_infos[2].wavelet_transform()
    {
        bail!(ColorError::Mct);
    }

    if s0.container.len() != s1.container.len() || s1.container.len() != s2.container.len() {
        bail!(ColorError::Mct);
    }

    // obscura: OpenJPEG's ICT for Part 1, OpenJPH's for HTJ2K.
    let opj = !component_infos[0].coding_style.parameters.code_block_style.high_throughput;
    apply_inner(transform, opj, &mut s0.container, &mut s1.container, &mut s2.container);

    Ok(())
}

fn apply_inner(transform: WaveletTransform, opj: bool, s0: &mut [f32], s1: &mut [f32], s2: &mut [f32]) {
    dispatch!(Level::new(), simd => apply_inner_impl(simd, transform, opj, s0, s1, s2));
}

// obscura: OpenJPH's ICT constants (ojph_colour.cpp, CT_CNST), from 0.299f/0.587f/0.114f in f64.
const OJPH_CR2R: f32 = (2.0 * (1.0 - 0.299_f32 as f64)) as f32;
const OJPH_CB2B: f32 = (2.0 * (1.0 - 0.114_f32 as f64)) as f32;
const OJPH_CB2G: f32 = (2.0 * (0.114_f32 as f64) * (1.0 - 0.114_f32 as f64) / (0.587_f32 as f64)) as f32;
const OJPH_CR2G: f32 = (2.0 * (0.299_f32 as f64) * (1.0 - 0.299_f32 as f64) / (0.587_f32 as f64)) as f32;

#[inline(always)]
fn apply_inner_impl<S: Simd>(
    simd: S,
    transform: WaveletTransform,
    opj: bool,
    s0: &mut [f32],
    s1: &mut [f32],
    s2: &mut [f32],
) {
    match transform {
        // Irreversible MCT, specified in G.3.
        WaveletTransform::Irreversible97 => {
            for ((y0, y1), y2) in
                s0.as_chunks_mut::<8>().0.iter_mut().zip(s1.as_chunks_mut::<8>().0).zip(s2.as_chunks_mut::<8>().0)
            {
                let y_0 = f32x8::from_slice(simd, y0);
                let y_1 = f32x8::from_slice(simd, y1);
                let y_2 = f32x8::from_slice(simd, y2);

                // obscura: unfused, in OpenJPEG's (opj_mct_decode_real) or OpenJPH's
                // (ict_backward) order and constants.
                let (i0, i1, i2) = if opj {
                    (y_0 + y_2 * 1.402, (y_0 - y_1 * 0.34413) - y_2 * 0.71414, y_0 + y_1 * 1.772)
                } else {
                    (y_0 + y_2 * OJPH_CR2R, (y_0 - y_2 * OJPH_CR2G) - y_1 * OJPH_CB2G, y_0 + y_1 * OJPH_CB2B)
                };

                i0.store(y0);
                i1.store(y1);
                i2.store(y2);
            }
        }
        // Reversible MCT, specified in G.2.
        WaveletTransform::Reversible53 => {
            for ((y0, y1), y2) in
                s0.as_chunks_mut::<8>().0.iter_mut().zip(s1.as_chunks_mut::<8>().0).zip(s2.as_chunks_mut::<8>().0)
            {
                let y_0 = f32x8::from_slice(simd, y0);
                let y_1 = f32x8::from_slice(simd, y1);
                let y_2 = f32x8::from_slice(simd, y2);

                let i1 = y_0 - ((y_2 + y_1) * 0.25).floor();
                let i0 = y_2 + i1;
                let i2 = y_1 + i1;

                i0.store(y0);
                i1.store(y1);
                i2.store(y2);
            }
        }
    }
}

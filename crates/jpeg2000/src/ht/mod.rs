//! HTJ2K (ISO/IEC 15444-15) code-block decoding, plugged into the vendored hayro pipeline
//! (packet parsing, progression, tiles, precincts, IDWT and MCT are hayro's).
//!
//! `decoder32.rs`, `common.rs` (its decoder half) and `tables.rs` are vendored from
//! openjph-core 0.1.0 (crates.io), a Rust port of OpenJPH's `ojph_block_decoder32.cpp`,
//! `ojph_block_common.cpp`, `table0.h` and `table1.h`; BSD-2-Clause, see `LICENSE` beside this
//! file. Changes: imports, warnings no longer printed, error type.
#![allow(clippy::all, dead_code)]

mod common;
mod decoder32;
mod tables;

/// Reusable buffers for one code-block.
#[derive(Default)]
pub(crate) struct HtScratch {
    /// Cleanup segment, then the SigProp/MagRef segment, then zero padding.
    data: Vec<u8>,
    /// Decoded samples: bit 31 sign, magnitude with bit 30 at the sub-band's top bit-plane.
    decoded: Vec<u32>,
    /// The SigProp/MagRef segment, gathered before it is appended to `data`.
    second: Vec<u8>,
}

/// Why an HT code-block could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HtError {
    /// More than one HT set (placeholder passes), or a segment index beyond the first set.
    MultipleSets,
    /// The sub-band needs more than 31 magnitude bit-planes (the 64-bit decoder path).
    TooManyBitplanes,
}

/// One code-block's contribution: its segments' data in order, by segment index (0 =
/// cleanup, 1 = SigProp + MagRef), with their coding-pass counts.
pub(crate) struct Block<'a, I: Iterator<Item = (u8, u8, &'a [u8])>> {
    pub segments: I,
    pub width: u32,
    pub height: u32,
    /// Zero bit-planes `P` from the packet header.
    pub missing_msbs: u8,
    /// `Mb`: magnitude bit-planes of the sub-band.
    pub k_max: u8,
    pub stripe_causal: bool,
}

/// Decodes one code-block into `scratch`; calls `put(x, y, sign, magnitude)` for each sample,
/// where `magnitude` is the fixed-point value with bit 30 at bit-plane `k_max − 1` (the
/// decoder sets the half-LSB of the last decoded bit-plane, OpenJPH's reconstruction point).
/// A block OpenJPH would skip (malformed lengths) yields zeros, like OpenJPH.
pub(crate) fn decode_block<'a, I: Iterator<Item = (u8, u8, &'a [u8])>>(
    block: Block<'a, I>,
    scratch: &mut HtScratch,
    mut put: impl FnMut(u32, u32, bool, u32),
) -> Result<(), HtError> {
    if block.k_max > 31 {
        return Err(HtError::TooManyBitplanes);
    }
    let HtScratch { data, decoded, second } = scratch;
    data.clear();
    second.clear();
    let (mut len1, mut len2, mut passes) = (0u32, 0u32, 0u32);
    // Segments arrive in index order; the cleanup segment's bytes come first.
    for (idx, n_passes, bytes) in block.segments {
        match idx {
            0 => {
                data.extend_from_slice(bytes);
                len1 += bytes.len() as u32;
            }
            1 => {
                second.extend_from_slice(bytes);
                len2 += bytes.len() as u32;
            }
            _ => return Err(HtError::MultipleSets),
        }
        passes += u32::from(n_passes);
    }
    if passes == 0 {
        return Ok(());
    }
    if passes > 3 {
        return Err(HtError::MultipleSets);
    }
    data.extend_from_slice(second);
    data.resize(data.len() + 16, 0);
    let (w, h) = (block.width, block.height);
    let stride = (w + 7) & !7;
    let rows = (h + 3) & !3;
    decoded.clear();
    decoded.resize((stride * rows) as usize, 0);
    let ok = decoder32::decode_codeblock32(
        data,
        decoded,
        u32::from(block.missing_msbs),
        passes,
        len1,
        len2,
        w,
        h,
        stride,
        block.stripe_causal,
    )
    .unwrap_or(false);
    if !ok {
        return Ok(());
    }
    for y in 0..h {
        let row = &decoded[(y * stride) as usize..][..w as usize];
        for (x, &v) in row.iter().enumerate() {
            put(x as u32, y, v >> 31 != 0, v & 0x7fff_ffff);
        }
    }
    Ok(())
}

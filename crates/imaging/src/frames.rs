//! Where each frame's bytes sit inside a Part 10 file, so that the sealed chunks covering one frame
//! can be fetched by byte range (`docs/FORMAT.md` §3.4).

use core::ops::Range;

use dicom_dictionary_std::tags;

use crate::attributes::{attributes_of, int};
use crate::guard::{walk, PixelDataLocation};
use crate::ImagingError;

/// The byte range of each frame's pixel data in `bytes` (offsets from byte 0 of the file).
///
/// Native pixel data: one range of `rows × columns × samples × BitsAllocated/8` bytes per frame.
/// Encapsulated: one fragment per frame, or for a single frame the span of all its fragments.
/// Empty when the layout cannot be told from the bytes alone (deflated or big-endian data sets,
/// BitsAllocated 1, several fragments per frame without a usable offset table): the reader then
/// fetches the whole object. Errors only for structurally broken files.
pub fn frame_ranges(bytes: &[u8]) -> Result<Vec<Range<u64>>, ImagingError> {
    let Some(location) = walk(bytes, false)? else { return Ok(Vec::new()) };
    let obj = crate::decode::open(bytes, true)?;
    let a = attributes_of(&obj);
    let frames = u64::from(a.number_of_frames.unwrap_or(1).max(1));
    Ok(match location {
        PixelDataLocation::Native { offset, len } => {
            let samples = u64::from(int::<u32>(&obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1));
            let bits = u64::from(int::<u32>(&obj, tags::BITS_ALLOCATED).unwrap_or(0));
            let frame_len = if bits % 8 == 0 {
                u64::from(a.rows.unwrap_or(0)) * u64::from(a.columns.unwrap_or(0)) * samples * (bits / 8)
            } else {
                0 // BitsAllocated 1: frames are packed bits, not byte-aligned
            };
            if frame_len == 0 || frames.checked_mul(frame_len).is_none_or(|total| total > len) {
                return Ok(Vec::new());
            }
            (0..frames).map(|i| offset + i * frame_len..offset + (i + 1) * frame_len).collect()
        }
        PixelDataLocation::Encapsulated { fragments } => match (fragments.first(), fragments.last()) {
            (Some(first), Some(last)) if frames == 1 => std::iter::once(first.0..last.0 + last.1).collect(),
            _ if fragments.len() as u64 == frames => fragments.iter().map(|&(o, l)| o..o + l).collect(),
            _ => Vec::new(),
        },
    })
}

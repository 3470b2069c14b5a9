//! Where each frame's bytes sit inside a Part 10 file, so that the sealed chunks covering one frame
//! can be fetched by byte range (`docs/FORMAT.md` §3.4).

use core::ops::Range;

use crate::guard::{walk, PixelDataLocation};
use crate::pixel_module::PixelModule;
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
    if obj.meta().transfer_syntax().trim_end_matches(['\0', ' ']) == "1.2.840.10008.1.2.2" {
        return Ok(Vec::new()); // big endian: a frame's bytes are not its values
    }
    // an object whose pixel module does not validate is fetched whole (and fails to decode then)
    let Ok(pm) = PixelModule::read(&obj) else { return Ok(Vec::new()) };
    let frames = u64::from(pm.frames);
    Ok(match location {
        PixelDataLocation::Native { offset, len } => {
            let bits = pm.native_frame_bits();
            // BitsAllocated 1: frames are packed bits, not byte-aligned
            let frame_len = if bits % 8 == 0 { bits / 8 } else { 0 };
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

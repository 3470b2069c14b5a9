//! A cheap structural pre-scan of DICOM Part 10 bytes.
//!
//! dicom-rs allocates (and zero-fills) whatever length an element header
//! declares before reading its value, so one flipped bit in a length field costs
//! up to 4 GB — an abort in the browser. This walk checks, without allocating,
//! that every declared length fits in the bytes that remain, before dicom-rs
//! sees the data. It follows the file meta group and the data set linearly
//! (descending into sequences and items), in Little or Big Endian, and inflates a
//! Deflated data set (bounded) to walk it too; where it cannot tell the structure
//! (undefined-length UN) it stops and leaves the verdict to the parser.

use crate::ImagingError;

const UNDEFINED: u32 = 0xFFFF_FFFF;

fn u16_at(b: &[u8], p: usize) -> u16 {
    u16::from_le_bytes([b[p], b[p + 1]])
}
fn u32_at(b: &[u8], p: usize) -> u32 {
    u32::from_le_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]])
}

/// Whether an explicit VR has the 12-byte header (reserved + 32-bit length).
/// Like dicom-rs, an unknown VR is read as UN, which is long.
fn long_vr(vr: &[u8]) -> bool {
    !matches!(
        vr,
        b"AE"
            | b"AS"
            | b"AT"
            | b"CS"
            | b"DA"
            | b"DS"
            | b"DT"
            | b"FL"
            | b"FD"
            | b"IS"
            | b"LO"
            | b"LT"
            | b"PN"
            | b"SH"
            | b"SL"
            | b"SS"
            | b"ST"
            | b"TM"
            | b"UI"
            | b"UL"
            | b"US"
    )
}

/// Bytes per value of a fixed-size binary VR (dicom-rs reads whole values only, so a length that
/// is not a multiple leaves it out of step with the stream).
fn value_size(vr: &[u8]) -> usize {
    match vr {
        b"US" | b"SS" | b"OW" => 2,
        b"UL" | b"SL" | b"FL" | b"AT" | b"OL" | b"OF" => 4,
        b"FD" | b"SV" | b"UV" | b"OD" | b"OV" => 8,
        _ => 1,
    }
}

/// The VR an Implicit VR data set gives `tag`, from the standard dictionary (as dicom-rs does).
fn implicit_vr(group: u16, elem: u16) -> [u8; 2] {
    use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
    let vr = dicom_dictionary_std::StandardDataDictionary.by_tag(dicom_core::Tag(group, elem)).map(|e| e.vr());
    match vr {
        Some(VirtualVr::Exact(vr)) => {
            let s = vr.to_string();
            let b = s.as_bytes();
            [b[0], b[1]]
        }
        _ => *b"UN",
    }
}

/// Where the top-level Pixel Data value sits in the file's bytes (offsets from byte 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PixelDataLocation {
    /// Native pixel data: one value.
    Native { offset: u64, len: u64 },
    /// Encapsulated pixel data: the fragments' values (item headers excluded), the basic offset
    /// table (the first item) excluded.
    Encapsulated { fragments: Vec<(u64, u64)> },
}

/// Check the declared element lengths of `bytes` (a Part 10 file with or without
/// preamble). With `header_only`, stop at Pixel Data.
pub(crate) fn check(bytes: &[u8], header_only: bool) -> Result<(), ImagingError> {
    walk(bytes, header_only).map(drop)
}

/// [`check`], also returning where the top-level Pixel Data is (the last one in the data set:
/// nested ones, as in an Icon Image Sequence, come earlier), when the walk could tell.
pub(crate) fn walk(bytes: &[u8], header_only: bool) -> Result<Option<PixelDataLocation>, ImagingError> {
    let start = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" { 132 } else { 4 };
    let b = bytes;
    // file meta group: always Explicit VR Little Endian
    let mut pos = start;
    let mut ts = String::new();
    // dicom-rs reads the meta group by its Group Length (0002,0000): whole elements, of whatever
    // group, until that many bytes are read. Where the data set starts must be where it does.
    let group_length = (pos + 16 <= b.len()
        && u16_at(b, pos) == 0x0002
        && u16_at(b, pos + 2) == 0x0000
        && &b[pos + 4..pos + 6] == b"UL"
        && u16_at(b, pos + 6) == 4)
        .then(|| u32_at(b, pos + 8));
    let mut meta_read: u32 = 0;
    if group_length.is_some() {
        pos += 12;
    }
    loop {
        let more = match group_length {
            Some(total) => meta_read < total,
            None => pos + 8 <= b.len() && u16_at(b, pos) == 0x0002,
        };
        if !more {
            break;
        }
        if pos + 8 > b.len() {
            return Err(ImagingError::NotDicom {
                detail: format!("the file meta group ends inside an element header at byte {pos}"),
            });
        }
        let (group, elem) = (u16_at(b, pos), u16_at(b, pos + 2));
        let vr = &b[pos + 4..pos + 6];
        let (len, hdr) = if group == 0xFFFE {
            (u32_at(b, pos + 4), 8)
        } else if long_vr(vr) {
            if pos + 12 > b.len() {
                return Err(ImagingError::NotDicom {
                    detail: format!("the file meta group ends inside an element header at byte {pos}"),
                });
            }
            (u32_at(b, pos + 8), 12)
        } else {
            (u32::from(u16_at(b, pos + 6)), 8)
        };
        let remaining = b.len() - pos - hdr;
        if len == UNDEFINED || len as usize > remaining {
            return Err(ImagingError::NotDicom {
                detail: format!(
                    "file meta element ({group:04X},{elem:04X}) declares {len} bytes but {remaining} remain"
                ),
            });
        }
        if (group, elem) == (0x0002, 0x0010) {
            let v = &b[pos + hdr..pos + hdr + len as usize];
            ts = String::from_utf8_lossy(v).trim_end_matches(['\0', ' ']).to_string();
        }
        pos += hdr + len as usize;
        meta_read = meta_read.saturating_add(hdr as u32).saturating_add(len);
    }
    match ts.as_str() {
        "1.2.840.10008.1.2" => walk_data_set(b, pos, Syntax { explicit: false, big: false }, header_only),
        "1.2.840.10008.1.2.2" => walk_data_set(b, pos, Syntax { explicit: true, big: true }, header_only),
        "1.2.840.10008.1.2.1.99" => {
            // Deflated: inflate (bounded) and check the lengths of what the parser will read; byte
            // offsets in the inflated stream mean nothing in the file, so no location is returned.
            use std::io::Read;
            let mut inflated = Vec::new();
            let limit = crate::decode::MAX_DECODED_BYTES * 2;
            let read =
                flate2::read::DeflateDecoder::new(&b[pos.min(b.len())..]).take(limit + 1).read_to_end(&mut inflated);
            match read {
                Err(e) => {
                    Err(ImagingError::Truncated { detail: format!("the deflated data set does not inflate: {e}") })
                }
                Ok(n) if n as u64 > limit => Err(ImagingError::TooLarge { bytes: n as u64, limit }),
                Ok(_) => walk_data_set(&inflated, 0, Syntax { explicit: true, big: false }, header_only).map(|_| None),
            }
        }
        _ => walk_data_set(b, pos, Syntax { explicit: true, big: false }, header_only),
    }
}

/// How the data set is encoded.
#[derive(Clone, Copy)]
struct Syntax {
    explicit: bool,
    big: bool,
}

/// The data set walk of [`walk`], from `pos` in `b`.
fn walk_data_set(
    b: &[u8],
    mut pos: usize,
    syntax: Syntax,
    header_only: bool,
) -> Result<Option<PixelDataLocation>, ImagingError> {
    // inside an undefined-length UN the content is Implicit VR Little Endian (PS3.5 6.2.2)
    let read16 = |b: &[u8], p: usize, big: bool| if big { u16::from_be_bytes([b[p], b[p + 1]]) } else { u16_at(b, p) };
    let read32 = |b: &[u8], p: usize, big: bool| {
        if big {
            u32::from_be_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]])
        } else {
            u32_at(b, p)
        }
    };
    let mut in_fragments = false;
    // whether the fragments being walked are the Pixel Data's (else another undefined-length OB/OW)
    let mut record_fragments = false;
    let mut found: Option<PixelDataLocation> = None;
    // Fragments of the current encapsulated Pixel Data, the basic offset table first.
    let mut items: Vec<(u64, u64)> = Vec::new();
    // Open sequences and items: where each defined-length one ends (None: ends at a delimiter),
    // and whether its content is Implicit VR Little Endian (inside an undefined-length UN).
    // Only top-level Pixel Data counts (an Icon Image Sequence holds its own).
    let mut open: Vec<(Option<usize>, bool)> = Vec::new();
    while pos < b.len() {
        while let Some(&(Some(end), _)) = open.last() {
            if pos < end {
                break;
            }
            open.pop();
        }
        let in_un = open.last().is_some_and(|c| c.1);
        // Everything inside a defined-length item or sequence must end where it does: dicom-rs
        // reads a header that crosses the end from the bytes beyond it (and allocates what they
        // declare), so a crossing element is refused here.
        let limit = open.iter().rev().find_map(|c| c.0).unwrap_or(b.len());
        let explicit = syntax.explicit && !in_un;
        let big = syntax.big && !in_un;
        let u16_at = |b: &[u8], p: usize| read16(b, p, big);
        let u32_at = |b: &[u8], p: usize| read32(b, p, big);
        if pos + 8 > limit {
            return Err(ImagingError::Truncated { detail: ends_inside_header(pos, limit, b.len()) });
        }
        let group = u16_at(b, pos);
        let elem = u16_at(b, pos + 2);
        if group == 0xFFFE {
            let len = u32_at(b, pos + 4);
            if matches!(elem, 0xE00D | 0xE0DD) && len != 0 {
                // the standard says 0; dicom-rs would read (and allocate) the declared length
                return Err(ImagingError::Truncated {
                    detail: format!("delimitation item (FFFE,{elem:04X}) at byte {pos} declares {len} bytes, not 0"),
                });
            }
            pos += 8;
            match elem {
                0xE000 if in_fragments => {
                    let remaining = limit - pos;
                    if len == UNDEFINED || len as usize > remaining {
                        return Err(ImagingError::Truncated {
                            detail: format!("pixel data fragment declares {len} bytes but {remaining} remain"),
                        });
                    }
                    items.push((pos as u64, u64::from(len)));
                    pos += len as usize;
                }
                0xE0DD if in_fragments => {
                    in_fragments = false;
                    let fragments = items.split_off(items.len().min(1));
                    if record_fragments {
                        found = Some(PixelDataLocation::Encapsulated { fragments });
                    }
                    items.clear();
                }
                0xE000 => {
                    // an item of a sequence: descend
                    let remaining = limit - pos;
                    if len != UNDEFINED && len as usize > remaining {
                        return Err(ImagingError::Truncated {
                            detail: format!("sequence item declares {len} bytes but {remaining} remain"),
                        });
                    }
                    open.push(((len != UNDEFINED).then(|| pos + len as usize), in_un));
                }
                // item or sequence delimiter: close the innermost undefined-length container
                0xE00D | 0xE0DD => {
                    if let Some((None, _)) = open.last() {
                        open.pop();
                    }
                }
                _ => {
                    // not an item tag: dicom-rs would read (and allocate) its declared length
                    return Err(ImagingError::Truncated {
                        detail: format!("(FFFE,{elem:04X}) at byte {} is not an item or delimiter tag", pos - 8),
                    });
                }
            }
            continue;
        }
        let is_pixel_data = group == 0x7FE0 && elem == 0x0010 && open.is_empty();
        let (len, hdr, is_sq) = if explicit {
            let vr = &b[pos + 4..pos + 6];
            if long_vr(vr) {
                if pos + 12 > limit {
                    return Err(ImagingError::Truncated { detail: ends_inside_header(pos, limit, b.len()) });
                }
                (u32_at(b, pos + 8), 12, vr == b"SQ")
            } else {
                (u32::from(u16_at(b, pos + 6)), 8, false)
            }
        } else {
            let len = u32_at(b, pos + 4);
            let nested_pixel_data = group == 0x7FE0 && elem == 0x0010;
            (len, 8, len == UNDEFINED && !nested_pixel_data)
        };
        if is_pixel_data && header_only {
            return Ok(None);
        }
        pos += hdr;
        if len == UNDEFINED {
            if group == 0x7FE0 && elem == 0x0010 {
                // encapsulated Pixel Data (a nested one, as in an icon, is not recorded)
                in_fragments = true;
                record_fragments = is_pixel_data;
                items.clear();
                continue;
            }
            // dicom-rs reads any other undefined-length OB/OW as a sequence of data sets
            if is_sq || explicit && matches!(&b[pos - hdr + 4..pos - hdr + 6], b"OB" | b"OW") {
                open.push((None, in_un));
                continue;
            }
            // undefined-length UN (or an unknown VR, which dicom-rs reads as UN): a sequence whose
            // items are Implicit VR Little Endian
            open.push((None, true));
            continue;
        }
        let remaining = limit - pos;
        if len as usize > remaining {
            let place = if limit < b.len() { " in its item" } else { "" };
            return Err(ImagingError::Truncated {
                detail: format!("element ({group:04X},{elem:04X}) declares {len} bytes but {remaining} remain{place}"),
            });
        }
        if is_sq {
            open.push((Some(pos + len as usize), in_un)); // defined-length sequence: walk into its items
            continue;
        }
        let vr: [u8; 2] = if explicit { [b[pos - hdr + 4], b[pos - hdr + 5]] } else { implicit_vr(group, elem) };
        let size = value_size(&vr);
        if !(len as usize).is_multiple_of(size) && !is_pixel_data {
            return Err(ImagingError::Truncated {
                detail: format!(
                    "element ({group:04X},{elem:04X}) {} is {len} bytes long, not a multiple of its {size}-byte values",
                    String::from_utf8_lossy(&vr)
                ),
            });
        }
        if is_pixel_data {
            found = Some(PixelDataLocation::Native { offset: pos as u64, len: u64::from(len) });
        }
        pos += len as usize;
    }
    Ok(found)
}

/// The message for an element header that does not fit before `limit` (the end of the enclosing
/// defined-length item, or of the data).
fn ends_inside_header(pos: usize, limit: usize, total: usize) -> String {
    if limit < total {
        format!("the element header at byte {pos} crosses the end of its item at byte {limit}")
    } else {
        format!("data set ends inside an element header at byte {pos}")
    }
}

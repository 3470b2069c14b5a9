//! Lookup tables of the pixel pipeline: Modality LUT, VOI LUT, Palette Color LUTs (plain and
//! segmented), read from the header and validated (PS3.3 C.11.1, C.11.2, C.7.6.3, C.7.9).

use dicom_core::value::Value as DicomValue;
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;

use crate::ImagingError;

/// A lookup table: `data[0]` is the output for the input `first_mapped`; inputs below map to the
/// first entry and inputs above to the last (PS3.3 C.11.1.1).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lut {
    /// The input value mapped to the first entry (LUT Descriptor value 2; signed when the pixel
    /// representation is signed).
    pub first_mapped: i32,
    /// Bits of each entry (LUT Descriptor value 3): 8 to 16.
    pub bits: u16,
    /// The entries.
    pub data: Vec<u16>,
}

impl Lut {
    /// The entry for `input` (clamped to the table's range).
    pub fn lookup(&self, input: i64) -> u16 {
        let last = self.data.len() as i64 - 1;
        let i = (input - i64::from(self.first_mapped)).clamp(0, last.max(0));
        self.data.get(i as usize).copied().unwrap_or(0)
    }

    /// Largest value an entry can hold (`2^bits − 1`).
    pub fn max_value(&self) -> u32 {
        (1u32 << self.bits) - 1
    }
}

/// The three Palette Color LUTs (Red, Green, Blue) of a PALETTE COLOR image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Palette {
    /// Red Palette Color LUT.
    pub red: Lut,
    /// Green Palette Color LUT.
    pub green: Lut,
    /// Blue Palette Color LUT.
    pub blue: Lut,
}

impl Palette {
    /// The colour of a stored index, each channel scaled to 8 bits.
    pub fn rgb8(&self, index: i64) -> [u8; 3] {
        let s = |l: &Lut| {
            let v = u32::from(l.lookup(index));
            // 16-bit palettes scale by their top byte; 8-bit ones are used as they are
            if l.bits > 8 {
                (v >> (l.bits - 8)) as u8
            } else {
                v as u8
            }
        };
        [s(&self.red), s(&self.green), s(&self.blue)]
    }
}

fn bad(name: &'static str, detail: impl Into<String>) -> ImagingError {
    ImagingError::InvalidAttribute { name, detail: detail.into() }
}

/// Raw little-endian 16-bit words of a binary attribute (US, SS, OW, OB).
fn words(obj: &InMemDicomObject, tag: Tag, name: &'static str) -> Result<Option<Vec<u16>>, ImagingError> {
    let Some(e) = obj.get(tag) else { return Ok(None) };
    let DicomValue::Primitive(p) = e.value() else { return Err(bad(name, "is not a primitive value")) };
    use dicom_core::PrimitiveValue as P;
    Ok(Some(match p {
        P::Empty => return Ok(None),
        P::U16(v) => v.to_vec(),
        P::I16(v) => v.iter().map(|&x| x as u16).collect(),
        P::U8(b) => {
            if b.len() % 2 != 0 {
                return Err(bad(name, format!("has an odd byte length {}", b.len())));
            }
            b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect()
        }
        other => {
            // some writers store LUT descriptors as strings; accept plain integers
            let ints = other.to_multi_int::<i64>().map_err(|e| bad(name, e.to_string()))?;
            ints.into_iter().map(|x| x as u16).collect()
        }
    }))
}

/// A LUT Descriptor: number of entries (0 means 65536), first mapped value, bits per entry.
fn descriptor(
    obj: &InMemDicomObject,
    tag: Tag,
    name: &'static str,
    signed_input: bool,
) -> Result<Option<(usize, i32, u16)>, ImagingError> {
    let Some(d) = words(obj, tag, name)? else { return Ok(None) };
    if d.len() != 3 {
        return Err(bad(name, format!("has {} values, 3 expected", d.len())));
    }
    let entries = if d[0] == 0 { 65536 } else { usize::from(d[0]) };
    let first = if signed_input { i32::from(d[1] as i16) } else { i32::from(d[1]) };
    let bits = d[2];
    if !(1..=16).contains(&bits) {
        return Err(bad(name, format!("says {bits} bits per entry (1 to 16 allowed)")));
    }
    Ok(Some((entries, first, bits)))
}

/// Entries of LUT Data given the descriptor: 16-bit words, or 8-bit entries packed two to a
/// word (some writers do this for 8-bit tables).
fn entries(raw: Vec<u16>, count: usize, bits: u16, name: &'static str) -> Result<Vec<u16>, ImagingError> {
    let mask = if bits >= 16 { u16::MAX } else { (1u16 << bits) - 1 };
    if raw.len() >= count {
        return Ok(raw.into_iter().take(count).map(|v| v & mask).collect());
    }
    if bits <= 8 && raw.len() * 2 >= count {
        return Ok(raw.iter().flat_map(|w| w.to_le_bytes()).take(count).map(u16::from).collect());
    }
    Err(bad(name, format!("holds {} words, the descriptor announces {count} entries", raw.len())))
}

/// A LUT from a sequence item holding LUT Descriptor (0028,3002) and LUT Data (0028,3006).
fn lut_item(item: &InMemDicomObject, signed_input: bool, name: &'static str) -> Result<Lut, ImagingError> {
    let (count, first_mapped, bits) =
        descriptor(item, tags::LUT_DESCRIPTOR, name, signed_input)?.ok_or(ImagingError::MissingAttribute { name })?;
    let raw = words(item, tags::LUT_DATA, name)?.ok_or(ImagingError::MissingAttribute { name })?;
    Ok(Lut { first_mapped, bits, data: entries(raw, count, bits, name)? })
}

fn items(obj: &InMemDicomObject, tag: Tag) -> Vec<&InMemDicomObject> {
    match obj.get(tag).map(|e| e.value()) {
        Some(DicomValue::Sequence(s)) => s.items().iter().collect(),
        _ => Vec::new(),
    }
}

/// The Modality LUT Sequence (0028,3000), first item.
pub(crate) fn modality_lut(obj: &InMemDicomObject, signed: bool) -> Result<Option<Lut>, ImagingError> {
    items(obj, tags::MODALITY_LUT_SEQUENCE)
        .first()
        .map(|item| lut_item(item, signed, "ModalityLUTSequence"))
        .transpose()
}

/// The VOI LUT Sequence (0028,3010), every item. The input of a VOI LUT is the modality value;
/// its first mapped value is signed when the modality output can be negative.
pub(crate) fn voi_luts(obj: &InMemDicomObject, signed_input: bool) -> Result<Vec<Lut>, ImagingError> {
    items(obj, tags::VOILUT_SEQUENCE).into_iter().map(|item| lut_item(item, signed_input, "VOILUTSequence")).collect()
}

/// The Palette Color LUTs, plain (0028,120x) or segmented (0028,122x).
pub(crate) fn palette(obj: &InMemDicomObject, signed: bool) -> Result<Palette, ImagingError> {
    let one = |desc: Tag, data: Tag, segmented: Tag, name: &'static str| -> Result<Lut, ImagingError> {
        let (count, first_mapped, bits) =
            descriptor(obj, desc, name, signed)?.ok_or(ImagingError::MissingAttribute { name })?;
        if bits != 8 && bits != 16 {
            return Err(bad(name, format!("says {bits} bits per entry (8 or 16 allowed)")));
        }
        let data = if let Some(raw) = words(obj, data, name)? {
            entries(raw, count, bits, name)?
        } else if let Some(seg) = words(obj, segmented, name)? {
            let seg = if bits == 8 { seg.iter().flat_map(|w| w.to_le_bytes()).map(u16::from).collect() } else { seg };
            expand_segmented(&seg, count).map_err(|d| bad(name, d))?
        } else {
            return Err(ImagingError::MissingAttribute { name });
        };
        Ok(Lut { first_mapped, bits, data })
    };
    Ok(Palette {
        red: one(
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            "RedPaletteColorLookupTable",
        )?,
        green: one(
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            "GreenPaletteColorLookupTable",
        )?,
        blue: one(
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            "BluePaletteColorLookupTable",
        )?,
    })
}

/// Expands Segmented Palette Color LUT Data (PS3.3 C.7.9.2): discrete (opcode 0), linear (1) and
/// indirect (2) segments, to `count` entries.
pub(crate) fn expand_segmented(seg: &[u16], count: usize) -> Result<Vec<u16>, String> {
    let mut out: Vec<u16> = Vec::with_capacity(count);
    // (start word of each segment) for indirect references
    let mut segment_starts: Vec<usize> = Vec::new();
    fn run(
        seg: &[u16],
        range: core::ops::Range<usize>,
        out: &mut Vec<u16>,
        count: usize,
        starts: &mut Vec<usize>,
        depth: u8,
    ) -> Result<(), String> {
        let mut i = range.start;
        while i < range.end {
            if out.len() > count {
                return Err(format!("segments expand to more than the {count} entries announced"));
            }
            if depth == 0 {
                starts.push(i);
            }
            let op = seg[i];
            let len = *seg.get(i + 1).ok_or("segment header cut off")? as usize;
            match op {
                0 => {
                    let vals = seg.get(i + 2..i + 2 + len).ok_or("discrete segment cut off")?;
                    out.extend_from_slice(vals);
                    i += 2 + len;
                }
                1 => {
                    let y1 = f64::from(*seg.get(i + 2).ok_or("linear segment cut off")?);
                    let y0 = f64::from(*out.last().ok_or("linear segment without a previous value")?);
                    for k in 1..=len {
                        let y = y0 + (y1 - y0) * k as f64 / len as f64;
                        out.push(y.round() as u16);
                    }
                    i += 3;
                }
                2 => {
                    if depth > 0 {
                        return Err("indirect segment inside an indirect segment".into());
                    }
                    let lo = *seg.get(i + 2).ok_or("indirect segment cut off")? as usize;
                    let hi = *seg.get(i + 3).ok_or("indirect segment cut off")? as usize;
                    let offset = lo | (hi << 16);
                    let start = *starts.get(offset).ok_or("indirect segment points past the segments")?;
                    // the referenced segments: `len` of them, starting at segment `offset`
                    let mut j = start;
                    for _ in 0..len {
                        let op = *seg.get(j).ok_or("indirect reference cut off")?;
                        let l = *seg.get(j + 1).ok_or("indirect reference cut off")? as usize;
                        let next = match op {
                            0 => j + 2 + l,
                            1 => j + 3,
                            _ => return Err("indirect segment refers to an indirect segment".into()),
                        };
                        if next > seg.len() {
                            return Err("indirect reference cut off".into());
                        }
                        run(seg, j..next, out, count, starts, depth + 1)?;
                        j = next;
                    }
                    i += 4;
                }
                other => return Err(format!("unknown segment opcode {other}")),
            }
        }
        Ok(())
    }
    run(seg, 0..seg.len(), &mut out, count, &mut segment_starts, 0)?;
    if out.len() != count {
        return Err(format!("segments expand to {} entries, the descriptor announces {count}", out.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_clamps_below_and_above() {
        let l = Lut { first_mapped: -2, bits: 16, data: vec![10, 20, 30] };
        assert_eq!([l.lookup(-5), l.lookup(-2), l.lookup(-1), l.lookup(0), l.lookup(99)], [10, 10, 20, 30, 30]);
    }

    #[test]
    fn segmented_discrete_linear_indirect() {
        // discrete [0, 10], linear to 40 over 3, indirect: repeat segment 0 once
        let seg = [0, 2, 0, 10, 1, 3, 40, 2, 1, 0, 0];
        assert_eq!(expand_segmented(&seg, 7).unwrap(), vec![0, 10, 20, 30, 40, 0, 10]);
        assert!(expand_segmented(&seg, 8).is_err());
        assert!(expand_segmented(&[1, 3, 40], 3).is_err(), "linear first has no start value");
        assert!(expand_segmented(&[7, 1, 0], 1).is_err());
        assert!(expand_segmented(&[0, 5, 1], 5).is_err());
    }

    #[test]
    fn eight_bit_entries_packed_two_per_word() {
        assert_eq!(entries(vec![0x0201, 0x0403], 4, 8, "x").unwrap(), vec![1, 2, 3, 4]);
        assert_eq!(entries(vec![1, 2, 3, 4], 4, 8, "x").unwrap(), vec![1, 2, 3, 4]);
        assert!(entries(vec![1], 4, 16, "x").is_err());
    }
}

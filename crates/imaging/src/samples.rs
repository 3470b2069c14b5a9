//! From pixel data bytes to stored values: native frames (every BitsAllocated, planar
//! configuration, YBR_FULL_422 subsampling), RLE Lossless frames, the masking and sign extension
//! of BitsStored / HighBit, and the YBR → RGB equations.

use crate::decode::Frame;
use crate::pixel_module::{PixelModule, SourcePhotometric};
use crate::ImagingError;

/// Pixel-interleaved copy of a planar frame (`spp` planes of `n` samples each).
fn interleave<T: Copy + Default>(planes: &[T], spp: usize) -> Vec<T> {
    let n = planes.len() / spp;
    let mut out = vec![T::default(); n * spp];
    for s in 0..spp {
        for (i, &v) in planes[s * n..(s + 1) * n].iter().enumerate() {
            out[i * spp + s] = v;
        }
    }
    out
}

/// Y Y Cb Cr per two pixels → Y Cb Cr per pixel.
fn expand_422(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 4 * 6);
    for q in data.chunks_exact(4) {
        out.extend_from_slice(&[q[0], q[2], q[3], q[1], q[2], q[3]]);
    }
    out
}

/// One frame of native pixel data (`data` is the whole Pixel Data value, little endian),
/// as stored values (see [`normalise`]).
pub(crate) fn native_frame(data: &[u8], pm: &PixelModule, index: u32) -> Result<Frame, ImagingError> {
    let frame_bits = pm.native_frame_bits();
    let start_bit = frame_bits * u64::from(index);
    let need = (start_bit + frame_bits).div_ceil(8);
    if (data.len() as u64) < need {
        return Err(ImagingError::PixelDataLength {
            expected: (frame_bits * u64::from(pm.frames)).div_ceil(8),
            actual: data.len() as u64,
        });
    }
    let spp = usize::from(pm.samples_per_pixel);
    let frame = match pm.bits_allocated {
        1 => {
            // frames are not byte-aligned: frame i starts at bit i × pixels, LSB first
            let n = pm.pixels() as usize;
            let start = start_bit as usize;
            Frame::U8((start..start + n).map(|b| (data[b / 8] >> (b % 8)) & 1).collect())
        }
        8 => {
            let bytes = &data[(start_bit / 8) as usize..need as usize];
            let v = if pm.photometric == SourcePhotometric::YbrFull422 {
                if !pm.columns.is_multiple_of(2) {
                    return Err(ImagingError::InvalidAttribute {
                        name: "Columns",
                        detail: format!("{} is odd but native YBR_FULL_422 pairs columns", pm.columns),
                    });
                }
                expand_422(bytes)
            } else if pm.planar {
                interleave(bytes, spp)
            } else {
                bytes.to_vec()
            };
            Frame::U8(v)
        }
        16 => {
            let bytes = &data[(start_bit / 8) as usize..need as usize];
            let v: Vec<u16> = bytes.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
            if pm.photometric == SourcePhotometric::YbrFull422 {
                return Err(ImagingError::UnsupportedImage { detail: "16-bit YBR_FULL_422".into() });
            }
            Frame::U16(if pm.planar { interleave(&v, spp) } else { v })
        }
        32 => {
            let bytes = &data[(start_bit / 8) as usize..need as usize];
            let v: Vec<u32> = bytes.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            if pm.photometric == SourcePhotometric::YbrFull422 {
                return Err(ImagingError::UnsupportedImage { detail: "32-bit YBR_FULL_422".into() });
            }
            Frame::U32(if pm.planar { interleave(&v, spp) } else { v })
        }
        other => return Err(ImagingError::UnsupportedImage { detail: format!("BitsAllocated {other}") }),
    };
    Ok(normalise(frame, pm, true))
}

/// Keeps the BitsStored bits of each sample and sign-extends them to the container when the image
/// is signed. With `use_high_bit`, the stored bits end at HighBit (native data); compressed data
/// always has them at the bottom.
pub(crate) fn normalise(frame: Frame, pm: &PixelModule, use_high_bit: bool) -> Frame {
    let ba = u32::from(pm.bits_allocated);
    let bs = u32::from(pm.bits_stored);
    let shift = if use_high_bit { u32::from(pm.high_bit) + 1 - bs } else { 0 };
    if bs == ba && shift == 0 || ba == 1 {
        return frame;
    }
    let mask: u32 = if bs >= 32 { u32::MAX } else { (1u32 << bs) - 1 };
    let sign: u32 = 1u32 << (bs - 1);
    let signed = pm.signed;
    let fix = move |raw: u32| -> u32 {
        let v = (raw >> shift) & mask;
        if signed && v & sign != 0 {
            v | !mask
        } else {
            v
        }
    };
    match frame {
        Frame::U8(mut v) => {
            v.iter_mut().for_each(|x| *x = fix(u32::from(*x)) as u8);
            Frame::U8(v)
        }
        Frame::U16(mut v) => {
            v.iter_mut().for_each(|x| *x = fix(u32::from(*x)) as u16);
            Frame::U16(v)
        }
        Frame::U32(mut v) => {
            v.iter_mut().for_each(|x| *x = fix(*x));
            Frame::U32(v)
        }
    }
}

/// The YBR_FULL equations of PS3.3 C.7.6.3.1.2, rounded to nearest and clamped.
pub(crate) fn ybr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let y = f32::from(y);
    let cb = f32::from(cb) - 128.0;
    let cr = f32::from(cr) - 128.0;
    let c = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    [c(y + 1.402 * cr), c(y - 0.344_136 * cb - 0.714_136 * cr), c(y + 1.772 * cb)]
}

/// Converts an 8-bit Y Cb Cr frame to RGB in place.
pub(crate) fn ybr_frame_to_rgb(frame: &mut Frame) -> Result<(), ImagingError> {
    match frame {
        Frame::U8(v) => {
            for px in v.chunks_exact_mut(3) {
                let rgb = ybr_to_rgb(px[0], px[1], px[2]);
                px.copy_from_slice(&rgb);
            }
            Ok(())
        }
        _ => Err(ImagingError::UnsupportedImage { detail: "YBR colour with more than 8 bits per sample".into() }),
    }
}

/// Decodes one RLE Lossless frame (PS3.5 Annex G) to interleaved samples.
///
/// Segment `s × bytes + b` holds byte `b` (most significant first) of sample `s` of every pixel.
pub(crate) fn rle_frame(frag: &[u8], pm: &PixelModule) -> Result<Frame, String> {
    let bytes = match pm.bits_allocated {
        8 => 1usize,
        16 => 2,
        32 => 4,
        other => return Err(format!("RLE with BitsAllocated {other}")),
    };
    let spp = usize::from(pm.samples_per_pixel);
    let n = pm.pixels() as usize;
    if frag.len() < 64 {
        return Err("the frame is shorter than its 64-byte RLE header".into());
    }
    let word = |i: usize| u32::from_le_bytes([frag[4 * i], frag[4 * i + 1], frag[4 * i + 2], frag[4 * i + 3]]) as usize;
    let segments = word(0);
    let needed = spp * bytes;
    if segments != needed {
        return Err(format!("the RLE header lists {segments} segments, {needed} expected"));
    }
    let mut offsets: Vec<usize> = (1..=segments).map(word).collect();
    offsets.push(frag.len());
    if offsets[0] != 64 || offsets.windows(2).any(|w| w[0] > w[1]) {
        return Err("the RLE segment offsets are out of order or out of the frame".into());
    }
    let mut out = vec![0u8; n * needed];
    let mut plane = vec![0u8; n];
    for s in 0..spp {
        for b in 0..bytes {
            let k = s * bytes + b;
            let got = unpack_bits(&frag[offsets[k]..offsets[k + 1]], &mut plane);
            if got < n {
                return Err(format!("RLE segment {k} decodes to {got} bytes, {n} expected"));
            }
            // little-endian container: the most significant byte (b = 0) goes last
            let byte_pos = bytes - 1 - b;
            for (i, &v) in plane.iter().enumerate() {
                out[(i * spp + s) * bytes + byte_pos] = v;
            }
        }
    }
    Ok(match bytes {
        1 => Frame::U8(out),
        2 => Frame::U16(out.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect()),
        _ => Frame::U32(out.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()),
    })
}

/// PackBits into `out`; returns how many bytes were produced (stops when `out` is full).
fn unpack_bits(seg: &[u8], out: &mut [u8]) -> usize {
    let (mut i, mut o) = (0usize, 0usize);
    while i < seg.len() && o < out.len() {
        let n = seg[i] as i8;
        i += 1;
        if n >= 0 {
            let count = (n as usize + 1).min(out.len() - o);
            let Some(src) = seg.get(i..i + count) else { break };
            out[o..o + count].copy_from_slice(src);
            i += n as usize + 1;
            o += count;
        } else if n != -128 {
            let Some(&v) = seg.get(i) else { break };
            i += 1;
            let count = (1 + n.unsigned_abs() as usize).min(out.len() - o);
            out[o..o + count].fill(v);
            o += count;
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(ba: u16, bs: u16, hb: u16, signed: bool, spp: u16, planar: bool) -> PixelModule {
        PixelModule {
            rows: 1,
            columns: 4,
            samples_per_pixel: spp,
            bits_allocated: ba,
            bits_stored: bs,
            high_bit: hb,
            signed,
            frames: 1,
            photometric: if spp == 3 { SourcePhotometric::Rgb } else { SourcePhotometric::Monochrome2 },
            planar,
        }
    }

    fn le(v: &[u16]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn twelve_bit_signed_is_masked_and_sign_extended() {
        let raw = le(&[0xF7FF, 0x0800, 0xAFFF, 0x0001]);
        let Frame::U16(out) = native_frame(&raw, &pm(16, 12, 11, true, 1, false), 0).unwrap() else { panic!() };
        let s: Vec<i16> = out.iter().map(|&v| v as i16).collect();
        assert_eq!(s, vec![2047, -2048, -1, 1]);
    }

    #[test]
    fn high_bit_above_stored_bits_shifts_down() {
        let raw = le(&[0x7FF0, 0x8000, 0xFFF0, 0x0010]);
        let Frame::U16(out) = native_frame(&raw, &pm(16, 12, 15, true, 1, false), 0).unwrap() else { panic!() };
        let s: Vec<i16> = out.iter().map(|&v| v as i16).collect();
        assert_eq!(s, vec![2047, -2048, -1, 1]);
    }

    #[test]
    fn one_bit_frames_are_not_byte_aligned() {
        // 2 frames of 1×4 pixels in one byte: 0b1001_0110 → frame 0 = 0,1,1,0; frame 1 = 1,0,0,1
        let mut p = pm(1, 1, 0, false, 1, false);
        p.frames = 2;
        let data = [0b1001_0110u8];
        assert_eq!(native_frame(&data, &p, 0).unwrap(), Frame::U8(vec![0, 1, 1, 0]));
        assert_eq!(native_frame(&data, &p, 1).unwrap(), Frame::U8(vec![1, 0, 0, 1]));
        p.frames = 3;
        assert!(matches!(native_frame(&data, &p, 2), Err(ImagingError::PixelDataLength { .. })));
    }

    #[test]
    fn thirty_two_bit_signed() {
        let raw: Vec<u8> = [-5i32, 7, i32::MIN, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let Frame::U32(v) = native_frame(&raw, &pm(32, 32, 31, true, 1, false), 0).unwrap() else { panic!() };
        assert_eq!(v.iter().map(|&x| x as i32).collect::<Vec<_>>(), vec![-5, 7, i32::MIN, 0]);
    }

    #[test]
    fn planar_and_422() {
        let mut p = pm(8, 8, 7, false, 3, true);
        p.columns = 2;
        assert_eq!(native_frame(&[1, 2, 3, 4, 5, 6], &p, 0).unwrap(), Frame::U8(vec![1, 3, 5, 2, 4, 6]));
        p.planar = false;
        p.photometric = SourcePhotometric::YbrFull422;
        assert_eq!(native_frame(&[10, 20, 1, 2], &p, 0).unwrap(), Frame::U8(vec![10, 1, 2, 20, 1, 2]));
        assert_eq!(ybr_to_rgb(255, 128, 128), [255, 255, 255]);
    }

    #[test]
    fn rle_sixteen_bit_rgb_segments_msb_first() {
        let mut p = pm(16, 16, 15, false, 3, false);
        p.columns = 1;
        // one pixel: R = 0x0102, G = 0x0304, B = 0x0506; six literal segments of one byte
        let mut frag = vec![0u8; 64];
        frag[0] = 6;
        for k in 0..6 {
            let off = 64 + 2 * k as u32;
            frag[4 + 4 * k..8 + 4 * k].copy_from_slice(&off.to_le_bytes());
        }
        for b in 1..=6u8 {
            frag.extend_from_slice(&[0, b]);
        }
        assert_eq!(rle_frame(&frag, &p).unwrap(), Frame::U16(vec![0x0102, 0x0304, 0x0506]));
        frag[0] = 5;
        assert!(rle_frame(&frag, &p).is_err());
    }

    #[test]
    fn packbits_runs_and_literals() {
        let mut out = [0u8; 6];
        assert_eq!(unpack_bits(&[0xFE, 7, 0x80, 1, 1, 2], &mut out), 5);
        assert_eq!(&out[..5], &[7, 7, 7, 1, 2]);
        // a run longer than the room left is cut, not an overflow
        let mut small = [0u8; 2];
        assert_eq!(unpack_bits(&[0xF0, 9], &mut small), 2);
    }
}

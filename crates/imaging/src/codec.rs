//! Encapsulated pixel data: which fragments make up each frame (PS3.5 A.4), and the codec of
//! each transfer syntax.

use std::borrow::Cow;

use crate::decode::Frame;
use crate::pixel_module::{PixelModule, SourcePhotometric};
use crate::samples;

/// The compression of an encapsulated transfer syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    Rle,
    /// JPEG baseline, extended (8/12-bit) and lossless (process 14).
    Jpeg,
    JpegLs,
    Jpeg2000,
    /// JPEG XL lossless (.110), JPEG recompression (.111) and lossy (.112).
    JpegXl,
}

impl Codec {
    /// The codec of an encapsulated transfer syntax, or `None` if this build has none.
    pub(crate) fn of(ts: &str) -> Option<Self> {
        Some(match ts {
            "1.2.840.10008.1.2.5" => Codec::Rle,
            "1.2.840.10008.1.2.4.50"
            | "1.2.840.10008.1.2.4.51"
            | "1.2.840.10008.1.2.4.57"
            | "1.2.840.10008.1.2.4.70" => Codec::Jpeg,
            "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81" => Codec::JpegLs,
            "1.2.840.10008.1.2.4.90"
            | "1.2.840.10008.1.2.4.91"
            | "1.2.840.10008.1.2.4.201"
            | "1.2.840.10008.1.2.4.202"
            | "1.2.840.10008.1.2.4.203" => Codec::Jpeg2000,
            "1.2.840.10008.1.2.4.110" | "1.2.840.10008.1.2.4.111" | "1.2.840.10008.1.2.4.112" => Codec::JpegXl,
            _ => return None,
        })
    }

    /// The bytes a codestream of this codec starts with, to tell frames apart when a frame spans
    /// several fragments and there is no offset table.
    fn start_marker(self) -> Option<&'static [u8]> {
        match self {
            Codec::Jpeg | Codec::JpegLs => Some(&[0xFF, 0xD8]),
            Codec::Jpeg2000 => Some(&[0xFF, 0x4F, 0xFF, 0x51]),
            Codec::Rle => None,
            // a bare codestream; a container starts with JXL_CONTAINER instead (`starts_codestream`)
            Codec::JpegXl => Some(&[0xFF, 0x0A]),
        }
    }

    /// Whether a fragment begins a codestream of this codec: its start marker, or for JPEG XL
    /// also the signature box of the container (ISO/IEC 18181-2).
    fn starts_codestream(self, fragment: &[u8], marker: &[u8]) -> bool {
        fragment.starts_with(marker) || (self == Codec::JpegXl && fragment.starts_with(&JXL_CONTAINER))
    }

    /// Decodes one frame's codestream to interleaved samples at the container width of
    /// BitsAllocated. Returns the samples and whether they are still Y Cb Cr (to be converted
    /// by the caller) rather than RGB or gray.
    pub(crate) fn decode_frame(self, data: &[u8], pm: &PixelModule) -> Result<(Frame, bool), String> {
        match self {
            Codec::Rle => Ok((samples::rle_frame(data, pm)?, pm.photometric.is_ybr())),
            Codec::Jpeg => jpeg(data, pm),
            Codec::JpegLs => jpeg_ls(data, pm),
            Codec::Jpeg2000 => jpeg_2000(data, pm),
            Codec::JpegXl => jpeg_xl(data, pm),
        }
    }
}

/// Codec output (gray or interleaved samples) into the container of BitsAllocated.
fn widen_u8(v: Vec<u8>, pm: &PixelModule) -> Result<Frame, String> {
    Ok(match pm.bits_allocated {
        8 => Frame::U8(v),
        16 => Frame::U16(v.into_iter().map(u16::from).collect()),
        32 => Frame::U32(v.into_iter().map(u32::from).collect()),
        ba => return Err(format!("8-bit codestream for BitsAllocated {ba}")),
    })
}

fn widen_u16(v: Vec<u16>, pm: &PixelModule) -> Result<Frame, String> {
    Ok(match pm.bits_allocated {
        16 => Frame::U16(v),
        32 => Frame::U32(v.into_iter().map(u32::from).collect()),
        ba => return Err(format!("codestream with more than 8 bits per sample for BitsAllocated {ba}")),
    })
}

fn jpeg(data: &[u8], pm: &PixelModule) -> Result<(Frame, bool), String> {
    let h = obscura_jpeg::read_header(data).map_err(|e| e.to_string())?;
    check_geometry("JPEG", h.width, h.height, h.components, pm)?;
    // Photometric Interpretation decides the colour transform, not the JFIF / Adobe markers; like
    // DCMTK, lossless data is never colour-converted by the codec
    let lossless = matches!(h.process, obscura_jpeg::Process::Lossless { .. });
    let ybr = matches!(pm.photometric, SourcePhotometric::YbrFull | SourcePhotometric::YbrFull422);
    let convert = ybr && !lossless && h.components == 3;
    let opts = obscura_jpeg::DecodeOptions {
        color_transform: if convert {
            obscura_jpeg::ColorTransform::YCbCrToRgb
        } else {
            obscura_jpeg::ColorTransform::None
        },
        max_pixels: pm.pixels(),
    };
    let image = obscura_jpeg::decode(data, &opts).map_err(|e| e.to_string())?;
    let frame = match image.samples {
        obscura_jpeg::Samples::U8(v) => widen_u8(v, pm)?,
        obscura_jpeg::Samples::U16(v) => widen_u16(v, pm)?,
    };
    Ok((frame, pm.photometric.is_ybr() && !convert))
}

/// Checks a codestream's frame header against the DICOM header before anything is decoded.
fn check_geometry(codec: &str, width: u32, height: u32, components: u8, pm: &PixelModule) -> Result<(), String> {
    if width != pm.columns || height != pm.rows {
        return Err(format!(
            "the {codec} frame is {width}×{height} but the DICOM header says {}×{}",
            pm.columns, pm.rows
        ));
    }
    if u16::from(components) != pm.samples_per_pixel {
        return Err(format!(
            "the {codec} frame has {components} components but SamplesPerPixel is {}",
            pm.samples_per_pixel
        ));
    }
    Ok(())
}

fn jpeg_ls(data: &[u8], pm: &PixelModule) -> Result<(Frame, bool), String> {
    let h = obscura_jpegls::read_header(data).map_err(|e| e.to_string())?;
    check_geometry("JPEG-LS", h.width, h.height, h.components, pm)?;
    let opts = obscura_jpegls::DecodeOptions { max_pixels: pm.pixels() };
    let image = obscura_jpegls::decode(data, &opts).map_err(|e| e.to_string())?;
    let frame = match image.samples {
        obscura_jpegls::Samples::U8(v) => widen_u8(v, pm)?,
        obscura_jpegls::Samples::U16(v) => widen_u16(v, pm)?,
    };
    // JPEG-LS has no colour transform of its own (the HP ones are refused): YBR stays YBR
    Ok((frame, pm.photometric.is_ybr()))
}

/// The signature box that starts a JPEG XL container (a bare codestream starts `FF 0A`).
const JXL_CONTAINER: [u8; 12] = [0, 0, 0, 0x0C, b'J', b'X', b'L', b' ', 0x0D, 0x0A, 0x87, 0x0A];

/// JPEG XL (ISO/IEC 18181) with jxl-oxide: one image (one keyframe) per DICOM frame, bare codestream
/// or container.
///
/// Samples: jxl-oxide renders to `f32` in [0, 1]; for an integer image of `b` ≤ 16 bits the
/// sample `v` becomes `fl(v / (2^b − 1))` (relative error ≤ 2⁻²⁴), and `round(f · (2^b − 1))`
/// (the product taken in `f64`, exact) is off by at most (2^b − 1) · 2⁻²⁴ < 0.004 before rounding:
/// lossless images come back exactly. Lossy (XYB / VarDCT) output is rounded the same way.
///
/// Colour: JPEG XL has no YBR; whatever colour transform the codestream uses (XYB, the YCbCr of
/// a recompressed JPEG) the decoder undoes, so the output is RGB or grey and is never YBR, even
/// if the DICOM header says YBR_FULL(_422) (PS3.5 8.2.15 allows only RGB and MONOCHROME for these
/// transfer syntaxes; a header carried over from the original JPEG still gets the right colours).
///
/// Signed images: JPEG XL samples are unsigned; a signed image is carried as the two's complement
/// bit pattern of its stored values (as dicom-rs's encoder writes it), which the caller
/// sign-extends from BitsStored like any other stored value.
fn jpeg_xl(data: &[u8], pm: &PixelModule) -> Result<(Frame, bool), String> {
    use jxl_oxide::{image::BitDepth, InitializeResult, JxlImage, PixelFormat};
    let jxl = |e: Box<dyn std::error::Error + Send + Sync>| format!("JPEG XL: {e}");
    // jxl-oxide's own buffers (modular i32 channels, f32 render, group buffers) stay within a
    // few times the decoded frame: the DICOM header bounds what a codestream can make us allocate
    let limit = usize::try_from(pm.frame_samples().saturating_mul(64)).unwrap_or(usize::MAX).max(1 << 20);
    let mut uninit = JxlImage::builder().alloc_tracker(jxl_oxide::AllocTracker::with_limit(limit)).build_uninit();
    // the image header first (growing prefixes), checked before any frame is loaded
    let (mut pos, mut end) = (0usize, 0usize);
    let mut image = loop {
        end = end.saturating_add(4096).min(data.len());
        pos += uninit.feed_bytes(&data[pos..end]).map_err(jxl)?;
        match uninit.try_init().map_err(jxl)? {
            InitializeResult::Initialized(image) => break image,
            InitializeResult::NeedMoreData(_) if end == data.len() => {
                return Err("the JPEG XL data ends inside its image header".into());
            }
            InitializeResult::NeedMoreData(u) => uninit = u,
        }
    };
    let header = image.image_header();
    let components = match image.pixel_format() {
        PixelFormat::Gray | PixelFormat::Graya => 1,
        PixelFormat::Rgb | PixelFormat::Rgba => 3,
        f => return Err(format!("the JPEG XL image is {f:?}: DICOM has no CMYK")),
    };
    check_geometry("JPEG XL", header.width_with_orientation(), header.height_with_orientation(), components, pm)?;
    let bits = match header.metadata.bit_depth {
        BitDepth::IntegerSample { bits_per_sample } if bits_per_sample <= 16 => bits_per_sample,
        BitDepth::IntegerSample { bits_per_sample } => {
            return Err(format!("the JPEG XL image has {bits_per_sample}-bit samples (at most 16 are supported)"));
        }
        BitDepth::FloatSample { bits_per_sample, .. } => {
            return Err(format!("the JPEG XL image has {bits_per_sample}-bit floating-point samples"));
        }
    };
    if bits > u32::from(pm.bits_allocated) {
        return Err(format!("the JPEG XL image has {bits}-bit samples but BitsAllocated is {}", pm.bits_allocated));
    }
    // the frames
    if pos < data.len() {
        image.feed_bytes(&data[pos..]).map_err(jxl)?;
    }
    image.finalize().map_err(jxl)?;
    if !image.is_loading_done() {
        return Err("the JPEG XL codestream is truncated".into());
    }
    match image.num_loaded_keyframes() {
        1 => {}
        n => return Err(format!("the JPEG XL image has {n} frames: a DICOM frame is one image")),
    }
    let render = image.render_frame(0).map_err(jxl)?;
    let mut stream = render.stream_no_alpha();
    let mut buf = vec![0f32; pm.frame_samples() as usize];
    if stream.channels() != u32::from(pm.samples_per_pixel) || stream.write_to_buffer(&mut buf) != buf.len() {
        return Err(format!(
            "the JPEG XL image renders to {}×{}×{} samples, the DICOM header says {}×{}×{}",
            stream.width(),
            stream.height(),
            stream.channels(),
            pm.columns,
            pm.rows,
            pm.samples_per_pixel
        ));
    }
    let max = f64::from((1u32 << bits) - 1);
    let to_int = |f: f32| (f64::from(f) * max).round().clamp(0.0, max);
    let frame = if bits <= 8 {
        widen_u8(buf.into_iter().map(|f| to_int(f) as u8).collect(), pm)?
    } else {
        widen_u16(buf.into_iter().map(|f| to_int(f) as u16).collect(), pm)?
    };
    Ok((frame, false))
}

fn jpeg_2000(data: &[u8], pm: &PixelModule) -> Result<(Frame, bool), String> {
    let h = obscura_jpeg2000::read_header(data).map_err(|e| e.to_string())?;
    check_geometry("JPEG 2000", h.width, h.height, h.components, pm)?;
    let opts = obscura_jpeg2000::DecodeOptions { max_pixels: pm.pixels(), expected: None };
    let image = obscura_jpeg2000::decode(data, &opts).map_err(|e| e.to_string())?;
    let frame = match image.samples {
        obscura_jpeg2000::Samples::U8(v) => widen_u8(v, pm)?,
        obscura_jpeg2000::Samples::U16(v) => widen_u16(v, pm)?,
    };
    // with a colour transform in the codestream the decoder returns RGB (YBR_RCT / YBR_ICT);
    // YBR_FULL without one is converted by the caller
    Ok((frame, pm.photometric.is_ybr() && !image.header.mct))
}

/// The codestream of each frame: from the extended offset table, the basic offset table, one
/// fragment per frame, all fragments for a single frame, or by codestream start markers.
pub(crate) fn frame_codestreams<'a>(
    codec: Codec,
    basic_offsets: &[u32],
    extended_offsets: Option<&[u64]>,
    fragments: &'a [Vec<u8>],
    frames: u32,
) -> Result<Vec<Cow<'a, [u8]>>, String> {
    let frames = frames as usize;
    if fragments.is_empty() {
        return Err("the pixel data has no fragments".into());
    }
    let join = |range: core::ops::Range<usize>| -> Cow<'a, [u8]> {
        if range.len() == 1 {
            Cow::Borrowed(&fragments[range.start][..])
        } else {
            Cow::Owned(fragments[range].concat())
        }
    };
    // offsets (from the first fragment's item tag) → fragment indices
    let by_offsets = |offsets: &[u64]| -> Result<Vec<Cow<'a, [u8]>>, String> {
        let mut starts = Vec::with_capacity(fragments.len());
        let mut pos = 0u64;
        for f in fragments {
            starts.push(pos);
            pos += 8 + f.len() as u64;
        }
        let mut idx = Vec::with_capacity(offsets.len());
        for &o in offsets {
            let i = starts.binary_search(&o).map_err(|_| format!("offset table entry {o} is not at a fragment"))?;
            idx.push(i);
        }
        idx.push(fragments.len());
        if idx.windows(2).any(|w| w[0] >= w[1]) {
            return Err("the offset table is not increasing".into());
        }
        Ok(idx.windows(2).map(|w| join(w[0]..w[1])).collect())
    };
    if let Some(ext) = extended_offsets.filter(|e| e.len() == frames) {
        return by_offsets(ext);
    }
    if basic_offsets.len() == frames && frames > 0 && (frames > 1 || fragments.len() > 1) {
        let offsets: Vec<u64> = basic_offsets.iter().map(|&o| u64::from(o)).collect();
        return by_offsets(&offsets);
    }
    if frames == 1 {
        return Ok(vec![join(0..fragments.len())]);
    }
    if fragments.len() == frames {
        return Ok((0..frames).map(|i| join(i..i + 1)).collect());
    }
    if let Some(marker) = codec.start_marker() {
        let starts: Vec<usize> =
            (0..fragments.len()).filter(|&i| codec.starts_codestream(&fragments[i], marker)).collect();
        if starts.len() == frames && starts.first() == Some(&0) {
            let mut bounds = starts.clone();
            bounds.push(fragments.len());
            return Ok(bounds.windows(2).map(|w| join(w[0]..w[1])).collect());
        }
    }
    Err(format!(
        "{} fragments for {frames} frames and no usable offset table: cannot tell which fragments make each frame",
        fragments.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_from_offsets_markers_and_counts() {
        let soi = |b: u8| vec![0xFF, 0xD8, b, b];
        let tail = |b: u8| vec![b, b];
        let frags = vec![soi(1), tail(2), soi(3), tail(4)];
        // basic offset table: item headers are 8 bytes
        let got = frame_codestreams(Codec::Jpeg, &[0, 8 + 4 + 8 + 2], None, &frags, 2).unwrap();
        assert_eq!(got[0].as_ref(), &[0xFF, 0xD8, 1, 1, 2, 2]);
        assert_eq!(got[1].as_ref(), &[0xFF, 0xD8, 3, 3, 4, 4]);
        // no offset table: start markers
        let got = frame_codestreams(Codec::Jpeg, &[], None, &frags, 2).unwrap();
        assert_eq!(got[1].as_ref(), &[0xFF, 0xD8, 3, 3, 4, 4]);
        // one frame: everything
        assert_eq!(frame_codestreams(Codec::Jpeg, &[], None, &frags, 1).unwrap()[0].len(), 12);
        // a bad offset table is an error, not a guess
        assert!(frame_codestreams(Codec::Jpeg, &[0, 5], None, &frags, 2).is_err());
        assert!(frame_codestreams(Codec::Rle, &[], None, &frags, 3).is_err());
    }

    #[test]
    fn jpeg_xl_frames_start_with_a_codestream_or_a_container() {
        for ts in ["1.2.840.10008.1.2.4.110", "1.2.840.10008.1.2.4.111", "1.2.840.10008.1.2.4.112"] {
            assert_eq!(Codec::of(ts), Some(Codec::JpegXl));
        }
        let mut container = JXL_CONTAINER.to_vec();
        container.extend([3, 3]);
        let frags = vec![vec![0xFF, 0x0A, 1, 1], vec![2, 2], container, vec![4, 4]];
        let got = frame_codestreams(Codec::JpegXl, &[], None, &frags, 2).unwrap();
        assert_eq!(got[0].as_ref(), &[0xFF, 0x0A, 1, 1, 2, 2]);
        assert_eq!(got[1].len(), 12 + 2 + 2);
        assert!(got[1].starts_with(&JXL_CONTAINER));
    }
}

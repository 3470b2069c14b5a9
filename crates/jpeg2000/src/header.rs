//! Our own parser of the JP2 box wrapper and the codestream main header (SOC, SIZ, COD, COC,
//! CAP, … up to the first SOT), and the limits every stream must pass before an inner decoder
//! sees it.

use crate::{FrameHeader, J2kError};

/// Most tiles a codestream may have (`Isot` is 16 bits: ISO/IEC 15444-1 A.4.2).
pub(crate) const MAX_TILES: u64 = 65_535;
/// Most components we decode (DICOM: 1 or 3; 4 leaves room for RGBA / CMYK-like streams).
pub(crate) const MAX_COMPONENTS: u16 = 4;
/// Most decomposition levels (A.6.1).
const MAX_LEVELS: u8 = 32;
/// Most quality layers we accept: more are legal but only serve to make a decoder walk
/// empty packets (a stall), and no DICOM encoder writes them.
pub(crate) const MAX_LAYERS: u16 = 1024;

/// What the main header says, beyond the public [`FrameHeader`].
#[derive(Debug, Clone)]
pub(crate) struct MainHeader {
    pub frame: FrameHeader,
    /// Where the codestream (SOC) starts in the caller's data (0 for a raw codestream).
    pub codestream_start: usize,
    /// Where the codestream ends (end of the `jp2c` box, or of the data).
    pub codestream_end: usize,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self, what: &'static str) -> Result<u8, J2kError> {
        let b = *self.data.get(self.pos).ok_or(J2kError::Truncated(what))?;
        self.pos += 1;
        Ok(b)
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, J2kError> {
        Ok(u16::from(self.u8(what)?) << 8 | u16::from(self.u8(what)?))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, J2kError> {
        Ok(u32::from(self.u16(what)?) << 16 | u32::from(self.u16(what)?))
    }
    fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], J2kError> {
        let end = self.pos.checked_add(n).ok_or(J2kError::Truncated(what))?;
        let s = self.data.get(self.pos..end).ok_or(J2kError::Truncated(what))?;
        self.pos = end;
        Ok(s)
    }
}

const JP2_SIGNATURE: &[u8] = b"\x00\x00\x00\x0c\x6a\x50\x20\x20\x0d\x0a\x87\x0a";
const SOC_SIZ: &[u8] = b"\xff\x4f\xff\x51";

/// Finds the codestream: the data itself, or the first `jp2c` box of a JP2 file.
fn locate_codestream(data: &[u8]) -> Result<(usize, usize), J2kError> {
    if data.starts_with(SOC_SIZ) {
        return Ok((0, data.len()));
    }
    if !data.starts_with(JP2_SIGNATURE) {
        return Err(if data.len() < 4 { J2kError::Truncated("before the SIZ marker") } else { J2kError::NotJpeg2000 });
    }
    let mut r = Reader { data, pos: 0 };
    while r.pos < data.len() {
        let start = r.pos;
        let lbox = r.u32("JP2 box header")?;
        let tbox = r.bytes(4, "JP2 box header")?;
        let (header_len, box_len) = match lbox {
            0 => (8, (data.len() - start) as u64),
            1 => {
                let hi = u64::from(r.u32("JP2 box header")?);
                let lo = u64::from(r.u32("JP2 box header")?);
                (16, hi << 32 | lo)
            }
            2..=7 => return Err(J2kError::BadMarker { marker: "JP2 box", reason: "length below 8" }),
            n => (8, u64::from(n)),
        };
        if box_len < header_len {
            return Err(J2kError::BadMarker { marker: "JP2 box", reason: "length below its header" });
        }
        let end = (start as u64)
            .checked_add(box_len)
            .filter(|&e| e <= data.len() as u64)
            .ok_or(J2kError::Truncated("inside a JP2 box"))? as usize;
        if tbox == b"jp2c" {
            return Ok((start + header_len as usize, end));
        }
        r.pos = end;
    }
    Err(J2kError::NoCodestreamBox)
}

fn bad(marker: &'static str, reason: &'static str) -> J2kError {
    J2kError::BadMarker { marker, reason }
}

/// Parses and validates the main header. Checks only what the codestream says about itself;
/// the caller's limits are applied by [`check_limits`].
pub(crate) fn parse(data: &[u8]) -> Result<MainHeader, J2kError> {
    let (cs_start, cs_end) = locate_codestream(data)?;
    let cs = &data[cs_start..cs_end];
    if !cs.starts_with(SOC_SIZ) {
        return Err(if cs.len() < 4 { J2kError::Truncated("before the SIZ marker") } else { J2kError::NotJpeg2000 });
    }
    let mut r = Reader { data: cs, pos: 4 };

    // SIZ (A.5.1)
    let lsiz = r.u16("SIZ")?;
    let rsiz = r.u16("SIZ")?;
    let xsiz = r.u32("SIZ")?;
    let ysiz = r.u32("SIZ")?;
    let xosiz = r.u32("SIZ")?;
    let yosiz = r.u32("SIZ")?;
    let xtsiz = r.u32("SIZ")?;
    let ytsiz = r.u32("SIZ")?;
    let xtosiz = r.u32("SIZ")?;
    let ytosiz = r.u32("SIZ")?;
    let csiz = r.u16("SIZ")?;
    if csiz == 0 {
        return Err(bad("SIZ", "zero components"));
    }
    if u32::from(lsiz) != 38 + 3 * u32::from(csiz) {
        return Err(bad("SIZ", "length does not match the component count"));
    }
    if csiz > MAX_COMPONENTS {
        return Err(J2kError::Unsupported("more than 4 components"));
    }
    if xsiz <= xosiz || ysiz <= yosiz {
        return Err(bad("SIZ", "empty image area"));
    }
    if xtsiz == 0 || ytsiz == 0 {
        return Err(bad("SIZ", "zero tile size"));
    }
    if xtosiz > xosiz || ytosiz > yosiz {
        return Err(bad("SIZ", "tile grid starts after the image"));
    }
    if u64::from(xtosiz) + u64::from(xtsiz) <= u64::from(xosiz)
        || u64::from(ytosiz) + u64::from(ytsiz) <= u64::from(yosiz)
    {
        return Err(bad("SIZ", "first tile lies outside the image"));
    }
    let tiles_x = (u64::from(xsiz - xtosiz)).div_ceil(u64::from(xtsiz));
    let tiles_y = (u64::from(ysiz - ytosiz)).div_ceil(u64::from(ytsiz));
    if tiles_x * tiles_y > MAX_TILES {
        return Err(bad("SIZ", "more than 65535 tiles"));
    }
    let mut precision = 0u8;
    let mut signed = false;
    for c in 0..csiz {
        let ssiz = r.u8("SIZ")?;
        let dx = r.u8("SIZ")?;
        let dy = r.u8("SIZ")?;
        let p = (ssiz & 0x7f) + 1;
        let s = ssiz & 0x80 != 0;
        if p > 38 {
            return Err(bad("SIZ", "precision above 38 bits"));
        }
        if dx == 0 || dy == 0 {
            return Err(bad("SIZ", "zero sub-sampling factor"));
        }
        if dx != 1 || dy != 1 {
            return Err(J2kError::Unsupported("sub-sampled components"));
        }
        if c == 0 {
            precision = p;
            signed = s;
        } else if p != precision || s != signed {
            return Err(J2kError::Unsupported("components of different precision or signedness"));
        }
    }
    if precision > 16 {
        return Err(J2kError::Unsupported("precision above 16 bits"));
    }

    // The rest of the main header, up to the first SOT.
    let mut cod: Option<(u8, u8, u16, u8, u8, u8)> = None; // scod, progression, layers, mct, cblk style, transform
    let mut cap = false;
    let mut qcd = false;
    loop {
        let marker = r.u16("main header")?;
        match marker {
            0xff90 => break, // SOT
            0xff93 | 0xffd9 => return Err(bad("main header", "SOD or EOC before any tile")),
            m if m & 0xff00 != 0xff00 || m < 0xff30 => {
                return Err(bad("main header", "expected a marker"));
            }
            0xff30..=0xff3f => continue, // reserved markers without a segment
            _ => {}
        }
        let len = r.u16("main header marker segment")?;
        if len < 2 {
            return Err(bad("main header", "marker segment length below 2"));
        }
        let body = r.bytes(usize::from(len) - 2, "main header marker segment")?;
        let mut b = Reader { data: body, pos: 0 };
        match marker {
            0xff52 => {
                // COD (A.6.1)
                if cod.is_some() {
                    return Err(bad("COD", "repeated in the main header"));
                }
                let scod = b.u8("COD")?;
                let prog = b.u8("COD")?;
                let layers = b.u16("COD")?;
                let mct = b.u8("COD")?;
                let levels = b.u8("COD")?;
                let xcb = b.u8("COD")?;
                let ycb = b.u8("COD")?;
                let style = b.u8("COD")?;
                let transform = b.u8("COD")?;
                if prog > 4 {
                    return Err(bad("COD", "unknown progression order"));
                }
                if layers == 0 {
                    return Err(bad("COD", "zero layers"));
                }
                if layers > MAX_LAYERS {
                    return Err(J2kError::Unsupported("more than 1024 quality layers"));
                }
                if mct > 1 {
                    return Err(J2kError::Unsupported("Part 2 multiple component transform"));
                }
                check_spcod("COD", levels, xcb, ycb, transform)?;
                if style & 0x80 != 0 {
                    return Err(J2kError::Unsupported("mixed HT and Part 1 code-blocks"));
                }
                check_precincts("COD", scod & 1 != 0, levels, &mut b)?;
                cod = Some((scod, prog, layers, mct, style, transform));
            }
            0xff53 => {
                // COC (A.6.2)
                let _comp = if csiz < 257 { u16::from(b.u8("COC")?) } else { b.u16("COC")? };
                let scoc = b.u8("COC")?;
                let levels = b.u8("COC")?;
                let xcb = b.u8("COC")?;
                let ycb = b.u8("COC")?;
                let _style = b.u8("COC")?;
                let transform = b.u8("COC")?;
                check_spcod("COC", levels, xcb, ycb, transform)?;
                check_precincts("COC", scoc & 1 != 0, levels, &mut b)?;
            }
            0xff5c => qcd = true,
            0xff50 => cap = true,
            0xff5e => return Err(J2kError::Unsupported("region of interest (RGN) in the main header")),
            _ => {}
        }
    }
    let (_scod, _prog, _layers, mct, style, transform) = cod.ok_or(J2kError::MissingMarker("COD"))?;
    if !qcd {
        return Err(J2kError::MissingMarker("QCD"));
    }
    if mct == 1 && csiz < 3 {
        return Err(bad("COD", "colour transform with fewer than 3 components"));
    }
    let high_throughput = cap || rsiz & 0x4000 != 0 || style & 0x40 != 0;
    if high_throughput && style & 0x40 == 0 {
        return Err(J2kError::Unsupported("HTJ2K stream without HT code-blocks in the main COD"));
    }
    let frame = FrameHeader {
        width: xsiz - xosiz,
        height: ysiz - yosiz,
        components: csiz as u8,
        precision,
        signed,
        reversible: transform == 1,
        high_throughput,
        mct: mct == 1,
    };
    Ok(MainHeader { frame, codestream_start: cs_start, codestream_end: cs_end })
}

fn check_spcod(marker: &'static str, levels: u8, xcb: u8, ycb: u8, transform: u8) -> Result<(), J2kError> {
    if levels > MAX_LEVELS {
        return Err(bad(marker, "more than 32 decomposition levels"));
    }
    if xcb > 8 || ycb > 8 || xcb + ycb > 8 {
        return Err(bad(marker, "code-block size out of range"));
    }
    if transform > 1 {
        return Err(J2kError::Unsupported("Part 2 wavelet kernel"));
    }
    Ok(())
}

fn check_precincts(marker: &'static str, custom: bool, levels: u8, b: &mut Reader<'_>) -> Result<(), J2kError> {
    if custom {
        for _ in 0..=levels {
            let _pp = b.u8(marker)?;
        }
    }
    Ok(())
}

/// The caller's limits: pixel count and the DICOM header's geometry.
pub(crate) fn check_limits(h: &FrameHeader, opts: &crate::DecodeOptions) -> Result<(), J2kError> {
    let pixels = u64::from(h.width) * u64::from(h.height);
    if pixels > opts.max_pixels {
        return Err(J2kError::TooLarge { width: h.width, height: h.height, max_pixels: opts.max_pixels });
    }
    if let Some(e) = &opts.expected {
        let pairs = [
            ("width", e.width, h.width),
            ("height", e.height, h.height),
            ("components", u32::from(e.components), u32::from(h.components)),
            ("precision", u32::from(e.precision), u32::from(h.precision)),
        ];
        for (field, expected, found) in pairs {
            if expected != found {
                return Err(J2kError::Mismatch { field, expected, found });
            }
        }
    }
    Ok(())
}

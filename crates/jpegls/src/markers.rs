//! The marker layer (T.87 Annex C / ITU-T T.81 Annex B): SOI, SOF55, LSE, DRI, SOS, APPn, COM,
//! EOI, and the order they come in.

use crate::scan::{self, Params, Presets, ScanSpec};
use crate::{DecodeOptions, FrameHeader, Image, Interleave, JpegLsError, Samples, Unsupported};

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const DNL: u8 = 0xDC;
const DRI: u8 = 0xDD;
const SOF55: u8 = 0xF7;
const LSE: u8 = 0xF8;
const COM: u8 = 0xFE;

/// The frame header (SOF55).
#[derive(Debug, Clone)]
struct Frame {
    width: u32,
    height: u32,
    precision: u8,
    /// Component identifiers, in frame order.
    ids: Vec<u8>,
}

/// A scan header (SOS).
#[derive(Debug, Clone)]
struct ScanHeader {
    /// Frame component indices, in scan order.
    components: Vec<usize>,
    near: u16,
    interleave: Interleave,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Reads a marker (after any 0xFF fill bytes): its second byte.
    fn marker(&mut self) -> Result<u8, JpegLsError> {
        let start = self.pos;
        match self.data.get(self.pos) {
            None => return Err(JpegLsError::Truncated),
            Some(0xFF) => {}
            Some(_) => return Err(JpegLsError::UnexpectedMarker { marker: 0, offset: start }),
        }
        while self.data.get(self.pos) == Some(&0xFF) {
            self.pos += 1;
        }
        let Some(&m) = self.data.get(self.pos) else {
            return Err(JpegLsError::Truncated);
        };
        self.pos += 1;
        if m == 0 {
            return Err(JpegLsError::UnexpectedMarker { marker: 0, offset: start });
        }
        Ok(m)
    }

    /// Reads a marker segment's length and returns its payload.
    fn segment(&mut self, name: &'static str) -> Result<&'a [u8], JpegLsError> {
        let len = match self.data.get(self.pos..self.pos + 2) {
            Some(b) => usize::from(u16::from_be_bytes([b[0], b[1]])),
            None => return Err(JpegLsError::Truncated),
        };
        if len < 2 {
            return Err(JpegLsError::BadSegment { segment: name, reason: "length below 2" });
        }
        let payload = self.data.get(self.pos + 2..self.pos + len).ok_or(JpegLsError::Truncated)?;
        self.pos += len;
        Ok(payload)
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn parse_frame(p: &[u8]) -> Result<Frame, JpegLsError> {
    if p.len() < 6 {
        return Err(JpegLsError::BadSegment { segment: "SOF55", reason: "shorter than 6 bytes" });
    }
    let precision = p[0];
    let height = u32::from(be16(p, 1));
    let width = u32::from(be16(p, 3));
    let nf = p[5];
    if p.len() != 6 + 3 * usize::from(nf) {
        return Err(JpegLsError::BadSegment { segment: "SOF55", reason: "length does not match the component count" });
    }
    if !(2..=16).contains(&precision) {
        return Err(JpegLsError::BadFrameHeader("precision outside 2..=16 bits"));
    }
    if nf == 0 {
        return Err(JpegLsError::BadFrameHeader("no components"));
    }
    if nf > 4 {
        return Err(JpegLsError::Unsupported(Unsupported::ComponentCount(nf)));
    }
    if width == 0 {
        return Err(JpegLsError::BadFrameHeader("width 0"));
    }
    if height == 0 {
        return Err(JpegLsError::Unsupported(Unsupported::HeightFromDnl));
    }
    let mut ids = Vec::with_capacity(usize::from(nf));
    for c in p[6..].chunks_exact(3) {
        if ids.contains(&c[0]) {
            return Err(JpegLsError::BadFrameHeader("two components with the same identifier"));
        }
        if c[1] != 0x11 {
            return Err(JpegLsError::Unsupported(Unsupported::Subsampling));
        }
        ids.push(c[0]);
    }
    Ok(Frame { width, height, precision, ids })
}

fn parse_scan(p: &[u8], frame: &Frame) -> Result<ScanHeader, JpegLsError> {
    let Some(&ns) = p.first() else {
        return Err(JpegLsError::BadSegment { segment: "SOS", reason: "empty" });
    };
    if p.len() != 4 + 2 * usize::from(ns) {
        return Err(JpegLsError::BadSegment { segment: "SOS", reason: "length does not match the component count" });
    }
    if ns == 0 || usize::from(ns) > frame.ids.len() {
        return Err(JpegLsError::BadScanHeader("component count 0 or above the frame's"));
    }
    let mut components = Vec::with_capacity(usize::from(ns));
    for c in p[1..1 + 2 * usize::from(ns)].chunks_exact(2) {
        let index = frame.ids.iter().position(|&id| id == c[0]).ok_or(JpegLsError::BadComponentSelector(c[0]))?;
        if components.contains(&index) {
            return Err(JpegLsError::BadComponentSelector(c[0]));
        }
        if c[1] != 0 {
            return Err(JpegLsError::Unsupported(Unsupported::MappingTable));
        }
        components.push(index);
    }
    let tail = &p[1 + 2 * usize::from(ns)..];
    let near = u16::from(tail[0]);
    let interleave = match tail[1] {
        0 => Interleave::None,
        1 => Interleave::Line,
        2 => Interleave::Sample,
        _ => return Err(JpegLsError::BadScanHeader("interleave mode above 2")),
    };
    if ns > 1 && interleave == Interleave::None {
        return Err(JpegLsError::BadScanHeader("several components in a non-interleaved scan"));
    }
    if tail[2] != 0 {
        return Err(JpegLsError::Unsupported(Unsupported::PointTransform));
    }
    Ok(ScanHeader { components, near, interleave })
}

fn parse_lse(p: &[u8], presets: &mut Presets) -> Result<(), JpegLsError> {
    match p.first() {
        None => Err(JpegLsError::BadSegment { segment: "LSE", reason: "empty" }),
        Some(1) => {
            if p.len() != 11 {
                return Err(JpegLsError::BadSegment {
                    segment: "LSE",
                    reason: "preset coding parameters not 11 bytes",
                });
            }
            *presets =
                Presets { maxval: be16(p, 1), t1: be16(p, 3), t2: be16(p, 5), t3: be16(p, 7), reset: be16(p, 9) };
            Ok(())
        }
        Some(2) | Some(3) => Err(JpegLsError::Unsupported(Unsupported::MappingTable)),
        Some(4) => Err(JpegLsError::Unsupported(Unsupported::OversizeDimensions)),
        Some(_) => Err(JpegLsError::BadSegment { segment: "LSE", reason: "unknown id" }),
    }
}

/// APPn: only APP8 "mrfx" (HP colour transform) matters.
fn check_app(marker: u8, p: &[u8]) -> Result<(), JpegLsError> {
    if marker == 0xE8 && p.len() >= 5 && &p[..4] == b"mrfx" && p[4] != 0 {
        return Err(JpegLsError::Unsupported(Unsupported::ColorTransform(p[4])));
    }
    Ok(())
}

fn parse_dri(p: &[u8]) -> Result<u32, JpegLsError> {
    // T.87 allows Ri on 2, 3 or 4 bytes.
    match p.len() {
        2..=4 => Ok(p.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b))),
        _ => Err(JpegLsError::BadSegment { segment: "DRI", reason: "length not 4, 5 or 6" }),
    }
}

/// The state of the marker layer between scans.
struct Headers<'a> {
    reader: Reader<'a>,
    frame: Option<Frame>,
    presets: Presets,
    restart_interval: u32,
}

impl<'a> Headers<'a> {
    fn new(data: &'a [u8]) -> Result<Self, JpegLsError> {
        if data.len() < 2 || data[0] != 0xFF || data[1] != SOI {
            return Err(JpegLsError::NoSoi);
        }
        Ok(Headers { reader: Reader { data, pos: 2 }, frame: None, presets: Presets::default(), restart_interval: 0 })
    }

    /// Reads marker segments up to the next SOS (returning its header) or EOI (`None`).
    fn next_scan(&mut self) -> Result<Option<ScanHeader>, JpegLsError> {
        loop {
            let offset = self.reader.pos;
            let m = self.reader.marker()?;
            match m {
                SOF55 => {
                    if self.frame.is_some() {
                        return Err(JpegLsError::UnexpectedMarker { marker: m, offset });
                    }
                    let p = self.reader.segment("SOF55")?;
                    self.frame = Some(parse_frame(p)?);
                }
                0xC0..=0xCF if m != 0xC4 && m != 0xC8 && m != 0xCC => {
                    return Err(JpegLsError::NotJpegLs(m));
                }
                LSE => {
                    let p = self.reader.segment("LSE")?;
                    parse_lse(p, &mut self.presets)?;
                }
                DRI => {
                    let p = self.reader.segment("DRI")?;
                    self.restart_interval = parse_dri(p)?;
                }
                SOS => {
                    let p = self.reader.segment("SOS")?;
                    let Some(frame) = &self.frame else {
                        return Err(JpegLsError::UnexpectedMarker { marker: m, offset });
                    };
                    return Ok(Some(parse_scan(p, frame)?));
                }
                EOI => {
                    if self.frame.is_none() {
                        return Err(JpegLsError::UnexpectedMarker { marker: m, offset });
                    }
                    return Ok(None);
                }
                0xE0..=0xEF => {
                    let p = self.reader.segment("APPn")?;
                    check_app(m, p)?;
                }
                COM | 0xF0..=0xF6 | 0xF9..=0xFD => {
                    self.reader.segment("COM/JPGn")?;
                }
                // SPIFF files repeat SOI after the directory's end (an APP8 entry).
                SOI if self.frame.is_none() => {}
                DNL => return Err(JpegLsError::Unsupported(Unsupported::HeightFromDnl)),
                _ => return Err(JpegLsError::UnexpectedMarker { marker: m, offset }),
            }
        }
    }
}

fn header_of(frame: &Frame, scan: &ScanHeader) -> FrameHeader {
    FrameHeader {
        width: frame.width,
        height: frame.height,
        components: frame.ids.len() as u8,
        precision: frame.precision,
        near: scan.near,
        interleave: scan.interleave,
    }
}

pub(crate) fn read_header(data: &[u8]) -> Result<FrameHeader, JpegLsError> {
    let mut h = Headers::new(data)?;
    match h.next_scan()? {
        Some(scan) => Ok(header_of(h.frame.as_ref().expect("SOS follows SOF55"), &scan)),
        None => Err(JpegLsError::MissingScan),
    }
}

pub(crate) fn decode(data: &[u8], opts: &DecodeOptions) -> Result<Image, JpegLsError> {
    let mut h = Headers::new(data)?;
    let Some(first) = h.next_scan()? else {
        return Err(JpegLsError::MissingScan);
    };
    let frame = h.frame.clone().expect("SOS follows SOF55");
    let header = header_of(&frame, &first);
    let pixels = u64::from(frame.width) * u64::from(frame.height);
    if pixels > opts.max_pixels {
        return Err(JpegLsError::TooLarge { pixels, max_pixels: opts.max_pixels });
    }
    let total = usize::try_from(pixels * frame.ids.len() as u64)
        .map_err(|_| JpegLsError::TooLarge { pixels, max_pixels: opts.max_pixels })?;
    let samples = if frame.precision <= 8 {
        let mut out = vec![0u8; total];
        run_scans(&mut h, &frame, first, &mut out)?;
        Samples::U8(out)
    } else {
        let mut out = vec![0u16; total];
        run_scans(&mut h, &frame, first, &mut out)?;
        Samples::U16(out)
    };
    Ok(Image { header, samples })
}

fn run_scans<T: scan::Sample>(
    h: &mut Headers<'_>,
    frame: &Frame,
    first: ScanHeader,
    out: &mut [T],
) -> Result<(), JpegLsError> {
    let mut done = [false; 4];
    let mut next = Some(first);
    while let Some(sh) = next {
        for &c in &sh.components {
            if done[c] {
                return Err(JpegLsError::BadComponentSelector(frame.ids[c]));
            }
            done[c] = true;
        }
        let params = Params::new(frame.precision, sh.near, &h.presets)?;
        let spec = ScanSpec {
            width: frame.width as usize,
            height: frame.height as usize,
            frame_components: frame.ids.len(),
            components: &sh.components,
            interleave: sh.interleave,
            restart_interval: h.restart_interval,
        };
        let end = scan::decode_scan(h.reader.data, h.reader.pos, &params, &spec, out)?;
        h.reader.pos = end;
        next = h.next_scan()?;
    }
    if done[..frame.ids.len()].iter().any(|d| !d) {
        return Err(JpegLsError::MissingScan);
    }
    Ok(())
}

//! Marker parsing and scan decoding into component planes.

use crate::error::{Feature, JpegError};
use crate::huffman::{BitReader, HuffTable, FAST_BITS};
use crate::idct::{idct_dc_only, idct_islow, RangeLimit};
use crate::{FrameHeader, Process};

/// Zig-zag index → natural index, with libjpeg's 16 extra entries so that a corrupt run past
/// coefficient 63 writes to 63 instead of out of bounds (jutils.c `jpeg_natural_order`).
const NATURAL_ORDER: [usize; 80] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
    28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54,
    47, 55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
];

/// One component of the frame and, once decoded, its samples.
pub(crate) struct Component {
    pub id: u8,
    pub h: usize,
    pub v: usize,
    pub tq: u8,
    /// Samples per line / lines of this component (libjpeg's `downsampled_width/height`).
    pub width: usize,
    pub height: usize,
    /// Allocated plane size (padded to whole MCUs).
    pub plane_w: usize,
    pub plane_h: usize,
    /// Quantization table in natural order, latched at the component's first scan.
    pub quant: Option<[u16; 64]>,
    /// Lossless point transform of the scan that coded this component.
    pub point_transform: u8,
    /// The component appeared in a scan.
    pub decoded: bool,
    pub plane: Vec<u16>,
}

/// The frame (SOF) and its decoded planes.
pub(crate) struct Frame {
    pub header: FrameHeader,
    pub comps: Vec<Component>,
    pub hmax: usize,
    pub vmax: usize,
    pub mcus_x: usize,
    pub mcus_y: usize,
    pub lossless: bool,
}

/// Reads markers and decodes scans.
pub(crate) struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
    dc_tables: [Option<HuffTable>; 4],
    ac_tables: [Option<HuffTable>; 4],
    quant: [Option<[u16; 64]>; 4],
    restart_interval: usize,
    pub frame: Option<Frame>,
    max_pixels: u64,
    scans: usize,
}

struct ScanComp {
    ci: usize,
    td: usize,
    ta: usize,
}

fn be16(d: &[u8], i: usize) -> usize {
    ((d[i] as usize) << 8) | d[i + 1] as usize
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(data: &'a [u8], max_pixels: u64) -> Result<Self, JpegError> {
        match data {
            [0xFF, 0xD8, ..] => {}
            [a, b, ..] => return Err(JpegError::NotJpeg([*a, *b])),
            _ => return Err(JpegError::Truncated { offset: data.len(), what: "SOI marker" }),
        }
        Ok(Decoder {
            data,
            pos: 2,
            dc_tables: Default::default(),
            ac_tables: Default::default(),
            quant: [None; 4],
            restart_interval: 0,
            frame: None,
            max_pixels,
            scans: 0,
        })
    }

    /// libjpeg's `next_marker`: skips garbage bytes and `FF` fill bytes; returns the marker code
    /// and the offset of its `FF`, or `None` at the end of data.
    fn next_marker(&mut self) -> Option<(u8, usize)> {
        let d = self.data;
        loop {
            while self.pos < d.len() && d[self.pos] != 0xFF {
                self.pos += 1;
            }
            while self.pos < d.len() && d[self.pos] == 0xFF {
                self.pos += 1;
            }
            let &c = d.get(self.pos)?;
            self.pos += 1;
            if c != 0 {
                return Some((c, self.pos - 2));
            }
        }
    }

    /// The payload of the marker segment whose length field is at `self.pos`.
    fn segment(&mut self, marker: &'static str, offset: usize) -> Result<&'a [u8], JpegError> {
        let d = self.data;
        if self.pos + 2 > d.len() {
            return Err(JpegError::Truncated { offset: d.len(), what: "marker segment length" });
        }
        let len = be16(d, self.pos);
        if len < 2 {
            return Err(JpegError::InvalidSegment { marker, offset, reason: "segment length below 2" });
        }
        let end = self.pos + len;
        if end > d.len() {
            return Err(JpegError::Truncated { offset: d.len(), what: "marker segment" });
        }
        let payload = &d[self.pos + 2..end];
        self.pos = end;
        Ok(payload)
    }

    /// Walks the stream. With `header_only`, returns after the frame header (and, for lossless,
    /// the first scan header) without decoding anything.
    pub(crate) fn run(&mut self, header_only: bool) -> Result<(), JpegError> {
        loop {
            let Some((marker, offset)) = self.next_marker() else {
                return self.end_of_data();
            };
            match marker {
                0xD9 => {
                    // EOI
                    if header_only || self.frame.is_none() {
                        return Err(JpegError::MissingFrame { offset });
                    }
                    return self.check_complete(offset);
                }
                // read_header builds no tables
                0xC4 if header_only => _ = self.segment("DHT", offset)?,
                0xDB if header_only => _ = self.segment("DQT", offset)?,
                0xC4 => self.read_dht(offset)?,
                0xDB => self.read_dqt(offset)?,
                0xDD => {
                    let p = self.segment("DRI", offset)?;
                    if p.len() != 2 {
                        return Err(JpegError::InvalidSegment { marker: "DRI", offset, reason: "length is not 4" });
                    }
                    self.restart_interval = be16(p, 0);
                }
                0xC0 | 0xC1 | 0xC3 | 0xC2 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                    if self.frame.is_some() {
                        return Err(JpegError::UnexpectedMarker { marker, offset });
                    }
                    self.read_sof(marker, offset)?;
                    let process = self.frame.as_ref().map(|f| f.header.process);
                    match process {
                        Some(Process::Lossless { .. }) => {}
                        Some(Process::Baseline | Process::Extended) => {
                            if header_only {
                                return Ok(());
                            }
                        }
                        Some(Process::Progressive) => {
                            if header_only {
                                return Ok(());
                            }
                            return Err(JpegError::Unsupported(Feature::Progressive));
                        }
                        Some(Process::Arithmetic) => {
                            if header_only {
                                return Ok(());
                            }
                            return Err(JpegError::Unsupported(Feature::Arithmetic));
                        }
                        _ => {
                            if header_only {
                                return Ok(());
                            }
                            return Err(JpegError::Unsupported(Feature::Hierarchical));
                        }
                    }
                }
                0xCC => return Err(JpegError::Unsupported(Feature::Arithmetic)),
                0xDE | 0xDF => return Err(JpegError::Unsupported(Feature::Hierarchical)),
                0xDC => return Err(JpegError::Unsupported(Feature::Dnl)),
                0xDA => {
                    let done = self.read_sos(offset, header_only)?;
                    if done {
                        return Ok(());
                    }
                }
                // parameterless markers outside a scan: libjpeg ignores them
                0x01 | 0xD0..=0xD7 => {}
                0xE0..=0xFE => {
                    self.segment("APP/COM", offset)?;
                }
                _ => return Err(JpegError::UnexpectedMarker { marker, offset }),
            }
        }
    }

    /// Data ended without EOI: fine if every component was decoded (libjpeg warns and goes on).
    fn end_of_data(&self) -> Result<(), JpegError> {
        let offset = self.data.len();
        match &self.frame {
            Some(_) if self.scans > 0 => self.check_complete(offset),
            Some(_) => Err(JpegError::Truncated { offset, what: "no scan before the end of data" }),
            None => Err(JpegError::MissingFrame { offset }),
        }
    }

    fn check_complete(&self, offset: usize) -> Result<(), JpegError> {
        let frame = self.frame.as_ref().ok_or(JpegError::MissingFrame { offset })?;
        if self.scans == 0 {
            return Err(JpegError::Truncated { offset, what: "no scan before EOI" });
        }
        if let Some(c) = frame.comps.iter().find(|c| !c.decoded) {
            return Err(JpegError::MissingComponentData { id: c.id });
        }
        Ok(())
    }

    fn read_dht(&mut self, offset: usize) -> Result<(), JpegError> {
        let p = self.segment("DHT", offset)?;
        let bad = |reason| JpegError::InvalidSegment { marker: "DHT", offset, reason };
        let mut i = 0;
        while i < p.len() {
            if i + 17 > p.len() {
                return Err(bad("table shorter than its 16 code counts"));
            }
            let tc = p[i] >> 4;
            let th = (p[i] & 15) as usize;
            if tc > 1 || th > 3 {
                return Err(bad("table class above 1 or destination above 3"));
            }
            let mut counts = [0u8; 16];
            counts.copy_from_slice(&p[i + 1..i + 17]);
            let n: usize = counts.iter().map(|&c| c as usize).sum();
            i += 17;
            if n > 256 || i + n > p.len() {
                return Err(bad("more symbols than the segment holds"));
            }
            let table =
                HuffTable::new(&counts, &p[i..i + n], tc == 1).ok_or(bad("code counts overflow the code space"))?;
            i += n;
            if tc == 0 {
                self.dc_tables[th] = Some(table);
            } else {
                self.ac_tables[th] = Some(table);
            }
        }
        Ok(())
    }

    fn read_dqt(&mut self, offset: usize) -> Result<(), JpegError> {
        let p = self.segment("DQT", offset)?;
        let bad = |reason| JpegError::InvalidSegment { marker: "DQT", offset, reason };
        let mut i = 0;
        while i < p.len() {
            let pq = p[i] >> 4;
            let tq = (p[i] & 15) as usize;
            if pq > 1 || tq > 3 {
                return Err(bad("precision above 1 or destination above 3"));
            }
            i += 1;
            let size = if pq == 0 { 64 } else { 128 };
            if i + size > p.len() {
                return Err(bad("table longer than the segment"));
            }
            let mut table = [0u16; 64];
            for k in 0..64 {
                let q = if pq == 0 { p[i + k] as u16 } else { ((p[i + 2 * k] as u16) << 8) | p[i + 2 * k + 1] as u16 };
                table[NATURAL_ORDER[k]] = q;
            }
            i += size;
            self.quant[tq] = Some(table);
        }
        Ok(())
    }

    fn read_sof(&mut self, marker: u8, offset: usize) -> Result<(), JpegError> {
        let p = self.segment("SOF", offset)?;
        let bad = |reason| JpegError::InvalidSegment { marker: "SOF", offset, reason };
        if p.len() < 6 {
            return Err(bad("shorter than 8 bytes"));
        }
        let precision = p[0];
        let height = be16(p, 1) as u32;
        let width = be16(p, 3) as u32;
        let nc = p[5];
        if p.len() != 6 + 3 * nc as usize {
            return Err(bad("length does not match the component count"));
        }
        let process = match marker {
            0xC0 => Process::Baseline,
            0xC1 => Process::Extended,
            0xC2 => Process::Progressive,
            // selection and point transform come from the first scan header
            0xC3 => Process::Lossless { selection: 0, point_transform: 0 },
            0xC9..=0xCB => Process::Arithmetic,
            _ => Process::Hierarchical,
        };
        let lossless = matches!(process, Process::Lossless { .. }) || marker == 0xCB;
        let precision_ok = match process {
            Process::Baseline => precision == 8,
            Process::Extended | Process::Progressive => precision == 8 || precision == 12,
            _ if lossless => (2..=16).contains(&precision),
            _ => (2..=16).contains(&precision),
        };
        if !precision_ok {
            return Err(bad("sample precision not allowed for this process"));
        }
        if nc == 0 {
            return Err(bad("no components"));
        }
        if width == 0 {
            return Err(bad("width 0"));
        }
        let header = FrameHeader { width, height, components: nc, precision, process };
        let mut comps = Vec::with_capacity(nc as usize);
        for k in 0..nc as usize {
            let c = &p[6 + 3 * k..9 + 3 * k];
            let (h, v) = ((c[1] >> 4) as usize, (c[1] & 15) as usize);
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
                return Err(bad("sampling factor outside 1–4"));
            }
            if c[2] > 3 {
                return Err(bad("quantization table destination above 3"));
            }
            comps.push(Component {
                id: c[0],
                h,
                v,
                tq: c[2],
                width: 0,
                height: 0,
                plane_w: 0,
                plane_h: 0,
                quant: None,
                point_transform: 0,
                decoded: false,
                plane: Vec::new(),
            });
        }
        // checks that only matter for decoding come after the header is known (read_header
        // still reports e.g. a progressive or too-large frame)
        let hmax = comps.iter().map(|c| c.h).max().unwrap_or(1);
        let vmax = comps.iter().map(|c| c.v).max().unwrap_or(1);
        let du = if lossless { 1 } else { 8 };
        let mcus_x = (width as usize).div_ceil(du * hmax);
        let mcus_y = (height as usize).div_ceil(du * vmax);
        for c in &mut comps {
            c.width = (width as usize * c.h).div_ceil(hmax);
            c.height = (height as usize * c.v).div_ceil(vmax);
            c.plane_w = mcus_x * c.h * du;
            c.plane_h = mcus_y * c.v * du;
        }
        self.frame = Some(Frame { header, comps, hmax, vmax, mcus_x, mcus_y, lossless });
        Ok(())
    }

    /// Checks done before the first scan is decoded.
    fn validate_frame(&self) -> Result<(), JpegError> {
        let Some(f) = &self.frame else {
            return Ok(());
        };
        let h = &f.header;
        if h.height == 0 {
            return Err(JpegError::Unsupported(Feature::Dnl));
        }
        if !matches!(h.components, 1 | 3 | 4) {
            return Err(JpegError::Unsupported(Feature::ComponentCount(h.components)));
        }
        // the planes are padded to whole MCUs: bound that too (a 1-pixel-wide frame with 4×4
        // sampling would otherwise allocate 32 times its size)
        let du = if f.lossless { 1 } else { 8 };
        let padded = (f.mcus_x * f.hmax * du) as u64 * (f.mcus_y * f.vmax * du) as u64;
        if h.width as u64 * h.height as u64 > self.max_pixels
            || padded > self.max_pixels.saturating_mul(2).saturating_add(1 << 16)
        {
            return Err(JpegError::TooLarge { width: h.width, height: h.height, max_pixels: self.max_pixels });
        }
        for c in &f.comps {
            if f.hmax % c.h != 0 || f.vmax % c.v != 0 {
                return Err(JpegError::Unsupported(Feature::FractionalSampling));
            }
            if f.lossless && f.comps.len() > 1 && (c.h != f.hmax || c.v != f.vmax) {
                return Err(JpegError::Unsupported(Feature::LosslessSubsampling));
            }
        }
        Ok(())
    }

    /// Reads a scan header and decodes the scan; returns `true` when `header_only` is done.
    fn read_sos(&mut self, offset: usize, header_only: bool) -> Result<bool, JpegError> {
        let p = self.segment("SOS", offset)?;
        let bad = |reason| JpegError::InvalidSegment { marker: "SOS", offset, reason };
        let Some(frame) = self.frame.as_mut() else {
            return Err(JpegError::MissingFrame { offset });
        };
        if p.is_empty() {
            return Err(bad("empty"));
        }
        let ns = p[0] as usize;
        if ns == 0 || ns > 4 || p.len() != 4 + 2 * ns {
            return Err(bad("component count outside 1–4 or length mismatch"));
        }
        let mut scomps: Vec<ScanComp> = Vec::with_capacity(ns);
        for k in 0..ns {
            let cs = p[1 + 2 * k];
            let t = p[2 + 2 * k];
            let ci = frame
                .comps
                .iter()
                .enumerate()
                .position(|(i, c)| c.id == cs && !scomps.iter().any(|s| s.ci == i))
                .ok_or(JpegError::UnknownComponent { id: cs, offset })?;
            let (td, ta) = ((t >> 4) as usize, (t & 15) as usize);
            if td > 3 || ta > 3 {
                return Err(bad("Huffman table destination above 3"));
            }
            scomps.push(ScanComp { ci, td, ta });
        }
        let ss = p[1 + 2 * ns];
        let al = p[3 + 2 * ns] & 15;
        if frame.lossless {
            if !(1..=7).contains(&ss) {
                return Err(bad("lossless predictor selection outside 1–7"));
            }
            if al >= frame.header.precision {
                return Err(bad("point transform not below the precision"));
            }
            if self.scans == 0 {
                frame.header.process = Process::Lossless { selection: ss, point_transform: al };
            }
        }
        if header_only {
            return Ok(true);
        }
        self.validate_frame()?;
        let frame = self.frame.as_mut().expect("checked above");
        if ns > 1 {
            let blocks: usize = scomps.iter().map(|s| frame.comps[s.ci].h * frame.comps[s.ci].v).sum();
            if blocks > 10 {
                return Err(bad("more than 10 blocks per MCU"));
            }
        }
        // tables and planes
        for s in &scomps {
            if self.dc_tables[s.td].is_none() {
                return Err(JpegError::MissingHuffmanTable { class: "DC", index: s.td as u8, offset });
            }
            if !frame.lossless && self.ac_tables[s.ta].is_none() {
                return Err(JpegError::MissingHuffmanTable { class: "AC", index: s.ta as u8, offset });
            }
            let c = &mut frame.comps[s.ci];
            if !frame.lossless && c.quant.is_none() {
                c.quant = Some(self.quant[c.tq as usize].ok_or(JpegError::MissingQuantTable {
                    component: c.id,
                    index: c.tq,
                    offset,
                })?);
            }
            if c.plane.is_empty() {
                c.plane = vec![0u16; c.plane_w * c.plane_h];
            }
            c.decoded = true;
            c.point_transform = al;
        }
        self.scans += 1;
        let mut reader = BitReader::new(self.data, self.pos);
        let frame = self.frame.as_mut().expect("checked above");
        let tables = Tables { dc: &self.dc_tables, ac: &self.ac_tables };
        if frame.lossless {
            decode_lossless_scan(frame, &scomps, ss, &tables, &mut reader, self.restart_interval)?;
        } else {
            decode_dct_scan(frame, &scomps, &tables, &mut reader, self.restart_interval)?;
        }
        self.pos = reader.position();
        Ok(false)
    }
}

struct Tables<'t> {
    dc: &'t [Option<HuffTable>; 4],
    ac: &'t [Option<HuffTable>; 4],
}

fn truncated(reader: &BitReader) -> JpegError {
    JpegError::Truncated { offset: reader.position(), what: "entropy-coded data" }
}

/// At a restart boundary: drops buffered bits, then expects `RSTn` (skipping garbage and fill
/// bytes as libjpeg does).
fn read_restart(reader: &mut BitReader, expected: u8) -> Result<(), JpegError> {
    let data = reader.data();
    if reader.overrun() {
        return Err(truncated(reader));
    }
    let mut pos = reader.position();
    loop {
        while pos < data.len() && data[pos] != 0xFF {
            pos += 1;
        }
        while pos < data.len() && data[pos] == 0xFF {
            pos += 1;
        }
        match data.get(pos) {
            None => {
                return Err(JpegError::BadRestartMarker {
                    expected,
                    offset: reader.position(),
                    found: "the end of data".into(),
                })
            }
            Some(0) => pos += 1,
            Some(&m) if m == 0xD0 + expected => {
                *reader = BitReader::new(data, pos + 1);
                return Ok(());
            }
            Some(&m) => {
                return Err(JpegError::BadRestartMarker { expected, offset: pos - 1, found: format!("FF {m:02X}") })
            }
        }
    }
}

/// Decodes one block's coefficients (natural order) into `coef`.
#[inline]
fn decode_block(
    reader: &mut BitReader,
    dc: &HuffTable,
    ac: &HuffTable,
    pred: &mut i32,
    coef: &mut [i16; 64],
) -> Result<bool, JpegError> {
    reader.ensure(32);
    let e = reader.peek_fast(dc);
    let diff = if e != 0 && e != (32768 << 8) | (e & 0xFF) {
        reader.consume((e & 0xFF) as u32);
        e >> 8
    } else {
        let s = reader.decode_buffered(dc).ok_or_else(|| reader.symbol_error())? as u32;
        if s > 15 {
            return Err(JpegError::BadCoefficient { category: s as u8, offset: reader.position() });
        }
        reader.extend_buffered(s)
    };
    *pred = pred.wrapping_add(diff);
    coef[0] = *pred as i16;
    let mut k = 1usize;
    let mut any_ac = false;
    while k < 64 {
        reader.ensure(FAST_BITS);
        let e = reader.peek_fast(ac);
        if e != 0 {
            reader.consume((e & 0xFF) as u32);
            k += ((e >> 8) & 15) as usize;
            coef[NATURAL_ORDER[k]] = (e >> 16) as i16;
            k += 1;
            any_ac = true;
            continue;
        }
        reader.ensure(32);
        let Some(rs) = reader.decode_buffered(ac) else {
            return Err(reader.symbol_error());
        };
        let r = (rs >> 4) as usize;
        let s = (rs & 15) as u32;
        if s != 0 {
            k += r;
            coef[NATURAL_ORDER[k]] = reader.extend_buffered(s) as i16;
            k += 1;
            any_ac = true;
        } else if r == 15 {
            k += 16;
        } else {
            break;
        }
    }
    Ok(any_ac)
}

fn decode_dct_scan(
    frame: &mut Frame,
    scomps: &[ScanComp],
    tables: &Tables,
    reader: &mut BitReader,
    restart_interval: usize,
) -> Result<(), JpegError> {
    let twelve = frame.header.precision == 12;
    let range = RangeLimit::new(if twelve { 4095 } else { 255 });
    let mut coef = [0i16; 64];
    let mut preds = [0i32; 4];
    // inverse-DCTs a block into the plane and clears its coefficients
    let idct = |coef: &mut [i16; 64], any_ac: bool, q: &[u16; 64], plane: &mut [u16], off: usize, stride: usize| {
        match (twelve, any_ac) {
            (true, true) => idct_islow::<1>(coef, q, plane, off, stride, &range),
            (false, true) => idct_islow::<2>(coef, q, plane, off, stride, &range),
            (true, false) => idct_dc_only::<1>(coef[0], q[0], plane, off, stride, &range),
            (false, false) => idct_dc_only::<2>(coef[0], q[0], plane, off, stride, &range),
        }
        if any_ac {
            *coef = [0; 64];
        } else {
            coef[0] = 0;
        }
    };
    let mut next_rst = 0u8;
    if scomps.len() == 1 {
        let s = &scomps[0];
        let dc = tables.dc[s.td].as_ref().expect("checked");
        let ac = tables.ac[s.ta].as_ref().expect("checked");
        let c = &mut frame.comps[s.ci];
        let q = c.quant.expect("latched");
        let bw = c.width.div_ceil(8);
        let bh = c.height.div_ceil(8);
        let stride = c.plane_w;
        let mut todo = restart_interval;
        for by in 0..bh {
            for bx in 0..bw {
                if restart_interval != 0 {
                    if todo == 0 {
                        read_restart(reader, next_rst)?;
                        next_rst = (next_rst + 1) & 7;
                        preds[0] = 0;
                        todo = restart_interval;
                    }
                    todo -= 1;
                }
                let any_ac = decode_block(reader, dc, ac, &mut preds[0], &mut coef)?;
                if reader.overrun() {
                    return Err(truncated(reader));
                }
                let off = by * 8 * stride + bx * 8;
                idct(&mut coef, any_ac, &q, &mut c.plane, off, stride);
            }
        }
        return Ok(());
    }
    // interleaved
    let mut todo = restart_interval;
    for my in 0..frame.mcus_y {
        for mx in 0..frame.mcus_x {
            if restart_interval != 0 {
                if todo == 0 {
                    read_restart(reader, next_rst)?;
                    next_rst = (next_rst + 1) & 7;
                    preds = [0; 4];
                    todo = restart_interval;
                }
                todo -= 1;
            }
            for (k, s) in scomps.iter().enumerate() {
                let dc = tables.dc[s.td].as_ref().expect("checked");
                let ac = tables.ac[s.ta].as_ref().expect("checked");
                let c = &mut frame.comps[s.ci];
                let q = c.quant.as_ref().expect("latched");
                let stride = c.plane_w;
                for v in 0..c.v {
                    for h in 0..c.h {
                        let any_ac = decode_block(reader, dc, ac, &mut preds[k], &mut coef)?;
                        let off = ((my * c.v + v) * 8) * stride + (mx * c.h + h) * 8;
                        idct(&mut coef, any_ac, q, &mut c.plane, off, stride);
                    }
                }
            }
            if reader.overrun() {
                return Err(truncated(reader));
            }
        }
    }
    Ok(())
}

/// Decodes one lossless difference (T.81 H.1.2.2; category 16 is 32768 with no extra bits).
#[inline(always)]
fn decode_diff(reader: &mut BitReader, table: &HuffTable) -> Result<i32, JpegError> {
    // the combined table needs FAST_BITS valid bits, the slow way up to 16 + 15
    reader.ensure(FAST_BITS);
    let e = reader.peek_fast(table);
    if e != 0 {
        reader.consume((e & 0xFF) as u32);
        return Ok(e >> 8);
    }
    reader.ensure(32);
    let s = reader.decode_buffered(table).ok_or_else(|| reader.symbol_error())? as u32;
    match s {
        0..=15 => Ok(reader.extend_buffered(s)),
        16 => Ok(32768),
        _ => Err(JpegError::BadCoefficient { category: s as u8, offset: reader.position() }),
    }
}

#[inline(always)]
fn predict(sel: u8, ra: i32, rb: i32, rc: i32) -> i32 {
    match sel {
        1 => ra,
        2 => rb,
        3 => rc,
        4 => ra + rb - rc,
        5 => ra + ((rb - rc) >> 1),
        6 => rb + ((ra - rc) >> 1),
        _ => (ra + rb) >> 1,
    }
}

fn decode_lossless_scan(
    frame: &mut Frame,
    scomps: &[ScanComp],
    sel: u8,
    tables: &Tables,
    reader: &mut BitReader,
    restart_interval: usize,
) -> Result<(), JpegError> {
    let precision = frame.header.precision;
    if scomps.len() == 1 {
        let s = &scomps[0];
        let table = tables.dc[s.td].as_ref().expect("checked");
        let c = &mut frame.comps[s.ci];
        let initial = 1i32 << (precision - c.point_transform - 1);
        let (w, h, stride) = (c.width, c.height, c.plane_w);
        let rows_per_restart = if restart_interval == 0 {
            usize::MAX
        } else if !restart_interval.is_multiple_of(w) {
            return Err(JpegError::Unsupported(Feature::LosslessRestartInterval));
        } else {
            restart_interval / w
        };
        return lossless_plane(reader, table, &mut c.plane, w, h, stride, sel, initial, rows_per_restart);
    }
    // interleaved: generic path (all components share the same sampling factors)
    let mcus_x = frame.mcus_x;
    let rows_per_restart = if restart_interval == 0 {
        usize::MAX
    } else if !restart_interval.is_multiple_of(mcus_x) {
        return Err(JpegError::Unsupported(Feature::LosslessRestartInterval));
    } else {
        restart_interval / mcus_x
    };
    let mut next_rst = 0u8;
    let mut first_mcu_row = 0usize;
    for my in 0..frame.mcus_y {
        if my > 0 && (my % rows_per_restart.max(1)) == 0 && rows_per_restart != usize::MAX {
            read_restart(reader, next_rst)?;
            next_rst = (next_rst + 1) & 7;
            first_mcu_row = my;
        }
        for mx in 0..mcus_x {
            for s in scomps {
                let table = tables.dc[s.td].as_ref().expect("checked");
                let c = &mut frame.comps[s.ci];
                let initial = 1i32 << (precision - c.point_transform - 1);
                let stride = c.plane_w;
                for v in 0..c.v {
                    for hh in 0..c.h {
                        let x = mx * c.h + hh;
                        let y = my * c.v + v;
                        let diff = decode_diff(reader, table)?;
                        let p = &c.plane;
                        let pred = if y == first_mcu_row * c.v {
                            if x == 0 {
                                initial
                            } else {
                                p[y * stride + x - 1] as i32
                            }
                        } else if x == 0 {
                            p[(y - 1) * stride] as i32
                        } else {
                            let ra = p[y * stride + x - 1] as i32;
                            let rb = p[(y - 1) * stride + x] as i32;
                            let rc = p[(y - 1) * stride + x - 1] as i32;
                            predict(sel, ra, rb, rc)
                        };
                        c.plane[y * stride + x] = (diff.wrapping_add(pred) & 0xFFFF) as u16;
                    }
                }
            }
            if reader.overrun() {
                return Err(truncated(reader));
            }
        }
    }
    Ok(())
}

/// One component coded alone: row by row.
#[allow(clippy::too_many_arguments)]
fn lossless_plane(
    reader: &mut BitReader,
    table: &HuffTable,
    plane: &mut [u16],
    w: usize,
    h: usize,
    stride: usize,
    sel: u8,
    initial: i32,
    rows_per_restart: usize,
) -> Result<(), JpegError> {
    let mut next_rst = 0u8;
    let mut rows_left = rows_per_restart;
    for y in 0..h {
        let first_row = if rows_left == 0 {
            read_restart(reader, next_rst)?;
            next_rst = (next_rst + 1) & 7;
            rows_left = rows_per_restart;
            true
        } else {
            y == 0
        };
        rows_left = rows_left.saturating_sub(1);
        let (above, cur) = plane[..(y + 1) * stride].split_at_mut(y * stride);
        let cur = &mut cur[..w];
        if first_row {
            let mut prev = initial;
            for out in cur.iter_mut() {
                let v = (decode_diff(reader, table)?.wrapping_add(prev) & 0xFFFF) as u16;
                *out = v;
                prev = v as i32;
            }
        } else {
            let above = &above[(y - 1) * stride..(y - 1) * stride + w];
            // first column: predicted from above
            let v0 = (decode_diff(reader, table)?.wrapping_add(above[0] as i32) & 0xFFFF) as u16;
            cur[0] = v0;
            let mut ra = v0 as i32;
            let mut rc = above[0] as i32;
            macro_rules! row {
                ($pred:expr) => {
                    for (out, &b) in cur[1..].iter_mut().zip(&above[1..]) {
                        let rb = b as i32;
                        #[allow(clippy::redundant_closure_call)]
                        let pred = $pred(ra, rb, rc);
                        let v = (decode_diff(reader, table)?.wrapping_add(pred) & 0xFFFF) as u16;
                        *out = v;
                        ra = v as i32;
                        rc = rb;
                    }
                };
            }
            match sel {
                1 => row!(|a: i32, _b: i32, _c: i32| a),
                2 => row!(|_a: i32, b: i32, _c: i32| b),
                3 => row!(|_a: i32, _b: i32, c: i32| c),
                4 => row!(|a: i32, b: i32, c: i32| a + b - c),
                5 => row!(|a: i32, b: i32, c: i32| a + ((b - c) >> 1)),
                6 => row!(|a: i32, b: i32, c: i32| b + ((a - c) >> 1)),
                _ => row!(|a: i32, b: i32, _c: i32| (a + b) >> 1),
            }
        }
        if reader.overrun() {
            return Err(truncated(reader));
        }
    }
    Ok(())
}

//! Huffman tables (with a 9-bit lookup fast path) and the entropy-coded-segment bit reader.

use crate::error::JpegError;

/// Bits resolved by the lookup table.
const LOOKUP_BITS: u32 = 9;

/// Bits resolved by the combined code + extra-bits table.
pub(crate) const FAST_BITS: u32 = 11;

/// Extends `v`, the `s` extra bits after a code, to a signed value (T.81 F.2.2.1 EXTEND).
#[inline(always)]
fn extend(v: i32, s: u32) -> i32 {
    if s == 0 {
        0
    } else if v < (1 << (s - 1)) {
        v - (1 << s) + 1
    } else {
        v
    }
}

/// A decoding table built from a DHT segment, like libjpeg's `d_derived_tbl`.
#[derive(Clone)]
pub(crate) struct HuffTable {
    /// For each `LOOKUP_BITS`-bit prefix: `len << 8 | symbol`, or 0 when the code is longer.
    lookup: Box<[u16; 1 << LOOKUP_BITS]>,
    /// Largest code of each length 1..=16 (index = length), or -1; index 17 is a sentinel.
    maxcode: [i32; 18],
    /// `huffval` index of the first code of each length, minus that code.
    valoffset: [i32; 17],
    /// Symbols in code order.
    huffval: Vec<u8>,
    /// Code and extra bits decoded at once, for each `FAST_BITS`-bit prefix, or 0 when they are
    /// longer. DC/lossless tables: `value << 8 | total length`; AC tables (non-zero size only):
    /// `value << 16 | run << 8 | total length`.
    pub(crate) fast: Box<[i32; 1 << FAST_BITS]>,
}

impl HuffTable {
    /// Builds the table from the 16 code-length counts and the symbols; `None` if the counts
    /// describe more codes than fit (libjpeg's `JERR_BAD_HUFF_TABLE`).
    pub(crate) fn new(counts: &[u8; 16], symbols: &[u8], ac: bool) -> Option<HuffTable> {
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        if total > 256 || total != symbols.len() {
            return None;
        }
        let mut maxcode = [-1i32; 18];
        let mut valoffset = [0i32; 17];
        let mut lookup = Box::new([0u16; 1 << LOOKUP_BITS]);
        let mut code: u32 = 0;
        let mut k: usize = 0;
        for len in 1..=16u32 {
            let n = counts[len as usize - 1] as usize;
            if n > 0 {
                valoffset[len as usize] = k as i32 - code as i32;
                for _ in 0..n {
                    // the codes of this length must fit in `len` bits
                    if code >= (1u32 << len) {
                        return None;
                    }
                    if len <= LOOKUP_BITS {
                        let shift = LOOKUP_BITS - len;
                        let base = (code << shift) as usize;
                        let entry = ((len as u16) << 8) | symbols[k] as u16;
                        for e in &mut lookup[base..base + (1usize << shift)] {
                            *e = entry;
                        }
                    }
                    code += 1;
                    k += 1;
                }
                maxcode[len as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        maxcode[17] = i32::MAX; // sentinel: never reached through the loop bound
                                // the combined table
        let mut fast = Box::new([0i32; 1 << FAST_BITS]);
        let mut code: u32 = 0;
        let mut k = 0usize;
        for len in 1..=16u32 {
            for _ in 0..counts[len as usize - 1] {
                let sym = symbols[k] as u32;
                let (run, size) = if ac { (sym >> 4, sym & 15) } else { (0, sym) };
                let usable = if ac { size != 0 } else { size <= 16 };
                let extra = if size == 16 { 0 } else { size };
                if usable && len + extra <= FAST_BITS {
                    let total = len + extra;
                    for e in 0..(1u32 << extra) {
                        let value = if size == 16 { 32768 } else { extend(e as i32, extra) };
                        let entry = if ac {
                            (value << 16) | ((run as i32) << 8) | total as i32
                        } else {
                            (value << 8) | total as i32
                        };
                        let base = (((code << extra) | e) << (FAST_BITS - total)) as usize;
                        for slot in &mut fast[base..base + (1usize << (FAST_BITS - total))] {
                            *slot = entry;
                        }
                    }
                }
                code += 1;
                k += 1;
            }
            code <<= 1;
        }
        Some(HuffTable { lookup, maxcode, valoffset, huffval: symbols.to_vec(), fast })
    }
}

/// Reads the bits of one entropy-coded segment.
///
/// Bytes are pulled into a 64-bit buffer; `FF 00` is a stuffed `FF`, `FF FF...` fill bytes before
/// a marker are skipped, and any other `FF xx` ends the segment. After the segment's end the
/// buffer is filled with zero bits so that lookahead works, and `padding` counts them: consuming
/// one of them means the data was truncated.
///
/// The cold paths take and return the reader by value, so that its address never escapes the hot
/// loops and the compiler keeps its state in registers there.
#[derive(Clone, Copy)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte to read.
    pos: usize,
    /// Bits, left-aligned (the next bit is bit 63).
    buf: u64,
    /// Valid bits in `buf`.
    nbits: u32,
    /// Zero bits appended after the segment's end that are still in `buf` or were consumed.
    padding: u32,
    /// The segment's end (a marker or the end of data) was reached.
    ended: bool,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        BitReader { data, pos, buf: 0, nbits: 0, padding: 0, ended: false }
    }

    /// The whole stream.
    pub(crate) fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Offset of the next unread byte (at the segment's end: the marker's `FF`).
    #[inline(always)]
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Whether a bit beyond the segment's end has been consumed.
    #[inline(always)]
    pub(crate) fn overrun(&self) -> bool {
        self.padding > self.nbits
    }

    /// Fills the buffer to at least 56 bits (57 on the slow path).
    #[inline(always)]
    fn refill(&mut self) {
        // fast path: the whole bytes that fit, when none of the next 8 is FF
        if !self.ended {
            if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                let v = u64::from_be_bytes(word);
                let x = !v; // an FF byte is a zero byte of x
                let has_ff = x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080;
                if has_ff == 0 {
                    let k = (63 - self.nbits) / 8; // ≥ 1 since nbits ≤ 55 here
                    self.buf |= (v >> (64 - 8 * k)) << (64 - self.nbits - 8 * k);
                    self.nbits += 8 * k;
                    self.pos += k as usize;
                    return;
                }
            }
        }
        *self = refill_slow(*self);
    }

    /// Makes at least `n` (≤ 57) bits available to the `*_buffered` readers.
    #[inline(always)]
    pub(crate) fn ensure(&mut self, n: u32) {
        if self.nbits < n {
            self.refill();
        }
    }

    /// Consumes `n` (≤ 16) bits, which [`Self::ensure`] made available.
    #[inline(always)]
    pub(crate) fn bits_buffered(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let v = (self.buf >> (64 - n)) as u32;
        self.buf <<= n;
        self.nbits -= n;
        v
    }

    /// Reads `s` extra bits, which [`Self::ensure`] made available, as a signed value.
    #[inline(always)]
    pub(crate) fn extend_buffered(&mut self, s: u32) -> i32 {
        let v = self.bits_buffered(s) as i32;
        extend(v, s)
    }

    /// The combined-table entry for the next bits (0: decode the slow way).
    #[inline(always)]
    pub(crate) fn peek_fast(&self, table: &HuffTable) -> i32 {
        table.fast[(self.buf >> (64 - FAST_BITS)) as usize]
    }

    /// Drops `n` bits that [`Self::ensure`] made available.
    #[inline(always)]
    pub(crate) fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.nbits -= n;
    }

    /// [`Self::decode`] on bits that [`Self::ensure`] made available (at least 16).
    #[inline(always)]
    /// `None` for a bit pattern that is no code ([`Self::symbol_error`] tells why).
    pub(crate) fn decode_buffered(&mut self, table: &HuffTable) -> Option<u8> {
        let peek = (self.buf >> (64 - LOOKUP_BITS)) as usize;
        let entry = table.lookup[peek];
        if entry != 0 {
            let len = (entry >> 8) as u32;
            self.buf <<= len;
            self.nbits -= len;
            return Some(entry as u8);
        }
        let (symbol, r) = decode_slow(*self, table);
        *self = r;
        symbol
    }

    /// The error for a failed [`Self::decode_buffered`]: the data ran out, or a bad code.
    #[inline(always)]
    pub(crate) fn symbol_error(&self) -> JpegError {
        symbol_error(*self)
    }
}

/// Codes longer than the lookup table resolves.
#[cold]
#[inline(never)]
fn decode_slow<'a>(mut r: BitReader<'a>, table: &HuffTable) -> (Option<u8>, BitReader<'a>) {
    for len in (LOOKUP_BITS + 1)..=16 {
        let code = (r.buf >> (64 - len)) as i32;
        if code <= table.maxcode[len as usize] {
            r.buf <<= len;
            r.nbits -= len;
            let idx = table.valoffset[len as usize] + code;
            return (table.huffval.get(idx as usize).copied(), r);
        }
    }
    (None, r)
}

#[cold]
#[inline(never)]
fn symbol_error(r: BitReader<'_>) -> JpegError {
    // consuming 16 more bits would read past the segment's end: the data ran out
    if r.padding + 16 > r.nbits {
        JpegError::Truncated { offset: r.pos, what: "entropy-coded data" }
    } else {
        JpegError::BadHuffmanCode { offset: r.pos }
    }
}

/// Byte by byte: stuffed bytes, fill bytes, markers and the end of data.
#[cold]
#[inline(never)]
fn refill_slow(mut r: BitReader<'_>) -> BitReader<'_> {
    while r.nbits <= 56 {
        let byte = if r.ended {
            r.padding += 8;
            0
        } else {
            match r.data.get(r.pos) {
                None => {
                    r.ended = true;
                    r.padding += 8;
                    0
                }
                Some(&0xFF) => {
                    // skip fill bytes; FF 00 is a stuffed FF, FF xx a marker
                    let mut p = r.pos + 1;
                    while r.data.get(p) == Some(&0xFF) {
                        p += 1;
                    }
                    match r.data.get(p) {
                        Some(&0) => {
                            r.pos = p + 1;
                            0xFF
                        }
                        _ => {
                            // a marker (left for the caller at `pos`) or the end of data
                            r.ended = true;
                            r.padding += 8;
                            0
                        }
                    }
                }
                Some(&b) => {
                    r.pos += 1;
                    b
                }
            }
        };
        r.buf |= (byte as u64) << (56 - r.nbits);
        r.nbits += 8;
    }
    r
}

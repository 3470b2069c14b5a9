//! Bit reader for a JPEG-LS entropy-coded segment (T.87 §9.1 / A.1): MSB first, and after a
//! 0xFF byte the next byte carries only 7 bits (its top bit is a stuffed zero). A 0xFF followed
//! by a byte with the top bit set is a marker: the segment ends there.

use crate::JpegLsError;

/// Reads the bits of one entropy-coded segment.
///
/// `cache` holds `bits` valid bits at its top (MSB first), the rest is zero. Reading past the end
/// of the segment yields zero bits and drives `bits` negative; the caller checks
/// [`BitReader::check_overrun`] at line ends, so that missing data is an error, never zeros.
#[derive(Clone, Copy)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte to load into the cache.
    pos: usize,
    cache: u64,
    bits: i64,
    /// Index of the first 0xFF at or after `pos` (or `data.len()`).
    next_ff: usize,
    /// The last byte loaded was 0xFF: the next one carries 7 bits.
    prev_ff: bool,
    /// No more bytes will be loaded (marker or end of data reached).
    end: bool,
    /// Where the marker that ended the segment starts, if one was found.
    marker: Option<usize>,
}

fn find_ff(data: &[u8], from: usize) -> usize {
    data.get(from..).and_then(|rest| rest.iter().position(|&b| b == 0xFF)).map_or(data.len(), |i| from + i)
}

impl<'a> BitReader<'a> {
    /// A reader starting at `start` in `data`.
    pub(crate) fn new(data: &'a [u8], start: usize) -> Self {
        let mut r = BitReader {
            data,
            pos: start,
            cache: 0,
            bits: 0,
            next_ff: find_ff(data, start),
            prev_ff: false,
            end: false,
            marker: None,
        };
        r.fill();
        r
    }

    /// Loads bytes until at least 57 bits are cached, or the segment ends.
    #[inline(always)]
    pub(crate) fn fill(&mut self) {
        if self.bits > 56 || self.end {
            return;
        }
        // Fast path: whole bytes with no 0xFF among them, loaded as one big-endian word.
        let nb = ((64 - self.bits) >> 3) as usize; // 1..=8 (bits is 0..=56 here)
        if !self.prev_ff && self.pos + nb <= self.next_ff {
            if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                let word = u64::from_be_bytes(word);
                let take = (nb * 8) as u32;
                // `take` bits from the top of `word`, placed just under the valid bits.
                let fresh = if take == 64 { word } else { word >> (64 - take) << (64 - take) };
                debug_assert!((0..=56).contains(&self.bits));
                self.cache |= fresh >> (self.bits as u32);
                self.bits += take as i64;
                self.pos += nb;
                return;
            }
        }
        // By value, so that a reader held in a local stays in registers on the hot path.
        *self = self.fill_slow();
    }

    #[inline(never)]
    fn fill_slow(mut self) -> Self {
        while self.bits <= 56 {
            let Some(&b) = self.data.get(self.pos) else {
                self.end = true;
                return self;
            };
            if self.prev_ff {
                if b >= 0x80 {
                    // 0xFF then a byte with its top bit set: a marker starting at pos - 1.
                    self.end = true;
                    self.marker = Some(self.pos - 1);
                    return self;
                }
                self.cache |= (u64::from(b) << 57) >> (self.bits as u32);
                self.bits += 7;
                self.prev_ff = false;
                self.pos += 1;
                continue;
            }
            if b == 0xFF {
                match self.data.get(self.pos + 1) {
                    None => {
                        // A lone 0xFF ends the data: it cannot be entropy-coded data on its own.
                        self.end = true;
                        return self;
                    }
                    Some(&n) if n >= 0x80 => {
                        self.end = true;
                        self.marker = Some(self.pos);
                        return self;
                    }
                    Some(_) => {
                        self.prev_ff = true;
                        self.next_ff = find_ff(self.data, self.pos + 1);
                    }
                }
            }
            self.cache |= (u64::from(b) << 56) >> (self.bits as u32);
            self.bits += 8;
            self.pos += 1;
        }
        self
    }

    /// The cached bits (MSB first).
    #[inline(always)]
    pub(crate) fn cache(&self) -> u64 {
        self.cache
    }

    /// Valid bits in the cache (negative after reading past the end).
    #[inline(always)]
    pub(crate) fn bits(&self) -> i64 {
        self.bits
    }

    /// Drops `n` (< 64) bits.
    #[inline(always)]
    pub(crate) fn skip(&mut self, n: u32) {
        debug_assert!(n < 64);
        self.cache <<= n;
        self.bits -= i64::from(n);
    }

    /// Reads `n` (0..=32) bits; the caller made sure enough are cached (or the segment ended).
    #[inline(always)]
    pub(crate) fn read(&mut self, n: u32) -> u32 {
        debug_assert!(n <= 32);
        let v = ((self.cache >> (63 - n)) >> 1) as u32;
        self.cache <<= n;
        self.bits -= i64::from(n);
        v
    }

    /// Reads `n` (0..=32) bits, loading more first if needed.
    #[inline(always)]
    pub(crate) fn read_filled(&mut self, n: u32) -> u32 {
        if self.bits < i64::from(n) {
            self.fill();
        }
        self.read(n)
    }

    /// Reads one bit.
    #[inline(always)]
    pub(crate) fn read_bit(&mut self) -> bool {
        if self.bits < 1 {
            self.fill();
        }
        let b = self.cache >> 63 != 0;
        self.cache <<= 1;
        self.bits -= 1;
        b
    }

    /// The error for data that made no sense at this point: truncated if the data ended
    /// without a marker (what follows is zero padding of ours), else corrupt.
    pub(crate) fn bad_data(&self, what: &'static str) -> JpegLsError {
        if self.end && self.marker.is_none() {
            JpegLsError::Truncated
        } else {
            JpegLsError::CorruptData(what)
        }
    }

    /// Errors if more bits were read than the segment holds.
    #[inline(always)]
    pub(crate) fn check_overrun(&self) -> Result<(), JpegLsError> {
        if self.bits < 0 {
            Err(if self.marker.is_some() { JpegLsError::ScanDataTooShort } else { JpegLsError::Truncated })
        } else {
            Ok(())
        }
    }

    /// Where the marker ending this segment starts (searched from the last byte loaded,
    /// skipping unread padding), or `None` if the data ends first.
    pub(crate) fn marker_position(&self) -> Option<usize> {
        if let Some(m) = self.marker {
            return Some(m);
        }
        let mut i = self.pos;
        while i + 1 < self.data.len() {
            if self.data[i] == 0xFF && self.data[i + 1] >= 0x80 {
                return Some(i);
            }
            i += 1;
        }
        None
    }
}

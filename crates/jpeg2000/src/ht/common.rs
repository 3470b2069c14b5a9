//! Common coding utilities shared by encoder and decoders.
//!
//! Port of `ojph_block_common.h/cpp` — lazily-initialised VLC / UVLC
//! decoder and encoder lookup tables.

#![allow(clippy::identity_op)]

use std::sync::OnceLock;

use super::tables::{VLC_SRC_TABLE0, VLC_SRC_TABLE1, VlcSrcEntry};

// ---------------------------------------------------------------------------
// Public data structures
// ---------------------------------------------------------------------------

/// Decoder lookup tables for VLC and UVLC decoding.
pub(crate) struct DecoderTables {
    /// VLC table for initial quad rows (1024 entries).
    pub vlc_tbl0: [u16; 1024],
    /// VLC table for non-initial quad rows (1024 entries).
    pub vlc_tbl1: [u16; 1024],
    /// UVLC table for initial rows (320 entries).
    pub uvlc_tbl0: [u16; 320],
    /// UVLC table for non-initial rows (256 entries).
    pub uvlc_tbl1: [u16; 256],
    /// UVLC bias for initial rows (320 entries).
    pub uvlc_bias: [u8; 320],
}

// ---------------------------------------------------------------------------
// Lazy accessors
// ---------------------------------------------------------------------------

/// Returns a reference to the lazily-initialised decoder tables.
pub(crate) fn decoder_tables() -> &'static DecoderTables {
    static TABLES: OnceLock<DecoderTables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = DecoderTables {
            vlc_tbl0: [0u16; 1024],
            vlc_tbl1: [0u16; 1024],
            uvlc_tbl0: [0u16; 320],
            uvlc_tbl1: [0u16; 256],
            uvlc_bias: [0u8; 320],
        };
        vlc_init_dec_tables(&mut t);
        uvlc_init_dec_tables(&mut t);
        t
    })
}

// ---------------------------------------------------------------------------
// VLC decoder table initialisation
// ---------------------------------------------------------------------------

/// Populates `vlc_tbl0` and `vlc_tbl1` from the VLC source tables.
///
/// For each of 1024 indices (7-bit codeword | 3-bit context):
///   find the matching source entry and pack
///   `(rho << 4) | (u_off << 3) | (e_k << 12) | (e_1 << 8) | cwd_len`.
fn vlc_init_dec_tables(t: &mut DecoderTables) {
    vlc_init_one_dec_table(&mut t.vlc_tbl0, VLC_SRC_TABLE0);
    vlc_init_one_dec_table(&mut t.vlc_tbl1, VLC_SRC_TABLE1);
}

fn vlc_init_one_dec_table(tbl: &mut [u16; 1024], src: &[VlcSrcEntry]) {
    for i in 0..1024u32 {
        let cwd = i & 0x7F;
        let c_q = i >> 7;
        for entry in src {
            if entry.c_q as u32 == c_q && entry.cwd as u32 == (cwd & ((1u32 << entry.cwd_len) - 1)) {
                tbl[i as usize] = ((entry.rho as u16) << 4)
                    | ((entry.u_off as u16) << 3)
                    | ((entry.e_k as u16) << 12)
                    | ((entry.e_1 as u16) << 8)
                    | (entry.cwd_len as u16);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// UVLC decoder table initialisation
// ---------------------------------------------------------------------------

/// Populates `uvlc_tbl0`, `uvlc_tbl1`, and `uvlc_bias`.
fn uvlc_init_dec_tables(t: &mut DecoderTables) {
    // Prefix decoder: index is the 3 LSBs of the VLC fragment.
    // Packed as: prefix_len(2) | suffix_len(3) | u_pfx(3).
    static DEC: [u8; 8] = [
        3 | (5 << 2) | (5 << 5), // 000
        1 | (0 << 2) | (1 << 5), // xx1
        2 | (0 << 2) | (2 << 5), // x10
        1 | (0 << 2) | (1 << 5), // xx1
        3 | (1 << 2) | (3 << 5), // 100
        1 | (0 << 2) | (1 << 5), // xx1
        2 | (0 << 2) | (2 << 5), // x10
        1 | (0 << 2) | (1 << 5), // xx1
    ];

    // --- uvlc_tbl0 (320 entries, modes 0-4) --------------------------------
    for i in 0u32..320 {
        let mode = i >> 6;
        let mut vlc = i & 0x3F;

        if mode == 0 {
            // Both u_off are 0
            t.uvlc_tbl0[i as usize] = 0;
            t.uvlc_bias[i as usize] = 0;
        } else if mode <= 2 {
            // One u_off set
            let d = DEC[(vlc & 0x7) as usize] as u32;

            let total_prefix = d & 0x3;
            let total_suffix = (d >> 2) & 0x7;
            let u0_suffix_len = if mode == 1 { total_suffix } else { 0 };
            let u0 = if mode == 1 { d >> 5 } else { 0 };
            let u1 = if mode == 1 { 0 } else { d >> 5 };

            t.uvlc_tbl0[i as usize] =
                (total_prefix | (total_suffix << 3) | (u0_suffix_len << 7) | (u0 << 10) | (u1 << 13)) as u16;
        } else if mode == 3 {
            // Both u_off are 1, MEL event = 0
            let d0 = DEC[(vlc & 0x7) as usize] as u32;
            vlc >>= d0 & 0x3;
            let d1 = DEC[(vlc & 0x7) as usize] as u32;

            let (total_prefix, u0_suffix_len, total_suffix, u0, u1);
            if (d0 & 0x3) == 3 {
                // First prefix codeword is "000" — special case
                total_prefix = (d0 & 0x3) + 1;
                u0_suffix_len = (d0 >> 2) & 0x7;
                total_suffix = u0_suffix_len;
                u0 = d0 >> 5;
                u1 = (vlc & 1) + 1;
                t.uvlc_bias[i as usize] = 4; // 0b00 for u0 and 0b01 for u1
            } else {
                total_prefix = (d0 & 0x3) + (d1 & 0x3);
                u0_suffix_len = (d0 >> 2) & 0x7;
                total_suffix = u0_suffix_len + ((d1 >> 2) & 0x7);
                u0 = d0 >> 5;
                u1 = d1 >> 5;
                t.uvlc_bias[i as usize] = 0;
            }

            t.uvlc_tbl0[i as usize] =
                (total_prefix | (total_suffix << 3) | (u0_suffix_len << 7) | (u0 << 10) | (u1 << 13)) as u16;
        } else {
            // mode == 4: Both u_off are 1, MEL event = 1
            let d0 = DEC[(vlc & 0x7) as usize] as u32;
            vlc >>= d0 & 0x3;
            let d1 = DEC[(vlc & 0x7) as usize] as u32;

            let total_prefix = (d0 & 0x3) + (d1 & 0x3);
            let u0_suffix_len = (d0 >> 2) & 0x7;
            let total_suffix = u0_suffix_len + ((d1 >> 2) & 0x7);
            let u0 = (d0 >> 5) + 2;
            let u1 = (d1 >> 5) + 2;

            t.uvlc_tbl0[i as usize] =
                (total_prefix | (total_suffix << 3) | (u0_suffix_len << 7) | (u0 << 10) | (u1 << 13)) as u16;
            t.uvlc_bias[i as usize] = 10; // 0b10 for u0 and 0b10 for u1
        }
    }

    // --- uvlc_tbl1 (256 entries, modes 0-3) --------------------------------
    for i in 0u32..256 {
        let mode = i >> 6;
        let mut vlc = i & 0x3F;

        if mode == 0 {
            t.uvlc_tbl1[i as usize] = 0;
        } else if mode <= 2 {
            let d = DEC[(vlc & 0x7) as usize] as u32;

            let total_prefix = d & 0x3;
            let total_suffix = (d >> 2) & 0x7;
            let u0_suffix_len = if mode == 1 { total_suffix } else { 0 };
            let u0 = if mode == 1 { d >> 5 } else { 0 };
            let u1 = if mode == 1 { 0 } else { d >> 5 };

            t.uvlc_tbl1[i as usize] =
                (total_prefix | (total_suffix << 3) | (u0_suffix_len << 7) | (u0 << 10) | (u1 << 13)) as u16;
        } else {
            // mode == 3: Both u_off are 1
            let d0 = DEC[(vlc & 0x7) as usize] as u32;
            vlc >>= d0 & 0x3;
            let d1 = DEC[(vlc & 0x7) as usize] as u32;

            let total_prefix = (d0 & 0x3) + (d1 & 0x3);
            let u0_suffix_len = (d0 >> 2) & 0x7;
            let total_suffix = u0_suffix_len + ((d1 >> 2) & 0x7);
            let u0 = d0 >> 5;
            let u1 = d1 >> 5;

            t.uvlc_tbl1[i as usize] =
                (total_prefix | (total_suffix << 3) | (u0_suffix_len << 7) | (u0 << 10) | (u1 << 13)) as u16;
        }
    }
}

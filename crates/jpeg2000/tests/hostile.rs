//! Hostile input: typed errors, no panic, bounded time and memory.

use obscura_jpeg2000::{DecodeOptions, Expected, J2kError, decode, read_header};
use std::time::{Duration, Instant};

const GREY: &[u8] = include_bytes!("data/opj_grey_37x23_u8_lossless.j2k");
const CT: &[u8] = include_bytes!("data/opj_ct128_u12_cblk16_modes.j2k");
const HT: &[u8] = include_bytes!("data/ojph_ct128_u12_cblk32_prec.j2c");
const RGB_HT: &[u8] = include_bytes!("data/ojph_rgb_33x17_u8_rct_rpcl.j2c");
const JP2: &[u8] = include_bytes!("data/opj_grey_37x23_u8.jp2");
const DELIMITER: &[u8] = include_bytes!("data/pydicom_JPEG2000_embedded_sequence_delimiter.j2k");

fn opts() -> DecodeOptions {
    DecodeOptions { max_pixels: 1 << 20, expected: None }
}

/// SIZ fields of a raw codestream (offsets from SOC).
fn with_siz(base: &[u8], offset: usize, bytes: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    v[offset..offset + bytes.len()].copy_from_slice(bytes);
    v
}
const XSIZ: usize = 8;
const YSIZ: usize = 12;
const XTSIZ: usize = 24;
const CSIZ: usize = 40;
const SSIZ: usize = 42;

/// Decodes under a time limit; any result is fine, a panic is not.
fn survive(data: &[u8]) -> Result<(), J2kError> {
    let start = Instant::now();
    let r = decode(data, &opts()).map(|_| ());
    let _ = read_header(data);
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    r
}

#[test]
fn siz_with_a_huge_image_is_refused_before_decoding() {
    let data = with_siz(GREY, XSIZ, &0x7fff_fff0u32.to_be_bytes());
    let data = with_siz(&data, YSIZ, &0x7fff_fff0u32.to_be_bytes());
    // One tile of the whole image (tile size = image size), so the tile count passes.
    let data = with_siz(&data, XTSIZ, &[0x7f, 0xff, 0xff, 0xf0, 0x7f, 0xff, 0xff, 0xf0]);
    let start = Instant::now();
    assert!(matches!(decode(&data, &opts()), Err(J2kError::TooLarge { width: 0x7fff_fff0, .. })));
    assert!(start.elapsed() < Duration::from_millis(100));
    // read_header alone reports the size: the caller's limit is applied by decode.
    assert_eq!(read_header(&data).unwrap().width, 0x7fff_fff0);
}

#[test]
fn offsets_near_the_end_of_the_reference_grid() {
    let put = |v: &mut Vec<u8>, at: usize, x: u32| v[at..at + 4].copy_from_slice(&x.to_be_bytes());
    // A 37x23 image placed at the far end of the grid allowed (2^31), with tiles as large as
    // the grid or a tile grid starting at the image: decodes or fails cleanly.
    let end = (1u32 << 31) - 64;
    for (tile, tile_origin) in [((1u32 << 31) - 1, 0u32), (64, end), (64, end - 40)] {
        let mut v = GREY.to_vec();
        put(&mut v, XSIZ, end + 37);
        put(&mut v, YSIZ, end + 23);
        put(&mut v, 16, end); // XOsiz
        put(&mut v, 20, end); // YOsiz
        put(&mut v, XTSIZ, tile);
        put(&mut v, XTSIZ + 4, tile);
        put(&mut v, 32, tile_origin); // XTOsiz
        put(&mut v, 36, tile_origin); // YTOsiz
        let _ = survive(&v);
    }
    // Beyond it: refused before decoding.
    let mut v = GREY.to_vec();
    put(&mut v, XSIZ, 0xffff_ff00 + 37);
    put(&mut v, 16, 0xffff_ff00);
    assert_eq!(decode(&v, &opts()), Err(J2kError::Unsupported("reference grid beyond 2^31")));
}

#[test]
fn the_corrupt_pydicom_fragment_is_refused() {
    // Its SIZ holds the bytes of a sequence delimiter: Xsiz = 0xdde00100.
    assert_eq!(decode(DELIMITER, &opts()), Err(J2kError::Unsupported("reference grid beyond 2^31")));
}

#[test]
fn too_many_tiles() {
    let data = with_siz(GREY, XTSIZ, &[0, 0, 0, 1, 0, 0, 0, 1]);
    // 37 x 23 one-pixel tiles is legal (851 tiles) and decodes or fails cleanly ...
    let _ = survive(&data);
    // ... 65536 tiles is not.
    let big = with_siz(&data, XSIZ, &256u32.to_be_bytes());
    let big = with_siz(&big, YSIZ, &257u32.to_be_bytes());
    assert!(matches!(decode(&big, &opts()), Err(J2kError::BadMarker { marker: "SIZ", .. })));
}

#[test]
fn zero_components_and_zero_sizes() {
    let data = with_siz(GREY, CSIZ, &[0, 0]);
    assert_eq!(decode(&data, &opts()), Err(J2kError::BadMarker { marker: "SIZ", reason: "zero components" }));
    let data = with_siz(GREY, XTSIZ, &[0, 0, 0, 0]);
    assert_eq!(decode(&data, &opts()), Err(J2kError::BadMarker { marker: "SIZ", reason: "zero tile size" }));
    let data = with_siz(GREY, XSIZ, &[0, 0, 0, 0]);
    assert_eq!(decode(&data, &opts()), Err(J2kError::BadMarker { marker: "SIZ", reason: "empty image area" }));
}

#[test]
fn precision_above_16_bits() {
    let data = with_siz(GREY, SSIZ, &[23]); // 24 bits
    assert_eq!(decode(&data, &opts()), Err(J2kError::Unsupported("precision above 16 bits")));
    let data = with_siz(GREY, SSIZ, &[0x7f]); // 128 bits
    assert!(matches!(decode(&data, &opts()), Err(J2kError::BadMarker { marker: "SIZ", .. })));
}

#[test]
fn geometry_must_match_the_dicom_header() {
    let expected = Expected { width: 37, height: 23, components: 1, precision: 8 };
    let ok = DecodeOptions { max_pixels: 1 << 20, expected: Some(expected) };
    assert!(decode(GREY, &ok).is_ok());
    for (e, field) in [
        (Expected { width: 36, ..expected }, "width"),
        (Expected { height: 24, ..expected }, "height"),
        (Expected { components: 3, ..expected }, "components"),
        (Expected { precision: 12, ..expected }, "precision"),
    ] {
        let o = DecodeOptions { max_pixels: 1 << 20, expected: Some(e) };
        assert!(matches!(decode(GREY, &o), Err(J2kError::Mismatch { field: f, .. }) if f == field));
    }
    // Bits Stored may differ from the codestream's precision within the same container.
    let o = DecodeOptions { max_pixels: 1 << 20, expected: Some(Expected { precision: 5, ..expected }) };
    assert!(decode(GREY, &o).is_ok());
    let o = DecodeOptions { max_pixels: 1 << 20, expected: Some(Expected { precision: 0, ..expected }) };
    assert!(matches!(decode(GREY, &o), Err(J2kError::Mismatch { field: "precision", .. })));
    // pydicom's 693_J2KI.dcm: Bits Stored 14, a 16-bit codestream.
    let j2ki = include_bytes!("data/pydicom_693_J2KI.j2k");
    let o = DecodeOptions {
        max_pixels: 1 << 20,
        expected: Some(Expected { width: 512, height: 512, components: 1, precision: 14 }),
    };
    assert_eq!(decode(j2ki, &o).unwrap().header.precision, 16);
    let small = DecodeOptions { max_pixels: 37 * 23 - 1, expected: None };
    assert!(matches!(decode(GREY, &small), Err(J2kError::TooLarge { .. })));
}

#[test]
fn not_jpeg2000() {
    assert_eq!(decode(b"", &opts()), Err(J2kError::Truncated("before the SIZ marker")));
    assert_eq!(decode(b"\xff\xd8\xff\xe0 a JPEG", &opts()), Err(J2kError::NotJpeg2000));
    assert_eq!(decode(&JP2[..40], &opts()), Err(J2kError::Truncated("inside a JP2 box")));
}

#[test]
fn every_truncation() {
    for base in [GREY, CT, HT, RGB_HT, JP2] {
        // Every length through the headers and first packets, then a stride through the rest.
        for len in (0..base.len().min(300)).chain((300..base.len()).step_by(199)) {
            let _ = survive(&base[..len]);
        }
    }
    // A truncated header is a typed error.
    assert!(matches!(decode(&GREY[..60], &opts()), Err(J2kError::Truncated(_))));
}

/// xorshift64*: deterministic corruption.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn corrupted_bytes_everywhere() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for base in [GREY, CT, HT, RGB_HT] {
        for _ in 0..40 {
            let mut data = base.to_vec();
            for _ in 0..1 + rng.next() % 4 {
                let i = (rng.next() % data.len() as u64) as usize;
                data[i] = rng.next() as u8;
            }
            let _ = survive(&data);
        }
        // Every byte of the main header and first tile-part header, set to 0xff and to 0.
        for i in 0..base.len().min(100) {
            for b in [0x00, 0xff] {
                let mut data = base.to_vec();
                data[i] = b;
                let _ = survive(&data);
            }
        }
    }
}

/// Inputs the fuzzer (`fuzz/fuzz_targets/jpeg2000.rs`) found, kept as regressions.
const FUZZ_FINDINGS: &[&[u8]] = &[
    // HT MEL segment breaking OpenJPH's unstuffing assertion (then a bit-reader underflow).
    include_bytes!("data/fuzz_ht_mel_unstuff.j2c"),
    // A magnitude refinement of column 7 of a stripe: the sample mask's last doubling overflowed u32.
    include_bytes!("data/fuzz_ht_mrp_mask_overflow.j2c"),
];

#[test]
fn fuzz_findings() {
    for data in FUZZ_FINDINGS {
        let _ = survive(data);
    }
}

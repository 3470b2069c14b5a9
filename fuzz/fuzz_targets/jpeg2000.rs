//! A JPEG 2000 / HTJ2K frame → `obscura_jpeg2000::decode`: an image of the header's geometry or
//! a typed error, never a panic, within the pixel limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use obscura_jpeg2000::{decode, read_header, DecodeOptions, Samples};

fuzz_target!(|data: &[u8]| {
    let header = read_header(data);
    // 1 Mi pixels: the fuzzer's memory limit is the caller's, not the codestream's.
    let opts = DecodeOptions { max_pixels: 1 << 20, expected: None };
    if let Ok(image) = decode(data, &opts) {
        let h = header.expect("decode succeeded, so the header parses");
        assert_eq!(image.header, h);
        let n = h.width as usize * h.height as usize * usize::from(h.components);
        match &image.samples {
            Samples::U8(v) => assert!(h.precision <= 8 && v.len() == n),
            Samples::U16(v) => assert!(h.precision > 8 && v.len() == n),
        }
    }
});

//! A JPEG codestream → `obscura_jpeg::read_header` and `decode` (no colour transform, and
//! YCbCr→RGB), with a 2^20-pixel limit. Ok or a typed error, never a panic; what decodes has
//! `width × height × components` samples of the width its precision says, and the header
//! `read_header` reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use obscura_jpeg::{decode, read_header, ColorTransform, DecodeOptions, Samples};

fuzz_target!(|data: &[u8]| {
    let header = read_header(data);
    for color_transform in [ColorTransform::None, ColorTransform::YCbCrToRgb] {
        let opts = DecodeOptions { color_transform, max_pixels: 1 << 20 };
        let Ok(image) = decode(data, &opts) else { continue };
        let h = image.header;
        let n = h.width as usize * h.height as usize * h.components as usize;
        match &image.samples {
            Samples::U8(v) => assert!(h.precision <= 8 && v.len() == n),
            Samples::U16(v) => assert!(h.precision > 8 && v.len() == n),
        }
        let read = header.as_ref().expect("read_header fails where decode succeeds");
        assert_eq!((read.width, read.height, read.components), (h.width, h.height, h.components));
    }
});

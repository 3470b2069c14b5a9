//! A JPEG-LS codestream → `obscura_jpegls::decode` (limit 2^20 pixels): an image whose size
//! matches its header, or a typed error, never a panic; `read_header` agrees with `decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use obscura_jpegls::{decode, read_header, DecodeOptions};

fuzz_target!(|data: &[u8]| {
    let opts = DecodeOptions { max_pixels: 1 << 20 };
    let header = read_header(data);
    if let Ok(image) = decode(data, &opts) {
        let h = image.header;
        assert_eq!(header.expect("read_header succeeds when decode does"), h);
        let n = h.width as usize * h.height as usize * usize::from(h.components);
        assert_eq!(image.samples.len(), n);
        assert!(u64::from(h.width) * u64::from(h.height) <= opts.max_pixels);
    }
});

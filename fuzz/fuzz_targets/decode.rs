//! DICOM Part 10 bytes → `obscura_imaging::decode` (every frame's stored values), then the display
//! pipeline on frame 0 and the frame byte ranges: Ok or a typed error, never a panic, and an image
//! that decodes is self-consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use obscura_imaging::display::{render_rgb8, Voi};

fuzz_target!(|data: &[u8]| {
    let _ = obscura_imaging::frame_ranges(data);
    let Ok(image) = obscura_imaging::decode(data) else { return };
    assert!(!image.frames.is_empty(), "an image decodes to at least one frame");
    let samples = image.pixel_count() * usize::from(image.samples_per_pixel);
    for frame in &image.frames {
        assert_eq!(frame.len(), samples, "every frame holds rows × columns × samples values");
    }
    let rgb = render_rgb8(&image, 0, Voi::default_for(&image, 0)).expect("frame 0 renders");
    assert_eq!(rgb.len(), image.pixel_count() * 3);
});

//! Native decoding speed on a 512×512 16-bit signed CT-like slice (the committed test streams
//! `tests/data/{opj,ojph}_ct512_*`): `cargo run --release -p obscura-jpeg2000 --example bench`.
//! One thread; prints frames/s per transfer syntax. An argument filters the cases by name.

use obscura_jpeg2000::{DecodeOptions, Expected, decode};
use std::time::{Duration, Instant};

fn main() {
    let cases: [(&str, &[u8]); 3] = [
        ("J2K lossless (.90, opj_compress 5/3)", include_bytes!("../tests/data/opj_ct512_s16_lossless.j2k")),
        ("J2K lossy (.91, opj_compress -I -r 20)", include_bytes!("../tests/data/opj_ct512_s16_lossy_i97.j2k")),
        ("HTJ2K lossless (.201, ojph_compress)", include_bytes!("../tests/data/ojph_ct512_s16_lossless.j2c")),
    ];
    let opts = DecodeOptions {
        max_pixels: 512 * 512,
        expected: Some(Expected { width: 512, height: 512, components: 1, precision: 16 }),
    };
    // An argument keeps only the cases whose name contains it (e.g. `HTJ2K`).
    let filter = std::env::args().nth(1).unwrap_or_default();
    for (name, data) in cases.into_iter().filter(|(name, _)| name.contains(filter.as_str())) {
        decode(data, &opts).expect("decodes"); // warm-up
        let start = Instant::now();
        let mut frames = 0u32;
        while start.elapsed() < Duration::from_secs(2) || frames < 5 {
            std::hint::black_box(decode(std::hint::black_box(data), &opts).expect("decodes"));
            frames += 1;
        }
        let fps = f64::from(frames) / start.elapsed().as_secs_f64();
        println!("{name}: {fps:.1} frames/s ({frames} frames, {} bytes)", data.len());
    }
}

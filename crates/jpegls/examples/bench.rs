//! Decoding speed, natively: `cargo run --release -p obscura-jpegls --example bench [seconds]`
//! (default 2 s per stream), or `... --example bench -- --frames N [ct|rgb]` to decode exactly
//! N frames (for CPU-time measurements such as `perf stat -e task-clock` on a busy machine).
//!
//! Streams (made by `tests/data/generate.py` with CharLS): a 512 × 512 16-bit CT-like slice
//! (lossless) and a 512 × 512 8-bit RGB image (lossless, sample-interleaved).

use std::time::{Duration, Instant};

use obscura_jpegls::{decode, DecodeOptions};

const CT: &[u8] = include_bytes!("../tests/data/bench_ct16_512x512.jls");
const RGB: &[u8] = include_bytes!("../tests/data/bench_rgb8_ilv2_512x512.jls");

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = DecodeOptions::default();
    let streams = [("512² 16-bit CT, lossless", "ct", CT), ("512² 8-bit RGB, ILV=2, lossless", "rgb", RGB)];
    if args.first().map(String::as_str) == Some("--frames") {
        let n: u32 = args.get(1).and_then(|s| s.parse().ok()).expect("--frames N");
        for (_, key, data) in streams {
            if args.get(2).is_none_or(|k| k == key) {
                for _ in 0..n {
                    std::hint::black_box(decode(std::hint::black_box(data), &opts).unwrap());
                }
            }
        }
        return;
    }
    let seconds: f64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(2.0);
    for (name, _, data) in streams {
        decode(data, &opts).expect("bench stream decodes");
        let budget = Duration::from_secs_f64(seconds);
        let start = Instant::now();
        let mut frames = 0u32;
        while start.elapsed() < budget {
            std::hint::black_box(decode(std::hint::black_box(data), &opts).unwrap());
            frames += 1;
        }
        let fps = f64::from(frames) / start.elapsed().as_secs_f64();
        println!("{name}: {fps:.0} frames/s ({:.2} ms/frame, {} bytes)", 1000.0 / fps, data.len());
    }
}

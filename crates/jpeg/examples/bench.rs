//! Decoding speed in frames/s, natively: `cargo run --release -p obscura-jpeg --example bench`.
//!
//! The streams are the 512×512 ones of `tests/data/` (made by DCMTK's `dcmcjpeg`): 16-bit signed
//! CT lossless SV1, 12-bit extended and 8-bit baseline. An optional argument sets the seconds
//! per case (default 2), a second one
//! picks the cases whose file name contains it.

use obscura_jpeg::{decode, DecodeOptions};
use std::time::{Duration, Instant};

/// CPU seconds of this process (Linux `/proc/self/stat` utime + stime), so that the figure holds
/// on a machine shared with other jobs; `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

fn main() {
    let seconds: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let only = std::env::args().nth(2);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/");
    for (label, file) in [
        ("512x512 16-bit lossless SV1 (.70)", "dcmtk_ct16s_sv1_512x512.jpg"),
        ("512x512 12-bit extended (.51)", "dcmtk_ct12_ee_512x512.jpg"),
        ("512x512 8-bit baseline (.50)", "dcmtk_gray8_eb_512x512.jpg"),
    ] {
        if only.as_deref().is_some_and(|o| !file.contains(o)) {
            continue;
        }
        let data = std::fs::read(format!("{dir}{file}")).expect("test stream");
        let opts = DecodeOptions::default();
        decode(&data, &opts).expect("decodes");
        let budget = Duration::from_secs_f64(seconds);
        let cpu0 = cpu_seconds();
        let start = Instant::now();
        let mut frames = 0u32;
        // BENCH_FRAMES=n: exactly n frames (for instruction counts under valgrind)
        let fixed: Option<u32> = std::env::var("BENCH_FRAMES").ok().and_then(|v| v.parse().ok());
        while fixed.map_or(start.elapsed() < budget, |n| frames < n) {
            std::hint::black_box(decode(std::hint::black_box(&data), &opts).expect("decodes"));
            frames += 1;
        }
        let fps = frames as f64 / start.elapsed().as_secs_f64();
        let cpu = match (cpu0, cpu_seconds()) {
            (Some(a), Some(b)) if b > a => format!("{:>8.1} frames/CPU-s", frames as f64 / (b - a)),
            _ => String::new(),
        };
        println!("{label:<36} {fps:>8.1} frames/s {cpu}  ({} bytes)", data.len());
    }
}

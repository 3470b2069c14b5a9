//! Sealed-object throughput, native: `seal_object` and `open_object` with the default 256 KiB chunks
//! on 1 MiB and 64 MiB, next to the raw `aes-gcm` crate doing AES-256-GCM on the same bytes in
//! 256 KiB pieces (the in-run peer: same machine, same moment, same AES-NI/PCLMULQDQ code).
//!
//! `cargo xtask bench seal` runs it with a short sampling time. Criterion prints each result's
//! throughput (binary units, GiB/s); at the end this bench prints a summary in GB/s (10^9 bytes/s)
//! with the ratio ours/raw. Nothing here is a timed assertion.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aes_gcm::aead::AeadInPlace as _;
use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce};
use criterion::{Criterion, SamplingMode, Throughput};
use obscura_seal::{open_object, seal_object, ObjectId, StudyKey, DEFAULT_CHUNK_SIZE, TAG_LEN};

const MIB: usize = 1 << 20;
const SIZES: [(&str, usize); 2] = [("1MiB", MIB), ("64MiB", 64 * MIB)];
const PIECE: usize = DEFAULT_CHUNK_SIZE as usize;

/// The one call into the AEAD backend (natively the study key is its own handle).
fn open(key: &StudyKey, id: &ObjectId, sealed: &[u8]) -> usize {
    pollster::block_on(open_object(key, id, sealed)).expect("opens").len()
}

/// Per-iteration times of every sample, by (size, function), for the closing summary.
static SAMPLES: Mutex<BTreeMap<(usize, &'static str), Vec<f64>>> = Mutex::new(BTreeMap::new());

fn timed(size: usize, name: &'static str, iters: u64, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    let d = start.elapsed();
    SAMPLES.lock().unwrap().entry((size, name)).or_default().push(d.as_secs_f64() / iters as f64);
    d
}

fn nonce(i: usize) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&(i as u64).to_be_bytes());
    n
}

fn stream(c: &mut Criterion) {
    let key = StudyKey::from_bytes([0x42; 32]);
    let id = ObjectId([0x24; 16]);
    let raw = Aes256Gcm::new((&*key.object_key(&id)).into());
    for (label, size) in SIZES {
        let pt: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let sealed = seal_object(&key, &id, &pt, DEFAULT_CHUNK_SIZE).unwrap();
        // The raw peer's inputs: the same bytes, and their AES-GCM pieces with tags.
        let mut buf = pt.clone();
        let mut pieces: Vec<(Vec<u8>, [u8; TAG_LEN])> = Vec::new();
        for (i, p) in pt.chunks(PIECE).enumerate() {
            let mut ct = p.to_vec();
            let tag = raw.encrypt_in_place_detached(Nonce::from_slice(&nonce(i)), b"aad", &mut ct).unwrap();
            pieces.push((ct, tag.into()));
        }
        let mut scratch = vec![0u8; PIECE];

        let mut g = c.benchmark_group(format!("stream {label}"));
        g.throughput(Throughput::Bytes(size as u64));
        if size > 8 * MIB {
            g.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        g.bench_function("seal_object", |b| {
            b.iter_custom(|n| {
                timed(size, "seal_object", n, || {
                    black_box(seal_object(&key, &id, black_box(&pt), DEFAULT_CHUNK_SIZE).unwrap());
                })
            })
        });
        g.bench_function("raw_aes_gcm_encrypt", |b| {
            b.iter_custom(|n| {
                timed(size, "raw_aes_gcm_encrypt", n, || {
                    for (i, p) in buf.chunks_mut(PIECE).enumerate() {
                        black_box(raw.encrypt_in_place_detached(Nonce::from_slice(&nonce(i)), b"aad", p).unwrap());
                    }
                })
            })
        });
        g.bench_function("open_object", |b| {
            b.iter_custom(|n| {
                timed(size, "open_object", n, || {
                    black_box(open(&key, &id, black_box(&sealed)));
                })
            })
        });
        g.bench_function("raw_aes_gcm_decrypt", |b| {
            b.iter_custom(|n| {
                timed(size, "raw_aes_gcm_decrypt", n, || {
                    for (i, (ct, tag)) in pieces.iter().enumerate() {
                        let out = &mut scratch[..ct.len()];
                        out.copy_from_slice(ct);
                        raw.decrypt_in_place_detached(Nonce::from_slice(&nonce(i)), b"aad", out, tag.into()).unwrap();
                        black_box(&out);
                    }
                })
            })
        });
        g.finish();
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn summary() {
    let mut s = SAMPLES.lock().unwrap();
    if s.is_empty() {
        return;
    }
    println!("\nsummary (median of samples, GB/s = 10^9 bytes/s; one core):");
    #[cfg(target_arch = "x86_64")]
    println!(
        "  CPU: aes {} pclmulqdq {} (the aes and polyval crates detect these at run time)",
        std::arch::is_x86_feature_detected!("aes"),
        std::arch::is_x86_feature_detected!("pclmulqdq")
    );
    for (label, size) in SIZES {
        let mut gbps = |name| s.get_mut(&(size, name)).map(|v| size as f64 / median(v) / 1e9);
        for (ours, peer) in [("seal_object", "raw_aes_gcm_encrypt"), ("open_object", "raw_aes_gcm_decrypt")] {
            if let (Some(a), Some(b)) = (gbps(ours), gbps(peer)) {
                println!("  {label:>6} {ours:<12} {a:6.2} GB/s   {peer:<20} {b:6.2} GB/s   ours/raw {:.2}", a / b);
            }
        }
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    stream(&mut c);
    c.final_summary();
    summary();
}

//! The decoding corpus: every file of `corpus/truth.json` is decoded with
//! [`obscura_imaging::decode`] and each frame's [`stored_bytes`](obscura_imaging::DecodedImage::stored_bytes)
//! is compared with the ground truth that `corpus/make.py` made with reference decoders (SHA-256
//! when the tolerance is 0, else value by value against `target/corpus/truth/<name>.frame<N>.raw`).
//!
//! Files listed in `corpus/pending.txt` are ones today's decoder cannot decode yet: they must
//! still FAIL, so that this test says when to take them off the list. Every other file must match.
//!
//! The corpus files are not committed: `cargo xtask corpus` fetches and generates them into
//! `target/corpus/` (or set `OBSCURA_CORPUS` to another such directory).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("OBSCURA_CORPUS").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target/corpus"))
}

/// `name reason...` per line; `#` starts a comment.
fn pending() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(repo_root().join("corpus/pending.txt")).expect("read corpus/pending.txt");
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((n, r)) => (n.to_string(), r.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

fn ts_name(uid: &str) -> &str {
    match uid {
        "1.2.840.10008.1.2" => "ImplicitLE",
        "1.2.840.10008.1.2.1" => "ExplicitLE",
        "1.2.840.10008.1.2.1.99" => "Deflated",
        "1.2.840.10008.1.2.2" => "ExplicitBE",
        "1.2.840.10008.1.2.5" => "RLE",
        "1.2.840.10008.1.2.4.50" => "JPEG-Base",
        "1.2.840.10008.1.2.4.51" => "JPEG-Ext",
        "1.2.840.10008.1.2.4.57" => "JPEG-LL",
        "1.2.840.10008.1.2.4.70" => "JPEG-LL-SV1",
        "1.2.840.10008.1.2.4.80" => "JLS",
        "1.2.840.10008.1.2.4.81" => "JLS-Near",
        "1.2.840.10008.1.2.4.90" => "J2K-LL",
        "1.2.840.10008.1.2.4.91" => "J2K",
        "1.2.840.10008.1.2.4.201" => "HTJ2K-LL",
        "1.2.840.10008.1.2.4.202" => "HTJ2K-RPCL",
        "1.2.840.10008.1.2.4.203" => "HTJ2K",
        other => other,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Reads little-endian samples of the truth's width and signedness as i64.
fn samples(bytes: &[u8], bits_allocated: u64, signed: bool) -> Vec<i64> {
    match (bits_allocated, signed) {
        (1 | 8, false) => bytes.iter().map(|&b| i64::from(b)).collect(),
        (8, true) => bytes.iter().map(|&b| i64::from(b as i8)).collect(),
        (16, false) => bytes.chunks_exact(2).map(|c| i64::from(u16::from_le_bytes([c[0], c[1]]))).collect(),
        (16, true) => bytes.chunks_exact(2).map(|c| i64::from(i16::from_le_bytes([c[0], c[1]]))).collect(),
        (32, false) => bytes.chunks_exact(4).map(|c| i64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect(),
        (32, true) => bytes.chunks_exact(4).map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect(),
        _ => panic!("truth with BitsAllocated {bits_allocated}"),
    }
}

/// `Ok(largest difference)` when every frame matches the truth (within its tolerance), else why not.
fn check(corpus: &Path, rec: &Value) -> Result<i64, String> {
    let name = rec["name"].as_str().unwrap();
    let path = corpus.join(rec["file"].as_str().unwrap());
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let decoded = std::panic::catch_unwind(|| obscura_imaging::decode(&bytes));
    let image = match decoded {
        Err(_) => return Err("decode PANICKED".into()),
        Ok(Err(e)) => return Err(format!("decode error: {e}")),
        Ok(Ok(image)) => image,
    };
    let want: Vec<&str> = rec["frame_sha256"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    if image.frames.len() != want.len() {
        return Err(format!("{} frames decoded, {} expected", image.frames.len(), want.len()));
    }
    let tolerance = rec["tolerance"].as_i64().unwrap_or(0);
    let ba = rec["bits_allocated"].as_u64().unwrap();
    let signed = rec["signed"].as_bool().unwrap();
    let mut largest = 0;
    for (i, sha) in want.iter().enumerate() {
        let got = image.stored_bytes(i).expect("frame in range");
        if hex(&Sha256::digest(&got)) == *sha {
            continue;
        }
        if tolerance == 0 {
            let truth = std::fs::read(corpus.join(format!("truth/{name}.frame{i}.raw"))).unwrap_or_default();
            let detail = if truth.len() != got.len() {
                format!("{} bytes, truth has {}", got.len(), truth.len())
            } else {
                let (g, t) = (samples(&got, ba, signed), samples(&truth, ba, signed));
                let n = g.iter().zip(&t).filter(|(a, b)| a != b).count();
                let max = g.iter().zip(&t).map(|(a, b)| (a - b).abs()).max().unwrap_or(0);
                format!("{n} samples differ, max abs diff {max}")
            };
            return Err(format!("frame {i}: SHA-256 differs ({detail})"));
        }
        let truth_path = corpus.join(format!("truth/{name}.frame{i}.raw"));
        let truth = std::fs::read(&truth_path)
            .map_err(|e| format!("cannot read {} ({e}); run `cargo xtask corpus`", truth_path.display()))?;
        if truth.len() != got.len() {
            return Err(format!("frame {i}: {} bytes, truth has {}", got.len(), truth.len()));
        }
        let (g, t) = (samples(&got, ba, signed), samples(&truth, ba, signed));
        let max = g.iter().zip(&t).map(|(a, b)| (a - b).abs()).max().unwrap_or(0);
        if max > tolerance {
            return Err(format!("frame {i}: max abs diff {max} > tolerance {tolerance}"));
        }
        largest = largest.max(max);
    }
    Ok(largest)
}

#[test]
fn corpus_matches_reference_decoders() {
    let corpus = corpus_dir();
    assert!(
        corpus.join("files").is_dir(),
        "the decoding corpus is missing ({}): run `cargo xtask corpus` to fetch and generate it",
        corpus.join("files").display()
    );
    let truth: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("corpus/truth.json")).expect("read corpus/truth.json"),
    )
    .expect("corpus/truth.json is JSON");
    let files = truth["files"].as_array().expect("truth.json has files");
    let pending = pending();
    let names: Vec<&str> = files.iter().map(|r| r["name"].as_str().unwrap()).collect();
    let mut problems = Vec::new();
    for p in pending.keys() {
        if !names.contains(&p.as_str()) {
            problems.push(format!("{p}: listed in corpus/pending.txt but not in corpus/truth.json"));
        }
    }

    let width = names.iter().map(|n| n.len()).max().unwrap_or(4);
    let mut table = format!("{:width$}  {:11}  status\n", "file", "TS");
    let (mut ok, mut still_pending) = (0, 0);
    for rec in files {
        let name = rec["name"].as_str().unwrap();
        let ts = ts_name(rec["transfer_syntax"].as_str().unwrap());
        let result = check(&corpus, rec);
        let status = match (result, pending.get(name)) {
            (Ok(0), None) => {
                ok += 1;
                "ok".to_string()
            }
            (Ok(d), None) => {
                ok += 1;
                format!("ok (max abs diff {d}, within the tolerance)")
            }
            (Err(e), None) => {
                problems.push(format!("{name}: {e}"));
                format!("FAIL: {e}")
            }
            (Ok(_), Some(_)) => {
                problems.push(format!("{name}: matches its truth now: remove it from corpus/pending.txt"));
                "MATCHES BUT PENDING: remove it from corpus/pending.txt".to_string()
            }
            (Err(e), Some(reason)) => {
                still_pending += 1;
                format!("pending ({reason}): {e}")
            }
        };
        let _ = writeln!(table, "{name:width$}  {ts:11}  {status}");
    }
    let _ = writeln!(table, "\n{ok} match, {still_pending} pending, {} problems", problems.len());
    println!("{table}");
    let _ = std::fs::write(corpus.join("harness.txt"), &table);
    assert!(problems.is_empty(), "corpus problems:\n{}", problems.join("\n"));
}

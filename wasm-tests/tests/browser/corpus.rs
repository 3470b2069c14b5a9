//! The browser part of the decoding corpus: the same `obscura_imaging::decode` as the native corpus
//! test (`crates/imaging/tests/corpus.rs`), compiled to wasm and run in headless Chromium, must give
//! the reference decoders' stored values for one file of each codec family.

use sha2::{Digest, Sha256};
use wasm_bindgen_test::*;

pub struct CorpusFile {
    name: &'static str,
    bytes: &'static [u8],
    tolerance: u64,
    frame_sha256: &'static [&'static str],
    /// The truth's raw frames, for files compared within a tolerance.
    truth: &'static [&'static [u8]],
}

include!(concat!(env!("OUT_DIR"), "/corpus_subset.rs"));

/// Files the decoder cannot decode yet (`corpus/pending.txt`): they must still fail.
fn pending(name: &str) -> bool {
    include_str!("../../../corpus/pending.txt")
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .any(|l| l.split_whitespace().next() == Some(name))
}

/// Little-endian samples of `bits_allocated` as i64.
fn samples(bytes: &[u8], bits_allocated: u16, signed: bool) -> Vec<i64> {
    match (bits_allocated, signed) {
        (1 | 8, false) => bytes.iter().map(|&b| i64::from(b)).collect(),
        (8, true) => bytes.iter().map(|&b| i64::from(b as i8)).collect(),
        (16, false) => bytes.chunks_exact(2).map(|c| i64::from(u16::from_le_bytes([c[0], c[1]]))).collect(),
        (16, true) => bytes.chunks_exact(2).map(|c| i64::from(i16::from_le_bytes([c[0], c[1]]))).collect(),
        (32, false) => bytes.chunks_exact(4).map(|c| i64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect(),
        _ => bytes.chunks_exact(4).map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect(),
    }
}

#[wasm_bindgen_test]
fn corpus_subset_decodes_to_the_reference_values_in_the_browser() {
    assert!(
        SUBSET_FOUND,
        "target/corpus/wasm-subset.json is missing: run `cargo xtask corpus` before the browser tests"
    );
    assert!(SUBSET.len() >= 5, "the browser subset lists only {} files", SUBSET.len());
    let mut failures = Vec::new();
    for f in SUBSET {
        let problem = check(f);
        match (pending(f.name), problem) {
            (false, Some(p)) => failures.push(p),
            (true, None) => {
                failures.push(format!("{}: matches its truth now: remove it from corpus/pending.txt", f.name))
            }
            _ => {}
        }
    }
    assert!(failures.is_empty(), "in the browser:\n{}", failures.join("\n"));
}

/// What is wrong with our decode of `f`, if anything.
fn check(f: &CorpusFile) -> Option<String> {
    let image = match obscura_imaging::decode(f.bytes) {
        Ok(i) => i,
        Err(e) => return Some(format!("{}: {e}", f.name)),
    };
    if image.frames.len() != f.frame_sha256.len() {
        return Some(format!("{}: {} frames, truth has {}", f.name, image.frames.len(), f.frame_sha256.len()));
    }
    for (i, want) in f.frame_sha256.iter().enumerate() {
        let ours = image.stored_bytes(i).unwrap();
        if f.tolerance == 0 {
            let got = hex::encode(Sha256::digest(&ours));
            if got != *want {
                return Some(format!("{} frame {i}: SHA-256 {got}, truth {want}", f.name));
            }
        } else {
            let a = samples(&ours, image.bits_allocated, image.signed);
            let b = samples(f.truth[i], image.bits_allocated, image.signed);
            let worst = a.iter().zip(&b).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0);
            if a.len() != b.len() || worst > f.tolerance {
                return Some(format!("{} frame {i}: max difference {worst} > {}", f.name, f.tolerance));
            }
        }
    }
    None
}

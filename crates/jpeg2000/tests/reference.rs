//! Every stream of `tests/data/index.tsv` (made by `tests/data/regen.py`) against its reference
//! decoders' output: exact for reversible streams, exact or within the documented tolerance for
//! irreversible ones.

use obscura_jpeg2000::{DecodeOptions, Expected, Samples, decode};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Largest difference allowed against the primary reference on irreversible (9/7) streams.
/// Measured: 0 on every stream whose primary reference is the decoder of its encoder's
/// family; 1 (216 samples) on the one signed lossy HTJ2K stream, whose primary reference is
/// OpenJPEG (OpenJPH's raw output clips negatives), where we equal OpenJPH (`.ojph`).
const LOSSY_TOLERANCE: i32 = 1;

pub struct Row {
    pub name: String,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub components: u8,
    pub precision: u8,
    pub signed: bool,
    pub reversible: bool,
    pub sha256: String,
    pub agreed: String,
}

fn rows() -> Vec<Row> {
    let index = std::fs::read_to_string(data_dir().join("index.tsv")).expect("index.tsv");
    index
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Row {
                name: f[0].into(),
                codec: f[1].into(),
                width: f[2].parse().unwrap(),
                height: f[3].parse().unwrap(),
                components: f[4].parse().unwrap(),
                precision: f[5].parse().unwrap(),
                signed: f[6] == "1",
                reversible: f[7] == "1",
                sha256: f[8].into(),
                agreed: f[9].into(),
            }
        })
        .collect()
}

fn le_bytes(s: &Samples) -> Vec<u8> {
    match s {
        Samples::U8(v) => v.clone(),
        Samples::U16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

fn values(bytes: &[u8], precision: u8, signed: bool) -> Vec<i32> {
    if precision <= 8 {
        bytes.iter().map(|&b| if signed { i32::from(b as i8) } else { i32::from(b) }).collect()
    } else {
        bytes
            .chunks_exact(2)
            .map(|c| {
                let v = u16::from_le_bytes([c[0], c[1]]);
                if signed { i32::from(v as i16) } else { i32::from(v) }
            })
            .collect()
    }
}

#[test]
fn every_stream_matches_its_references() {
    let rows = rows();
    assert!(rows.len() >= 40, "index.tsv has {} streams", rows.len());
    let mut failures = Vec::new();
    for row in &rows {
        let data = std::fs::read(data_dir().join(&row.name)).unwrap();
        let opts = DecodeOptions {
            max_pixels: 4096 * 4096,
            expected: Some(Expected {
                width: row.width,
                height: row.height,
                components: row.components,
                precision: row.precision,
            }),
        };
        let result = decode(&data, &opts);
        if row.agreed == "error" {
            match result {
                Err(e) => println!("{}: error as expected: {e}", row.name),
                Ok(_) => failures.push(format!("{}: decoded, but no reference can", row.name)),
            }
            continue;
        }
        let image = match result {
            Ok(i) => i,
            Err(e) => {
                failures.push(format!("{}: {e}", row.name));
                continue;
            }
        };
        let h = image.header;
        assert_eq!(
            (h.width, h.height, h.components, h.precision, h.signed, h.reversible, h.high_throughput),
            (row.width, row.height, row.components, row.precision, row.signed, row.reversible, row.codec == "htj2k"),
            "{}",
            row.name
        );
        let ours = le_bytes(&image.samples);
        // Signed HTJ2K: OpenJPH's own output, clipped at 0 by ojph_expand's raw writer.
        let stem = row.name.rsplit_once('.').unwrap().0;
        if let Ok(ojph) = std::fs::read(data_dir().join(format!("{stem}.ojph"))) {
            let clipped: Vec<i32> = values(&ours, row.precision, row.signed).into_iter().map(|v| v.max(0)).collect();
            if clipped != values(&ojph, row.precision, row.signed) {
                failures.push(format!("{}: differs from ojph_expand (negatives clipped)", row.name));
            } else {
                println!("{}: equals ojph_expand once negatives are clipped", row.name);
            }
        }
        if let Some(dir) = std::env::var_os("J2K_DUMP") {
            std::fs::write(PathBuf::from(dir).join(format!("{}.ours", row.name)), &ours).unwrap();
        }
        let sha = hex::encode(Sha256::digest(&ours));
        if sha == row.sha256 {
            println!("{}: exact ({})", row.name, row.agreed);
            continue;
        }
        if row.reversible {
            failures.push(format!("{}: differs from the lossless reference", row.name));
            continue;
        }
        let ref_path = data_dir().join(format!("{stem}.ref"));
        let Ok(reference) = std::fs::read(&ref_path) else {
            failures.push(format!("{}: not exact and no .ref samples to measure", row.name));
            continue;
        };
        let (a, b) = (values(&ours, row.precision, row.signed), values(&reference, row.precision, row.signed));
        assert_eq!(a.len(), b.len(), "{}", row.name);
        let diffs: Vec<i32> = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).collect();
        let max = diffs.iter().copied().max().unwrap_or(0);
        let count = diffs.iter().filter(|&&d| d != 0).count();
        println!("{}: max abs diff {max}, {count} of {} samples differ", row.name, a.len());
        if max > LOSSY_TOLERANCE {
            failures.push(format!("{}: max abs diff {max} > {LOSSY_TOLERANCE} ({count} samples)", row.name));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

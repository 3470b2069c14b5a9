//! Every stream of `tests/data/` (made by `tests/data/make.py` with DCMTK, cjpeg, libjpeg-turbo
//! and taken from pydicom's test files) decodes to exactly the samples of IJG libjpeg (DCMTK's
//! `dcmdjpeg`); `index.tsv` records which other references agree.

use obscura_jpeg::{decode, read_header, ColorTransform, DecodeOptions, Samples};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn sample_bytes(s: &Samples) -> Vec<u8> {
    match s {
        Samples::U8(v) => v.clone(),
        Samples::U16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Streams on which IJG libjpeg 6b and libjpeg-turbo differ (see `tests/data/README.md`).
const IJG_TURBO_DIFFER: &[&str] = &["cjpeg_rgb_440_37x23"];

#[test]
fn streams_match_ijg_libjpeg_exactly() {
    let index = std::fs::read_to_string(data_dir().join("index.tsv")).expect("index.tsv");
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in index.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        let [name, transform, w, h, nc, p, ijg, turbo, _djpeg, _gdcm, _agree] = f[..] else {
            panic!("bad index line {line}");
        };
        assert_eq!(
            ijg == turbo,
            !IJG_TURBO_DIFFER.contains(&name),
            "{name}: IJG/turbo agreement differs from what is documented"
        );
        let data = std::fs::read(data_dir().join(format!("{name}.jpg"))).expect(name);
        let header = read_header(&data).unwrap_or_else(|e| panic!("{name}: read_header: {e}"));
        assert_eq!(
            (header.width, header.height, header.components, header.precision),
            (w.parse().unwrap(), h.parse().unwrap(), nc.parse().unwrap(), p.parse().unwrap()),
            "{name}: header"
        );
        let opts = DecodeOptions {
            color_transform: match transform {
                "ycc" => ColorTransform::YCbCrToRgb,
                _ => ColorTransform::None,
            },
            ..DecodeOptions::default()
        };
        let image = match decode(&data, &opts) {
            Ok(i) => i,
            Err(e) => {
                failures.push(format!("{name}: decode error {e}"));
                continue;
            }
        };
        assert_eq!(image.header, header, "{name}: decode and read_header agree");
        let got = hex(&Sha256::digest(sample_bytes(&image.samples)));
        if got != ijg {
            let also = if got == turbo { " (equals libjpeg-turbo's)" } else { "" };
            failures.push(format!("{name}: sha256 {got} != IJG {ijg}{also}"));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert!(checked >= 50, "only {checked} streams checked");
}

//! Every stream of `tests/data/index.tsv` decodes to exactly the samples its references
//! (CharLS, DCMTK and, for lossless streams made here, the original image) agreed on.

mod common;

use common::{index, le_bytes, sha256_hex, stream};
use obscura_jpegls::{decode, read_header, DecodeOptions, Interleave, JpegLsError, Samples};

#[test]
fn every_stream_matches_its_references() {
    let entries = index();
    assert!(entries.len() >= 60, "index has {} streams", entries.len());
    let mut failures = Vec::new();
    for e in &entries {
        let data = stream(&e.name);
        let result = decode(&data, &DecodeOptions::default());
        match (e.expect.as_str(), result) {
            ("ok", Ok(image)) => {
                let h = image.header;
                let ilv = match h.interleave {
                    Interleave::None => 0,
                    Interleave::Line => 1,
                    Interleave::Sample => 2,
                };
                if (h.width, h.height, h.components, h.precision, h.near, ilv)
                    != (e.width, e.height, e.components, e.precision, e.near, e.ilv)
                {
                    failures.push(format!("{}: header {h:?}", e.name));
                    continue;
                }
                assert_eq!(read_header(&data).unwrap(), h, "{}", e.name);
                let n = e.width as usize * e.height as usize * e.components as usize;
                assert_eq!(image.samples.len(), n, "{}", e.name);
                assert_eq!(matches!(image.samples, Samples::U8(_)), e.precision <= 8, "{}", e.name);
                let digest = sha256_hex(&le_bytes(&image.samples));
                if digest != e.sha256 {
                    failures.push(format!("{}: samples differ from {}", e.name, e.references));
                }
            }
            ("ok", Err(err)) => failures.push(format!("{}: {err}", e.name)),
            (want, Ok(_)) => failures.push(format!("{}: decoded, expected {want}", e.name)),
            (want, Err(err)) => {
                let variant = format!("{err:?}");
                let want = want.strip_prefix("err:").unwrap_or(want);
                if !variant.starts_with(want) {
                    failures.push(format!("{}: {variant}, expected {want}", e.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} failed:\n{}", failures.len(), entries.len(), failures.join("\n"));
}

#[test]
fn hp_colour_transforms_are_refused() {
    for name in ["c_rgb8_hp1_16x16", "c_rgb8_hp2_16x16"] {
        let err = decode(&stream(name), &DecodeOptions::default()).unwrap_err();
        assert!(matches!(err, JpegLsError::Unsupported(obscura_jpegls::Unsupported::ColorTransform(_))), "{err:?}");
    }
}

//! Compressed transfer syntaxes against DCMTK's encoders: a synthetic slice is
//! compressed by `dcmcjpeg` (JPEG Lossless, SV1 = 1.2.840.10008.1.2.4.70, and a
//! process 14 selection value 6 = 1.2.840.10008.1.2.4.57) and by `dcmcrle`
//! (RLE Lossless), and our decode must give back the exact stored values.
//!
//! These tests FAIL when DCMTK is missing: install it with `apt-get install -y dcmtk`.

use std::path::{Path, PathBuf};
use std::process::Command;

use obscura_imaging::synthetic::{self, SeriesParams};
use obscura_imaging::{decode, read_attributes, Frame};

fn tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "`{name}` not found on PATH: these interop tests need DCMTK; \
             install it with `apt-get install -y dcmtk` (the xtask does this in CI)"
        )
    })
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("obscura-imaging-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(tool_name: &str, args: &[&str], input: &Path, output: &Path) {
    let out = Command::new(tool(tool_name))
        .args(args)
        .arg(input)
        .arg(output)
        .output()
        .unwrap_or_else(|e| panic!("running {tool_name}: {e}"));
    assert!(
        out.status.success(),
        "{tool_name} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn check(tool_name: &str, args: &[&str], expected_ts: &str, index: u32) {
    let p = SeriesParams { rows: 256, columns: 256, slices: 40, ..Default::default() };
    let dir = temp_dir(&format!("{tool_name}{}", args.join("").replace('+', "")));
    let src = dir.join("in.dcm");
    let dst = dir.join("out.dcm");
    std::fs::write(&src, synthetic::ct_slice_file(&p, index).unwrap()).unwrap();
    run(tool_name, args, &src, &dst);
    let bytes = std::fs::read(&dst).unwrap();
    let _ = std::fs::remove_dir_all(&dir);

    let attrs = read_attributes(&bytes).unwrap();
    assert_eq!(attrs.transfer_syntax_uid, expected_ts);
    assert_eq!(attrs.instance_number, Some(index as i32 + 1));

    let img = decode(&bytes).unwrap();
    assert_eq!((img.rows, img.columns), (p.rows, p.columns));
    assert!(img.signed);
    assert_eq!(img.rescale_intercept, -1024.0);
    let Frame::U16(got) = &img.frames[0] else { panic!("expected gray") };
    let want: Vec<u16> = synthetic::ct_slice_values(&p, index).iter().map(|&v| v as u16).collect();
    let diffs = got.iter().zip(&want).filter(|(a, b)| a != b).count();
    assert_eq!(diffs, 0, "{tool_name} {args:?}: {diffs} pixels differ");
    assert_eq!(got.len(), want.len());
}

#[test]
fn jpeg_lossless_sv1_70() {
    check("dcmcjpeg", &["+e1"], "1.2.840.10008.1.2.4.70", 5);
    check("dcmcjpeg", &["+e1"], "1.2.840.10008.1.2.4.70", 39);
}

#[test]
fn jpeg_lossless_process14_57() {
    check("dcmcjpeg", &["+el", "+sv", "6"], "1.2.840.10008.1.2.4.57", 20);
}

#[test]
fn rle_lossless() {
    check("dcmcrle", &[], "1.2.840.10008.1.2.5", 0);
    check("dcmcrle", &[], "1.2.840.10008.1.2.5", 33);
}

#[test]
fn implicit_vr_little_endian() {
    // dcmconv +ti: same pixels, Implicit VR Little Endian
    check("dcmconv", &["+ti"], "1.2.840.10008.1.2", 12);
}

#[test]
fn deflated_explicit_vr_little_endian() {
    check("dcmconv", &["+td"], "1.2.840.10008.1.2.1.99", 7);
}

#[test]
fn jpeg_stream_larger_than_header_is_an_error_not_a_panic() {
    // dicom-rs' JPEG adapter copies the decoded frame into a buffer sized from
    // Rows/Columns: a stream bigger than the header says would index out of
    // bounds. Shrink Rows in the header of a real dcmcjpeg output.
    let p = SeriesParams { rows: 64, columns: 64, slices: 2, ..Default::default() };
    let dir = temp_dir("jpegmismatch");
    let src = dir.join("in.dcm");
    let dst = dir.join("out.dcm");
    std::fs::write(&src, synthetic::ct_slice_file(&p, 1).unwrap()).unwrap();
    run("dcmcjpeg", &["+e1"], &src, &dst);
    let mut bytes = std::fs::read(&dst).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    // (0028,0010) US 2 bytes
    let pat = [0x28u8, 0x00, 0x10, 0x00, b'U', b'S', 2, 0];
    let at = bytes.windows(8).position(|w| w == pat).expect("Rows element");
    bytes[at + 8..at + 10].copy_from_slice(&32u16.to_le_bytes());
    let err = decode(&bytes).unwrap_err();
    assert!(matches!(err, obscura_imaging::ImagingError::Decode { .. }), "{err:?}");
}

fn compressed(tool_name: &str, args: &[&str], tag: &str) -> Vec<u8> {
    let p = SeriesParams { rows: 64, columns: 64, slices: 2, ..Default::default() };
    let dir = temp_dir(tag);
    let src = dir.join("in.dcm");
    let dst = dir.join("out.dcm");
    std::fs::write(&src, synthetic::ct_slice_file(&p, 1).unwrap()).unwrap();
    run(tool_name, args, &src, &dst);
    let bytes = std::fs::read(&dst).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

fn corrupt_everywhere(bytes: &[u8]) {
    let pd = bytes.windows(4).rposition(|w| w == [0xE0, 0x7F, 0x10, 0x00]).expect("pixel data");
    for i in (pd..bytes.len()).step_by(3) {
        for x in [0xFFu8, 0x10] {
            let mut b = bytes.to_vec();
            b[i] ^= x;
            let r = std::panic::catch_unwind(|| decode(&b));
            assert!(r.is_ok(), "decode panicked with byte {i} ^ {x:#x}");
        }
    }
    for cut in (pd..bytes.len()).step_by(7) {
        let r = std::panic::catch_unwind(|| decode(&bytes[..cut]));
        assert!(r.is_ok(), "decode panicked when cut at {cut}");
    }
}

#[test]
fn corrupt_jpeg_lossless_never_panics() {
    corrupt_everywhere(&compressed("dcmcjpeg", &["+e1"], "jpegcorrupt"));
}

#[test]
fn corrupt_rle_never_panics() {
    corrupt_everywhere(&compressed("dcmcrle", &[], "rlecorrupt"));
}

#[test]
fn frame_ranges_locate_native_and_encapsulated_pixel_data() {
    // Native: the range holds exactly the stored values, little endian.
    let params = synthetic::SeriesParams { slices: 1, ..Default::default() };
    let file = synthetic::ct_series(&params).remove(0);
    let ranges = obscura_imaging::frame_ranges(&file).unwrap();
    assert_eq!(ranges.len(), 1);
    let r = ranges[0].clone();
    assert_eq!(r.end - r.start, 512 * 512 * 2);
    let image = obscura_imaging::decode(&file).unwrap();
    let obscura_imaging::Frame::U16(values) = &image.frames[0] else { panic!("gray") };
    let stored: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(&file[r.start as usize..r.end as usize], &stored[..]);
    // RLE (one fragment per frame): the range starts with the RLE header (2 segments for 16 bits)
    // and ends where the sequence delimiter starts.
    let rle = compressed("dcmcrle", &[], "rleranges");
    let ranges = obscura_imaging::frame_ranges(&rle).unwrap();
    assert_eq!(ranges.len(), 1);
    let r = ranges[0].clone();
    assert_eq!(&rle[r.start as usize..r.start as usize + 4], &2u32.to_le_bytes());
    assert_eq!(&rle[r.end as usize..r.end as usize + 4], &[0xFE, 0xFF, 0xDD, 0xE0]);
}

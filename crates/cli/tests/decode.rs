//! `obscura decode` writes each frame's stored values: checked against the pixel bytes of the
//! uncompressed source, for the source itself and for DCMTK's RLE re-encoding of it.
//! Needs DCMTK (`dcmcrle`), as the imaging interop tests do.

use std::path::Path;
use std::process::Command;

fn run(dir: &Path, program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program).args(args).current_dir(dir).output().unwrap_or_else(|e| panic!("{program}: {e}"))
}

#[test]
fn decode_writes_stored_values_per_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let obscura = env!("CARGO_BIN_EXE_obscura");
    assert!(run(d, obscura, &["synthetic-ct", "--out", "in", "--slices", "2"]).status.success());
    std::fs::create_dir_all(d.join("in/sub")).unwrap();
    let rle = run(d, "dcmcrle", &["in/CT0002.dcm", "in/sub/CT0002-rle.dcm"]);
    assert!(rle.status.success(), "dcmcrle failed (is DCMTK installed?)");
    let out = run(d, obscura, &["decode", "in", "--out", "out"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("1.2.840.10008.1.2.5, 512x512 x1 frames, 1 samples, 16-bit signed"), "{stdout}");
    assert!(stdout.contains("3 decoded, 0 failed"), "{stdout}");
    for (source, raw) in [
        ("in/CT0001.dcm", "out/CT0001.frame0.raw"),
        ("in/CT0002.dcm", "out/CT0002.frame0.raw"),
        ("in/CT0002.dcm", "out/sub/CT0002-rle.frame0.raw"),
    ] {
        let bytes = std::fs::read(d.join(source)).unwrap();
        let r = obscura_imaging::frame_ranges(&bytes).unwrap().remove(0);
        let expected = &bytes[r.start as usize..r.end as usize];
        assert!(std::fs::read(d.join(raw)).unwrap() == expected, "{raw} differs from the pixel data of {source}");
    }
}

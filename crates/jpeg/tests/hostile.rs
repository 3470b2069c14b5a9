//! Hostile and damaged input: typed errors, never a panic, never an oversized allocation.

use obscura_jpeg::{decode, read_header, ColorTransform, DecodeOptions, Feature, JpegError, Process};
use std::path::PathBuf;

fn stream(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/{name}.jpg"));
    std::fs::read(p).expect(name)
}

fn all_streams() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "jpg").then(|| {
                let name = p.file_stem().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&p).unwrap())
            })
        })
        .filter(|(name, _)| !name.contains("512x512")) // the bench streams: slow in debug builds
        .collect();
    v.sort();
    v
}

fn opts() -> DecodeOptions {
    DecodeOptions::default()
}

/// Offsets of every marker (`FF xx`, xx not 00/FF) of a stream.
fn marker_offsets(d: &[u8]) -> Vec<usize> {
    (0..d.len().saturating_sub(1)).filter(|&i| d[i] == 0xFF && d[i + 1] != 0 && d[i + 1] != 0xFF).collect()
}

/// Replaces the segment that starts with marker `m` (first occurrence) by `new` (None: removes it).
fn replace_segment(d: &[u8], m: u8, new: Option<&[u8]>) -> Vec<u8> {
    let i = (2..d.len() - 1).find(|&i| d[i] == 0xFF && d[i + 1] == m).expect("marker");
    let len = ((d[i + 2] as usize) << 8) | d[i + 3] as usize;
    let mut out = d[..i].to_vec();
    if let Some(n) = new {
        out.extend_from_slice(n);
    }
    out.extend_from_slice(&d[i + 2 + len..]);
    out
}

fn segment(d: &[u8], m: u8) -> (usize, Vec<u8>) {
    let i = (2..d.len() - 1).find(|&i| d[i] == 0xFF && d[i + 1] == m).expect("marker");
    let len = ((d[i + 2] as usize) << 8) | d[i + 3] as usize;
    (i, d[i..i + 2 + len].to_vec())
}

#[test]
fn truncation_anywhere_before_eoi_is_an_error() {
    for (name, data) in all_streams() {
        let eoi = (0..data.len() - 1).rev().find(|&i| data[i] == 0xFF && data[i + 1] == 0xD9).unwrap();
        let mut cuts: Vec<usize> = marker_offsets(&data);
        cuts.extend((0..eoi).step_by((eoi / 40).max(1)));
        cuts.extend([0, 1, 2, 3, eoi.saturating_sub(1)]);
        for cut in cuts.into_iter().filter(|&c| c < eoi) {
            let part = &data[..cut];
            let _ = read_header(part);
            // fill bytes before EOI carry nothing: cutting them is no truncation
            if data[cut..eoi].iter().all(|&b| b == 0xFF) {
                continue;
            }
            match decode(part, &opts()) {
                Ok(_) => panic!("{name}: cut at {cut} of {} decoded", data.len()),
                Err(
                    JpegError::Truncated { .. }
                    | JpegError::MissingComponentData { .. }
                    | JpegError::MissingFrame { .. }
                    | JpegError::BadRestartMarker { .. }
                    | JpegError::BadHuffmanCode { .. }
                    | JpegError::BadCoefficient { .. },
                ) => {}
                Err(e) => panic!("{name}: cut at {cut}: unexpected error {e:?}"),
            }
        }
        // cut exactly at EOI: the scans are whole, so it decodes (libjpeg warns and goes on)
        assert_eq!(
            decode(&data[..eoi], &opts()).map(|i| i.samples),
            decode(&data, &opts()).map(|i| i.samples),
            "{name}"
        );
    }
}

#[test]
fn every_single_byte_change_is_handled() {
    // deterministic "fuzzing": flip bits and overwrite bytes all over a few streams
    for name in [
        "cjpeg_rgb_420_restart_64x48",
        "dcmtk_ct12_ee_q30_37x23",
        "pyenc_ll8_rgb_sv6_restart2_37x23",
        "cjpeg_rgb_noninterleaved_restart_37x23",
        "dcmtk_ct16s_sv5_96x80",
    ] {
        let data = stream(name);
        let mut x: u32 = 0x1234_5678;
        // every byte of the headers and the start of the entropy-coded data
        let sos = (0..data.len() - 1).find(|&i| data[i] == 0xFF && data[i + 1] == 0xDA).unwrap();
        for i in 0..data.len().min(sos + 40) {
            for v in [data[i] ^ 0x01, data[i] ^ 0x80, 0xFF, 0x00] {
                let mut d = data.clone();
                d[i] = v;
                let _ = read_header(&d);
                let _ = decode(&d, &DecodeOptions { color_transform: ColorTransform::YCbCrToRgb, ..opts() });
            }
        }
        // random bytes anywhere
        for _ in 0..200 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let mut d = data.clone();
            let i = x as usize % d.len();
            d[i] = (x >> 8) as u8;
            let _ = decode(&d, &opts());
        }
    }
}

#[test]
fn bad_huffman_code() {
    // lossless stream whose DC table has one code ("0"); the data starts with a 1 bit
    let mut s = vec![0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x14, 0x00, 1];
    s.extend([0u8; 15]);
    s.push(0x00); // the one symbol: category 0
    s.extend([0xFF, 0xC3, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x02, 0x01, 0x01, 0x11, 0x00]);
    s.extend([0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00]);
    let mut ok = s.clone();
    ok.extend([0x3F, 0xFF, 0xD9]); // "0", "0": two samples of 128
    assert_eq!(decode(&ok, &opts()).unwrap().samples, obscura_jpeg::Samples::U8(vec![128, 128]));
    s.extend([0xFE, 0xFE, 0xFE, 0xFF, 0xD9]);
    assert!(matches!(decode(&s, &opts()), Err(JpegError::BadHuffmanCode { .. })));
}

#[test]
fn oversized_frame_is_refused_before_allocation() {
    let data = stream("dcmtk_gray8_eb_64x48");
    let (off, mut sof) = segment(&data, 0xC0);
    sof[5..7].copy_from_slice(&60000u16.to_be_bytes()); // height
    sof[7..9].copy_from_slice(&60000u16.to_be_bytes()); // width
    let mut d = data[..off].to_vec();
    d.extend(&sof);
    d.extend(&data[off + sof.len()..]);
    // the header still reads
    let h = read_header(&d).unwrap();
    assert_eq!((h.width, h.height), (60000, 60000));
    assert_eq!(decode(&d, &opts()), Err(JpegError::TooLarge { width: 60000, height: 60000, max_pixels: 1 << 26 }));
    // and a tight limit applies to the real size too
    let tight = DecodeOptions { max_pixels: 64 * 48 - 1, ..opts() };
    assert!(matches!(decode(&data, &tight), Err(JpegError::TooLarge { .. })));
    let exact = DecodeOptions { max_pixels: 64 * 48, ..opts() };
    assert!(decode(&data, &exact).is_ok());
}

#[test]
fn zero_sizes() {
    let data = stream("dcmtk_gray8_eb_64x48");
    let (off, sof) = segment(&data, 0xC0);
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut s = sof.clone();
        f(&mut s);
        let mut d = data[..off].to_vec();
        d.extend(&s);
        d.extend(&data[off + sof.len()..]);
        d
    };
    let zero_w = with(&|s| s[7..9].copy_from_slice(&[0, 0]));
    assert!(matches!(decode(&zero_w, &opts()), Err(JpegError::InvalidSegment { marker: "SOF", .. })));
    let zero_h = with(&|s| s[5..7].copy_from_slice(&[0, 0]));
    assert_eq!(decode(&zero_h, &opts()), Err(JpegError::Unsupported(Feature::Dnl)));
    let zero_c = with(&|s| s[9] = 0);
    assert!(matches!(decode(&zero_c, &opts()), Err(JpegError::InvalidSegment { marker: "SOF", .. })));
    let bad_p = with(&|s| s[4] = 12); // 12-bit baseline
    assert!(matches!(decode(&bad_p, &opts()), Err(JpegError::InvalidSegment { marker: "SOF", .. })));
    let bad_sampling = with(&|s| s[11] = 0x51);
    assert!(matches!(decode(&bad_sampling, &opts()), Err(JpegError::InvalidSegment { marker: "SOF", .. })));
}

#[test]
fn missing_tables() {
    let data = stream("dcmtk_gray8_eb_64x48");
    let no_dqt = replace_segment(&data, 0xDB, None);
    assert!(matches!(decode(&no_dqt, &opts()), Err(JpegError::MissingQuantTable { index: 0, .. })));
    let no_dht = replace_segment(&data, 0xC4, None);
    assert!(matches!(decode(&no_dht, &opts()), Err(JpegError::MissingHuffmanTable { .. })));
    let ll = stream("dcmtk_ct16s_sv1_96x80");
    assert!(matches!(
        decode(&replace_segment(&ll, 0xC4, None), &opts()),
        Err(JpegError::MissingHuffmanTable { class: "DC", .. })
    ));
    // a DHT whose counts overflow the code space
    let mut bad = vec![0xFF, 0xC4, 0x00, 0x16, 0x00, 3];
    bad.extend([0u8; 15]);
    bad.extend([0, 1, 2]);
    assert!(matches!(
        decode(&replace_segment(&ll, 0xC4, Some(&bad)), &opts()),
        Err(JpegError::InvalidSegment { marker: "DHT", .. })
    ));
}

#[test]
fn scan_referencing_a_missing_component() {
    let data = stream("dcmtk_rgb_eb_s4_37x23");
    let (off, mut sos) = segment(&data, 0xDA);
    sos[5] = 9; // first scan component id
    let mut d = data[..off].to_vec();
    d.extend(&sos);
    d.extend(&data[off + sos.len()..]);
    assert!(matches!(decode(&d, &opts()), Err(JpegError::UnknownComponent { id: 9, .. })));
    // a scan naming the same component twice
    let (off, mut sos) = segment(&data, 0xDA);
    sos[7] = sos[5];
    let mut d = data[..off].to_vec();
    d.extend(&sos);
    d.extend(&data[off + sos.len()..]);
    assert!(matches!(decode(&d, &opts()), Err(JpegError::UnknownComponent { .. })));
}

#[test]
fn unsupported_processes_are_typed() {
    let data = stream("dcmtk_gray8_eb_64x48");
    let (off, _) = segment(&data, 0xC0);
    for (m, process, feature) in [
        (0xC2, Process::Progressive, Feature::Progressive),
        (0xC9, Process::Arithmetic, Feature::Arithmetic),
        (0xC5, Process::Hierarchical, Feature::Hierarchical),
    ] {
        let mut d = data.clone();
        d[off + 1] = m;
        assert_eq!(read_header(&d).unwrap().process, process);
        assert_eq!(decode(&d, &opts()), Err(JpegError::Unsupported(feature)));
    }
    let cmyk = stream("turbo3_cmyk_37x23");
    assert_eq!(
        decode(&cmyk, &DecodeOptions { color_transform: ColorTransform::YCbCrToRgb, ..opts() }),
        Err(JpegError::Unsupported(Feature::ColorTransform))
    );
}

#[test]
fn not_jpeg() {
    assert_eq!(decode(b"GIF89a", &opts()), Err(JpegError::NotJpeg([b'G', b'I'])));
    assert!(matches!(decode(b"", &opts()), Err(JpegError::Truncated { .. })));
    assert!(matches!(decode(&[0xFF], &opts()), Err(JpegError::Truncated { .. })));
    assert!(matches!(decode(&[0xFF, 0xD8], &opts()), Err(JpegError::MissingFrame { .. })));
    assert!(matches!(decode(&[0xFF, 0xD8, 0xFF, 0xD9], &opts()), Err(JpegError::MissingFrame { .. })));
}

#[test]
fn junk_between_segments_and_after_eoi_is_skipped() {
    for name in ["dcmtk_rgb_eb_s2_64x48", "dcmtk_ct16s_sv3_96x80", "cjpeg_rgb_420_restart_64x48"] {
        let data = stream(name);
        let want = decode(&data, &opts()).unwrap();
        // junk and fill bytes before the first DHT/DQT marker after SOI, fill bytes before EOI,
        // junk after EOI
        let mut d = data[..2].to_vec();
        d.extend([0x00, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xFF, 0xFF]);
        d.extend(&data[2..]);
        let eoi = d.len() - 2;
        assert_eq!(&d[eoi..], &[0xFF, 0xD9]);
        d.splice(eoi..eoi, [0xFF, 0xFF, 0xFF]);
        d.extend([0x00, 0xDE, 0xAD, 0xFF, 0xD8, 0x00]);
        assert_eq!(decode(&d, &opts()).unwrap(), want, "{name}");
    }
}

#[test]
fn restart_markers_out_of_order_are_an_error() {
    let data = stream("cjpeg_gray_restart3b_37x23");
    let first = (0..data.len() - 1).find(|&i| data[i] == 0xFF && data[i + 1] == 0xD0).unwrap();
    let mut d = data.clone();
    d[first + 1] = 0xD3;
    assert!(matches!(decode(&d, &opts()), Err(JpegError::BadRestartMarker { expected: 0, .. })));
}

#[test]
fn mcu_padding_is_bounded_too() {
    // 1 × 60000 pixels within the limit, but 4×4 sampling pads each line to 32 samples
    let data = stream("dcmtk_gray8_eb_64x48");
    let (off, mut sof) = segment(&data, 0xC0);
    sof[5..7].copy_from_slice(&60000u16.to_be_bytes());
    sof[7..9].copy_from_slice(&1u16.to_be_bytes());
    sof[11] = 0x44;
    let mut d = data[..off].to_vec();
    d.extend(&sof);
    d.extend(&data[off + sof.len()..]);
    let limit = DecodeOptions { max_pixels: 60000, ..opts() };
    assert!(matches!(decode(&d, &limit), Err(JpegError::TooLarge { .. })));
}

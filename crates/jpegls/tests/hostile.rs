//! Hostile input: every failure is a typed error, never a panic, never zeros for missing data,
//! never an allocation beyond `max_pixels`.

mod common;

use common::stream;
use obscura_jpegls::{decode, read_header, DecodeOptions, JpegLsError, Unsupported};

fn opts() -> DecodeOptions {
    DecodeOptions::default()
}

/// Replaces the payload of the first marker segment `marker` (after its length field).
fn patch_segment(data: &[u8], marker: u8, offset: usize, bytes: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let at = data.windows(2).position(|w| w == [0xFF, marker]).expect("segment present");
    out[at + 4 + offset..at + 4 + offset + bytes.len()].copy_from_slice(bytes);
    out
}

/// Inserts an LSE preset segment (MAXVAL, T1, T2, T3, RESET) before the SOS.
fn with_lse(data: &[u8], p: [u16; 5]) -> Vec<u8> {
    let sos = data.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let mut seg = vec![0xFF, 0xF8, 0x00, 0x0D, 0x01];
    for v in p {
        seg.extend_from_slice(&v.to_be_bytes());
    }
    [&data[..sos], &seg[..], &data[sos..]].concat()
}

#[test]
fn truncation_at_every_offset_is_an_error() {
    for name in [
        "c_g8_ct_64x48",
        "c_rgb8_ilv2_37x23",
        "c_rgb8_ilv0_near1_48x32",
        "c_g16_near2_rst5_40x23",
        "c_rgb8_ilv1_rst3_24x20",
        "d_g8_pads_17x13",
    ] {
        let data = stream(name);
        let eoi = data.windows(2).rposition(|w| w == [0xFF, 0xD9]).unwrap();
        for len in 0..=eoi + 1 {
            let r = decode(&data[..len], &opts());
            assert!(r.is_err(), "{name} truncated to {len} of {} decoded", data.len());
        }
        assert!(decode(&data[..eoi + 2], &opts()).is_ok(), "{name} whole");
    }
}

#[test]
fn truncated_entropy_data_says_truncated() {
    let data = stream("c_g16_ct_128x96");
    let half = data.len() / 2;
    assert_eq!(decode(&data[..half], &opts()), Err(JpegLsError::Truncated));
}

#[test]
fn corrupted_bytes_never_panic() {
    // Deterministic pseudo-random corruption of every stream kind.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for name in [
        "c_g8_ct_64x48",
        "c_g16_noise_24x16",
        "c_rgb8_ilv2_near3_48x32",
        "c_rgb12_ilv1_33x21",
        "c_rgba8_ilv0_24x16",
        "c_g12_maxval4000_37x23",
        "c_g8_rst8_64x48",
        "p_sc_rgb_lossy_line",
    ] {
        let data = stream(name);
        for _ in 0..400 {
            let mut d = data.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() as usize) % d.len();
                d[i] = next() as u8;
            }
            let _ = decode(&d, &opts());
            let _ = read_header(&d);
        }
    }
}

#[test]
fn bad_preset_parameters_are_refused() {
    let data = stream("c_g8_ct_64x48");
    let bad = |p: [u16; 5]| decode(&with_lse(&data, p), &opts()).unwrap_err();
    assert!(matches!(bad([0, 10, 5, 21, 64]), JpegLsError::BadPresetParameters(_)), "T1 > T2");
    assert!(matches!(bad([0, 3, 7, 6, 64]), JpegLsError::BadPresetParameters(_)), "T2 > T3");
    assert!(matches!(bad([0, 3, 7, 300, 64]), JpegLsError::BadPresetParameters(_)), "T3 > MAXVAL");
    assert!(matches!(bad([256, 0, 0, 0, 0]), JpegLsError::BadPresetParameters(_)), "MAXVAL > 2^P-1");
    assert!(matches!(bad([0, 0, 0, 0, 2]), JpegLsError::BadPresetParameters(_)), "RESET 2");
    assert!(matches!(bad([0, 0, 0, 0, 256]), JpegLsError::BadPresetParameters(_)), "RESET > 255");
    // T.87 C.2.4.1.1: a zero field means "the default" (MAXVAL 0 included): the same image.
    let same = decode(&with_lse(&data, [0, 0, 0, 0, 0]), &opts()).unwrap();
    assert_eq!(same, decode(&data, &opts()).unwrap());
    // Mapping tables and oversize dimensions are typed as unsupported.
    let sos = data.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    for (id, what) in [(2u8, Unsupported::MappingTable), (4, Unsupported::OversizeDimensions)] {
        let seg = [0xFF, 0xF8, 0x00, 0x06, id, 0x01, 0x00, 0x01];
        let d = [&data[..sos], &seg[..], &data[sos..]].concat();
        assert_eq!(decode(&d, &opts()), Err(JpegLsError::Unsupported(what)));
    }
    // A short LSE.
    let seg = [0xFF, 0xF8, 0x00, 0x05, 0x01, 0x00, 0xFF];
    let d = [&data[..sos], &seg[..], &data[sos..]].concat();
    assert!(matches!(decode(&d, &opts()), Err(JpegLsError::BadSegment { .. })));
}

#[test]
fn near_too_large_is_refused() {
    let data = stream("c_g2_33x17"); // MAXVAL 3: NEAR at most 1
                                     // SOS payload: Ns, (Cs, Tm), NEAR, ILV, Al.
    let d = patch_segment(&data, 0xDA, 3, &[2]);
    assert_eq!(decode(&d, &opts()), Err(JpegLsError::NearTooLarge { near: 2, maxval: 3 }));
}

#[test]
fn frames_beyond_max_pixels_are_refused_before_allocating() {
    let data = stream("c_g8_ct_64x48");
    let small = DecodeOptions { max_pixels: 64 * 48 - 1 };
    assert_eq!(decode(&data, &small), Err(JpegLsError::TooLarge { pixels: 64 * 48, max_pixels: 64 * 48 - 1 }));
    // A 65535 × 65535 frame with 4 components and almost no data.
    let mut huge = data.clone();
    let sof = huge.windows(2).position(|w| w == [0xFF, 0xF7]).unwrap();
    huge[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    let header = read_header(&huge).unwrap();
    assert_eq!((header.width, header.height), (65535, 65535));
    assert!(matches!(decode(&huge, &opts()), Err(JpegLsError::TooLarge { .. })));
    // Allowed, it fails on the data, not on memory.
    let big = DecodeOptions { max_pixels: u64::MAX };
    let mut wide = data.clone();
    wide[sof + 5..sof + 9].copy_from_slice(&[0x00, 0x02, 0xFF, 0xFF]);
    assert!(decode(&wide, &big).is_err());
}

#[test]
fn header_errors_are_typed() {
    let data = stream("c_g8_ct_64x48");
    assert_eq!(decode(&[], &opts()), Err(JpegLsError::NoSoi));
    assert_eq!(decode(&data[1..], &opts()), Err(JpegLsError::NoSoi));
    // Precision 1 and 17.
    for p in [1u8, 17] {
        let d = patch_segment(&data, 0xF7, 0, &[p]);
        assert!(matches!(decode(&d, &opts()), Err(JpegLsError::BadFrameHeader(_))));
    }
    // Width 0; height 0 (DNL).
    let d = patch_segment(&data, 0xF7, 3, &[0, 0]);
    assert!(matches!(decode(&d, &opts()), Err(JpegLsError::BadFrameHeader(_))));
    let d = patch_segment(&data, 0xF7, 1, &[0, 0]);
    assert_eq!(decode(&d, &opts()), Err(JpegLsError::Unsupported(Unsupported::HeightFromDnl)));
    // Subsampling.
    let d = patch_segment(&data, 0xF7, 7, &[0x21]);
    assert_eq!(decode(&d, &opts()), Err(JpegLsError::Unsupported(Unsupported::Subsampling)));
    // Scan for an unknown component; interleave mode 3; point transform.
    let d = patch_segment(&data, 0xDA, 1, &[9]);
    assert_eq!(decode(&d, &opts()), Err(JpegLsError::BadComponentSelector(9)));
    let d = patch_segment(&data, 0xDA, 4, &[3]);
    assert!(matches!(decode(&d, &opts()), Err(JpegLsError::BadScanHeader(_))));
    let d = patch_segment(&data, 0xDA, 5, &[1]);
    assert_eq!(decode(&d, &opts()), Err(JpegLsError::Unsupported(Unsupported::PointTransform)));
    // A baseline JPEG frame marker.
    let mut d = data.clone();
    let sof = d.windows(2).position(|w| w == [0xFF, 0xF7]).unwrap();
    d[sof + 1] = 0xC0;
    assert_eq!(decode(&d, &opts()), Err(JpegLsError::NotJpegLs(0xC0)));
    // No EOI: the last two bytes cut.
    assert!(decode(&data[..data.len() - 2], &opts()).is_err());
}

#[test]
fn missing_component_scan_is_an_error() {
    // ILV 0 colour: cut the stream after the first scan and close it with EOI.
    let data = stream("c_rgb8_ilv0_48x32");
    let second = data.windows(2).enumerate().filter(|(_, w)| *w == [0xFF, 0xDA]).nth(1).unwrap().0;
    let d = [&data[..second], &[0xFF, 0xD9][..]].concat();
    assert_eq!(decode(&d, &opts()), Err(JpegLsError::MissingScan));
}

#[test]
fn padding_and_trailing_bytes_are_accepted() {
    let data = stream("c_g8_ct_64x48");
    let expected = decode(&data, &opts()).unwrap();
    let eoi = data.len() - 2;
    // 0xFF fill bytes before EOI, a zero byte before EOI, bytes after EOI.
    for d in [
        [&data[..eoi], &[0xFF, 0xFF, 0xD9][..]].concat(),
        [&data[..eoi], &[0x00, 0xFF, 0xD9][..]].concat(),
        [&data[..], &[0x00][..]].concat(),
        [&data[..], &b"trailing garbage"[..]].concat(),
    ] {
        assert_eq!(decode(&d, &opts()).unwrap(), expected);
    }
}

#[test]
fn restart_marker_out_of_sequence_is_an_error() {
    let data = stream("c_g8_rst8_64x48");
    let first = data.windows(2).position(|w| w == [0xFF, 0xD0]).unwrap();
    let mut d = data.clone();
    d[first + 1] = 0xD3;
    assert_eq!(decode(&d, &opts()), Err(JpegLsError::BadRestartMarker { expected: 0, offset: first }));
}

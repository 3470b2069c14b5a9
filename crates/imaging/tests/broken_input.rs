//! Broken input yields a typed error, never a panic.

use obscura_imaging::synthetic::{self, SeriesParams};
use obscura_imaging::{decode, read_attributes, ImagingError};

fn params() -> SeriesParams {
    SeriesParams { rows: 64, columns: 64, slices: 4, ..Default::default() }
}

fn slice() -> Vec<u8> {
    synthetic::ct_slice_file(&params(), 2).unwrap()
}

#[test]
fn not_dicom() {
    for bytes in
        [&b""[..], &b"DIC"[..], &b"hello, this is not a DICOM file at all"[..], &[0u8; 4096][..], &[0xFFu8; 200][..]]
    {
        assert!(matches!(decode(bytes), Err(ImagingError::NotDicom { .. })), "{bytes:?}");
        assert!(matches!(read_attributes(bytes), Err(ImagingError::NotDicom { .. })));
    }
    // a PNG signature followed by junk
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.resize(1000, 7);
    let err = decode(&png).unwrap_err();
    assert!(matches!(err, ImagingError::NotDicom { .. }));
    assert!(err.to_string().contains("not a readable DICOM"), "{err}");
}

#[test]
fn truncated_pixel_data() {
    let file = slice();
    // cut inside the pixel data
    for cut in [file.len() - 1, file.len() - 2, file.len() - 1000, file.len() - 64 * 64] {
        let err = decode(&file[..cut]).unwrap_err();
        assert!(
            matches!(err, ImagingError::Truncated { .. } | ImagingError::PixelDataLength { .. }),
            "cut at {cut}: {err:?}"
        );
        // the header is intact: attributes still read
        assert_eq!(read_attributes(&file[..cut]).unwrap().instance_number, Some(3));
    }
}

#[test]
fn truncated_everywhere_never_panics() {
    let file = slice();
    let header_end = file.len() - 64 * 64 * 2;
    let mut cut = 0;
    while cut < file.len() {
        let _ = decode(&file[..cut]);
        let _ = read_attributes(&file[..cut]);
        cut += if cut < header_end + 64 { 1 } else { 97 };
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    let file = slice();
    let header_end = file.len() - 64 * 64 * 2;
    // flip every header byte in turn, a few ways
    for i in 0..header_end {
        for x in [0xFFu8, 0x01, 0x80] {
            let mut b = file.clone();
            b[i] ^= x;
            let _ = decode(&b);
            let _ = read_attributes(&b);
        }
    }
}

/// Find an element (group, element) in an Explicit VR LE file by its tag bytes.
fn find_tag(file: &[u8], group: u16, elem: u16) -> usize {
    let mut pat = group.to_le_bytes().to_vec();
    pat.extend_from_slice(&elem.to_le_bytes());
    file.windows(4).rposition(|w| w == pat.as_slice()).expect("tag present")
}

#[test]
fn missing_pixel_data() {
    let file = slice();
    let at = find_tag(&file, 0x7FE0, 0x0010);
    let without = &file[..at];
    assert!(matches!(decode(without), Err(ImagingError::MissingPixelData)));
    // attributes still read fine
    assert_eq!(read_attributes(without).unwrap().modality, "CT");
}

#[test]
fn short_pixel_data_element() {
    // a well-formed element whose value is too short for Rows × Columns
    let mut file = slice();
    let at = find_tag(&file, 0x7FE0, 0x0010);
    // explicit VR OW: tag(4) VR(2) reserved(2) length(4)
    let len_at = at + 8;
    let new_len: u32 = 64 * 64; // half the bytes
    file[len_at..len_at + 4].copy_from_slice(&new_len.to_le_bytes());
    file.truncate(len_at + 4 + new_len as usize);
    match decode(&file) {
        Err(ImagingError::PixelDataLength { expected, actual }) => {
            assert_eq!(expected, 64 * 64 * 2);
            assert_eq!(actual, 64 * 64);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn absurd_dimensions_are_refused_before_allocation() {
    let mut file = slice();
    // Rows (0028,0010) US = 0xFFFF and Columns too, NumberOfFrames absent:
    // 65535² × 2 bytes is over the limit only with frames; set BitsAllocated
    // stays 16 -> 8.6 GB: must be TooLarge (or a length error), not an allocation.
    for (g, e) in [(0x0028u16, 0x0010u16), (0x0028, 0x0011)] {
        let at = find_tag(&file, g, e);
        file[at + 8..at + 10].copy_from_slice(&0xFFFFu16.to_le_bytes());
    }
    let err = decode(&file).unwrap_err();
    assert!(matches!(err, ImagingError::TooLarge { .. }), "{err:?}");
}

#[test]
fn zero_rows_is_invalid() {
    let mut file = slice();
    let at = find_tag(&file, 0x0028, 0x0010);
    file[at + 8..at + 10].copy_from_slice(&0u16.to_le_bytes());
    assert!(matches!(decode(&file), Err(ImagingError::InvalidAttribute { .. })));
}

#[test]
fn errors_are_displayable_and_actionable() {
    let e = ImagingError::UnsupportedTransferSyntax { uid: "1.2.840.10008.1.2.4.90".into() };
    let s = e.to_string();
    assert!(s.contains("1.2.840.10008.1.2.4.90") && s.contains("transcode"), "{s}");
}

/// Fuzz finding (2026-12-02): an element header that crosses the end of a defined-length item
/// inside an undefined-length UN. dicom-rs read the header from the bytes past the item and tried
/// to reserve 4 GB; the length pre-scan now refuses the crossing before dicom-rs sees it.
#[test]
fn element_crossing_its_item_end_is_refused_before_allocation() {
    let file = include_bytes!("regressions/decode-oom-bd89c36a.dcm");
    let err = decode(file).unwrap_err();
    assert!(matches!(err, ImagingError::Truncated { .. }), "{err:?}");
    assert!(err.to_string().contains("crosses the end of its item"), "{err}");
}

/// Fuzz finding (2026-12-02): the file meta group's Group Length says the group goes on past its
/// last (0002) element; dicom-rs reads one more (off-group) element as meta, so the data set starts
/// 12 bytes later than the pre-scan thought, and there a length of 4 GB was reserved. The pre-scan
/// now reads the meta group by its Group Length, as dicom-rs does, and refuses the first broken
/// element on the parser's own element boundaries.
#[test]
fn meta_group_read_by_its_group_length() {
    let file = include_bytes!("regressions/decode-oom-0ea53d76.dcm");
    let err = decode(file).unwrap_err();
    assert!(matches!(err, ImagingError::Truncated { .. }), "{err:?}");
    assert!(err.to_string().contains("element (0000,0000)"), "{err}");
}

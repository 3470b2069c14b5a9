//! The synthetic series decodes to exactly the values it was generated from,
//! and its attributes read back.

use obscura_imaging::synthetic::{self, SeriesParams};
use obscura_imaging::{decode, read_attributes, Frame, Photometric};

fn small() -> SeriesParams {
    SeriesParams { rows: 128, columns: 96, slices: 40, ..Default::default() }
}

fn gray(frame: &Frame) -> &[u16] {
    match frame {
        Frame::U16(v) => v,
        _ => panic!("expected a 16-bit frame"),
    }
}

#[test]
fn decodes_exact_stored_values_first_middle_last() {
    let p = small();
    for index in [0, 1, 17, p.slices - 1] {
        let file = synthetic::ct_slice_file(&p, index).unwrap();
        let img = decode(&file).unwrap();
        let expected = synthetic::ct_slice_values(&p, index);
        assert_eq!(img.rows, p.rows);
        assert_eq!(img.columns, p.columns);
        assert_eq!(img.samples_per_pixel, 1);
        assert_eq!(img.photometric, Photometric::Monochrome2);
        assert_eq!(img.bits_stored, 16);
        assert!(img.signed);
        assert_eq!(img.rescale_slope, 1.0);
        assert_eq!(img.rescale_intercept, -1024.0);
        let w = img.window().expect("window");
        assert_eq!((w.center, w.width), (40.0, 400.0));
        assert_eq!(img.frames.len(), 1);
        let got = gray(&img.frames[0]);
        let want: Vec<u16> = expected.iter().map(|&v| v as u16).collect();
        assert!(got == want.as_slice(), "slice {index} differs");
        for i in [0usize, 500, expected.len() - 1] {
            assert_eq!(img.stored_value(0, i), i64::from(expected[i]));
            assert_eq!(img.modality_value(0, i), f64::from(expected[i]) - 1024.0);
        }
    }
}

#[test]
fn default_series_shape_and_phantom_content() {
    let p = SeriesParams::default();
    assert_eq!((p.rows, p.columns, p.slices), (512, 512, 120));
    let hu = |v: &[i16], r: u32, c: u32| i32::from(v[(r * p.columns + c) as usize]) - 1024;
    let near = |x: i32, want: i32| (x - want).abs() <= 4;

    let upper = synthetic::ct_slice_values(&p, 30);
    let lower = synthetic::ct_slice_values(&p, 100);
    // corner: outside the field of view, negative stored value
    assert_eq!(upper[0], synthetic::OUTSIDE_FOV_STORED);
    // air above the body
    assert_eq!(hu(&upper, 60, 50 + 256 - 50), -1000);
    // lungs in the upper slice (patient right = image left), none in the lower one
    assert!(near(hu(&upper, 256, 256 - 92), -850), "{}", hu(&upper, 256, 164));
    assert!(near(hu(&upper, 256, 256 + 92), -850));
    assert!(hu(&lower, 256, 256 - 92) > -200);
    // vertebral body (bone) on the midline, posterior
    let v = hu(&upper, (256.0 + 0.38 * 256.0) as u32, 256);
    assert!((650..=1010).contains(&v), "vertebra {v}");
    // liver in the lower slice
    assert!(near(hu(&lower, 256, 256 - 80), 60), "liver {}", hu(&lower, 256, 176));
    // fat rim at the body edge, lateral
    let fat_col = (256.0 - 0.81 * 256.0) as u32;
    let rim = hu(&lower, 256 + 15, fat_col);
    assert!(near(rim, -100), "fat rim {rim}");
}

#[test]
fn every_slice_distinct_and_deterministic() {
    let p = SeriesParams { rows: 64, columns: 64, slices: 120, ..Default::default() };
    let all: Vec<Vec<i16>> = (0..p.slices).map(|i| synthetic::ct_slice_values(&p, i)).collect();
    for i in 0..all.len() {
        for j in (i + 1)..all.len() {
            assert_ne!(all[i], all[j], "slices {i} and {j} are equal");
        }
    }
    assert_eq!(synthetic::ct_series(&small()), synthetic::ct_series(&small()));
}

#[test]
fn attributes_of_phantom() {
    let p = small();
    let files = synthetic::ct_series(&p);
    assert_eq!(files.len(), p.slices as usize);
    let a = read_attributes(&files[4]).unwrap();
    assert_eq!(a.patient_name, "OBSCURA^PHANTOM^DEMO");
    assert_eq!(a.patient_id, "OBS-DEMO-0001");
    assert_eq!(a.patient_birth_date, "19700101");
    assert_eq!(a.patient_sex, "O");
    assert_eq!(a.study_description, "Synthetic CT phantom (demo)");
    assert_eq!(a.study_date, p.study_date);
    assert_eq!(a.study_time, p.study_time);
    assert_eq!(a.accession_number, p.accession_number);
    assert_eq!(a.referring_physician_name, p.referring_physician_name);
    assert_eq!(a.study_instance_uid, p.study_instance_uid());
    assert_eq!(a.series_instance_uid, p.series_instance_uid());
    assert_eq!(a.sop_instance_uid, p.sop_instance_uid(4));
    assert_eq!(a.sop_class_uid, synthetic::CT_IMAGE_STORAGE);
    assert_eq!(a.transfer_syntax_uid, "1.2.840.10008.1.2.1");
    assert_eq!(a.modality, "CT");
    assert_eq!(a.series_number, Some(1));
    assert_eq!(a.series_description, p.series_description);
    assert_eq!(a.instance_number, Some(5));
    assert_eq!(a.slice_location, Some(p.slice_z(4)));
    assert_eq!(a.image_position_patient.unwrap()[2], p.slice_z(4));
    assert_eq!(a.image_orientation_patient, Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]));
    assert_eq!(a.pixel_spacing, Some([0.7, 0.7]));
    assert_eq!(a.frame_of_reference_uid, p.frame_of_reference_uid());
    assert_eq!((a.imager_pixel_spacing, a.pixel_aspect_ratio), (None, None));
    assert_eq!(a.slice_thickness, Some(2.5));
    assert_eq!(a.rows, Some(p.rows));
    assert_eq!(a.columns, Some(p.columns));
    assert_eq!(a.number_of_frames, None);
    // UIDs are valid: digits and dots, at most 64 chars, no leading zeros
    for uid in [&a.study_instance_uid, &a.series_instance_uid, &a.sop_instance_uid] {
        assert!(uid.len() <= 64);
        for part in uid.split('.') {
            assert!(!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
            assert!(part == "0" || !part.starts_with('0'));
        }
    }
    // slice locations decrease monotonically (slice 0 is superior)
    let z: Vec<f64> = files.iter().map(|f| read_attributes(f).unwrap().slice_location.unwrap()).collect();
    assert!(z.windows(2).all(|w| (w[0] - w[1] - 2.5).abs() < 1e-9));
}

#[test]
fn configurable_identity() {
    let p = SeriesParams {
        rows: 32,
        columns: 32,
        slices: 2,
        patient_name: "TEST^PATIENT".into(),
        study_description: "Other".into(),
        uid_root: "1.2.3.4".into(),
        ..Default::default()
    };
    let a = read_attributes(&synthetic::ct_series(&p)[1]).unwrap();
    assert_eq!(a.patient_name, "TEST^PATIENT");
    assert_eq!(a.study_description, "Other");
    assert_eq!(a.study_instance_uid, "1.2.3.4.1");
    assert_eq!(a.sop_instance_uid, "1.2.3.4.1.1.2");
}

#[test]
fn accepts_file_without_preamble() {
    let p = small();
    let file = synthetic::ct_slice_file(&p, 3).unwrap();
    let no_preamble = &file[128..];
    let img = decode(no_preamble).unwrap();
    let want: Vec<u16> = synthetic::ct_slice_values(&p, 3).iter().map(|&v| v as u16).collect();
    assert_eq!(gray(&img.frames[0]), want.as_slice());
    assert_eq!(read_attributes(no_preamble).unwrap().instance_number, Some(4));
}

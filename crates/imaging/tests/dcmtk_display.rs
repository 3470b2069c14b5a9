//! The CPU display pipeline (`display::render_rgb8`, the renderer's reference) against DCMTK's
//! `dcm2pnm` on the same files: windows with the LINEAR and SIGMOID functions, VOI LUTs of 8 and
//! 16 bits, a Modality LUT, MONOCHROME1 and a palette, each within ±1 of DCMTK's 8-bit output.
//!
//! Not comparable: LINEAR_EXACT. DCMTK 3.6.7 (Debian 12) has no LINEAR_EXACT; it reads the
//! VOI LUT Function as LINEAR, which `linear_exact_is_not_what_dcmtk_does` pins down.
//!
//! These tests FAIL when DCMTK is missing: install it with `apt-get install -y dcmtk`.

use std::path::PathBuf;
use std::process::Command;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;
use obscura_imaging::display::{render_rgb8, Voi};
use obscura_imaging::synthetic::{self, SeriesParams};
use obscura_imaging::{decode, VoiFunction, Window};

type Element = DataElement<InMemDicomObject>;

fn build(elems: Vec<Element>) -> Vec<u8> {
    let mut obj = InMemDicomObject::new_empty();
    obj.put(DataElement::new(tags::SOP_CLASS_UID, VR::UI, PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.7")));
    obj.put(DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from("1.2.3.4.5")));
    for e in elems {
        obj.put(e);
    }
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
        .media_storage_sop_instance_uid("1.2.3.4.5")
        .implementation_class_uid("1.2.3.4");
    let mut out = Vec::new();
    obj.with_meta(meta).unwrap().write_all(&mut out).unwrap();
    out
}

fn us(tag: dicom_core::Tag, v: &[u16]) -> Element {
    DataElement::new(tag, VR::US, PrimitiveValue::U16(v.iter().copied().collect()))
}
fn cs(tag: dicom_core::Tag, v: &str) -> Element {
    DataElement::new(tag, VR::CS, PrimitiveValue::from(v))
}
fn ds(tag: dicom_core::Tag, v: &str) -> Element {
    DataElement::new(tag, VR::DS, PrimitiveValue::from(v))
}
fn ow(tag: dicom_core::Tag, v: &[u16]) -> Element {
    DataElement::new(tag, VR::OW, PrimitiveValue::U16(v.iter().copied().collect()))
}

/// An unsigned 12-bit gray image of 64×64 with every stored value 0..4095 once.
fn gray12(photometric: &str, extra: Vec<Element>) -> Vec<u8> {
    let values: Vec<u16> = (0..4096u32).map(|i| (i * 1237 % 4096) as u16).collect();
    let mut e = vec![
        us(tags::ROWS, &[64]),
        us(tags::COLUMNS, &[64]),
        us(tags::SAMPLES_PER_PIXEL, &[1]),
        cs(tags::PHOTOMETRIC_INTERPRETATION, photometric),
        us(tags::BITS_ALLOCATED, &[16]),
        us(tags::BITS_STORED, &[12]),
        us(tags::HIGH_BIT, &[11]),
        us(tags::PIXEL_REPRESENTATION, &[0]),
        ow(tags::PIXEL_DATA, &values),
    ];
    e.extend(extra);
    build(e)
}

fn lut_item(first: u16, bits: u16, data: &[u16]) -> InMemDicomObject {
    let count = if data.len() == 65536 { 0 } else { data.len() as u16 };
    InMemDicomObject::from_element_iter([us(tags::LUT_DESCRIPTOR, &[count, first, bits]), ow(tags::LUT_DATA, data)])
}

fn tool() -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("dcm2pnm"))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("`dcm2pnm` not found on PATH: these tests need DCMTK; install it with `apt-get install -y dcmtk`")
    })
}

/// `dcm2pnm args file` → (width, height, samples per pixel, 8-bit samples).
fn dcm2pnm(file: &[u8], args: &[&str], tag: &str) -> (usize, usize, usize, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!("obscura-dcmtk-display-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (input, output) = (dir.join("in.dcm"), dir.join("out.pnm"));
    std::fs::write(&input, file).unwrap();
    let out = Command::new(tool())
        .args(args)
        .arg("+op")
        .arg(&input)
        .arg(&output)
        .output()
        .unwrap_or_else(|e| panic!("running dcm2pnm: {e}"));
    assert!(
        out.status.success(),
        "dcm2pnm {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let pnm = std::fs::read(&output).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    parse_pnm(&pnm)
}

/// A binary PGM (P5) or PPM (P6) with maxval 255.
fn parse_pnm(pnm: &[u8]) -> (usize, usize, usize, Vec<u8>) {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while pnm[i].is_ascii_whitespace() {
            i += 1;
        }
        if pnm[i] == b'#' {
            while pnm[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while !pnm[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&pnm[start..i]).to_string());
    }
    let samples = match fields[0].as_str() {
        "P5" => 1,
        "P6" => 3,
        other => panic!("unexpected PNM kind {other}"),
    };
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    assert_eq!(fields[3], "255");
    let data = pnm[i + 1..].to_vec();
    assert_eq!(data.len(), w * h * samples);
    (w, h, samples, data)
}

/// Our display pipeline for `file` with `voi` (None: the file's default) against `dcm2pnm args`.
fn check(file: &[u8], voi: Option<Voi>, args: &[&str], tag: &str) {
    let img = decode(file).unwrap();
    let voi = voi.unwrap_or_else(|| Voi::default_for(&img, 0));
    let ours = render_rgb8(&img, 0, voi).unwrap();
    let (w, h, samples, theirs) = dcm2pnm(file, args, tag);
    assert_eq!((w, h), (img.columns as usize, img.rows as usize));
    let ours: Vec<u8> = if samples == 1 { ours.chunks_exact(3).map(|p| p[0]).collect() } else { ours };
    let bad: Vec<(usize, u8, u8)> = ours
        .iter()
        .zip(&theirs)
        .enumerate()
        .filter(|(_, (a, b))| a.abs_diff(**b) > 1)
        .map(|(i, (a, b))| (i, *a, *b))
        .collect();
    assert!(
        bad.is_empty(),
        "{tag} {args:?}: {} samples differ by more than 1 from dcm2pnm, first (index, ours, dcmtk): {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
    // The comparison must see more than one level (a narrow window gives just black and white).
    let distinct: std::collections::BTreeSet<u8> = theirs.iter().copied().collect();
    assert!(distinct.len() >= 2, "{tag}: dcm2pnm output is uniform");
}

fn win(c: f64, w: f64, f: VoiFunction) -> Option<Voi<'static>> {
    Some(Voi::Window(Window { center: c, width: w }, f))
}

#[test]
fn ct_windows_linear_and_sigmoid() {
    let p = SeriesParams { rows: 128, columns: 128, slices: 3, ..Default::default() };
    let file = synthetic::ct_slice_file(&p, 1).unwrap();
    for (c, w) in [(40.0, 400.0), (-600.0, 1500.0), (40.0, 80.0), (300.0, 2.0), (0.0, 5000.0)] {
        let (cs, ws) = (c.to_string(), w.to_string());
        check(&file, win(c, w, VoiFunction::Linear), &["+Ww", &cs, &ws], &format!("ct-linear-{c}-{w}"));
        check(&file, win(c, w, VoiFunction::Sigmoid), &["+Ww", &cs, &ws, "+Wfs"], &format!("ct-sigmoid-{c}-{w}"));
    }
}

#[test]
fn voi_luts_of_8_and_16_bits() {
    let lut16: Vec<u16> = (0..4096u32).map(|i| ((i * i) / 256) as u16).collect();
    let lut8: Vec<u16> = (0..2048u32).map(|i| ((i / 8) ^ 0x55) as u16 & 0xff).collect();
    let file = gray12(
        "MONOCHROME2",
        vec![DataElement::new(
            tags::VOILUT_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![lut_item(0, 16, &lut16), lut_item(1024, 8, &lut8)]),
        )],
    );
    let img = decode(&file).unwrap();
    assert_eq!(img.voi_luts.len(), 2);
    check(&file, Some(Voi::Lut(&img.voi_luts[0])), &["+Wl", "1"], "voi-lut-16");
    check(&file, Some(Voi::Lut(&img.voi_luts[1])), &["+Wl", "2"], "voi-lut-8");
}

#[test]
fn modality_lut_then_window() {
    // Stored 0..4095 through a decreasing 16-bit curve.
    let lut: Vec<u16> = (0..4096u32).map(|i| (60000 - i * 13) as u16).collect();
    let file = gray12(
        "MONOCHROME2",
        vec![DataElement::new(tags::MODALITY_LUT_SEQUENCE, VR::SQ, DataSetSequence::from(vec![lut_item(0, 16, &lut)]))],
    );
    let img = decode(&file).unwrap();
    assert!(img.modality_lut.is_some());
    for (c, w) in [(30000.0, 40000.0), (40000.0, 3000.0)] {
        let (cs, ws) = (c.to_string(), w.to_string());
        check(&file, win(c, w, VoiFunction::Linear), &["+Ww", &cs, &ws], &format!("modality-lut-{c}-{w}"));
    }
}

#[test]
fn monochrome1_is_inverted() {
    let file = gray12("MONOCHROME1", vec![ds(tags::WINDOW_CENTER, "1500"), ds(tags::WINDOW_WIDTH, "2000")]);
    check(&file, None, &["+Wi", "1"], "monochrome1");
    check(&file, win(600.0, 300.0, VoiFunction::Linear), &["+Ww", "600", "300"], "monochrome1-window");
}

#[test]
fn palette_colour() {
    let ramp = |f: &dyn Fn(u32) -> u32| (0..256u32).map(|i| f(i) as u16).collect::<Vec<u16>>();
    let (red, green, blue) = (ramp(&|i| i * 257), ramp(&|i| (255 - i) * 257), ramp(&|i| (i * 7919) % 65536));
    let indices: Vec<u8> = (0..64u32 * 64).map(|i| (i * 37 % 256) as u8).collect();
    let file = build(vec![
        us(tags::ROWS, &[64]),
        us(tags::COLUMNS, &[64]),
        us(tags::SAMPLES_PER_PIXEL, &[1]),
        cs(tags::PHOTOMETRIC_INTERPRETATION, "PALETTE COLOR"),
        us(tags::BITS_ALLOCATED, &[8]),
        us(tags::BITS_STORED, &[8]),
        us(tags::HIGH_BIT, &[7]),
        us(tags::PIXEL_REPRESENTATION, &[0]),
        us(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, &[256, 0, 16]),
        us(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, &[256, 0, 16]),
        us(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, &[256, 0, 16]),
        ow(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA, &red),
        ow(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA, &green),
        ow(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA, &blue),
        DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8(indices.into())),
    ]);
    check(&file, None, &[], "palette");
}

#[test]
fn linear_exact_is_not_what_dcmtk_does() {
    // A narrow window tells the functions apart: at x = c, LINEAR_EXACT gives 0.5 (128) and
    // LINEAR with w = 4 gives (0.5 / 3 + 0.5) = 0.667 (170).
    let file = gray12(
        "MONOCHROME2",
        vec![ds(tags::WINDOW_CENTER, "2000"), ds(tags::WINDOW_WIDTH, "4"), cs(tags::VOILUT_FUNCTION, "LINEAR_EXACT")],
    );
    let img = decode(&file).unwrap();
    assert_eq!(img.voi_function, VoiFunction::LinearExact);
    let (_, _, _, dcmtk) = dcm2pnm(&file, &["+Wi", "1"], "linear-exact");
    let as_linear = render_rgb8(&img, 0, win(2000.0, 4.0, VoiFunction::Linear).unwrap()).unwrap();
    let as_exact = render_rgb8(&img, 0, Voi::default_for(&img, 0)).unwrap();
    let gray = |rgb: Vec<u8>| rgb.chunks_exact(3).map(|p| p[0]).collect::<Vec<u8>>();
    assert_eq!(gray(as_linear), dcmtk, "DCMTK 3.6.7 applies LINEAR where the file says LINEAR_EXACT");
    assert_ne!(gray(as_exact), dcmtk);
}

//! The seed corpus of the `decode` fuzz target (`fuzz/corpus/decode/`): small DICOM files covering
//! the pixel layouts the decoder handles natively (transfer syntaxes, BitsAllocated 1/8/16/32,
//! planar, YBR_FULL_422, palette with segmented LUTs, RLE, Modality/VOI LUT sequences), so that
//! fuzzing starts inside the pixel pipeline rather than at the DICM magic.
//!
//! This test checks that the committed seeds are exactly what this generator makes and that each
//! decodes. Regenerate after a deliberate change with
//! `OBSCURA_REGEN_FUZZ_CORPUS=1 cargo test -p obscura-imaging --test fuzz_corpus`.

use std::path::{Path, PathBuf};

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;
use obscura_imaging::synthetic::{self, SeriesParams};

type Elem = DataElement<InMemDicomObject>;

fn us(tag: dicom_core::Tag, v: &[u16]) -> Elem {
    DataElement::new(tag, VR::US, PrimitiveValue::U16(v.iter().copied().collect()))
}
fn cs(tag: dicom_core::Tag, v: &str) -> Elem {
    DataElement::new(tag, VR::CS, PrimitiveValue::from(v))
}
fn ow(tag: dicom_core::Tag, v: &[u16]) -> Elem {
    DataElement::new(tag, VR::OW, PrimitiveValue::U16(v.iter().copied().collect()))
}

fn image(rows: u16, cols: u16, spp: u16, pi: &str, ba: u16, bs: u16, signed: bool) -> Vec<Elem> {
    vec![
        us(tags::ROWS, &[rows]),
        us(tags::COLUMNS, &[cols]),
        us(tags::SAMPLES_PER_PIXEL, &[spp]),
        cs(tags::PHOTOMETRIC_INTERPRETATION, pi),
        us(tags::BITS_ALLOCATED, &[ba]),
        us(tags::BITS_STORED, &[bs]),
        us(tags::HIGH_BIT, &[bs - 1]),
        us(tags::PIXEL_REPRESENTATION, &[u16::from(signed)]),
    ]
}

fn file(elems: Vec<Elem>, ts: &str) -> Vec<u8> {
    let mut obj = InMemDicomObject::new_empty();
    obj.put(DataElement::new(tags::SOP_CLASS_UID, VR::UI, PrimitiveValue::from(uids::SECONDARY_CAPTURE_IMAGE_STORAGE)));
    obj.put(DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from("2.25.1")));
    for e in elems {
        obj.put(e);
    }
    let f = obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(ts).implementation_class_uid("2.25.2")).unwrap();
    let mut out = Vec::new();
    f.write_all(&mut out).unwrap();
    out
}

/// RLE Lossless fragment of one frame: every segment as PackBits literal runs.
fn rle_fragment(segments: &[Vec<u8>]) -> Vec<u8> {
    let mut header = vec![0u8; 64];
    header[..4].copy_from_slice(&(segments.len() as u32).to_le_bytes());
    let mut body = Vec::new();
    for (k, seg) in segments.iter().enumerate() {
        let off = 64 + body.len() as u32;
        header[4 + 4 * k..8 + 4 * k].copy_from_slice(&off.to_le_bytes());
        for run in seg.chunks(128) {
            body.push((run.len() - 1) as u8);
            body.extend_from_slice(run);
        }
        if body.len() % 2 == 1 {
            body.push(0x80); // no-op byte keeps segments even
        }
    }
    header.extend(body);
    header
}

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let ct = SeriesParams { rows: 16, columns: 16, slices: 2, ..Default::default() };
    let mut out = vec![("ct_explicit_le.dcm", synthetic::ct_slice_file(&ct, 0).unwrap())];

    let values: Vec<u16> = synthetic::ct_slice_values(&ct, 1).iter().map(|&v| v as u16).collect();
    let mut e = image(16, 16, 1, "MONOCHROME2", 16, 12, true);
    e.push(ow(tags::PIXEL_DATA, &values));
    e.push(DataElement::new(tags::WINDOW_CENTER, VR::DS, PrimitiveValue::from("40\\400")));
    e.push(DataElement::new(tags::WINDOW_WIDTH, VR::DS, PrimitiveValue::from("400\\2000")));
    e.push(cs(tags::VOILUT_FUNCTION, "SIGMOID"));
    out.push(("ct12_implicit_le.dcm", file(e.clone(), uids::IMPLICIT_VR_LITTLE_ENDIAN)));
    out.push(("ct12_explicit_be.dcm", file(e, "1.2.840.10008.1.2.2")));

    // Modality and VOI LUT sequences
    let lut_item = |first: u16, data: &[u16]| {
        InMemDicomObject::from_element_iter([
            us(tags::LUT_DESCRIPTOR, &[data.len() as u16, first, 12]),
            ow(tags::LUT_DATA, data),
        ])
    };
    let mut e = image(4, 4, 1, "MONOCHROME1", 8, 8, false);
    e.push(DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8((0..16u8).map(|i| i * 16).collect())));
    e.push(DataElement::new(
        tags::MODALITY_LUT_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![lut_item(0, &(0..256).map(|i| i * 16).collect::<Vec<u16>>())]),
    ));
    e.push(DataElement::new(tags::VOILUT_SEQUENCE, VR::SQ, DataSetSequence::from(vec![lut_item(0, &[0, 4095])])));
    e.push(cs(tags::PRESENTATION_LUT_SHAPE, "INVERSE"));
    out.push(("luts_mono1.dcm", file(e, uids::EXPLICIT_VR_LITTLE_ENDIAN)));

    // BitsAllocated 1, two frames that share a byte
    let mut e = image(3, 3, 1, "MONOCHROME2", 1, 1, false);
    e.push(DataElement::new(tags::NUMBER_OF_FRAMES, VR::IS, PrimitiveValue::from("2")));
    e.push(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::U8(vec![0b1010_1101, 0b1100_0110, 0b01, 0].into()),
    ));
    out.push(("bits1_two_frames.dcm", file(e, uids::EXPLICIT_VR_LITTLE_ENDIAN)));

    // BitsAllocated 32 signed
    let mut e = image(2, 2, 1, "MONOCHROME2", 32, 32, true);
    let v: Vec<u8> = [-7i32, 0, 1 << 20, i32::MIN].iter().flat_map(|x| x.to_le_bytes()).collect();
    e.push(DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8(v.into())));
    out.push(("bits32_signed.dcm", file(e, uids::EXPLICIT_VR_LITTLE_ENDIAN)));

    // planar RGB and YBR_FULL_422
    let mut e = image(2, 2, 3, "RGB", 8, 8, false);
    e.push(us(tags::PLANAR_CONFIGURATION, &[1]));
    e.push(DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8((0..12u8).map(|i| i * 20).collect())));
    out.push(("rgb_planar.dcm", file(e, uids::EXPLICIT_VR_LITTLE_ENDIAN)));
    let mut e = image(2, 2, 3, "YBR_FULL_422", 8, 8, false);
    e.push(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::U8(vec![16, 235, 90, 200, 128, 128, 128, 128].into()),
    ));
    out.push(("ybr_full_422.dcm", file(e, uids::EXPLICIT_VR_LITTLE_ENDIAN)));

    // palette: 8-bit indices, 16-bit LUTs, one segmented
    let mut e = image(2, 2, 1, "PALETTE COLOR", 8, 8, false);
    e.push(DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8(vec![0, 1, 2, 3].into())));
    for (d, t) in [
        (tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA),
        (tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA),
    ] {
        e.push(us(d, &[4, 0, 16]));
        e.push(ow(t, &[0, 0x4000, 0x8000, 0xFFFF]));
    }
    e.push(us(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, &[4, 0, 16]));
    e.push(ow(tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA, &[0, 1, 0, 1, 3, 0xFFFF]));
    out.push(("palette_segmented.dcm", file(e, uids::EXPLICIT_VR_LITTLE_ENDIAN)));

    // RLE: 16-bit gray and 8-bit RGB, two frames
    let mut e = image(4, 4, 1, "MONOCHROME2", 16, 16, true);
    let hi: Vec<u8> = (0..16u8).map(|i| i.wrapping_mul(17)).collect();
    let lo: Vec<u8> = (0..16u8).map(|i| 255 - i).collect();
    e.push(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        dicom_core::value::Value::PixelSequence(dicom_core::value::PixelFragmentSequence::new(
            vec![],
            vec![rle_fragment(&[hi, lo])],
        )),
    ));
    out.push(("rle_gray16.dcm", file(e, uids::RLE_LOSSLESS)));
    let mut e = image(2, 3, 3, "RGB", 8, 8, false);
    e.push(DataElement::new(tags::NUMBER_OF_FRAMES, VR::IS, PrimitiveValue::from("2")));
    let plane = |k: u8| (0..6u8).map(|i| i * 40 + k).collect::<Vec<u8>>();
    let frag = rle_fragment(&[plane(0), plane(1), plane(2)]);
    e.push(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        dicom_core::value::Value::PixelSequence(dicom_core::value::PixelFragmentSequence::new(
            vec![],
            vec![frag.clone(), frag],
        )),
    ));
    out.push(("rle_rgb_two_frames.dcm", file(e, uids::RLE_LOSSLESS)));
    out
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/decode")
}

#[test]
fn committed_seeds_are_what_the_generator_makes_and_decode() {
    let dir = corpus_dir();
    let regen = std::env::var_os("OBSCURA_REGEN_FUZZ_CORPUS").is_some();
    if regen {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
    }
    for (name, bytes) in seeds() {
        let img = obscura_imaging::decode(&bytes).unwrap_or_else(|e| panic!("seed {name} does not decode: {e}"));
        assert!(!img.frames.is_empty());
        let path = dir.join(name);
        if regen {
            std::fs::write(&path, &bytes).unwrap();
        } else {
            let committed = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{}: {e}; regenerate with OBSCURA_REGEN_FUZZ_CORPUS=1", path.display()));
            assert!(
                committed == bytes,
                "{name} differs from the generator; regenerate with OBSCURA_REGEN_FUZZ_CORPUS=1"
            );
        }
    }
}

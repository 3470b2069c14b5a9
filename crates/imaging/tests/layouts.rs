//! Image layouts other than the phantom's: multi-frame, 12-bit, MONOCHROME1,
//! 8-bit RGB (interleaved and planar), built with dicom-object.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;
use obscura_imaging::{decode, read_attributes, Frame, ImagingError, Photometric};

fn build(elems: Vec<DataElement<InMemDicomObject>>, ts: &str) -> Vec<u8> {
    let mut obj = InMemDicomObject::new_empty();
    obj.put(DataElement::new(tags::SOP_CLASS_UID, VR::UI, PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.7")));
    obj.put(DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from("1.2.3.4.5")));
    for e in elems {
        obj.put(e);
    }
    let file =
        obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(ts).implementation_class_uid("1.2.3.4")).unwrap();
    let mut out = Vec::new();
    file.write_all(&mut out).unwrap();
    out
}

fn us(tag: dicom_core::Tag, v: u16) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(v))
}
fn cs(tag: dicom_core::Tag, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::CS, PrimitiveValue::from(v))
}

#[test]
fn multiframe_12bit_monochrome1_unsigned() {
    let (rows, cols, frames) = (3u16, 5u16, 4u16);
    let n = rows as usize * cols as usize * frames as usize;
    // 12 stored bits, junk in the top nibble
    let raw: Vec<u16> = (0..n as u16).map(|i| (i * 97 % 4096) | 0xA000).collect();
    let bytes: Vec<u8> = raw.iter().flat_map(|v| v.to_le_bytes()).collect();
    let file = build(
        vec![
            us(tags::ROWS, rows),
            us(tags::COLUMNS, cols),
            us(tags::SAMPLES_PER_PIXEL, 1),
            cs(tags::PHOTOMETRIC_INTERPRETATION, "MONOCHROME1"),
            us(tags::BITS_ALLOCATED, 16),
            us(tags::BITS_STORED, 12),
            us(tags::HIGH_BIT, 11),
            us(tags::PIXEL_REPRESENTATION, 0),
            DataElement::new(tags::NUMBER_OF_FRAMES, VR::IS, PrimitiveValue::from("4")),
            DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U8(bytes.into())),
        ],
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
    );
    let img = decode(&file).unwrap();
    assert_eq!(img.photometric, Photometric::Monochrome1);
    assert_eq!(img.frames.len(), 4);
    assert!(!img.signed);
    assert_eq!(img.bits_stored, 12);
    assert_eq!((img.rescale_slope, img.rescale_intercept), (1.0, 0.0));
    assert!(img.window().is_none());
    let per = rows as usize * cols as usize;
    for (f, frame) in img.frames.iter().enumerate() {
        let Frame::U16(v) = frame else { panic!() };
        for (i, &x) in v.iter().enumerate() {
            assert_eq!(x, raw[f * per + i] & 0x0FFF);
        }
    }
    assert_eq!(read_attributes(&file).unwrap().number_of_frames, Some(4));
}

fn rgb(planar: u16, pi: &str) -> Vec<u8> {
    // 2 x 2 pixels
    let px: Vec<u8> = if planar == 0 {
        vec![255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]
    } else {
        vec![255, 0, 0, 10, 0, 255, 0, 20, 0, 0, 255, 30]
    };
    build(
        vec![
            us(tags::ROWS, 2),
            us(tags::COLUMNS, 2),
            us(tags::SAMPLES_PER_PIXEL, 3),
            cs(tags::PHOTOMETRIC_INTERPRETATION, pi),
            us(tags::PLANAR_CONFIGURATION, planar),
            us(tags::BITS_ALLOCATED, 8),
            us(tags::BITS_STORED, 8),
            us(tags::HIGH_BIT, 7),
            us(tags::PIXEL_REPRESENTATION, 0),
            DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8(px.into())),
        ],
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
    )
}

#[test]
fn rgb_interleaved_and_planar() {
    let want = vec![255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30];
    for planar in [0, 1] {
        let img = decode(&rgb(planar, "RGB")).unwrap();
        assert_eq!(img.photometric, Photometric::Rgb);
        assert_eq!(img.samples_per_pixel, 3);
        assert_eq!(img.frames, vec![Frame::U8(want.clone())], "planar {planar}");
    }
}

fn palette_file(extra: Vec<DataElement<InMemDicomObject>>) -> Vec<u8> {
    let mut elems = vec![
        us(tags::ROWS, 1),
        us(tags::COLUMNS, 3),
        us(tags::SAMPLES_PER_PIXEL, 1),
        cs(tags::PHOTOMETRIC_INTERPRETATION, "PALETTE COLOR"),
        us(tags::BITS_ALLOCATED, 8),
        us(tags::BITS_STORED, 8),
        us(tags::HIGH_BIT, 7),
        us(tags::PIXEL_REPRESENTATION, 0),
        DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8(vec![10, 11, 200, 0].into())),
    ];
    elems.extend(extra);
    build(elems, uids::EXPLICIT_VR_LITTLE_ENDIAN)
}

fn ow(tag: dicom_core::Tag, v: &[u16]) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::OW, PrimitiveValue::U16(v.iter().copied().collect()))
}
fn desc(tag: dicom_core::Tag, v: [u16; 3]) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::U16(v.iter().copied().collect()))
}

#[test]
fn palette_color_16_bit_plain_and_segmented() {
    // without its LUTs the image is refused, naming what is missing
    assert!(matches!(decode(&palette_file(vec![])), Err(ImagingError::MissingAttribute { .. })));

    // 16-bit red/green LUTs of 2 entries starting at index 10; blue segmented: discrete [0], linear to 65535
    let file = palette_file(vec![
        desc(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [2, 10, 16]),
        desc(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [2, 10, 16]),
        desc(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [2, 10, 16]),
        ow(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA, &[0xFFFF, 0x0000]),
        ow(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA, &[0x0000, 0x8000]),
        ow(tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA, &[0, 1, 0, 1, 1, 0xFFFF]),
    ]);
    let img = decode(&file).unwrap();
    assert_eq!(img.photometric, Photometric::PaletteColor);
    // stored values are the indices, before the lookup
    assert_eq!(img.frames, vec![Frame::U8(vec![10, 11, 200])]);
    let p = img.palette.as_ref().unwrap();
    assert_eq!(p.blue.data, vec![0, 0xFFFF]);
    let rgb = obscura_imaging::display::render_rgb8(&img, 0, obscura_imaging::display::Voi::default_for(&img, 0));
    // index 10 → (255, 0, 0); 11 → (0, 128, 255); 200 is past the end → last entry
    assert_eq!(rgb.unwrap(), vec![255, 0, 0, 0, 128, 255, 0, 128, 255]);
}

#[test]
fn no_pixel_data_object() {
    let file = build(vec![cs(tags::MODALITY, "SR")], uids::EXPLICIT_VR_LITTLE_ENDIAN);
    assert!(matches!(decode(&file), Err(ImagingError::MissingPixelData)));
    let a = read_attributes(&file).unwrap();
    assert_eq!(a.modality, "SR");
    assert_eq!(a.sop_instance_uid, "1.2.3.4.5");
    assert_eq!(a.rows, None);
    assert_eq!(a.patient_name, "");
}

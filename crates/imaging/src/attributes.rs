//! Patient / study / series / instance attributes for the study index.

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;

use crate::decode::open;
use crate::ImagingError;

/// The attributes the gateway puts in the (encrypted) study index and the viewer
/// shows in its worklist and overlays.
///
/// Strings are trimmed of DICOM padding (spaces, NULs); an absent attribute is an
/// empty string or `None`. Person names keep DICOM's `^` component separators.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Attributes {
    /// Patient's Name (0010,0010), e.g. `DOE^JANE`.
    pub patient_name: String,
    /// Patient ID (0010,0020).
    pub patient_id: String,
    /// Patient's Birth Date (0010,0030), `YYYYMMDD`.
    pub patient_birth_date: String,
    /// Patient's Sex (0010,0040): `M`, `F`, `O` or empty.
    pub patient_sex: String,
    /// Study Date (0008,0020), `YYYYMMDD`.
    pub study_date: String,
    /// Study Time (0008,0030), `HHMMSS.FFFFFF`.
    pub study_time: String,
    /// Study Description (0008,1030).
    pub study_description: String,
    /// Accession Number (0008,0050).
    pub accession_number: String,
    /// Referring Physician's Name (0008,0090).
    pub referring_physician_name: String,
    /// Study Instance UID (0020,000D).
    pub study_instance_uid: String,
    /// Series Instance UID (0020,000E).
    pub series_instance_uid: String,
    /// SOP Instance UID (0008,0018), falling back to the file meta group.
    pub sop_instance_uid: String,
    /// SOP Class UID (0008,0016), falling back to the file meta group.
    pub sop_class_uid: String,
    /// Transfer Syntax UID (0002,0010) of the file.
    pub transfer_syntax_uid: String,
    /// Modality (0008,0060), e.g. `CT`.
    pub modality: String,
    /// Series Number (0020,0011).
    pub series_number: Option<i32>,
    /// Series Description (0008,103E).
    pub series_description: String,
    /// Instance Number (0020,0013).
    pub instance_number: Option<i32>,
    /// Slice Location (0020,1041), or else the z of Image Position (Patient).
    pub slice_location: Option<f64>,
    /// Image Position (Patient) (0020,0032), mm.
    pub image_position_patient: Option<[f64; 3]>,
    /// Image Orientation (Patient) (0020,0037): row then column direction cosines.
    pub image_orientation_patient: Option<[f64; 6]>,
    /// Pixel Spacing (0028,0030): row spacing then column spacing, mm.
    pub pixel_spacing: Option<[f64; 2]>,
    /// Slice Thickness (0018,0050), mm.
    pub slice_thickness: Option<f64>,
    /// Frame of Reference UID (0020,0052): images sharing it share patient coordinates.
    #[serde(default)]
    pub frame_of_reference_uid: String,
    /// Imager Pixel Spacing (0018,1164): row then column spacing at the detector, mm (projection
    /// radiography: not corrected for geometric magnification).
    #[serde(default)]
    pub imager_pixel_spacing: Option<[f64; 2]>,
    /// Pixel Aspect Ratio (0028,0034): vertical then horizontal size of a pixel, used when the
    /// object has no pixel spacing.
    #[serde(default)]
    pub pixel_aspect_ratio: Option<[f64; 2]>,
    /// Rows (0028,0010).
    pub rows: Option<u32>,
    /// Columns (0028,0011).
    pub columns: Option<u32>,
    /// Number of Frames (0028,0008); `None` when absent (one frame if the object
    /// has pixel data).
    pub number_of_frames: Option<u32>,
}

fn text(obj: &DefaultDicomObject, tag: Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_matches(|c: char| c == ' ' || c == '\0').to_string())
        .unwrap_or_default()
}

pub(crate) fn int<T: std::str::FromStr + num_like::Int>(obj: &DefaultDicomObject, tag: Tag) -> Option<T> {
    let s = text(obj, tag);
    let first = s.split('\\').next()?.trim();
    if first.is_empty() {
        return None;
    }
    first.parse::<T>().ok().or_else(|| {
        // binary VRs (US/UL) and odd encodings
        obj.get(tag).and_then(|e| e.to_int::<i64>().ok()).and_then(T::from_i64)
    })
}

fn floats(obj: &DefaultDicomObject, tag: Tag) -> Option<Vec<f64>> {
    let e = obj.get(tag)?;
    let v = e.to_multi_float64().ok()?;
    if v.is_empty() || v.iter().any(|x| !x.is_finite()) {
        None
    } else {
        Some(v)
    }
}

mod num_like {
    /// Integer types `int` can produce.
    pub trait Int: Sized {
        fn from_i64(v: i64) -> Option<Self>;
    }
    impl Int for i32 {
        fn from_i64(v: i64) -> Option<Self> {
            i32::try_from(v).ok()
        }
    }
    impl Int for u32 {
        fn from_i64(v: i64) -> Option<Self> {
            u32::try_from(v).ok()
        }
    }
}

/// Read the index attributes of DICOM Part 10 bytes (with or without preamble).
///
/// Stops parsing before Pixel Data, so it is cheap even on large objects, and it
/// works on objects without pixel data.
///
/// # Errors
/// [`ImagingError::NotDicom`] if the bytes are not a parsable DICOM file.
pub fn read_attributes(bytes: &[u8]) -> Result<Attributes, ImagingError> {
    let obj = open(bytes, true)?;
    Ok(attributes_of(&obj))
}

/// Extract the index attributes of an already parsed object (see [`read_attributes`]).
pub fn attributes_of(obj: &DefaultDicomObject) -> Attributes {
    let meta = obj.meta();
    let clean = |s: &str| s.trim_matches(|c: char| c == ' ' || c == '\0').to_string();
    let mut sop_instance_uid = text(obj, tags::SOP_INSTANCE_UID);
    if sop_instance_uid.is_empty() {
        sop_instance_uid = clean(meta.media_storage_sop_instance_uid());
    }
    let mut sop_class_uid = text(obj, tags::SOP_CLASS_UID);
    if sop_class_uid.is_empty() {
        sop_class_uid = clean(meta.media_storage_sop_class_uid());
    }
    let image_position_patient =
        floats(obj, tags::IMAGE_POSITION_PATIENT).filter(|v| v.len() == 3).map(|v| [v[0], v[1], v[2]]);
    let image_orientation_patient = floats(obj, tags::IMAGE_ORIENTATION_PATIENT)
        .filter(|v| v.len() == 6)
        .map(|v| [v[0], v[1], v[2], v[3], v[4], v[5]]);
    let pair = |tag| floats(obj, tag).filter(|v| v.len() == 2 && v.iter().all(|&x| x > 0.0)).map(|v| [v[0], v[1]]);
    let slice_location = floats(obj, tags::SLICE_LOCATION)
        .and_then(|v| v.first().copied())
        .or_else(|| image_position_patient.map(|p| p[2]));
    Attributes {
        patient_name: text(obj, tags::PATIENT_NAME),
        patient_id: text(obj, tags::PATIENT_ID),
        patient_birth_date: text(obj, tags::PATIENT_BIRTH_DATE),
        patient_sex: text(obj, tags::PATIENT_SEX),
        study_date: text(obj, tags::STUDY_DATE),
        study_time: text(obj, tags::STUDY_TIME),
        study_description: text(obj, tags::STUDY_DESCRIPTION),
        accession_number: text(obj, tags::ACCESSION_NUMBER),
        referring_physician_name: text(obj, tags::REFERRING_PHYSICIAN_NAME),
        study_instance_uid: text(obj, tags::STUDY_INSTANCE_UID),
        series_instance_uid: text(obj, tags::SERIES_INSTANCE_UID),
        sop_instance_uid,
        sop_class_uid,
        transfer_syntax_uid: clean(meta.transfer_syntax()),
        modality: text(obj, tags::MODALITY),
        series_number: int::<i32>(obj, tags::SERIES_NUMBER),
        series_description: text(obj, tags::SERIES_DESCRIPTION),
        instance_number: int::<i32>(obj, tags::INSTANCE_NUMBER),
        slice_location,
        image_position_patient,
        image_orientation_patient,
        pixel_spacing: floats(obj, tags::PIXEL_SPACING).filter(|v| v.len() == 2).map(|v| [v[0], v[1]]),
        slice_thickness: floats(obj, tags::SLICE_THICKNESS).and_then(|v| v.first().copied()),
        frame_of_reference_uid: text(obj, tags::FRAME_OF_REFERENCE_UID),
        imager_pixel_spacing: pair(tags::IMAGER_PIXEL_SPACING),
        pixel_aspect_ratio: pair(tags::PIXEL_ASPECT_RATIO),
        rows: int::<u32>(obj, tags::ROWS),
        columns: int::<u32>(obj, tags::COLUMNS),
        number_of_frames: int::<u32>(obj, tags::NUMBER_OF_FRAMES),
    }
}

#[cfg(test)]
mod tests {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::{tags, uids};
    use dicom_object::meta::FileMetaTableBuilder;
    use dicom_object::InMemDicomObject;

    use super::read_attributes;

    fn file(elements: &[(dicom_core::Tag, VR, &str)]) -> Vec<u8> {
        let mut obj = InMemDicomObject::new_empty();
        obj.put(DataElement::new(tags::SOP_CLASS_UID, VR::UI, PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.1")));
        obj.put(DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from("1.2.3.4")));
        for &(tag, vr, v) in elements {
            obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
        }
        let file =
            obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)).expect("meta");
        let mut out = Vec::new();
        file.write_all(&mut out).expect("write");
        out
    }

    #[test]
    fn projection_geometry_and_frame_of_reference() {
        let bytes = file(&[
            (tags::FRAME_OF_REFERENCE_UID, VR::UI, "1.2.3.9"),
            (tags::IMAGER_PIXEL_SPACING, VR::DS, "0.143\\0.15"),
            (tags::PIXEL_ASPECT_RATIO, VR::IS, "5\\4"),
        ]);
        let a = read_attributes(&bytes).unwrap();
        assert_eq!(a.frame_of_reference_uid, "1.2.3.9");
        assert_eq!(a.imager_pixel_spacing, Some([0.143, 0.15]));
        assert_eq!(a.pixel_aspect_ratio, Some([5.0, 4.0]));
        assert_eq!(a.pixel_spacing, None);
    }

    #[test]
    fn a_zero_or_one_valued_ratio_is_absent() {
        let bytes = file(&[(tags::PIXEL_ASPECT_RATIO, VR::IS, "0\\1"), (tags::IMAGER_PIXEL_SPACING, VR::DS, "0.2")]);
        let a = read_attributes(&bytes).unwrap();
        assert_eq!((a.pixel_aspect_ratio, a.imager_pixel_spacing), (None, None));
    }

    #[test]
    fn an_index_without_the_new_fields_still_deserialises() {
        // study indexes sealed before these fields existed
        let mut json = serde_json::to_value(super::Attributes::default()).unwrap();
        let map = json.as_object_mut().unwrap();
        for k in ["frame_of_reference_uid", "imager_pixel_spacing", "pixel_aspect_ratio"] {
            map.remove(k);
        }
        let back: super::Attributes = serde_json::from_value(json).unwrap();
        assert_eq!(back, super::Attributes::default());
    }
}

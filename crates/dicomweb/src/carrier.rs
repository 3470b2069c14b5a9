//! The Raw Data Storage instance that carries one sealed object.
//!
//! Public attributes are limited to what a PACS needs to index the instance: pseudonymous
//! Patient ID (derived from the pseudonymous study UID, so the PACS cannot link two studies of
//! one patient), Study/Series/SOP Instance UIDs, series and instance numbers, Modality `OT` and a
//! fixed series description. The sealed bytes live in the private block `(0009,xx10)` of the
//! private creator `OBSCURA 1` reserved at `(0009,0010)`.

use crate::DicomWebError;
use dicom_core::{value::PrimitiveValue, DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

/// SOP Class UID of Raw Data Storage.
pub const RAW_DATA_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.66";
/// Explicit VR Little Endian.
pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
/// The private creator that reserves our block in group 0x0009.
pub const PRIVATE_CREATOR: &str = "OBSCURA 1";
/// `(0009,0010)`: the private creator element.
pub const TAG_PRIVATE_CREATOR: Tag = Tag(0x0009, 0x0010);
/// `(0009,1010)`: the sealed bytes (OB).
pub const TAG_SEALED: Tag = Tag(0x0009, 0x1010);
/// `(0009,1011)`: what the sealed bytes are (CS `MANIFEST` or `OBJECT`).
pub const TAG_KIND: Tag = Tag(0x0009, 0x1011);
/// `(0009,1012)`: the exact length of the sealed bytes (UV), since DICOM pads values to even length.
pub const TAG_SEALED_LENGTH: Tag = Tag(0x0009, 0x1012);
/// Series description of the series that holds a study's manifest.
pub const MANIFEST_SERIES_DESCRIPTION: &str = "OBSCURA SEALED MANIFEST";
/// Series description of the series that hold sealed objects.
pub const OBJECT_SERIES_DESCRIPTION: &str = "OBSCURA SEALED OBJECTS";

/// What a carrier carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarrierKind {
    /// The study's signed manifest.
    Manifest,
    /// One sealed object (one original instance).
    Object,
}

impl CarrierKind {
    /// The code stored in `(0009,1011)`.
    pub fn code(self) -> &'static str {
        match self {
            CarrierKind::Manifest => "MANIFEST",
            CarrierKind::Object => "OBJECT",
        }
    }
    fn from_code(code: &str) -> Option<Self> {
        match code.trim() {
            "MANIFEST" => Some(CarrierKind::Manifest),
            "OBJECT" => Some(CarrierKind::Object),
            _ => None,
        }
    }
}

/// The public identity of one carrier instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carrier {
    /// Pseudonymous Study Instance UID.
    pub study_uid: String,
    /// Pseudonymous Series Instance UID.
    pub series_uid: String,
    /// Pseudonymous SOP Instance UID.
    pub sop_instance_uid: String,
    /// Manifest or object.
    pub kind: CarrierKind,
    /// Series Number (0 for the manifest series).
    pub series_number: i32,
    /// Instance Number within its series.
    pub instance_number: i32,
}

/// The pseudonymous Patient ID of a sealed study: derived from the pseudonymous study UID only.
pub fn pseudonymous_patient_id(study_uid: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(study_uid.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02X}")).collect();
    format!("OBSCURA-{hex}")
}

impl Carrier {
    /// Series description shown by the PACS for this carrier's series.
    pub fn series_description(&self) -> &'static str {
        match self.kind {
            CarrierKind::Manifest => MANIFEST_SERIES_DESCRIPTION,
            CarrierKind::Object => OBJECT_SERIES_DESCRIPTION,
        }
    }

    /// Encodes the carrier with its sealed payload as a DICOM Part 10 file.
    pub fn to_part10(&self, sealed: &[u8]) -> Result<Vec<u8>, DicomWebError> {
        let mut obj = InMemDicomObject::new_empty();
        let mut put = |tag: Tag, vr: VR, value: PrimitiveValue| {
            obj.put(DataElement::new(tag, vr, value));
        };
        put(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192".into());
        put(tags::SOP_CLASS_UID, VR::UI, RAW_DATA_STORAGE.into());
        put(tags::SOP_INSTANCE_UID, VR::UI, self.sop_instance_uid.as_str().into());
        put(tags::MODALITY, VR::CS, "OT".into());
        put(tags::SERIES_DESCRIPTION, VR::LO, self.series_description().into());
        put(tags::PATIENT_NAME, VR::PN, "".into());
        put(tags::PATIENT_ID, VR::LO, pseudonymous_patient_id(&self.study_uid).into());
        put(tags::STUDY_INSTANCE_UID, VR::UI, self.study_uid.as_str().into());
        put(tags::SERIES_INSTANCE_UID, VR::UI, self.series_uid.as_str().into());
        put(tags::SERIES_NUMBER, VR::IS, self.series_number.to_string().into());
        put(tags::INSTANCE_NUMBER, VR::IS, self.instance_number.to_string().into());
        put(TAG_PRIVATE_CREATOR, VR::LO, PRIVATE_CREATOR.into());
        put(TAG_KIND, VR::CS, self.kind.code().into());
        put(TAG_SEALED_LENGTH, VR::UV, PrimitiveValue::from(sealed.len() as u64));
        put(TAG_SEALED, VR::OB, PrimitiveValue::U8(sealed.to_vec().into()));
        let meta = FileMetaTableBuilder::new()
            .media_storage_sop_class_uid(RAW_DATA_STORAGE)
            .media_storage_sop_instance_uid(self.sop_instance_uid.as_str())
            .transfer_syntax(EXPLICIT_VR_LE)
            .build()
            .map_err(|e| DicomWebError::Encode(e.to_string()))?;
        let file = obj.with_exact_meta(meta);
        let mut out = Vec::with_capacity(sealed.len() + 1024);
        file.write_all(&mut out).map_err(|e| DicomWebError::Encode(e.to_string()))?;
        Ok(out)
    }

    /// Parses a carrier Part 10 file, returning its identity and the sealed payload.
    pub fn from_part10(bytes: &[u8]) -> Result<(Carrier, Vec<u8>), DicomWebError> {
        let bad = |what: &str| DicomWebError::NotACarrier(what.to_string());
        let obj = dicom_object::from_reader(bytes_after_preamble(bytes))
            .map_err(|e| DicomWebError::NotACarrier(e.to_string()))?;
        let text = |tag: Tag| -> Result<String, DicomWebError> {
            Ok(obj
                .element(tag)
                .map_err(|_| bad(&format!("missing {tag}")))?
                .to_str()
                .map_err(|_| bad(&format!("{tag} is not text")))?
                .trim_end_matches(['\0', ' '])
                .to_string())
        };
        if text(tags::SOP_CLASS_UID)? != RAW_DATA_STORAGE {
            return Err(bad("SOP Class is not Raw Data Storage"));
        }
        if text(TAG_PRIVATE_CREATOR)? != PRIVATE_CREATOR {
            return Err(bad("private creator (0009,0010) is not OBSCURA 1"));
        }
        let kind = CarrierKind::from_code(&text(TAG_KIND)?).ok_or_else(|| bad("unknown kind"))?;
        let int = |tag: Tag| -> Result<i32, DicomWebError> {
            text(tag)?.trim().parse().map_err(|_| bad(&format!("{tag} is not a number")))
        };
        let carrier = Carrier {
            study_uid: text(tags::STUDY_INSTANCE_UID)?,
            series_uid: text(tags::SERIES_INSTANCE_UID)?,
            sop_instance_uid: text(tags::SOP_INSTANCE_UID)?,
            kind,
            series_number: int(tags::SERIES_NUMBER)?,
            instance_number: int(tags::INSTANCE_NUMBER)?,
        };
        let sealed = obj
            .element(TAG_SEALED)
            .map_err(|_| bad("no sealed bytes at (0009,1010)"))?
            .to_bytes()
            .map_err(|_| bad("(0009,1010) is not bytes"))?
            .into_owned();
        let len: u64 = obj
            .element(TAG_SEALED_LENGTH)
            .map_err(|_| bad("no sealed length at (0009,1012)"))?
            .to_int()
            .map_err(|_| bad("(0009,1012) is not a number"))?;
        // The value is padded to even length and nothing else.
        if len > sealed.len() as u64 || sealed.len() as u64 - len > 1 {
            return Err(bad("sealed length (0009,1012) does not match the sealed bytes"));
        }
        let mut sealed = sealed;
        sealed.truncate(len as usize);
        Ok((carrier, sealed))
    }
}

/// dicom-object's reader expects the stream to start at the "DICM" magic.
fn bytes_after_preamble(bytes: &[u8]) -> &[u8] {
    if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        &bytes[128..]
    } else {
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn carrier() -> Carrier {
        Carrier {
            study_uid: "2.25.11".into(),
            series_uid: "2.25.12".into(),
            sop_instance_uid: "2.25.13".into(),
            kind: CarrierKind::Manifest,
            series_number: 0,
            instance_number: 1,
        }
    }

    #[test]
    fn round_trip_keeps_payload_byte_identical() {
        let payload: Vec<u8> = (0..=255u8).cycle().take(1001).collect();
        let bytes = carrier().to_part10(&payload).unwrap();
        assert_eq!(&bytes[128..132], b"DICM");
        let (c, p) = Carrier::from_part10(&bytes).unwrap();
        assert_eq!(c, carrier());
        assert_eq!(p, payload);
    }

    #[test]
    fn carrier_holds_no_phi_attributes_beyond_pseudonyms() {
        let bytes = carrier().to_part10(b"x").unwrap();
        let obj = dicom_object::from_reader(&bytes[128..]).unwrap();
        assert_eq!(obj.element(tags::PATIENT_NAME).unwrap().to_str().unwrap().trim(), "");
        assert!(obj.element(tags::STUDY_DATE).is_err());
        assert!(obj.element(tags::STUDY_DESCRIPTION).is_err());
    }

    #[test]
    fn foreign_instance_is_refused() {
        let err = Carrier::from_part10(b"not dicom at all").unwrap_err();
        assert!(matches!(err, DicomWebError::NotACarrier(_)));
    }
}

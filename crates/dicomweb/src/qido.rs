//! The part of the DICOM JSON model (PS3.18 F.2) that QIDO-RS answers in and that we read.

use crate::carrier::{Carrier, CarrierKind, MANIFEST_SERIES_DESCRIPTION};
use crate::DicomWebError;
use serde_json::{json, Map, Value};

const STUDY_UID: &str = "0020000D";
const SERIES_UID: &str = "0020000E";
const SOP_UID: &str = "00080018";
const SOP_CLASS: &str = "00080016";
const MODALITY: &str = "00080060";
const SERIES_DESCRIPTION: &str = "0008103E";
const SERIES_NUMBER: &str = "00200011";
const INSTANCE_NUMBER: &str = "00200013";
const PATIENT_ID: &str = "00100020";

fn attr(vr: &str, value: Value) -> Value {
    json!({ "vr": vr, "Value": [value] })
}

/// The study-level QIDO-RS entry of a sealed study (nothing but pseudonyms).
pub fn study_entry(study_uid: &str) -> Value {
    let mut m = Map::new();
    m.insert(STUDY_UID.into(), attr("UI", json!(study_uid)));
    m.insert(PATIENT_ID.into(), attr("LO", json!(crate::carrier::pseudonymous_patient_id(study_uid))));
    m.insert("00080061".into(), attr("CS", json!("OT")));
    Value::Object(m)
}

/// The instance-level QIDO-RS entry of a carrier.
pub fn instance_entry(c: &Carrier) -> Value {
    let mut m = Map::new();
    m.insert(STUDY_UID.into(), attr("UI", json!(c.study_uid)));
    m.insert(SERIES_UID.into(), attr("UI", json!(c.series_uid)));
    m.insert(SOP_UID.into(), attr("UI", json!(c.sop_instance_uid)));
    m.insert(SOP_CLASS.into(), attr("UI", json!(crate::carrier::RAW_DATA_STORAGE)));
    m.insert(MODALITY.into(), attr("CS", json!("OT")));
    m.insert(SERIES_DESCRIPTION.into(), attr("LO", json!(c.series_description())));
    m.insert(SERIES_NUMBER.into(), attr("IS", json!(c.series_number)));
    m.insert(INSTANCE_NUMBER.into(), attr("IS", json!(c.instance_number)));
    Value::Object(m)
}

fn first_string(entry: &Value, tag: &str) -> Option<String> {
    match entry.get(tag)?.get("Value")?.get(0)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Study Instance UIDs of a study-level QIDO-RS answer.
pub fn parse_study_uids(body: &[u8]) -> Result<Vec<String>, DicomWebError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| DicomWebError::BadQido(e.to_string()))?;
    let arr = v.as_array().ok_or_else(|| DicomWebError::BadQido("expected an array".into()))?;
    arr.iter()
        .map(|e| first_string(e, STUDY_UID).ok_or_else(|| DicomWebError::BadQido("entry without 0020000D".into())))
        .collect()
}

/// The (Study Instance UID, Series Instance UID if given) of each entry of a study- or
/// series-level QIDO-RS answer, without repeats.
pub fn parse_study_series(body: &[u8]) -> Result<Vec<(String, Option<String>)>, DicomWebError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| DicomWebError::BadQido(e.to_string()))?;
    let arr = v.as_array().ok_or_else(|| DicomWebError::BadQido("expected an array".into()))?;
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for e in arr {
        let study =
            first_string(e, STUDY_UID).ok_or_else(|| DicomWebError::BadQido("entry without 0020000D".into()))?;
        let pair = (study, first_string(e, SERIES_UID));
        if !out.contains(&pair) {
            out.push(pair);
        }
    }
    Ok(out)
}

/// The carriers listed in an instance-level QIDO-RS answer. Instances that are not ours
/// (other SOP classes) are skipped: a PACS may hold anything.
pub fn parse_instances(body: &[u8]) -> Result<Vec<Carrier>, DicomWebError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| DicomWebError::BadQido(e.to_string()))?;
    let arr = v.as_array().ok_or_else(|| DicomWebError::BadQido("expected an array".into()))?;
    let mut out = Vec::new();
    for e in arr {
        if first_string(e, SOP_CLASS).as_deref() != Some(crate::carrier::RAW_DATA_STORAGE) {
            continue;
        }
        let need =
            |tag: &str| first_string(e, tag).ok_or_else(|| DicomWebError::BadQido(format!("instance without {tag}")));
        let kind = if first_string(e, SERIES_DESCRIPTION).as_deref() == Some(MANIFEST_SERIES_DESCRIPTION) {
            CarrierKind::Manifest
        } else {
            CarrierKind::Object
        };
        out.push(Carrier {
            study_uid: need(STUDY_UID)?,
            series_uid: need(SERIES_UID)?,
            sop_instance_uid: need(SOP_UID)?,
            kind,
            series_number: first_string(e, SERIES_NUMBER).and_then(|s| s.parse().ok()).unwrap_or(0),
            instance_number: first_string(e, INSTANCE_NUMBER).and_then(|s| s.parse().ok()).unwrap_or(0),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_entries_round_trip() {
        let c = Carrier {
            study_uid: "1.2".into(),
            series_uid: "1.3".into(),
            sop_instance_uid: "1.4".into(),
            kind: CarrierKind::Manifest,
            series_number: 0,
            instance_number: 1,
        };
        let body = serde_json::to_vec(&vec![instance_entry(&c)]).unwrap();
        assert_eq!(parse_instances(&body).unwrap(), vec![c]);
        let body = serde_json::to_vec(&vec![study_entry("1.2")]).unwrap();
        assert_eq!(parse_study_uids(&body).unwrap(), vec!["1.2".to_string()]);
    }

    #[test]
    fn garbage_is_a_clear_error() {
        assert!(matches!(parse_instances(b"{}"), Err(DicomWebError::BadQido(_))));
    }
}

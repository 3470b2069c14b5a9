//! STOW-RS (PS3.18 §10.5) as the gateway uses it: what to upload for a study (resumable: only what
//! the server lacks, manifests last), how instances are grouped into requests, and what the
//! server's answer says about each instance sent.
//!
//! ```
//! use obscura_dicomweb::stow::{batches, parse_response, Outcome};
//! // Four instances of 3, 3, 9 and 1 MiB, at most 8 MiB (and 16 instances) per request:
//! let mib = 1024 * 1024;
//! assert_eq!(batches(&[3 * mib, 3 * mib, 9 * mib, mib], 8 * mib, 16), vec![0..2, 2..3, 3..4]);
//!
//! let answer = br#"{"00081199": {"vr": "SQ", "Value": [
//!     {"00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.66"]},
//!      "00081155": {"vr": "UI", "Value": ["2.25.1"]}}]},
//!   "00081198": {"vr": "SQ", "Value": [
//!     {"00081155": {"vr": "UI", "Value": ["2.25.2"]},
//!      "00081197": {"vr": "US", "Value": [49442]}}]}}"#;
//! let response = parse_response(answer).unwrap();
//! let outcomes = response.outcomes(&["2.25.1", "2.25.2", "2.25.3"]);
//! assert_eq!(outcomes[0], Outcome::Stored { warning: None });
//! assert_eq!(outcomes[1], Outcome::Failed { reason: Some(0xC122) });
//! assert_eq!(outcomes[2], Outcome::NotAcknowledged);
//! ```

use crate::carrier::{Carrier, CarrierKind};
use crate::DicomWebError;
use serde_json::Value;
use std::collections::HashSet;
use std::ops::Range;

/// Default upper bound of the instance bytes in one STOW-RS request.
pub const DEFAULT_BATCH_BYTES: u64 = 8 * 1024 * 1024;
/// Default upper bound of the number of instances in one STOW-RS request.
pub const DEFAULT_BATCH_INSTANCES: usize = 32;

const SOP_INSTANCE_UID: &str = "00080018";
const REFERENCED_SOP_CLASS_UID: &str = "00081150";
const REFERENCED_SOP_INSTANCE_UID: &str = "00081155";
const FAILURE_REASON: &str = "00081197";
const FAILED_SOP_SEQUENCE: &str = "00081198";
const REFERENCED_SOP_SEQUENCE: &str = "00081199";
const WARNING_REASON: &str = "00081196";

/// One instance the server listed in its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referenced {
    /// Referenced SOP Instance UID (0008,1155).
    pub sop_instance_uid: String,
    /// Referenced SOP Class UID (0008,1150), when given.
    pub sop_class_uid: Option<String>,
    /// Warning Reason (0008,1196) of a stored instance, or Failure Reason (0008,1197) of a failed one.
    pub reason: Option<u16>,
}

/// The store answer of one STOW-RS request (PS3.18 Table 10.5.3-2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StowResponse {
    /// Referenced SOP Sequence (0008,1199): the instances stored.
    pub stored: Vec<Referenced>,
    /// Failed SOP Sequence (0008,1198): the instances refused, with their Failure Reason.
    pub failed: Vec<Referenced>,
}

/// What became of one instance sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Listed in the Referenced SOP Sequence (with a Warning Reason if the server coerced or discarded something).
    Stored {
        /// The Warning Reason (0008,1196), if any.
        warning: Option<u16>,
    },
    /// Listed in the Failed SOP Sequence.
    Failed {
        /// The Failure Reason (0008,1197), if given.
        reason: Option<u16>,
    },
    /// Not listed at all: the server did not say it stored the instance.
    NotAcknowledged,
}

impl StowResponse {
    /// The outcome of each instance sent, in the order given.
    pub fn outcomes(&self, sent: &[&str]) -> Vec<Outcome> {
        sent.iter()
            .map(|uid| {
                // A failure listed for an instance wins over a reference to it.
                if let Some(f) = self.failed.iter().find(|r| r.sop_instance_uid == *uid) {
                    Outcome::Failed { reason: f.reason }
                } else if let Some(s) = self.stored.iter().find(|r| r.sop_instance_uid == *uid) {
                    Outcome::Stored { warning: s.reason }
                } else {
                    Outcome::NotAcknowledged
                }
            })
            .collect()
    }
}

/// Parses a STOW-RS answer in DICOM JSON: one data set (or, as some servers send, an array of one).
/// An empty body is an answer that lists nothing.
pub fn parse_response(body: &[u8]) -> Result<StowResponse, DicomWebError> {
    let bad = |what: String| DicomWebError::BadStow(what);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(StowResponse::default());
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
    let data_set = match &v {
        Value::Object(_) => &v,
        Value::Array(a) if a.len() == 1 && a[0].is_object() => &a[0],
        _ => return Err(bad("expected one DICOM JSON data set".into())),
    };
    let items = |tag: &str| -> Result<Vec<Referenced>, DicomWebError> {
        let Some(attr) = data_set.get(tag) else { return Ok(Vec::new()) };
        let Some(values) = attr.get("Value") else { return Ok(Vec::new()) };
        let values = values.as_array().ok_or_else(|| bad(format!("{tag} is not a sequence")))?;
        values
            .iter()
            .map(|item| {
                let sop_instance_uid = string(item, REFERENCED_SOP_INSTANCE_UID)
                    .ok_or_else(|| bad(format!("an item of {tag} has no Referenced SOP Instance UID (00081155)")))?;
                let reason_tag = if tag == FAILED_SOP_SEQUENCE { FAILURE_REASON } else { WARNING_REASON };
                Ok(Referenced {
                    sop_instance_uid,
                    sop_class_uid: string(item, REFERENCED_SOP_CLASS_UID),
                    reason: number(item, reason_tag),
                })
            })
            .collect()
    };
    Ok(StowResponse { stored: items(REFERENCED_SOP_SEQUENCE)?, failed: items(FAILED_SOP_SEQUENCE)? })
}

fn first(entry: &Value, tag: &str) -> Option<Value> {
    entry.get(tag)?.get("Value")?.get(0).cloned()
}

fn string(entry: &Value, tag: &str) -> Option<String> {
    match first(entry, tag)? {
        Value::String(s) => Some(s.trim_end_matches(['\0', ' ']).to_string()),
        _ => None,
    }
}

fn number(entry: &Value, tag: &str) -> Option<u16> {
    match first(entry, tag)? {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        // Some servers write US values as strings.
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// What a Failure Reason (0008,1197) or Warning Reason (0008,1196) code means (PS3.18 Table
/// 10.5.3-3 and PS3.7 Annex C).
pub fn reason_text(code: u16) -> &'static str {
    match code {
        0x0110 => "processing failure",
        0x0111 => "duplicate SOP Instance",
        0x0117 => "invalid SOP Instance",
        0x0118 => "SOP Class not supported (no such SOP Class)",
        0x0122 => "SOP Class not supported",
        0x0124 => "not authorized",
        0x0212 => "mismatched SOP Class",
        0xB000 => "coercion of data elements",
        0xB006 => "elements discarded",
        0xB007 => "data set does not match SOP Class",
        0xC122 => "transfer syntax not supported",
        c if c & 0xFF00 == 0xA700 => "refused: out of resources",
        c if c & 0xFF00 == 0xA900 => "error: data set does not match SOP Class",
        c if c & 0xF000 == 0xC000 => "error: cannot understand",
        _ => "unknown reason",
    }
}

/// Groups consecutive instances of these sizes into requests of at most `max_bytes` and
/// `max_count` instances each. An instance larger than `max_bytes` travels alone.
pub fn batches(sizes: &[u64], max_bytes: u64, max_count: usize) -> Vec<Range<usize>> {
    let max_count = max_count.max(1);
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (i, &size) in sizes.iter().enumerate() {
        if i > start && (bytes + size > max_bytes || i - start >= max_count) {
            out.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

/// The SOP Instance UIDs (0008,0018) an instance-level QIDO-RS answer lists, whatever their SOP
/// Class. An empty body (HTTP 204) lists none.
pub fn present_sop_uids(body: &[u8]) -> Result<Vec<String>, DicomWebError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| DicomWebError::BadQido(e.to_string()))?;
    let arr = v.as_array().ok_or_else(|| DicomWebError::BadQido("expected an array".into()))?;
    arr.iter()
        .map(|e| string(e, SOP_INSTANCE_UID).ok_or_else(|| DicomWebError::BadQido("instance without 00080018".into())))
        .collect()
}

/// What to upload of one study, given the SOP Instance UIDs the server already has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<'a> {
    /// Object carriers the server lacks, in the order listed.
    pub objects: Vec<&'a Carrier>,
    /// Manifest carriers the server lacks, oldest version (lowest Instance Number) first: they go
    /// last, once every object is stored, so that a viewer never lists a half-uploaded study.
    pub manifests: Vec<&'a Carrier>,
    /// Carriers the server already has.
    pub present: Vec<&'a Carrier>,
}

impl Plan<'_> {
    /// Whether nothing is missing.
    pub fn is_complete(&self) -> bool {
        self.objects.is_empty() && self.manifests.is_empty()
    }
}

/// Plans the upload of a study's carriers. A carrier listed twice (same SOP Instance UID) is
/// planned once: an instance is never sent twice.
pub fn plan<'a>(carriers: &'a [Carrier], present: &HashSet<String>) -> Plan<'a> {
    let mut seen = HashSet::new();
    let mut p = Plan { objects: Vec::new(), manifests: Vec::new(), present: Vec::new() };
    for c in carriers {
        if !seen.insert(c.sop_instance_uid.as_str()) {
            continue;
        }
        if present.contains(&c.sop_instance_uid) {
            p.present.push(c);
        } else if c.kind == CarrierKind::Manifest {
            p.manifests.push(c);
        } else {
            p.objects.push(c);
        }
    }
    p.manifests.sort_by_key(|c| c.instance_number);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn batches_respect_bytes_and_count() {
        assert_eq!(batches(&[], 8 * MIB, 4), Vec::<Range<usize>>::new());
        assert_eq!(batches(&[MIB; 10], 8 * MIB, 4), vec![0..4, 4..8, 8..10]);
        assert_eq!(batches(&[MIB; 10], 3 * MIB, 100), vec![0..3, 3..6, 6..9, 9..10]);
        // Exactly the limit fits; one byte more starts a new request.
        assert_eq!(batches(&[4 * MIB, 4 * MIB, 1], 8 * MIB, 100), vec![0..2, 2..3]);
        // Too large for any request: alone, never dropped.
        assert_eq!(batches(&[MIB, 20 * MIB, MIB], 8 * MIB, 100), vec![0..1, 1..2, 2..3]);
        assert_eq!(batches(&[20 * MIB], 8 * MIB, 100), vec![0..1]);
        // A count of 0 means 1.
        assert_eq!(batches(&[1, 1], 8 * MIB, 0), vec![0..1, 1..2]);
        // Every index is in exactly one batch, in order.
        let sizes: Vec<u64> = (0..100).map(|i| (i * 7919 % 13) * MIB / 3).collect();
        let b = batches(&sizes, 8 * MIB, 5);
        assert_eq!(b.iter().flat_map(|r| r.clone()).collect::<Vec<_>>(), (0..100).collect::<Vec<_>>());
        assert!(b.iter().all(|r| r.len() == 1 || sizes[r.clone()].iter().sum::<u64>() <= 8 * MIB));
    }

    /// Orthanc 1.10's answer (DICOMweb plugin 1.7) to one carrier, as received: an empty Failed SOP
    /// Sequence has no "Value"; the character set is Orthanc's own.
    const ORTHANC_STORED: &str = r#"{
        "00080005" : { "Value" : [ "ISO_IR 100" ], "vr" : "CS" },
        "00081190" : { "Value" : [ "http://127.0.0.1:8042/dicom-web/studies/2.25.3798522617743846934289175307749652049" ], "vr" : "UR" },
        "00081198" : { "vr" : "SQ" },
        "00081199" : { "Value" : [ {
            "00081150" : { "Value" : [ "1.2.840.10008.5.1.4.1.1.66" ], "vr" : "UI" },
            "00081155" : { "Value" : [ "2.25.3642086557345541668137944232364403238" ], "vr" : "UI" },
            "00081190" : { "Value" : [ "http://127.0.0.1:8042/dicom-web/studies/2.25.3798522617743846934289175307749652049/series/2.25.1818951428506762504081234509618777171/instances/2.25.3642086557345541668137944232364403238" ], "vr" : "UR" }
        } ], "vr" : "SQ" }
    }"#;

    #[test]
    fn orthanc_answer() {
        let r = parse_response(ORTHANC_STORED.as_bytes()).unwrap();
        assert!(r.failed.is_empty());
        assert_eq!(
            r.outcomes(&["2.25.3642086557345541668137944232364403238"]),
            vec![Outcome::Stored { warning: None }]
        );
    }

    /// An answer to two instances, one of them refused (the shape of PS3.18 Table 10.5.3-2).
    const PARTIAL: &str = r#"{
        "00081190": {"vr": "UR", "Value": ["http://127.0.0.1:8042/dicom-web/studies/2.25.1"]},
        "00081198": {"vr": "SQ", "Value": [{
            "00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.66"]},
            "00081155": {"vr": "UI", "Value": ["2.25.3"]},
            "00081197": {"vr": "US", "Value": [272]}}]},
        "00081199": {"vr": "SQ", "Value": [{
            "00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.66"]},
            "00081155": {"vr": "UI", "Value": ["2.25.2"]},
            "00081190": {"vr": "UR", "Value": ["http://127.0.0.1:8042/dicom-web/studies/2.25.1/series/2.25.9/instances/2.25.2"]}}]}
    }"#;

    #[test]
    fn stow_answers_are_read_per_instance() {
        let r = parse_response(PARTIAL.as_bytes()).unwrap();
        assert_eq!(r.stored.len(), 1);
        assert_eq!(r.stored[0].sop_class_uid.as_deref(), Some(crate::carrier::RAW_DATA_STORAGE));
        assert_eq!(
            r.outcomes(&["2.25.2", "2.25.3", "2.25.4"]),
            vec![Outcome::Stored { warning: None }, Outcome::Failed { reason: Some(0x0110) }, Outcome::NotAcknowledged]
        );
        assert_eq!(reason_text(0x0110), "processing failure");
    }

    #[test]
    fn stow_answer_variants() {
        // Empty body, empty sequences, an array of one data set, string-valued reasons, a warning.
        assert_eq!(parse_response(b"").unwrap(), StowResponse::default());
        assert_eq!(parse_response(b" \n").unwrap(), StowResponse::default());
        assert_eq!(
            parse_response(br#"{"00081198": {"vr": "SQ"}, "00081199": {"vr": "SQ", "Value": []}}"#).unwrap(),
            StowResponse::default()
        );
        let r = parse_response(
            br#"[{"00081199": {"vr": "SQ", "Value": [{"00081155": {"vr": "UI", "Value": ["2.25.5"]},
                 "00081196": {"vr": "US", "Value": ["45056"]}}]}}]"#,
        )
        .unwrap();
        assert_eq!(r.outcomes(&["2.25.5"]), vec![Outcome::Stored { warning: Some(0xB000) }]);
        // Failed wins over referenced if a server lists both.
        let r = parse_response(
            br#"{"00081199": {"vr": "SQ", "Value": [{"00081155": {"vr": "UI", "Value": ["2.25.6"]}}]},
                 "00081198": {"vr": "SQ", "Value": [{"00081155": {"vr": "UI", "Value": ["2.25.6"]}}]}}"#,
        )
        .unwrap();
        assert_eq!(r.outcomes(&["2.25.6"]), vec![Outcome::Failed { reason: None }]);
    }

    #[test]
    fn malformed_stow_answers_are_errors() {
        for body in [
            &b"<html>502 Bad Gateway</html>"[..],
            b"[]",
            b"[{}, {}]",
            b"42",
            br#"{"00081199": {"vr": "SQ", "Value": {}}}"#,
            br#"{"00081198": {"vr": "SQ", "Value": [{"00081197": {"vr": "US", "Value": [272]}}]}}"#,
        ] {
            assert!(
                matches!(parse_response(body), Err(DicomWebError::BadStow(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn reason_codes() {
        assert_eq!(reason_text(0xA700), "refused: out of resources");
        assert_eq!(reason_text(0xA7FF), "refused: out of resources");
        assert_eq!(reason_text(0xA900), "error: data set does not match SOP Class");
        assert_eq!(reason_text(0xC122), "transfer syntax not supported");
        assert_eq!(reason_text(0xC005), "error: cannot understand");
        assert_eq!(reason_text(0x0124), "not authorized");
        assert_eq!(reason_text(0x1234), "unknown reason");
    }

    fn carrier(sop: &str, kind: CarrierKind, n: i32) -> Carrier {
        Carrier {
            study_uid: "2.25.1".into(),
            series_uid: "2.25.2".into(),
            sop_instance_uid: sop.into(),
            kind,
            series_number: i32::from(kind == CarrierKind::Object),
            instance_number: n,
        }
    }

    #[test]
    fn plan_uploads_only_what_is_missing_manifests_last() {
        let carriers = vec![
            carrier("2.25.30", CarrierKind::Manifest, 3),
            carrier("2.25.10", CarrierKind::Manifest, 1),
            carrier("2.25.11", CarrierKind::Object, 1),
            carrier("2.25.12", CarrierKind::Object, 2),
            carrier("2.25.12", CarrierKind::Object, 2),
            carrier("2.25.13", CarrierKind::Object, 3),
            carrier("2.25.20", CarrierKind::Manifest, 2),
        ];
        let present: HashSet<String> = ["2.25.12".to_string(), "2.25.10".to_string()].into();
        let p = plan(&carriers, &present);
        let uids = |v: &[&Carrier]| v.iter().map(|c| c.sop_instance_uid.clone()).collect::<Vec<_>>();
        assert_eq!(uids(&p.objects), ["2.25.11", "2.25.13"]);
        assert_eq!(uids(&p.manifests), ["2.25.20", "2.25.30"]);
        assert_eq!(uids(&p.present), ["2.25.10", "2.25.12"]);
        assert!(!p.is_complete());
        let all: HashSet<String> = carriers.iter().map(|c| c.sop_instance_uid.clone()).collect();
        let p = plan(&carriers, &all);
        assert!(p.is_complete());
        assert_eq!(p.present.len(), 6);
    }

    #[test]
    fn qido_presence() {
        assert_eq!(present_sop_uids(b"").unwrap(), Vec::<String>::new());
        assert_eq!(present_sop_uids(b"[]").unwrap(), Vec::<String>::new());
        let body = br#"[{"00080018": {"vr": "UI", "Value": ["2.25.7"]}, "00080016": {"vr": "UI", "Value": ["1.2.3"]}},
                        {"00080018": {"vr": "UI", "Value": ["2.25.8"]}}]"#;
        assert_eq!(present_sop_uids(body).unwrap(), ["2.25.7", "2.25.8"]);
        assert!(matches!(present_sop_uids(b"{}"), Err(DicomWebError::BadQido(_))));
        assert!(matches!(present_sop_uids(b"[{}]"), Err(DicomWebError::BadQido(_))));
    }
}

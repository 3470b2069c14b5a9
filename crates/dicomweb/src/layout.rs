//! URLs of a store, and the file layout of the static DICOMweb-style tree.
//!
//! A static tree is a folder (or a bucket, or a CDN) that answers the QIDO-RS queries the viewer
//! makes with prepared `index.json` files:
//!
//! ```text
//! studies/index.json                                     study-level QIDO answer
//! studies/{study}/instances/index.json                   instance-level QIDO answer for one study
//! studies/{study}/series/{series}/instances/{sop}/instance.dcm   the carrier, Part 10
//! studies/{study}/series/{series}/instances/{sop}/sealed.bin     its sealed bytes alone (byte ranges)
//! ```

use crate::carrier::Carrier;

/// How a store answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// A static tree of files (see the module docs).
    StaticTree,
    /// A DICOMweb server (PACS): QIDO-RS to list, WADO-RS (or a raw endpoint) to fetch, STOW-RS to store.
    DicomWeb,
}

/// How the sealed bytes of one carrier come back from a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealedSource {
    /// The URL answers with the sealed bytes alone (possibly followed by one padding byte, as a
    /// DICOM value is padded to even length), and may honour byte ranges.
    Raw(String),
    /// The URL is a WADO-RS instance retrieve: a `multipart/related` answer with the carrier's
    /// Part 10 file inside (no ranges).
    WadoInstance {
        /// The retrieve URL.
        url: String,
        /// The carrier's SOP Instance UID, which the answer's part must carry.
        sop: String,
    },
}

impl SealedSource {
    /// The URL to GET.
    pub fn url(&self) -> &str {
        match self {
            SealedSource::Raw(url) | SealedSource::WadoInstance { url, .. } => url,
        }
    }
}

/// The `Accept` header of a WADO-RS instance retrieve that asks for the stored bytes, untranscoded.
pub const WADO_ACCEPT: &str = "multipart/related; type=\"application/dicom\"; transfer-syntax=*";

/// A store the viewer reads sealed studies from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    base: String,
    flavor: Flavor,
    orthanc_raw: Option<String>,
}

impl Store {
    /// A static tree rooted at `base` (no trailing slash needed).
    pub fn static_tree(base: &str) -> Self {
        Store { base: base.trim_end_matches('/').to_string(), flavor: Flavor::StaticTree, orthanc_raw: None }
    }

    /// A DICOMweb server whose QIDO/WADO/STOW root is `base` (e.g. `https://pacs.example/dicom-web`).
    pub fn dicomweb(base: &str) -> Self {
        Store { base: base.trim_end_matches('/').to_string(), flavor: Flavor::DicomWeb, orthanc_raw: None }
    }

    /// Fetch sealed bytes from Orthanc's raw attribute endpoint under `raw_base`
    /// (`{raw_base}/instances/{orthanc id}/content/0009-1010`, typically behind a proxy that adds
    /// byte ranges) instead of WADO-RS multipart retrieves.
    pub fn with_orthanc_raw(mut self, raw_base: &str) -> Self {
        self.orthanc_raw = Some(raw_base.trim_end_matches('/').to_string());
        self
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// How the store answers.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// URL of the query that lists the sealed studies: every answer entry carries a Study Instance
    /// UID (`0020000D`), and from a PACS also the Series Instance UID of the manifest series. A
    /// PACS is asked for the manifest series by their public Series Description (the only QIDO
    /// filter it is sure to honour on our carriers), which skips every study that is not sealed.
    /// The spaces of the description are `?` wildcards: Orthanc does not percent-decode filter values.
    pub fn studies_url(&self) -> String {
        match self.flavor {
            Flavor::StaticTree => format!("{}/{}", self.base, studies_index_path()),
            Flavor::DicomWeb => format!(
                "{}/series?SeriesDescription={}",
                self.base,
                crate::carrier::MANIFEST_SERIES_DESCRIPTION.replace(' ', "?")
            ),
        }
    }

    /// URL of the instance-level QIDO-RS answer for one study (what [`crate::qido`] reads is in
    /// the default answer).
    pub fn study_instances_url(&self, study_uid: &str) -> String {
        match self.flavor {
            Flavor::StaticTree => format!("{}/{}", self.base, study_instances_index_path(study_uid)),
            Flavor::DicomWeb => format!("{}/studies/{}/instances", self.base, check_uid(study_uid)),
        }
    }

    /// URL of the instance-level QIDO-RS answer for one series (on a PACS, cheaper than the whole
    /// study: QIDO reads every file it lists). A static tree answers for the whole study.
    pub fn series_instances_url(&self, study_uid: &str, series_uid: &str) -> String {
        match self.flavor {
            Flavor::StaticTree => self.study_instances_url(study_uid),
            Flavor::DicomWeb => {
                format!("{}/studies/{}/series/{}/instances", self.base, check_uid(study_uid), check_uid(series_uid))
            }
        }
    }

    /// URL that STOW-RS stores instances at (`POST`).
    pub fn stow_url(&self) -> String {
        format!("{}/studies", self.base)
    }

    /// Where the sealed bytes of carrier `c` come from.
    pub fn sealed_source(&self, c: &Carrier) -> SealedSource {
        self.sealed_source_parts(&c.study_uid, &c.series_uid, &c.sop_instance_uid)
    }

    /// Where the sealed bytes of the carrier with these UIDs come from.
    pub fn sealed_source_parts(&self, study: &str, series: &str, sop: &str) -> SealedSource {
        match (self.flavor, &self.orthanc_raw) {
            (Flavor::StaticTree, _) => SealedSource::Raw(format!("{}/{}", self.base, sealed_path(study, series, sop))),
            (Flavor::DicomWeb, Some(raw)) => SealedSource::Raw(format!(
                "{raw}/instances/{}/content/{:04x}-{:04x}",
                orthanc_instance_id(&crate::carrier::pseudonymous_patient_id(study), study, series, sop),
                crate::carrier::TAG_SEALED.0,
                crate::carrier::TAG_SEALED.1
            )),
            (Flavor::DicomWeb, None) => {
                SealedSource::WadoInstance { url: self.wado_instance_url(study, series, sop), sop: sop.to_string() }
            }
        }
    }

    /// URL of the WADO-RS retrieve of one instance (answered as `multipart/related`; ask with
    /// [`WADO_ACCEPT`]).
    pub fn wado_instance_url(&self, study: &str, series: &str, sop: &str) -> String {
        format!("{}/studies/{}/series/{}/instances/{}", self.base, check_uid(study), check_uid(series), check_uid(sop))
    }
}

/// Orthanc's identifier of an instance: the SHA-1 of `PatientID|StudyUID|SeriesUID|SOPUID`, as
/// five dash-separated groups of 8 hex digits. (An identifier scheme, not a security function.)
pub fn orthanc_instance_id(patient_id: &str, study: &str, series: &str, sop: &str) -> String {
    use sha1::{Digest, Sha1};
    let d = Sha1::digest(format!("{patient_id}|{study}|{series}|{sop}").as_bytes());
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    [&hex[0..8], &hex[8..16], &hex[16..24], &hex[24..32], &hex[32..40]].join("-")
}

/// Relative path of the study-level index in a static tree.
pub fn studies_index_path() -> String {
    "studies/index.json".to_string()
}

/// Relative path of one study's folder in a static tree.
pub fn study_dir(study_uid: &str) -> String {
    format!("studies/{}", check_uid(study_uid))
}

/// Relative path of one study's instance-level index in a static tree.
pub fn study_instances_index_path(study_uid: &str) -> String {
    format!("{}/instances/index.json", study_dir(study_uid))
}

/// Relative path of one instance's folder in a static tree.
pub fn instance_dir(study: &str, series: &str, sop: &str) -> String {
    format!("{}/series/{}/instances/{}", study_dir(study), check_uid(series), check_uid(sop))
}

/// Relative path of a carrier's Part 10 file in a static tree.
pub fn carrier_path(c: &Carrier) -> String {
    format!("{}/instance.dcm", instance_dir(&c.study_uid, &c.series_uid, &c.sop_instance_uid))
}

/// Relative path of a carrier's sealed bytes in a static tree.
pub fn sealed_path(study: &str, series: &str, sop: &str) -> String {
    format!("{}/sealed.bin", instance_dir(study, series, sop))
}

/// UIDs become path segments: anything but digits and dots would be a path injection from a
/// hostile store, so such a UID is replaced by a segment that cannot exist.
fn check_uid(uid: &str) -> &str {
    if !uid.is_empty() && uid.len() <= 64 && uid.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        uid
    } else {
        "invalid-uid"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dicomweb_urls() {
        let c = Carrier {
            study_uid: "1.2".into(),
            series_uid: "1.3".into(),
            sop_instance_uid: "1.4".into(),
            kind: crate::carrier::CarrierKind::Object,
            series_number: 1,
            instance_number: 1,
        };
        let s = Store::dicomweb("https://pacs.example/dicom-web/");
        assert_eq!(s.studies_url(), "https://pacs.example/dicom-web/series?SeriesDescription=OBSCURA?SEALED?MANIFEST");
        assert_eq!(s.stow_url(), "https://pacs.example/dicom-web/studies");
        assert_eq!(
            s.sealed_source(&c),
            SealedSource::WadoInstance {
                url: "https://pacs.example/dicom-web/studies/1.2/series/1.3/instances/1.4".into(),
                sop: "1.4".into()
            }
        );
        let raw = s.with_orthanc_raw("https://pacs.example/orthanc").sealed_source(&c);
        let id = orthanc_instance_id(&crate::carrier::pseudonymous_patient_id("1.2"), "1.2", "1.3", "1.4");
        assert_eq!(raw, SealedSource::Raw(format!("https://pacs.example/orthanc/instances/{id}/content/0009-1010")));
    }

    #[test]
    fn orthanc_ids_follow_orthancs_scheme() {
        // Orthanc's documented example: PatientID "ID", StudyUID "1.2.3", SeriesUID "4.5.6", SOP "7.8.9"
        // are hashed as "ID|1.2.3|4.5.6|7.8.9".
        let id = orthanc_instance_id("ID", "1.2.3", "4.5.6", "7.8.9");
        assert_eq!(id.len(), 44);
        assert_eq!(id.matches('-').count(), 4);
    }

    #[test]
    fn hostile_uid_cannot_escape_the_tree() {
        assert_eq!(study_dir("../../etc"), "studies/invalid-uid");
        assert_eq!(study_dir("1.2/3"), "studies/invalid-uid");
        assert_eq!(study_dir("1.2.3"), "studies/1.2.3");
    }
}

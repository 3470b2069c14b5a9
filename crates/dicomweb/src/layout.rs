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
}

/// A store the viewer reads sealed studies from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    base: String,
    flavor: Flavor,
}

impl Store {
    /// A static tree rooted at `base` (no trailing slash needed).
    pub fn static_tree(base: &str) -> Self {
        Store { base: base.trim_end_matches('/').to_string(), flavor: Flavor::StaticTree }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// URL of the study-level QIDO-RS answer.
    pub fn studies_url(&self) -> String {
        match self.flavor {
            Flavor::StaticTree => format!("{}/{}", self.base, studies_index_path()),
        }
    }

    /// URL of the instance-level QIDO-RS answer for one study.
    pub fn study_instances_url(&self, study_uid: &str) -> String {
        match self.flavor {
            Flavor::StaticTree => format!("{}/{}", self.base, study_instances_index_path(study_uid)),
        }
    }

    /// URL of one carrier's sealed bytes.
    pub fn sealed_url(&self, c: &Carrier) -> String {
        self.sealed_url_parts(&c.study_uid, &c.series_uid, &c.sop_instance_uid)
    }

    /// URL of the sealed bytes of the instance with these UIDs.
    pub fn sealed_url_parts(&self, study: &str, series: &str, sop: &str) -> String {
        match self.flavor {
            Flavor::StaticTree => format!("{}/{}", self.base, sealed_path(study, series, sop)),
        }
    }
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
    fn hostile_uid_cannot_escape_the_tree() {
        assert_eq!(study_dir("../../etc"), "studies/invalid-uid");
        assert_eq!(study_dir("1.2/3"), "studies/invalid-uid");
        assert_eq!(study_dir("1.2.3"), "studies/1.2.3");
    }
}

//! Writing and reading the static DICOMweb-style tree (layout in `obscura_dicomweb::layout`).

use anyhow::{Context, Result};
use obscura_dicomweb::carrier::{Carrier, CarrierKind};
use obscura_dicomweb::{layout, qido};
use std::path::Path;

fn write(root: &Path, rel: &str, bytes: &[u8]) -> Result<()> {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // Write then rename, so a reader never sees half a file.
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes one carrier: its Part 10 file and its sealed bytes alone (for byte ranges).
pub fn write_carrier(root: &Path, c: &Carrier, sealed: &[u8]) -> Result<()> {
    write(root, &layout::carrier_path(c), &c.to_part10(sealed)?)?;
    write(root, &layout::sealed_path(&c.study_uid, &c.series_uid, &c.sop_instance_uid), sealed)
}

/// Writes the instance-level QIDO answer of a study and lists the study at study level.
pub fn publish_study(root: &Path, study_uid: &str, carriers: &[Carrier]) -> Result<()> {
    let entries: Vec<_> = carriers.iter().map(qido::instance_entry).collect();
    write(root, &layout::study_instances_index_path(study_uid), &serde_json::to_vec_pretty(&entries)?)?;
    let index_path = root.join(layout::studies_index_path());
    let mut studies: Vec<serde_json::Value> = match std::fs::read(&index_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("{} is damaged", index_path.display()))?,
        Err(_) => Vec::new(),
    };
    let known = qido::parse_study_uids(&serde_json::to_vec(&studies)?)?;
    if !known.iter().any(|u| u == study_uid) {
        studies.push(qido::study_entry(study_uid));
    }
    write(root, &layout::studies_index_path(), &serde_json::to_vec_pretty(&studies)?)
}

/// The study UIDs listed in the store.
pub fn studies(root: &Path) -> Result<Vec<String>> {
    let path = root.join(layout::studies_index_path());
    match std::fs::read(&path) {
        Ok(bytes) => Ok(qido::parse_study_uids(&bytes)?),
        Err(_) => Ok(Vec::new()),
    }
}

/// The manifest carrier of a study and its sealed bytes.
pub fn read_manifest(root: &Path, study_uid: &str) -> Result<(Carrier, Vec<u8>)> {
    let index = root.join(layout::study_instances_index_path(study_uid));
    let carriers =
        qido::parse_instances(&std::fs::read(&index).with_context(|| format!("cannot read {}", index.display()))?)?;
    let manifest = carriers
        .into_iter()
        .find(|c| c.kind == CarrierKind::Manifest)
        .with_context(|| format!("study {study_uid} has no manifest in the store"))?;
    let path = root.join(layout::sealed_path(&manifest.study_uid, &manifest.series_uid, &manifest.sop_instance_uid));
    let sealed = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok((manifest, sealed))
}

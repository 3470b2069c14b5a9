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

/// The carriers a study's instance-level index lists.
pub fn carriers(root: &Path, study_uid: &str) -> Result<Vec<Carrier>> {
    let index = root.join(layout::study_instances_index_path(study_uid));
    Ok(qido::parse_instances(&std::fs::read(&index).with_context(|| format!("cannot read {}", index.display()))?)?)
}

/// The current manifest carrier among a study's carriers: the one with the highest Instance
/// Number (= its manifest version; every version has its own SOP Instance UID, see FORMAT.md §7).
pub fn current_manifest(carriers: &[Carrier]) -> Option<&Carrier> {
    carriers.iter().filter(|c| c.kind == CarrierKind::Manifest).max_by_key(|c| c.instance_number)
}

/// The manifest carrier of a study and its sealed bytes.
pub fn read_manifest(root: &Path, study_uid: &str) -> Result<(Carrier, Vec<u8>)> {
    let carriers = carriers(root, study_uid)?;
    let manifest = current_manifest(&carriers)
        .cloned()
        .with_context(|| format!("study {study_uid} has no manifest in the store"))?;
    let path = root.join(layout::sealed_path(&manifest.study_uid, &manifest.series_uid, &manifest.sop_instance_uid));
    let sealed = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok((manifest, sealed))
}

/// Publishes a new manifest version: a new carrier (new SOP Instance UID, Instance Number =
/// `version`, in the manifest series of `old`), then the study's index, then the old carrier's
/// folder is removed. A PACS keeps the first instance it got under a SOP Instance UID, so a
/// version can only reach it under a UID of its own.
pub fn replace_manifest(root: &Path, old: &Carrier, version: u64, sealed: &[u8]) -> Result<Carrier> {
    let new = Carrier {
        sop_instance_uid: crate::sealcmd::new_uid(),
        instance_number: i32::try_from(version).context("manifest version out of range")?,
        ..old.clone()
    };
    write_carrier(root, &new, sealed)?;
    let mut listed = carriers(root, &old.study_uid)?;
    listed.retain(|c| c.sop_instance_uid != old.sop_instance_uid);
    listed.insert(0, new.clone());
    publish_study(root, &old.study_uid, &listed)?;
    let dir = root.join(layout::instance_dir(&old.study_uid, &old.series_uid, &old.sop_instance_uid));
    std::fs::remove_dir_all(&dir).with_context(|| format!("cannot remove the previous manifest {}", dir.display()))?;
    Ok(new)
}

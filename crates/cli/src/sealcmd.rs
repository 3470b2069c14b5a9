//! `obscura seal`: plaintext DICOM in, sealed carriers in a static store out.

use crate::keyfile::KeysDir;
use crate::store;
use anyhow::{bail, Context, Result};
use obscura_dicomweb::carrier::{Carrier, CarrierKind};
use obscura_imaging::Attributes;
use obscura_seal::{
    seal_object, Certificate, InstanceIndex, ObjectEntry, ObjectId, PublicKey, SeriesIndex, StudyIndex, StudyKey,
};
use rand_core::{OsRng, RngCore};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A fresh pseudonymous UID (`2.25.` + a random 122-bit number, as PS3.5 B.2 allows).
pub fn new_uid() -> String {
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    format!("2.25.{}", u128::from_be_bytes(b) >> 6)
}

/// Unix seconds as "YYYY-MM-DD HH:MM UTC" (civil-from-days, proleptic Gregorian calendar).
pub fn utc(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86400), t.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", secs / 3600, secs % 3600 / 60)
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn collect_files(inputs: &[PathBuf], out: &mut Vec<PathBuf>) -> Result<()> {
    for input in inputs {
        let meta = std::fs::metadata(input).with_context(|| format!("cannot read {}", input.display()))?;
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> =
                std::fs::read_dir(input)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
            entries.sort();
            collect_files(&entries, out)?;
        } else {
            out.push(input.clone());
        }
    }
    Ok(())
}

struct Source {
    path: PathBuf,
    bytes: Vec<u8>,
    attrs: Attributes,
}

/// What one sealed study looks like from the outside.
pub struct SealedStudy {
    pub study_uid: String,
    pub instances: usize,
    pub recipients: usize,
}

pub fn seal(
    keys: &KeysDir,
    store_root: &Path,
    inputs: &[PathBuf],
    reader_certs: &[PathBuf],
) -> Result<Vec<SealedStudy>> {
    let org = keys.org_public()?;
    let gateway_key = keys.gateway_key()?;
    let t = now();
    let gateway_cert = keys.gateway_certificate(&org, t)?;
    let escrow_cert = keys.escrow_certificate(&org, t)?;
    // The escrow recipient is always on every study: it is what makes re-wrapping and recovery possible.
    let mut recipients: Vec<PublicKey> = vec![escrow_cert.public_key.clone()];
    for path in reader_certs {
        recipients.push(crate::keyfile::read_reader_certificate(path, &org, t)?.public_key);
    }

    let mut files = Vec::new();
    collect_files(inputs, &mut files)?;
    let mut studies: BTreeMap<String, Vec<Source>> = BTreeMap::new();
    let mut skipped = 0;
    for path in files {
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        match obscura_imaging::read_attributes(&bytes) {
            Ok(attrs) => {
                studies.entry(attrs.study_instance_uid.clone()).or_default().push(Source { path, bytes, attrs })
            }
            Err(e) => {
                eprintln!("skipping {}: {e}", path.display());
                skipped += 1;
            }
        }
    }
    if studies.is_empty() {
        bail!("no DICOM file found in the input ({skipped} files skipped); give a folder of DICOM Part 10 files");
    }
    let mut out = Vec::new();
    for (_, sources) in studies {
        out.push(seal_study(store_root, sources, &recipients, &gateway_key, &gateway_cert, t)?);
    }
    Ok(out)
}

fn seal_study(
    store_root: &Path,
    mut sources: Vec<Source>,
    recipients: &[PublicKey],
    gateway_key: &obscura_seal::SigningKey,
    gateway_cert: &Certificate,
    t: i64,
) -> Result<SealedStudy> {
    sources.sort_by(|a, b| {
        (a.attrs.series_number, &a.attrs.series_instance_uid, a.attrs.instance_number, a.path.clone())
            .partial_cmp(&(
                b.attrs.series_number,
                &b.attrs.series_instance_uid,
                b.attrs.instance_number,
                b.path.clone(),
            ))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let study_key = StudyKey::generate(&mut OsRng);
    let study_uid = new_uid();
    let first = &sources[0].attrs;
    // The index holds PHI and zeroises itself on drop, so it is filled field by field.
    let mut index = StudyIndex::default();
    index.patient_name = first.patient_name.clone();
    index.patient_id = first.patient_id.clone();
    index.patient_birth_date = first.patient_birth_date.clone();
    index.patient_sex = first.patient_sex.clone();
    index.study_date = first.study_date.clone();
    index.study_time = first.study_time.clone();
    index.study_description = first.study_description.clone();
    index.accession_number = first.accession_number.clone();
    index.referring_physician = first.referring_physician_name.clone();
    let mut carriers = Vec::new();
    let mut objects = Vec::new();
    let mut series_pseudonyms: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for src in &sources {
        let a = &src.attrs;
        let (series_uid, series_pos) = series_pseudonyms
            .entry(a.series_instance_uid.clone())
            .or_insert_with(|| {
                index.series.push(SeriesIndex {
                    series_uid: String::new(),
                    modality: a.modality.clone(),
                    series_number: a.series_number,
                    series_description: a.series_description.clone(),
                    instances: Vec::new(),
                });
                (new_uid(), index.series.len() - 1)
            })
            .clone();
        index.series[series_pos].series_uid = series_uid.clone();
        let object_id = ObjectId::generate(&mut OsRng);
        let sealed = seal_object(&study_key, &object_id, &src.bytes, obscura_seal::DEFAULT_CHUNK_SIZE)?;
        let carrier = Carrier {
            study_uid: study_uid.clone(),
            series_uid: series_uid.clone(),
            sop_instance_uid: new_uid(),
            kind: CarrierKind::Object,
            series_number: series_pos as i32 + 1,
            instance_number: index.series[series_pos].instances.len() as i32 + 1,
        };
        store::write_carrier(store_root, &carrier, &sealed)?;
        // A new study: its objects are sealed under key epoch 0.
        objects.push(ObjectEntry::for_sealed(object_id, &carrier.series_uid, &carrier.sop_instance_uid, 0, &sealed));
        index.series[series_pos].instances.push(InstanceIndex {
            object_id,
            instance_number: a.instance_number,
            slice_location: a.slice_location,
            rows: a.rows.unwrap_or(0),
            columns: a.columns.unwrap_or(0),
            frames: a.number_of_frames.unwrap_or(1),
            frame_ranges: obscura_imaging::frame_ranges(&src.bytes)
                .with_context(|| format!("{} has a broken pixel data layout", src.path.display()))?
                .into_iter()
                .map(|r| [r.start, r.end])
                .collect(),
        });
        carriers.push(carrier);
    }
    // Instance Number of a manifest carrier = its manifest version (FORMAT.md §7).
    const FIRST_VERSION: u64 = 1;
    let manifest_bytes = obscura_seal::seal_manifest(
        obscura_seal::ManifestInput {
            study_uid: &study_uid,
            version: FIRST_VERSION,
            created: t,
            recipients,
            index: &index,
            objects,
        },
        gateway_key,
        gateway_cert,
        &study_key,
        &mut OsRng,
    )?;
    let manifest = Carrier {
        study_uid: study_uid.clone(),
        series_uid: new_uid(),
        sop_instance_uid: new_uid(),
        kind: CarrierKind::Manifest,
        series_number: 0,
        instance_number: FIRST_VERSION as i32,
    };
    store::write_carrier(store_root, &manifest, &manifest_bytes)?;
    carriers.insert(0, manifest);
    store::publish_study(store_root, &study_uid, &carriers)?;
    Ok(SealedStudy { study_uid, instances: sources.len(), recipients: recipients.len() })
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(super::utc(1_800_000_000), "2027-01-15 08:00 UTC");
        assert_eq!(super::utc(-86_400), "1969-12-31 00:00 UTC");
    }
}

//! `obscura inspect --remote`: what a DICOMweb server holds of each sealed study and shows in
//! clear, read the way anyone with access to it would (QIDO-RS, and one WADO-RS metadata request per
//! series), checked attribute by attribute against what a carrier may show.

use crate::keyfile::KeysDir;
use crate::progress;
use crate::remote::{url_safe_uid, ConnectArgs, Remote};
use crate::sealcmd;
use anyhow::{bail, Context, Result};
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::Tag;
use dicom_dictionary_std::StandardDataDictionary;
use obscura_dicomweb::carrier::{
    pseudonymous_patient_id, CarrierKind, EXPLICIT_VR_LE, MANIFEST_SERIES_DESCRIPTION, OBJECT_SERIES_DESCRIPTION,
    PRIVATE_CREATOR, RAW_DATA_STORAGE,
};
use obscura_dicomweb::{qido, stow};
use serde_json::Value;
use std::collections::BTreeMap;

/// One attribute as the server shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Shown {
    tag: String,
    vr: String,
    value: String,
}

/// The attribute's value as text: strings, numbers, person names; bulk data as a note.
fn value_text(attr: &Value) -> String {
    if let Some(uri) = attr.get("BulkDataURI").and_then(Value::as_str) {
        let _ = uri;
        return "<bulk data, by reference>".into();
    }
    if let Some(b64) = attr.get("InlineBinary").and_then(Value::as_str) {
        return format!("<{} bytes of binary>", b64.len() / 4 * 3);
    }
    let Some(values) = attr.get("Value").and_then(Value::as_array) else { return String::new() };
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => s.trim_end_matches(['\0', ' ']).to_string(),
            Value::Number(n) => n.to_string(),
            Value::Object(o) => {
                // A person name ({"Alphabetic": ...}) or a sequence item.
                if let Some(a) = o.get("Alphabetic").and_then(Value::as_str) {
                    a.to_string()
                } else {
                    format!("<item of {} attributes>", o.len())
                }
            }
            Value::Null => String::new(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\\")
}

fn shown(entry: &Value) -> Vec<Shown> {
    let Some(map) = entry.as_object() else { return Vec::new() };
    map.iter()
        .map(|(tag, attr)| Shown {
            tag: tag.to_ascii_uppercase(),
            vr: attr.get("vr").and_then(Value::as_str).unwrap_or("??").to_string(),
            value: value_text(attr),
        })
        .collect()
}

fn name_of(tag: &str) -> String {
    let parsed = u32::from_str_radix(tag, 16).ok().map(|t| Tag((t >> 16) as u16, t as u16));
    match parsed {
        Some(t) if t.0 == 0x0009 && t.1 == 0x0010 => "private creator".into(),
        Some(t) if t.0 == 0x0009 && t.1 >> 8 == 0x10 => match t.1 & 0xFF {
            0x10 => "OBSCURA sealed bytes".into(),
            0x11 => "OBSCURA carrier kind".into(),
            0x12 => "OBSCURA sealed length".into(),
            _ => "private".into(),
        },
        Some(t) if t.0 % 2 == 1 => "private".into(),
        Some(t) => StandardDataDictionary.by_tag(t).map(|e| e.alias().to_string()).unwrap_or_else(|| "unknown".into()),
        None => "not a tag".into(),
    }
}

/// Where an attribute sits, for the rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Study,
    Instance,
}

/// Attributes a server computes or adds that say nothing about the patient, when they hold what is
/// expected (counts, availability, retrieve URLs, the SOP classes and modalities of the study).
fn server_attribute_ok(a: &Shown) -> Option<bool> {
    Some(match a.tag.as_str() {
        "00080056" => matches!(a.value.as_str(), "ONLINE" | "NEARLINE" | "OFFLINE" | "UNAVAILABLE"),
        "00081190" => true,
        "00201206" | "00201208" | "00201209" => a.value.chars().all(|c| c.is_ascii_digit()),
        "00080061" => a.value == "OT",
        "00080062" => a.value == RAW_DATA_STORAGE,
        "00080201" => false,
        _ => return None,
    })
}

/// Checks one attribute with a value against what a carrier of `study` may show. `Some(reason)` flags it.
fn check(a: &Shown, level: Level, study: &str) -> Option<String> {
    if a.value.is_empty() {
        return None;
    }
    let is_uid = |v: &str| v.starts_with("2.25.") && url_safe_uid(v);
    let ok = match a.tag.as_str() {
        // The character set the server answers in (Orthanc's QIDO says ISO_IR 100 whatever the file holds):
        // a defined term, which says nothing about anyone.
        "00080005" => {
            a.value.len() <= 64
                && a.value.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b" _\\".contains(&b))
        }
        "00080016" => a.value == RAW_DATA_STORAGE,
        "00020010" => a.value == EXPLICIT_VR_LE,
        "00080018" | "0020000E" | "00020003" => is_uid(&a.value),
        "0020000D" => a.value == study,
        "00020002" => a.value == RAW_DATA_STORAGE,
        "00080060" => a.value == "OT",
        "0008103E" => a.value == MANIFEST_SERIES_DESCRIPTION || a.value == OBJECT_SERIES_DESCRIPTION,
        "00100020" => a.value == pseudonymous_patient_id(study),
        "00200011" | "00200013" => a.value.parse::<i64>().is_ok(),
        "00090010" => a.value == PRIVATE_CREATOR,
        "00091010" => a.value.starts_with('<'),
        "00091011" => a.value == CarrierKind::Manifest.code() || a.value == CarrierKind::Object.code(),
        "00091012" => a.value.parse::<u64>().is_ok(),
        _ => match server_attribute_ok(a) {
            Some(ok) => ok,
            None => {
                let what = if level == Level::Study { "study level" } else { "an instance" };
                return Some(format!(
                    "{} {} ({}) is not an attribute a carrier has, at {what}",
                    a.tag,
                    name_of(&a.tag),
                    a.vr
                ));
            }
        },
    };
    (!ok).then(|| format!("{} {} holds an unexpected value", a.tag, name_of(&a.tag)))
}

pub fn inspect_remote(url: &str, connect: &ConnectArgs, keys: Option<&KeysDir>, only: Option<&str>) -> Result<()> {
    let remote = Remote::new(url, "--remote", connect, 2)?;
    let org = keys.map(KeysDir::org_public).transpose()?;
    if let Some(s) = only {
        if !url_safe_uid(s) {
            bail!("{s}: a Study Instance UID is digits and dots");
        }
    }
    eprintln!("asking {} ({})", remote.base(), remote.describe());
    // Sealed studies are found the way the viewer finds them: by their manifest series.
    let uids: Vec<String> = match only {
        Some(s) => vec![s.to_string()],
        None => {
            let url = remote.store().studies_url();
            let body = remote.get_json(&url, "list sealed studies (QIDO-RS)")?.unwrap_or_else(|| b"[]".to_vec());
            let mut uids = Vec::new();
            for (study, _) in
                qido::parse_study_series(&body).with_context(|| format!("{url}: cannot read the answer"))?
            {
                if !uids.contains(&study) {
                    uids.push(study);
                }
            }
            uids
        }
    };
    if uids.is_empty() {
        bail!("{} holds no sealed study (no series \"{MANIFEST_SERIES_DESCRIPTION}\")", remote.base());
    }
    let mut flagged_total = 0;
    for uid in &uids {
        if !url_safe_uid(uid) {
            println!("study {uid:?}: not a UID of digits and dots; skipped");
            flagged_total += 1;
            continue;
        }
        // The study-level attributes, as anyone who lists studies sees them.
        let url = format!("{}/studies?StudyInstanceUID={uid}", remote.base());
        let body = remote.get_json(&url, "list studies (QIDO-RS)")?.unwrap_or_else(|| b"[]".to_vec());
        let entries: Vec<Value> =
            serde_json::from_slice(&body).with_context(|| format!("{url}: the answer is not a DICOM JSON array"))?;
        let Some(entry) = entries.iter().find(|e| e.get("0020000D").map(value_text).as_deref() == Some(uid.as_str()))
        else {
            bail!("{} holds no study {uid}", remote.base());
        };
        if entry.get("00100020").map(value_text) != Some(pseudonymous_patient_id(uid)) {
            if only.is_some() {
                bail!(
                    "study {uid} on {} is not a sealed study (its Patient ID is not the carrier's pseudonym)",
                    remote.base()
                );
            }
            println!("study {uid}: it has a sealed manifest series, but its Patient ID is not the carrier's pseudonym");
            flagged_total += 1;
            continue;
        }
        flagged_total += inspect_study(&remote, org.as_ref(), uid, entry)?;
    }
    if flagged_total > 0 {
        bail!("{flagged_total} findings in clear that a sealed study must not show (see above)");
    }
    Ok(())
}

/// Prints one study; returns the number of flagged attributes.
fn inspect_study(
    remote: &Remote,
    org: Option<&obscura_seal::PublicKey>,
    study: &str,
    study_entry: &Value,
) -> Result<usize> {
    let mut flags: Vec<String> = Vec::new();
    println!("study {study}");
    println!("  patient id: {} (derived from the pseudonymous study UID only)", pseudonymous_patient_id(study));
    let mut at_study = shown(study_entry);
    at_study.sort();
    println!("  study level (QIDO-RS), {} attributes:", at_study.len());
    for a in &at_study {
        println!(
            "    {} {} {}: {}",
            a.tag,
            a.vr,
            name_of(&a.tag),
            if a.value.is_empty() { "(empty)" } else { &a.value }
        );
        flags.extend(check(a, Level::Study, study));
    }

    let url = remote.store().study_instances_url(study);
    let body = remote.get_json(&url, "list instances (QIDO-RS)")?.unwrap_or_else(|| b"[]".to_vec());
    let carriers = qido::parse_instances(&body).with_context(|| format!("{url}: cannot read the answer"))?;
    let all = stow::present_sop_uids(&body).with_context(|| format!("{url}: cannot read the answer"))?;
    if all.len() != carriers.len() {
        flags.push(format!("{} instances of the study are not Raw Data Storage carriers", all.len() - carriers.len()));
    }
    // With the trust anchor: the current manifest, verified (and the sealed sizes it lists).
    let (manifest_line, sizes) = match org {
        Some(org) => verify_manifest(remote, org, study, &carriers),
        None => (None, BTreeMap::new()),
    };
    let mut series: BTreeMap<(i32, String), Vec<&obscura_dicomweb::carrier::Carrier>> = BTreeMap::new();
    for c in &carriers {
        series.entry((c.series_number, c.series_uid.clone())).or_default().push(c);
    }
    // Every attribute of every instance, once per distinct (tag, vr, value), with a count.
    let mut attrs: BTreeMap<Shown, usize> = BTreeMap::new();
    let mut instances = 0;
    let mut sealed_total = 0u64;
    let mut sizes_unknown = 0;
    for ((number, series_uid), members) in &series {
        if !url_safe_uid(series_uid) {
            flags.push(format!("series UID {series_uid:?} is not digits and dots"));
            continue;
        }
        let url = format!("{}/studies/{study}/series/{series_uid}/metadata", remote.base());
        let body = remote.get_json(&url, "read metadata (WADO-RS)")?.unwrap_or_else(|| b"[]".to_vec());
        let metadata: Vec<Value> =
            serde_json::from_slice(&body).with_context(|| format!("{url}: the answer is not a DICOM JSON array"))?;
        let mut sealed = 0u64;
        let mut unknown = 0;
        let mut classes = BTreeMap::<String, usize>::new();
        let mut modalities = BTreeMap::<String, usize>::new();
        let mut descriptions = BTreeMap::<String, usize>::new();
        for m in &metadata {
            instances += 1;
            // The sealed length as the carrier says it, else as the verified manifest lists it.
            let sop = m.get("00080018").map(value_text).unwrap_or_default();
            match m.get("00091012").map(value_text).and_then(|v| v.parse::<u64>().ok()).or(sizes.get(&sop).copied()) {
                Some(n) => sealed += n,
                None => unknown += 1,
            }
            for a in shown(m) {
                match a.tag.as_str() {
                    "00080016" => *classes.entry(a.value.clone()).or_default() += 1,
                    "00080060" => *modalities.entry(a.value.clone()).or_default() += 1,
                    "0008103E" => *descriptions.entry(a.value.clone()).or_default() += 1,
                    _ => {}
                }
                *attrs.entry(a).or_default() += 1;
            }
        }
        sealed_total += sealed;
        sizes_unknown += unknown;
        let size = if unknown == 0 { format!("{} sealed", progress::bytes(sealed)) } else { "size not shown".into() };
        let list = |m: &BTreeMap<String, usize>| {
            m.keys()
                .map(|k| if k == RAW_DATA_STORAGE { "Raw Data Storage".to_string() } else { k.clone() })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let kind = members.first().map(|c| c.kind);
        let versions = if kind == Some(CarrierKind::Manifest) {
            let mut v: Vec<i32> = members.iter().map(|c| c.instance_number).collect();
            v.sort();
            format!(", manifest versions {}", v.iter().map(i32::to_string).collect::<Vec<_>>().join(", "))
        } else {
            String::new()
        };
        println!(
            "  series {series_uid} (number {number}) \"{}\": {} instances ({} in the metadata), {size}, SOP class {}, modality {}{versions}",
            list(&descriptions),
            members.len(),
            metadata.len(),
            list(&classes),
            list(&modalities),
        );
    }
    let size = match sizes_unknown {
        0 => format!("{} sealed", progress::bytes(sealed_total)),
        n if org.is_some() => {
            format!("{n} of unknown size (neither shown by the server nor listed in the current manifest: superseded manifest versions)")
        }
        n => format!(
            "{n} of unknown size (the server does not show the sealed length (0009,1012); with --keys it is read from the manifest)"
        ),
    };
    println!(
        "  {instances} instances in {} series, {size}; every public attribute they show (WADO-RS metadata):",
        series.len()
    );
    // Per-instance values (UIDs, numbers, lengths) are summarised; values shared by all are shown.
    let mut by_tag: BTreeMap<(String, String), Vec<(&Shown, usize)>> = BTreeMap::new();
    for (a, n) in &attrs {
        by_tag.entry((a.tag.clone(), a.vr.clone())).or_default().push((a, *n));
        flags.extend(check(a, Level::Instance, study));
    }
    for ((tag, vr), values) in &by_tag {
        let text = |v: &str| if v.is_empty() { "(empty)".to_string() } else { v.to_string() };
        let text = if values.len() <= 3 {
            values.iter().map(|(a, n)| format!("{} ({n}×)", text(&a.value))).collect::<Vec<_>>().join(", ")
        } else {
            format!("{} distinct values", values.len())
        };
        println!("    {tag} {vr} {}: {text}", name_of(tag));
    }
    flags.sort();
    flags.dedup();
    if flags.is_empty() {
        println!(
            "  in clear: no patient name, no dates, no descriptions — every attribute shown is one of the carrier's pseudonymous ones (checked)"
        );
    } else {
        println!("  WARNING: the server shows what a sealed study must not:");
        for f in &flags {
            println!("    {f}");
        }
    }
    if let Some(line) = manifest_line {
        println!("  manifest: {line}");
    }
    Ok(flags.len())
}

/// Fetches the current manifest carrier (WADO-RS) and verifies its signature chain: a line to
/// print, and the sealed size of each object it lists.
fn verify_manifest(
    remote: &Remote,
    org: &obscura_seal::PublicKey,
    study: &str,
    carriers: &[obscura_dicomweb::carrier::Carrier],
) -> (Option<String>, BTreeMap<String, u64>) {
    let Some(m) = crate::store::current_manifest(carriers) else {
        return (Some("none on the server (not uploaded yet?)".into()), BTreeMap::new());
    };
    let sealed = match remote.fetch_carrier(study, &m.series_uid, &m.sop_instance_uid) {
        Ok(s) => s,
        Err(e) => return (Some(format!("could not be fetched: {e:#}")), BTreeMap::new()),
    };
    match obscura_seal::open_manifest(&sealed, org, sealcmd::now(), None) {
        Ok(v) => {
            let mut sizes: BTreeMap<String, u64> =
                v.body().objects.iter().map(|o| (o.sop_instance_uid.clone(), o.sealed_len)).collect();
            sizes.insert(m.sop_instance_uid.clone(), sealed.len() as u64);
            let listed = v.body().objects.len();
            let held = v
                .body()
                .objects
                .iter()
                .filter(|o| carriers.iter().any(|c| c.sop_instance_uid == o.sop_instance_uid))
                .count();
            let held = if held == listed {
                format!("the server holds all {listed} objects it lists")
            } else {
                format!("the server holds only {held} of the {listed} objects it lists: push the study again")
            };
            let line = if v.version() == m.instance_number as u64 {
                format!(
                    "version {} (instance number {}), {} bytes, signature verified against org.pub; {held}",
                    v.version(),
                    m.instance_number,
                    sealed.len(),
                )
            } else {
                format!(
                    "signature verified, but it holds version {} under instance number {}",
                    v.version(),
                    m.instance_number
                )
            };
            (Some(line), sizes)
        }
        Err(e) => (Some(format!("REFUSED ({e})")), BTreeMap::new()),
    }
}

//! Key lifecycle on sealed studies: certify readers, re-wrap, rotate, revoke, share.
//!
//! Every command that changes a study publishes a new signed manifest version through the escrow
//! key; no object ciphertext is ever rewritten.

use crate::gates::Gates;
use crate::keyfile::{self, KeysDir};
use crate::sealcmd::now;
use crate::store;
use anyhow::{bail, Context, Result};
use obscura_seal::{
    update_manifest, Certificate, EnrolmentRequest, KeyId, LinkId, ManifestUpdate, NewShare, PasscodeCost, PublicKey,
    Role, SealError, UpdatedManifest,
};
use rand_core::OsRng;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Where certified reader certificates are kept, inside the keys folder.
pub const READERS_DIR: &str = "readers";

/// `obscura reader certify`.
pub fn certify(
    keys: &KeysDir,
    request_path: &Path,
    fingerprint: Option<&str>,
    subject: Option<&str>,
    days: i64,
    out: Option<&Path>,
) -> Result<PathBuf> {
    if !(1..=3650).contains(&days) {
        bail!("--days must be between 1 and 3650");
    }
    let text =
        std::fs::read_to_string(request_path).with_context(|| format!("cannot read {}", request_path.display()))?;
    let req = match EnrolmentRequest::from_json(&text) {
        Ok(r) => r,
        Err(SealError::BadSignature { .. }) => bail!(
            "the enrolment request in {} is not signed by its own signing key: it was altered after the viewer made it; do not certify it, ask the reader for a new request",
            request_path.display()
        ),
        Err(e) => {
            return Err(e).with_context(|| {
                format!(
                    "{} is not an enrolment request (the viewer shows one when a browser is not enrolled yet)",
                    request_path.display()
                )
            })
        }
    };
    let actual = req.fingerprint();
    match fingerprint {
        Some(expected) if normalise(expected) != normalise(&actual) => bail!(
            "the request's key has fingerprint {actual}, not the one you were given: do not certify it; ask the reader to read out the fingerprint the viewer shows again"
        ),
        Some(_) => {}
        None => eprintln!(
            "warning: no --fingerprint given; certify only if the reader's screen shows {actual}"
        ),
    }
    let org = keys.org_key().context("reader certify needs the organisation key (org.key)")?;
    let subject = subject.unwrap_or(&req.subject);
    let t = now();
    let cert = Certificate::issue(&org, Role::Reader, subject, &req.public_key, t - 300, t + days * 86400);
    // What the reader's viewer shows once it holds the certificate: the same number as the request's.
    debug_assert_eq!(cert.public_key.fingerprint(), actual);
    let dir = keys.path(READERS_DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let kept = dir.join(format!("{}.cert.json", req.public_key.key_id()));
    keyfile::write_certificate(&kept, &cert)?;
    if let Some(out) = out {
        keyfile::write_certificate(out, &cert)?;
    }
    println!("certified reader \"{subject}\" (key {}) for {days} days", req.public_key.key_id());
    println!("fingerprint: {actual} (the viewer shows the same number for the request and for this certificate)");
    println!("certificate: {}", out.unwrap_or(&kept).display());
    Ok(kept)
}

/// Fingerprints are compared on their digits only (people type them with any spacing).
fn normalise(fp: &str) -> String {
    fp.chars().filter(char::is_ascii_digit).collect()
}

/// Which studies a lifecycle command applies to.
pub enum Studies {
    /// These pseudonymous Study Instance UIDs.
    Some(Vec<String>),
    /// Every study in the store.
    All,
}

impl Studies {
    pub fn from_args(studies: Vec<String>, all: bool) -> Result<Self> {
        match (studies.is_empty(), all) {
            (true, false) => bail!("say which studies: --study UID (repeatable) or --all"),
            (false, true) => bail!("give either --study or --all, not both"),
            (true, true) => Ok(Studies::All),
            (false, false) => Ok(Studies::Some(studies)),
        }
    }
}

/// The keys a manifest update needs, checked once.
struct Signer {
    org: PublicKey,
    escrow: obscura_seal::DhSecretKey,
    escrow_id: KeyId,
    gateway_key: obscura_seal::SigningKey,
    gateway_cert: Certificate,
}

impl Signer {
    fn load(keys: &KeysDir) -> Result<Self> {
        let org = keys.org_public()?;
        let t = now();
        let gateway_cert = keys.gateway_certificate(&org, t)?;
        let escrow_cert = keys.escrow_certificate(&org, t)?;
        let escrow =
            keys.escrow_key().context("this command recovers study keys through the escrow key (escrow.key)")?;
        if *escrow.public_key() != escrow_cert.public_key {
            bail!("escrow.key does not belong to escrow.cert.json");
        }
        Ok(Signer {
            org,
            escrow_id: escrow_cert.public_key.key_id(),
            escrow,
            gateway_key: keys.gateway_key()?,
            gateway_cert,
        })
    }
}

/// One study's outcome, for the summary line.
pub struct Changed {
    pub study_uid: String,
    pub from: u64,
    pub updated: UpdatedManifest,
}

/// Applies `make(study uid, manifest)` to each chosen study and publishes the new manifests.
/// `make` returns `None` to leave a study alone (with `--all`, e.g. a reader who is not on it).
fn apply(
    keys: &KeysDir,
    store_root: &Path,
    studies: &Studies,
    mut make: impl FnMut(&str, &obscura_seal::VerifiedManifest) -> Result<Option<ManifestUpdate>>,
) -> Result<Vec<Changed>> {
    let signer = Signer::load(keys)?;
    let listed = store::studies(store_root)?;
    if listed.is_empty() {
        bail!("{} lists no sealed study (no studies/index.json): seal one with `obscura seal`", store_root.display());
    }
    let chosen: Vec<String> = match studies {
        Studies::All => listed,
        Studies::Some(uids) => {
            for u in uids {
                if !listed.contains(u) {
                    bail!("study {u} is not in {} (`obscura inspect` lists them)", store_root.display());
                }
            }
            uids.clone()
        }
    };
    let mut out = Vec::new();
    for uid in chosen {
        let (carrier, sealed) = store::read_manifest(store_root, &uid)?;
        let t = now();
        let manifest = obscura_seal::open_manifest(&sealed, &signer.org, t, None)
            .with_context(|| format!("the stored manifest of study {uid} does not verify; it was not changed"))?;
        let Some(update) = make(&uid, &manifest)? else { continue };
        if update.remove.contains(&signer.escrow_id) {
            bail!("the escrow key is a recipient of every study by policy; it cannot be removed");
        }
        let updated = pollster::block_on(update_manifest(
            &manifest,
            &signer.escrow,
            update,
            &signer.gateway_key,
            &signer.gateway_cert,
            t,
            &mut OsRng,
        ))
        .with_context(|| format!("study {uid}: the new manifest could not be made; nothing was changed"))?;
        store::replace_manifest(store_root, &carrier, manifest.version() + 1, &updated.manifest)?;
        out.push(Changed { study_uid: uid, from: manifest.version(), updated });
    }
    Ok(out)
}

/// `obscura rewrap`: adds certified readers to existing studies.
pub fn rewrap(keys: &KeysDir, store_root: &Path, reader_certs: &[PathBuf], studies: &Studies) -> Result<Vec<Changed>> {
    let org = keys.org_public()?;
    let readers: Vec<PublicKey> = reader_certs
        .iter()
        .map(|p| keyfile::read_reader_certificate(p, &org, now()).map(|c| c.public_key))
        .collect::<Result<_>>()?;
    add_readers(keys, store_root, &readers, studies)
}

/// Adds reader keys (already certified) to the chosen studies that lack them; also what demo
/// enrolment in `obscura serve` does.
pub fn add_readers(
    keys: &KeysDir,
    store_root: &Path,
    readers: &[PublicKey],
    studies: &Studies,
) -> Result<Vec<Changed>> {
    apply(keys, store_root, studies, |_, m| {
        let add: Vec<PublicKey> = readers.iter().filter(|r| !m.has_recipient(&r.key_id())).cloned().collect();
        Ok((!add.is_empty()).then(|| ManifestUpdate { add, ..Default::default() }))
    })
}

/// `obscura rotate`: a new study key epoch on each study.
pub fn rotate(keys: &KeysDir, store_root: &Path, studies: &Studies) -> Result<Vec<Changed>> {
    apply(keys, store_root, studies, |_, _| Ok(Some(ManifestUpdate { rotate: true, ..Default::default() })))
}

/// The key id a `--reader` argument names: a key id (32 hex digits) or a certificate file.
pub fn reader_key_id(arg: &str) -> Result<KeyId> {
    if let Ok(id) = KeyId::from_hex(arg) {
        return Ok(id);
    }
    let path = Path::new(arg);
    if !path.exists() {
        bail!("--reader {arg}: neither a key id (32 hex digits, as `obscura inspect` shows) nor a certificate file");
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let cert =
        Certificate::from_json(&text).with_context(|| format!("{} is not an Obscura certificate", path.display()))?;
    Ok(cert.public_key.key_id())
}

/// `obscura revoke`: removes a reader's stanza and rotates the study key.
pub fn revoke(keys: &KeysDir, store_root: &Path, reader: KeyId, studies: &Studies) -> Result<Vec<Changed>> {
    let explicit = matches!(studies, Studies::Some(_));
    apply(keys, store_root, studies, |uid, m| {
        if !m.has_recipient(&reader) {
            if explicit {
                bail!("key {reader} is not a recipient of study {uid}; nothing to revoke");
            }
            return Ok(None);
        }
        Ok(Some(ManifestUpdate { remove: vec![reader], rotate: true, ..Default::default() }))
    })
}

/// Parses "90m", "12h", "7d" (and "30s", for tests and very short hand-overs).
pub fn parse_duration(s: &str) -> Result<i64> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 =
        num.parse().map_err(|_| anyhow::anyhow!("--expires {s}: expected a number and a unit, e.g. 7d, 12h or 90m"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86400),
        _ => bail!("--expires {s}: the unit must be s, m, h or d (e.g. 7d)"),
    };
    if secs <= 0 {
        bail!("--expires {s}: a share link must last at least one second");
    }
    if secs > 90 * 86400 {
        bail!("--expires {s}: a share link must expire within 90 days");
    }
    Ok(secs)
}

/// Reads a passcode from a file or standard input ("-"): the first line, never from the command line.
pub fn read_passcode(source: &Path) -> Result<Zeroizing<String>> {
    let text = Zeroizing::new(if source == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).context("cannot read the passcode from stdin")?;
        s
    } else {
        std::fs::read_to_string(source).with_context(|| format!("cannot read {}", source.display()))?
    });
    let line = Zeroizing::new(text.lines().next().unwrap_or_default().to_owned());
    if line.chars().count() < 4 {
        bail!("the passcode must have at least 4 characters");
    }
    Ok(line)
}

/// `obscura share`: a new share link for one study. A passcode link is gated: its gate record
/// (verifier, gate secret, `attempts` wrong passcodes allowed) goes into `gates`, where
/// `obscura serve` checks passcodes.
#[allow(clippy::too_many_arguments)]
pub fn share(
    keys: &KeysDir,
    gates: &Gates,
    store_root: &Path,
    study: &str,
    expires_in: i64,
    passcode: Option<Zeroizing<String>>,
    attempts: u32,
    viewer_url: &str,
) -> Result<()> {
    let expires = now() + expires_in;
    let has_passcode = passcode.is_some();
    let mut passcode = passcode;
    let mut changed = apply(keys, store_root, &Studies::Some(vec![study.to_owned()]), |_, _| {
        Ok(Some(ManifestUpdate {
            add_shares: vec![NewShare {
                expires,
                passcode: passcode.take(),
                cost: PasscodeCost::DEFAULT,
                gate: has_passcode,
            }],
            ..Default::default()
        }))
    })?;
    let c = &mut changed[0];
    let link = &c.updated.links[0];
    if let Some(gate) = c.updated.gates[0].take() {
        let record = obscura_seal::gate::GateRecord::new(link.link_id, expires, gate, attempts);
        gates.write(&record).with_context(|| {
            format!(
                "the link's gate record could not be written, so its passcode can never be checked: revoke it with `obscura share --revoke {}`",
                link.link_id
            )
        })?;
    }
    println!("study {}: manifest version {} -> {}", c.study_uid, c.from, c.from + 1);
    println!(
        "share link {} expires {}{}",
        link.link_id,
        crate::sealcmd::utc(expires),
        if has_passcode { ", passcode required" } else { "" }
    );
    println!("{}#{}", viewer_url.trim_end_matches('#'), link.to_fragment());
    println!(
        "the link is shown once and is not stored: anyone who has it can open the study until it expires or is revoked"
    );
    if has_passcode {
        println!(
            "the passcode is checked by `obscura serve` (gate record in {}): {attempts} wrong passcodes lock the link for good",
            gates.0.display()
        );
        println!("send the passcode through another channel than the link");
    }
    Ok(())
}

/// `obscura share --revoke`: the stanza leaves the manifest and the gate record (if any) is deleted.
pub fn unshare(keys: &KeysDir, gates: &Gates, store_root: &Path, study: &str, link: LinkId) -> Result<Vec<Changed>> {
    let changed = apply(keys, store_root, &Studies::Some(vec![study.to_owned()]), |_, _| {
        Ok(Some(ManifestUpdate { remove_shares: vec![link], ..Default::default() }))
    })?;
    gates.remove(&link)?;
    Ok(changed)
}

/// Deletes the gate records of links a rotation dropped (they can never open the study again).
pub fn forget_dropped(gates: &Gates, changed: &[Changed]) -> Result<()> {
    for c in changed {
        for id in &c.updated.dropped_shares {
            gates.remove(id)?;
        }
    }
    Ok(())
}

/// Prints one line per changed study and a summary.
pub fn report(what: &str, changed: &[Changed]) {
    for c in changed {
        let mut line = format!("study {}: manifest version {} -> {}", c.study_uid, c.from, c.from + 1);
        if !c.updated.dropped_shares.is_empty() {
            line += &format!(
                " ({} share links no longer open it: the key was rotated; issue new ones with `obscura share`)",
                c.updated.dropped_shares.len()
            );
        }
        println!("{line}");
    }
    println!("{what}: {} studies changed", changed.len());
}

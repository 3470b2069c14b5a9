//! `obscura push`: sealed carriers out of a static store, into any DICOMweb server with STOW-RS.
//!
//! Resumable by construction: before a study is uploaded the server is asked (QIDO-RS) which of
//! its SOP Instance UIDs it already holds, and only the others are sent; the manifest carrier(s)
//! go last, once every object of the study is on the server, so that a viewer never lists a
//! half-uploaded study. A request that failed on the way (reset, timeout, 5xx) is retried with
//! backoff after asking the server again what of it arrived, so an instance is never sent twice.

use crate::keyfile::KeysDir;
use crate::progress::{self, Printer, Progress};
use crate::remote::{url_safe_uid, ConnectArgs, Failure, Remote};
use crate::{sealcmd, store};
use anyhow::{bail, Context, Result};
use obscura_dicomweb::carrier::{Carrier, CarrierKind};
use obscura_dicomweb::stow::{self, Outcome};
use obscura_dicomweb::{layout, multipart};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Instant;

pub struct PushOptions {
    pub url: String,
    pub connect: ConnectArgs,
    pub store: Option<PathBuf>,
    pub keys: Option<PathBuf>,
    pub readers: Vec<PathBuf>,
    pub inputs: Vec<PathBuf>,
    pub studies: Vec<String>,
    pub concurrency: usize,
    pub batch_mib: u64,
    pub dry_run: bool,
}

/// One carrier of the store, ready to send.
struct Item {
    carrier: Carrier,
    path: PathBuf,
    size: u64,
}

/// What happened to one study.
#[derive(Default)]
struct StudyReport {
    uploaded: u64,
    uploaded_bytes: u64,
    present: u64,
    failed: Vec<String>,
    warnings: Vec<String>,
    manifest: Option<String>,
}

/// Instances per QIDO-RS page when asking what the server holds.
const QIDO_PAGE: usize = 1000;

pub fn push(o: PushOptions) -> Result<()> {
    if !(1..=32).contains(&o.concurrency) {
        bail!("--concurrency must be between 1 and 32");
    }
    if !(1..=1024).contains(&o.batch_mib) {
        bail!("--batch-mib must be between 1 and 1024");
    }
    // Everything that can be refused is checked before anything is sealed or sent.
    let remote = Remote::new(&o.url, "--url", &o.connect, o.concurrency)?;
    let (root, studies, sealed_now) = if o.inputs.is_empty() {
        let Some(root) = o.store.clone() else {
            bail!(
                "nothing to push: give --store DIR (a sealed store, from `obscura seal`), or DICOM files or folders with --keys"
            );
        };
        if o.keys.is_some() || !o.readers.is_empty() {
            bail!("--keys and --reader are for sealing DICOM inputs, and none were given");
        }
        let listed = store::studies(&root)?;
        if listed.is_empty() {
            bail!("{} lists no sealed study (no studies/index.json): seal one with `obscura seal`", root.display());
        }
        let chosen = if o.studies.is_empty() {
            listed
        } else {
            for s in &o.studies {
                if !listed.contains(s) {
                    bail!("study {s} is not in {} (`obscura inspect --store` lists them)", root.display());
                }
            }
            o.studies.clone()
        };
        (root, chosen, false)
    } else {
        let Some(keys) = &o.keys else {
            bail!("sealing the inputs needs the organisation keys folder: --keys KEYS (or push an already sealed --store without inputs)");
        };
        if !o.studies.is_empty() {
            bail!("--study picks studies of an already sealed store; with DICOM inputs, the studies sealed now are pushed");
        }
        let root = o.store.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("obscura-push-{}-{}", sealcmd::now(), std::process::id()))
        });
        let sealed = sealcmd::seal(&KeysDir(keys.clone()), &root, &o.inputs, &o.readers)?;
        for s in &sealed {
            println!("sealed study {}: {} instances, {} recipients", s.study_uid, s.instances, s.recipients);
        }
        println!("sealed store: {}", root.display());
        (root, sealed.into_iter().map(|s| s.study_uid).collect(), true)
    };

    // The carriers of each study, with their sizes, before any request.
    let mut work: Vec<(String, Vec<Item>)> = Vec::new();
    for uid in &studies {
        if !url_safe_uid(uid) {
            bail!("study {uid} in {}: not a UID of digits and dots; the store is damaged", root.display());
        }
        let mut items = Vec::new();
        for carrier in store::carriers(&root, uid)? {
            let path = root.join(layout::carrier_path(&carrier));
            let size = std::fs::metadata(&path)
                .with_context(|| format!("{} is missing: the store is damaged (seal the study again)", path.display()))?
                .len();
            items.push(Item { carrier, path, size });
        }
        if !items.iter().any(|i| i.carrier.kind == CarrierKind::Manifest) {
            bail!("study {uid} in {} has no manifest carrier: the store is damaged", root.display());
        }
        work.push((uid.clone(), items));
    }
    let total: usize = work.iter().map(|(_, i)| i.len()).sum();
    let total_bytes: u64 = work.iter().flat_map(|(_, i)| i.iter().map(|i| i.size)).sum();
    eprintln!(
        "{} {} {} ({total} instances, {}) from {} to {} ({})",
        if o.dry_run { "dry run: would push" } else { "pushing" },
        work.len(),
        if work.len() == 1 { "study" } else { "studies" },
        progress::bytes(total_bytes),
        root.display(),
        remote.base(),
        remote.describe()
    );

    let start = Instant::now();
    let progress = Progress::start();
    progress.counters.total_instances.store(total as u64, Relaxed);
    progress.counters.total_bytes.store(total_bytes, Relaxed);
    let mut reports = Vec::new();
    let mut sent_this_run: HashSet<String> = HashSet::new();
    for (uid, items) in &work {
        let report = push_study(&remote, &o, &progress, uid, items, &mut sent_this_run)?;
        reports.push((uid.clone(), report));
    }
    drop(progress);
    let elapsed = start.elapsed().as_secs_f64();

    // The summary, on stdout.
    let (mut up, mut up_bytes, mut present, mut failed) = (0, 0, 0, 0);
    for (uid, r) in &reports {
        let manifest = r.manifest.as_deref().map(|m| format!("; {m}")).unwrap_or_default();
        println!(
            "study {uid}: {} instances: {} {}, {} already present, {} failed{manifest}",
            r.uploaded + r.present + r.failed.len() as u64,
            r.uploaded,
            if o.dry_run { "to upload" } else { "uploaded" },
            r.present,
            r.failed.len()
        );
        for w in &r.warnings {
            println!("  warning: {w}");
        }
        for f in &r.failed {
            println!("  failed: {f}");
        }
        up += r.uploaded;
        up_bytes += r.uploaded_bytes;
        present += r.present;
        failed += r.failed.len() as u64;
    }
    let n = reports.len();
    let studies_word = if n == 1 { "study" } else { "studies" };
    if o.dry_run {
        println!(
            "dry run: {n} {studies_word}, {total} instances: {up} to upload ({}), {present} already present; nothing was sent",
            progress::bytes(up_bytes)
        );
        return Ok(());
    }
    if up == 0 && failed == 0 {
        println!(
            "nothing to upload: {} already holds all {present} instances of the {n} {studies_word}",
            remote.base()
        );
    } else {
        println!(
            "pushed {n} {studies_word} to {}: {up} instances uploaded ({}), {present} already present, {failed} failed, in {elapsed:.1} s ({}/s)",
            remote.base(),
            progress::bytes(up_bytes),
            progress::bytes((up_bytes as f64 / elapsed.max(0.001)) as u64)
        );
    }
    if failed > 0 {
        let resume = if sealed_now {
            format!("obscura push --url {} --store {}", remote.base(), root.display())
        } else {
            "the same push command".to_string()
        };
        bail!("{failed} instances were not stored (see above); run {resume} again to send only what is missing");
    }
    Ok(())
}

/// Asks the server which SOP Instance UIDs of a study it holds (paged; a page that adds nothing new ends it).
fn present_on_server(remote: &Remote, study: &str) -> Result<HashSet<String>> {
    let base = remote.store().study_instances_url(study);
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut out = HashSet::new();
    let mut offset = 0;
    loop {
        let url = format!("{base}{sep}limit={QIDO_PAGE}&offset={offset}");
        let Some(body) = remote.get_json(&url, "list what it holds (QIDO-RS)")? else { break };
        let page = stow::present_sop_uids(&body).with_context(|| format!("{url}: cannot read the answer"))?;
        let before = out.len();
        let n = page.len();
        out.extend(page);
        if n == 0 || out.len() == before {
            break;
        }
        offset += n;
    }
    Ok(out)
}

fn push_study(
    remote: &Remote,
    o: &PushOptions,
    progress: &Progress,
    study: &str,
    items: &[Item],
    sent_this_run: &mut HashSet<String>,
) -> Result<StudyReport> {
    let mut report = StudyReport::default();
    let mut present = present_on_server(remote, study)?;
    present.extend(sent_this_run.iter().cloned());
    let carriers: Vec<Carrier> = items.iter().map(|i| i.carrier.clone()).collect();
    let plan = stow::plan(&carriers, &present);
    let item_of = |c: &Carrier| items.iter().find(|i| i.carrier.sop_instance_uid == c.sop_instance_uid).unwrap();
    report.present = plan.present.len() as u64;
    let present_bytes: u64 = plan.present.iter().map(|c| item_of(c).size).sum();
    let c = &progress.counters;
    c.total_instances.fetch_sub(report.present, Relaxed);
    c.total_bytes.fetch_sub(present_bytes, Relaxed);
    if o.dry_run {
        let todo = plan.objects.iter().chain(&plan.manifests);
        report.uploaded = todo.clone().count() as u64;
        report.uploaded_bytes = todo.map(|c| item_of(c).size).sum();
        return Ok(report);
    }
    let objects: Vec<&Item> = plan.objects.iter().map(|c| item_of(c)).collect();
    let manifests: Vec<&Item> = plan.manifests.iter().map(|c| item_of(c)).collect();

    let limit = o.batch_mib * 1024 * 1024;
    upload(remote, o.concurrency, limit, study, &objects, progress, &mut report, sent_this_run)?;
    if !report.failed.is_empty() {
        if !manifests.is_empty() {
            report.manifest = Some(format!(
                "manifest held back: {} objects are not on the server, and a viewer must never list a half-uploaded study",
                report.failed.len()
            ));
            c.total_instances.fetch_sub(manifests.len() as u64, Relaxed);
            c.total_bytes.fetch_sub(manifests.iter().map(|i| i.size).sum::<u64>(), Relaxed);
        }
        return Ok(report);
    }
    // Every object is there: now the manifest(s), oldest version first, one per request.
    upload(remote, 1, 0, study, &manifests, progress, &mut report, sent_this_run)?;
    if let Some(last) = manifests.last() {
        if report.failed.is_empty() {
            report.manifest = Some(format!("manifest version {} published", last.carrier.instance_number));
        }
    }
    // Trust, but verify: the server now lists every carrier of the study.
    if report.uploaded > 0 {
        let present = present_on_server(remote, study)?;
        let missing: Vec<&Item> = items.iter().filter(|i| !present.contains(&i.carrier.sop_instance_uid)).collect();
        for m in &missing {
            report.failed.push(format!(
                "{} was acknowledged but the server does not list it (QIDO-RS)",
                m.carrier.sop_instance_uid
            ));
        }
        report.uploaded -= missing.len().min(report.uploaded as usize) as u64;
    }
    Ok(report)
}

/// What became of one instance sent.
enum Sent {
    Stored {
        warning: Option<u16>,
    },
    /// The server had it already (it says "duplicate", or it turned up before a retry).
    Present,
    Failed(String),
}

/// Uploads these items in batches (≤ `limit` bytes and `stow::DEFAULT_BATCH_INSTANCES` each; `limit` 0: one
/// per request) with `workers` requests in flight.
#[allow(clippy::too_many_arguments)]
fn upload(
    remote: &Remote,
    workers: usize,
    limit: u64,
    study: &str,
    items: &[&Item],
    progress: &Progress,
    report: &mut StudyReport,
    sent_this_run: &mut HashSet<String>,
) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let sizes: Vec<u64> = items.iter().map(|i| i.size).collect();
    let batches = if limit == 0 {
        (0..items.len()).map(|i| i..i + 1).collect()
    } else {
        stow::batches(&sizes, limit, stow::DEFAULT_BATCH_INSTANCES)
    };
    let queue = Mutex::new(batches.into_iter());
    let results: Mutex<Vec<(usize, Sent)>> = Mutex::new(Vec::new());
    let abort = AtomicBool::new(false);
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let printer = progress.printer();
    std::thread::scope(|scope| {
        for _ in 0..workers.min(items.len()) {
            scope.spawn(|| loop {
                if abort.load(Relaxed) {
                    return;
                }
                let Some(range) = queue.lock().unwrap().next() else { return };
                let batch: Vec<(usize, &Item)> = range.map(|i| (i, items[i])).collect();
                let outcomes = match send_batch(remote, study, &batch, &printer) {
                    Ok(o) => o,
                    // The server refused the request as a whole: one instance alone may be the cause, so
                    // each is tried alone, and only what is refused alone fails.
                    Err(Failure::Refused(m)) if batch.len() > 1 => {
                        printer
                            .message(&format!("{m}; sending the {} instances of that request one by one", batch.len()));
                        let mut out = Vec::new();
                        for one in &batch {
                            match send_batch(remote, study, std::slice::from_ref(one), &printer) {
                                Ok(o) => out.extend(o),
                                Err(Failure::Refused(m)) => out.push((one.0, Sent::Failed(m))),
                                Err(e) => {
                                    abort.store(true, Relaxed);
                                    first_error.lock().unwrap().get_or_insert(e.into_error());
                                    return;
                                }
                            }
                        }
                        out
                    }
                    Err(Failure::Refused(m)) => vec![(batch[0].0, Sent::Failed(m))],
                    Err(e) => {
                        abort.store(true, Relaxed);
                        first_error.lock().unwrap().get_or_insert(e.into_error());
                        return;
                    }
                };
                let c = &progress.counters;
                for (i, outcome) in &outcomes {
                    match outcome {
                        Sent::Failed(_) => {
                            c.failed.fetch_add(1, Relaxed);
                        }
                        _ => {
                            c.done_instances.fetch_add(1, Relaxed);
                            c.done_bytes.fetch_add(items[*i].size, Relaxed);
                        }
                    }
                }
                results.lock().unwrap().extend(outcomes);
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap() {
        return Err(e);
    }
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    for (i, outcome) in results {
        let item = items[i];
        let uid = &item.carrier.sop_instance_uid;
        match outcome {
            Sent::Stored { warning } => {
                report.uploaded += 1;
                report.uploaded_bytes += item.size;
                sent_this_run.insert(uid.clone());
                if let Some(w) = warning {
                    report.warnings.push(format!("{uid} stored with warning {w:#06X} ({})", stow::reason_text(w)));
                }
            }
            Sent::Present => {
                report.present += 1;
                sent_this_run.insert(uid.clone());
            }
            Sent::Failed(why) => report.failed.push(format!("{uid}: {why}")),
        }
    }
    Ok(())
}

/// Sends one batch, retrying transient failures; before each retry the server is asked again what
/// it holds, so that what arrived is not sent a second time. Returns each item's outcome.
fn send_batch(
    remote: &Remote,
    study: &str,
    batch: &[(usize, &Item)],
    printer: &Printer,
) -> Result<Vec<(usize, Sent)>, Failure> {
    let mut todo: Vec<(usize, &Item)> = batch.to_vec();
    let mut done: Vec<(usize, Sent)> = Vec::new();
    remote.with_retries(
        |attempt| {
            if attempt > 0 {
                // What of the failed request did arrive?
                let present = present_on_server(remote, study).map_err(|e| (Failure::Permanent(e), None))?;
                todo.retain(|(i, item)| {
                    let there = present.contains(&item.carrier.sop_instance_uid);
                    if there {
                        done.push((*i, Sent::Present));
                    }
                    !there
                });
                if todo.is_empty() {
                    return Ok(());
                }
            }
            let mut parts = Vec::with_capacity(todo.len());
            for (_, item) in &todo {
                let bytes = std::fs::read(&item.path)
                    .with_context(|| format!("cannot read {}", item.path.display()))
                    .map_err(|e| (Failure::Permanent(e), None))?;
                parts.push(bytes);
            }
            let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            let (content_type, body) = loop {
                // A random boundary; in the unlikely case it occurs inside a part, another one.
                match multipart::write_related(&slices, "application/dicom", &new_boundary()) {
                    Ok(b) => break b,
                    Err(_) => continue,
                }
            };
            drop(slices);
            drop(parts);
            let answer = remote.stow_once(&content_type, &body)?;
            let response = stow::parse_response(&answer.body)
                .with_context(|| format!("{}: HTTP {}", remote.store().stow_url(), answer.status))
                .map_err(|e| (Failure::Permanent(e), None))?;
            let uids: Vec<&str> = todo.iter().map(|(_, i)| i.carrier.sop_instance_uid.as_str()).collect();
            let mut outcomes = response.outcomes(&uids);
            // A plain 200 with an empty answer: the server stored everything and said nothing
            // (what arrived is checked with QIDO-RS at the end of the study).
            if answer.status == 200 && answer.body.iter().all(u8::is_ascii_whitespace) {
                outcomes = vec![Outcome::Stored { warning: None }; uids.len()];
            }
            done.extend(todo.iter().map(|(i, _)| *i).zip(outcomes).map(|(i, o)| {
                (
                    i,
                    match o {
                        Outcome::Stored { warning } => Sent::Stored { warning },
                        Outcome::Failed { reason: Some(0x0111) } => Sent::Present,
                        Outcome::Failed { reason: Some(r) } => {
                            Sent::Failed(format!("refused with failure reason {r:#06X} ({})", stow::reason_text(r)))
                        }
                        Outcome::Failed { reason: None } => Sent::Failed("refused (no failure reason given)".into()),
                        Outcome::NotAcknowledged => {
                            Sent::Failed(format!("the server's answer (HTTP {}) does not mention it", answer.status))
                        }
                    },
                )
            }));
            todo.clear();
            Ok(())
        },
        |m, wait| printer.message(&format!("retrying in {:.1} s: {m}", wait.as_secs_f64())),
    )?;
    Ok(done)
}

/// A fresh multipart boundary: 32 random hex digits after a fixed prefix.
fn new_boundary() -> String {
    use rand_core::{OsRng, RngCore};
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    format!("obscura-{}", hex::encode(b))
}

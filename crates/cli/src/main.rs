//! The `obscura` command: organisation and gateway keys, sealing studies, serving the viewer.
#![forbid(unsafe_code)]

mod decodecmd;
mod gates;
mod inspectremote;
mod keyfile;
mod lifecycle;
mod progress;
mod pushcmd;
mod remote;
mod sealcmd;
mod serve;
mod store;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use keyfile::KeysDir;
use obscura_seal::{Certificate, DhSecretKey, Role, SigningKey};
use rand_core::OsRng;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "obscura", version, about = "End-to-end encrypted DICOM: keys, sealing and serving", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Organisation keys (the trust anchor every viewer is configured with).
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Gateway keys (the sealing side, certified by the organisation).
    Gateway {
        #[command(subcommand)]
        command: GatewayCommand,
    },
    /// Seal DICOM files or folders into a static store.
    #[command(after_help = "Example:\n  obscura seal --keys ./keys --store ./store ./my-study/")]
    Seal {
        /// The organisation keys folder (gateway key, escrow certificate, org.pub).
        #[arg(long)]
        keys: PathBuf,
        /// The static store to write into (created if missing).
        #[arg(long)]
        store: PathBuf,
        /// A reader certificate (JSON) to add as recipient; repeat for several. The escrow key is always added.
        #[arg(long = "reader")]
        readers: Vec<PathBuf>,
        /// DICOM Part 10 files or folders.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Reader keys: certify a reader's enrolment request with the organisation key.
    Reader {
        #[command(subcommand)]
        command: ReaderCommand,
    },
    /// Give certified readers access to existing studies (through the escrow key; no pixel data is rewritten).
    #[command(
        after_help = "Examples:\n  obscura rewrap --keys ./keys --store ./store --reader dr-example.cert.json --all\n  obscura rewrap --keys ./keys --store ./store --reader dr-example.cert.json --study 2.25.1234"
    )]
    Rewrap {
        /// The organisation keys folder (escrow.key, gateway.key, gateway.cert.json, org.pub).
        #[arg(long)]
        keys: PathBuf,
        /// The static store holding the sealed studies.
        #[arg(long)]
        store: PathBuf,
        /// A reader certificate (from `obscura reader certify`); repeat for several.
        #[arg(long = "reader", required = true)]
        readers: Vec<PathBuf>,
        /// A pseudonymous Study Instance UID; repeat for several.
        #[arg(long = "study")]
        studies: Vec<String>,
        /// Every study in the store.
        #[arg(long)]
        all: bool,
    },
    /// Start a new study key epoch: later manifest versions and objects use a fresh key.
    #[command(
        after_help = "Existing share links stop working (their secrets are not known to the gateway).\n\nExample:\n  obscura rotate --keys ./keys --store ./store --study 2.25.1234"
    )]
    Rotate {
        /// The organisation keys folder (escrow.key, gateway.key, gateway.cert.json, org.pub).
        #[arg(long)]
        keys: PathBuf,
        /// The static store holding the sealed studies.
        #[arg(long)]
        store: PathBuf,
        /// A pseudonymous Study Instance UID; repeat for several.
        #[arg(long = "study")]
        studies: Vec<String>,
        /// Every study in the store.
        #[arg(long)]
        all: bool,
    },
    /// Remove a reader from studies and rotate the study key (a new manifest version is published).
    #[command(
        after_help = "The reader keeps what it already downloaded and could decrypt; it cannot open later versions.\n\nExamples:\n  obscura revoke --keys ./keys --store ./store --reader 0123456789abcdef0123456789abcdef --all\n  obscura revoke --keys ./keys --store ./store --reader keys/readers/0123….cert.json --study 2.25.1234"
    )]
    Revoke {
        /// The organisation keys folder (escrow.key, gateway.key, gateway.cert.json, org.pub).
        #[arg(long)]
        keys: PathBuf,
        /// The static store holding the sealed studies.
        #[arg(long)]
        store: PathBuf,
        /// The reader's key id (as `obscura inspect` shows) or certificate file.
        #[arg(long)]
        reader: String,
        /// A pseudonymous Study Instance UID; repeat for several.
        #[arg(long = "study")]
        studies: Vec<String>,
        /// Every study in the store.
        #[arg(long)]
        all: bool,
    },
    /// Create (or revoke) a share link to one study: the key sits in the link's #fragment only.
    #[command(
        after_help = "Examples:\n  obscura share --keys ./keys --store ./store --study 2.25.1234 --expires 7d --viewer-url https://viewer.example.org/\n  obscura share --keys ./keys --store ./store --study 2.25.1234 --expires 2d --passcode-file code.txt --viewer-url https://viewer.example.org/\n  obscura share --keys ./keys --store ./store --study 2.25.1234 --revoke 00112233445566778899aabbccddeeff"
    )]
    Share {
        /// The organisation keys folder (escrow.key, gateway.key, gateway.cert.json, org.pub).
        #[arg(long)]
        keys: PathBuf,
        /// The static store holding the sealed studies.
        #[arg(long)]
        store: PathBuf,
        /// The pseudonymous Study Instance UID.
        #[arg(long)]
        study: String,
        /// How long the link works: e.g. 90m, 12h, 7d (at most 90d; 30s for a test).
        #[arg(long, default_value = "7d", conflicts_with = "revoke")]
        expires: String,
        /// Also require a passcode, read from the first line of this file ("-" for stdin); never on the command line.
        /// `obscura serve` checks it and allows only --attempts wrong ones.
        #[arg(long, conflicts_with = "revoke")]
        passcode_file: Option<PathBuf>,
        /// Wrong passcodes allowed before the link is locked for good.
        #[arg(long, default_value_t = obscura_seal::gate::DEFAULT_GATE_ATTEMPTS, requires = "passcode_file",
              value_parser = clap::value_parser!(u32).range(1..=obscura_seal::gate::MAX_GATE_ATTEMPTS as i64))]
        attempts: u32,
        /// Where passcode links' gate records are kept (default KEYS/gates; never inside the store).
        #[arg(long, value_name = "DIR")]
        gates: Option<PathBuf>,
        /// The viewer's address; the link is this URL plus the #fragment.
        #[arg(long, required_unless_present = "revoke")]
        viewer_url: Option<String>,
        /// Revoke the share link with this id instead.
        #[arg(long)]
        revoke: Option<String>,
    },
    /// Serve the viewer and a static store on 127.0.0.1.
    #[command(after_help = "Example:\n  obscura serve --keys ./keys --store ./store --site target/site --port 8080")]
    Serve {
        /// The organisation keys folder (escrow.key, gateway.key, gateway.cert.json, org.pub).
        #[arg(long)]
        keys: PathBuf,
        /// The static store holding the sealed studies.
        #[arg(long)]
        store: PathBuf,
        /// The built viewer (`cargo xtask build-web` puts it in target/site).
        #[arg(long)]
        site: PathBuf,
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Demo mode: enrol every reader who opens the viewer and re-wrap every stored study for it.
        #[arg(long)]
        demo: bool,
        /// Viewers read the studies from this DICOMweb server (e.g. https://pacs.example/dicom-web)
        /// instead of the static store; it must allow this viewer's origin (CORS).
        #[arg(long, value_name = "URL")]
        dicomweb: Option<String>,
        /// With --dicomweb on Orthanc: its REST base for the raw sealed bytes (byte ranges), e.g.
        /// https://pacs.example/orthanc behind a proxy that exposes only /instances/*/content/0009-1010.
        #[arg(long, value_name = "URL", requires = "dicomweb")]
        orthanc_raw: Option<String>,
        /// The gate records of passcode share links (default KEYS/gates), checked at /api/share/<link>/gate.
        #[arg(long, value_name = "DIR")]
        gates: Option<PathBuf>,
        /// Append every request (method, path and query, headers, body) to this file as JSON lines:
        /// for tests that prove no secret reaches the server. Never in production: it records credentials.
        #[arg(long, value_name = "FILE")]
        request_log: Option<PathBuf>,
        /// Viewers lock (close the study, drop every key, ask for the reader's second factor again) after this
        /// many minutes without input; a reader may choose less, never more.
        #[arg(long, value_name = "MINUTES", default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=480))]
        idle_lock: u32,
    },
    /// Upload sealed studies to a DICOMweb server (STOW-RS); a re-run sends only what the server lacks.
    #[command(after_help = "Credentials are never command-line arguments: give the NAME of an environment variable \
(--token-env, --basic-env) or a file (--token-file, --basic-file). Objects go first, each study's manifest last, \
so a viewer never lists a half-uploaded study.\n\nExamples:\n  \
obscura push --url https://pacs.example.org/dicom-web --token-env PACS_TOKEN --store ./store\n  \
obscura push --url https://pacs.example.org/dicom-web --basic-file ./pacs.cred --ca-file ./hospital-ca.pem --store ./store\n  \
obscura push --url https://pacs.example.org/dicom-web --token-env PACS_TOKEN --keys ./keys --store ./store ./my-study/")]
    Push {
        /// The server's DICOMweb base URL, e.g. https://pacs.example.org/dicom-web
        #[arg(long)]
        url: String,
        /// The sealed store to push from (with DICOM inputs: where they are sealed; default a new folder in the temp dir).
        #[arg(long)]
        store: Option<PathBuf>,
        /// The organisation keys folder, to seal DICOM inputs before pushing them.
        #[arg(long)]
        keys: Option<PathBuf>,
        /// A reader certificate to add as recipient when sealing inputs; repeat for several.
        #[arg(long = "reader")]
        readers: Vec<PathBuf>,
        /// Only this pseudonymous Study Instance UID of the store; repeat for several (default: every study).
        #[arg(long = "study", value_name = "UID")]
        studies: Vec<String>,
        #[command(flatten)]
        connect: remote::ConnectArgs,
        /// STOW-RS requests in flight at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Most instance data in one STOW-RS request, in MiB (a larger instance travels alone).
        #[arg(long, default_value_t = 8, value_name = "MIB")]
        batch_mib: u64,
        /// Ask the server what it lacks and say what would be sent; send nothing.
        #[arg(long)]
        dry_run: bool,
        /// DICOM Part 10 files or folders to seal (with --keys) and push.
        inputs: Vec<PathBuf>,
    },
    /// Show what the store, or a DICOMweb server, can see of sealed studies (never a secret).
    #[command(
        after_help = "With --store, each manifest is verified against org.pub. With --remote, the server is read the way \
anyone with access to it would (QIDO-RS, WADO-RS metadata) and every attribute it shows is checked against the \
carrier's pseudonymous ones; with --keys the current manifest is fetched and verified too.\n\nExamples:\n  \
obscura inspect --keys ./keys --store ./store\n  \
obscura inspect --remote https://pacs.example.org/dicom-web --token-env PACS_TOKEN"
    )]
    Inspect {
        /// The organisation keys folder (only org.pub is read: the trust anchor); optional with --remote.
        #[arg(long, required_unless_present = "remote")]
        keys: Option<PathBuf>,
        /// The static store holding the sealed studies.
        #[arg(long, required_unless_present = "remote", conflicts_with = "remote")]
        store: Option<PathBuf>,
        /// A DICOMweb base URL: show what that server holds and shows of each sealed study.
        #[arg(long, value_name = "URL")]
        remote: Option<String>,
        #[command(flatten)]
        connect: remote::ConnectArgs,
        /// Only this pseudonymous Study Instance UID.
        study: Option<String>,
    },
    /// Print the viewer's config.json for hosting the built viewer yourself (a bucket, a CDN, any web server).
    #[command(
        after_help = "Examples:\n  obscura viewer-config --keys ./keys --store-url https://cdn.example.org/store > site/config.json\n  \
obscura viewer-config --keys ./keys --dicomweb https://pacs.example.org/dicom-web --orthanc-raw https://pacs.example.org/orthanc > site/config.json"
    )]
    ViewerConfig {
        /// The organisation keys folder (only org.pub is read: the trust anchor viewers are configured with).
        #[arg(long)]
        keys: PathBuf,
        /// A static store (`obscura seal --store`) published at this URL.
        #[arg(long, value_name = "URL", conflicts_with = "dicomweb", required_unless_present = "dicomweb")]
        store_url: Option<String>,
        /// A DICOMweb server's base URL (it must allow the viewer's origin: CORS).
        #[arg(long, value_name = "URL")]
        dicomweb: Option<String>,
        /// With --dicomweb on Orthanc: the raw sealed-bytes endpoint's base (byte ranges).
        #[arg(long, value_name = "URL", requires = "dicomweb")]
        orthanc_raw: Option<String>,
        /// Viewers lock (close the study, drop every key, ask for the reader's second factor again) after this
        /// many minutes without input; a reader may choose less, never more.
        #[arg(long, value_name = "MINUTES", default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=480))]
        idle_lock: u32,
    },
    /// Decode DICOM files to their stored pixel values, one raw file per frame.
    #[command(after_help = "Each <name>.dcm gives <name>.frame<N>.raw (N from 0): the stored values, little endian, \
at their native width (BitsAllocated 8 -> u8, 16 -> u16/i16, 32 -> u32/i32, signed if Pixel Representation is 1; \
BitsAllocated 1 -> one byte 0/1 per pixel), rows x columns, samples interleaved per pixel, the BitsStored bits \
sign-extended, before rescale, VOI, palette and MONOCHROME1 inversion; YBR is written as RGB.\n\n\
With --png, <name>.frame<N>.png is the image as a viewer shows it first: Modality LUT or rescale, the first \
window (or VOI LUT, or the frame's value range), MONOCHROME1 inverted, palette looked up.\n\nExample:\n  \
obscura decode ./study/ --out ./decoded --png")]
    Decode {
        /// Where to write the frames (folders of the input are mirrored below it).
        #[arg(long)]
        out: PathBuf,
        /// Only these frames, from 0: e.g. `0`, `0,5,9` or `10-19`.
        #[arg(long, value_name = "LIST")]
        frames: Option<String>,
        /// Also write each frame as a PNG, windowed for people.
        #[arg(long)]
        png: bool,
        /// DICOM Part 10 files or folders.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Write a deterministic synthetic CT series (a phantom) as DICOM files.
    #[command(after_help = "Two series of one study (same frame of reference) and a prior study:\n  \
        obscura synthetic-ct --out ct --slices 120\n  \
        obscura synthetic-ct --out ct --slices 60 --series-number 2 --slice-thickness 5\n  \
        obscura synthetic-ct --out prior --slices 120 --study-date 20230301 --study-id 2")]
    SyntheticCt {
        /// Folder to write the files into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Number of slices; the phantom runs from the chest to the pelvis whatever the number.
        #[arg(long, default_value_t = 120)]
        slices: u32,
        /// Patient's Name (DICOM PN, e.g. FAMILY^GIVEN).
        #[arg(long, default_value = "OBSCURA^PHANTOM^DEMO")]
        patient_name: String,
        /// Series Number; each number is another series of the same study (file names start with it).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=99))]
        series_number: i32,
        /// Slice thickness and spacing in mm.
        #[arg(long, default_value_t = 2.5)]
        slice_thickness: f64,
        /// Study Date (YYYYMMDD).
        #[arg(long, default_value = "20240301")]
        study_date: String,
        /// Which study of the patient (1, 2, …): another number is another study (new UIDs).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=99))]
        study_id: u32,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create the organisation signing key and the escrow (recovery) key with its certificate.
    #[command(after_help = "Example:\n  obscura org init --name \"St. Example Hospital\" --keys ./keys")]
    Init {
        #[arg(long)]
        name: String,
        #[arg(long)]
        keys: PathBuf,
    },
}

#[derive(Subcommand)]
enum ReaderCommand {
    /// Certify the public key in a reader's enrolment request (from the viewer) with the organisation key.
    #[command(
        after_help = "Compare the fingerprint with the one the reader's screen shows before certifying.\n\nExample:\n  obscura reader certify --keys ./keys request.json --fingerprint \"12345 67890 …\" --out dr-example.cert.json"
    )]
    Certify {
        /// The organisation keys folder (org.key); the certificate is also kept in KEYS/readers/.
        #[arg(long)]
        keys: PathBuf,
        /// The enrolment request (JSON) the viewer produced.
        request: PathBuf,
        /// The fingerprint the reader read out from their screen; certification is refused if it differs.
        #[arg(long)]
        fingerprint: Option<String>,
        /// The certificate's subject (default: the one in the request).
        #[arg(long)]
        subject: Option<String>,
        /// Validity in days.
        #[arg(long, default_value_t = 365)]
        days: i64,
        /// Also write the certificate here (it is always kept in KEYS/readers/).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum GatewayCommand {
    /// Create a gateway signing key and certify it with the organisation key.
    #[command(after_help = "Example:\n  obscura gateway init --name \"Radiology gateway\" --keys ./keys")]
    Init {
        #[arg(long)]
        name: String,
        #[arg(long)]
        keys: PathBuf,
        /// Validity in days.
        #[arg(long, default_value_t = 730)]
        days: i64,
    },
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Org { command: OrgCommand::Init { name, keys } } => {
            std::fs::create_dir_all(&keys).with_context(|| format!("cannot create {}", keys.display()))?;
            let dir = KeysDir(keys);
            let org = SigningKey::generate(&mut OsRng);
            keyfile::write_secret(&dir.path("org.key"), "org-signing", &org.to_bytes()[..])?;
            keyfile::write_public(&dir.path("org.pub"), org.public_key())?;
            let escrow = DhSecretKey::generate(&mut OsRng);
            keyfile::write_secret(&dir.path("escrow.key"), "escrow-ecdh", &escrow.to_bytes()[..])?;
            let now = sealcmd::now();
            let cert = Certificate::issue(
                &org,
                Role::Escrow,
                &format!("{name} escrow"),
                escrow.public_key(),
                now - 300,
                now + 10 * 365 * 86400,
            );
            keyfile::write_certificate(&dir.path("escrow.cert.json"), &cert)?;
            std::fs::write(dir.path("org.name"), format!("{name}\n"))?;
            println!("organisation \"{name}\" created in {}", dir.0.display());
            println!("organisation key fingerprint: {}", org.public_key().fingerprint());
            println!("keep org.key and escrow.key offline; configure viewers with org.pub");
            Ok(())
        }
        Command::Gateway { command: GatewayCommand::Init { name, keys, days } } => {
            let dir = KeysDir(keys);
            let org =
                dir.org_key().context("gateway init needs the organisation key (org.key) to certify the gateway")?;
            let gw = SigningKey::generate(&mut OsRng);
            keyfile::write_secret(&dir.path("gateway.key"), "gateway-signing", &gw.to_bytes()[..])?;
            let now = sealcmd::now();
            let cert = Certificate::issue(&org, Role::Gateway, &name, gw.public_key(), now - 300, now + days * 86400);
            keyfile::write_certificate(&dir.path("gateway.cert.json"), &cert)?;
            println!("gateway \"{name}\" certified until {days} days from now");
            println!("gateway key fingerprint: {}", gw.public_key().fingerprint());
            Ok(())
        }
        Command::Seal { keys, store, readers, inputs } => {
            let sealed = sealcmd::seal(&KeysDir(keys), &store, &inputs, &readers)?;
            for s in &sealed {
                println!("sealed study {}: {} instances, {} recipients", s.study_uid, s.instances, s.recipients);
            }
            println!("{} studies sealed into {}", sealed.len(), store.display());
            Ok(())
        }
        Command::Reader { command: ReaderCommand::Certify { keys, request, fingerprint, subject, days, out } } => {
            lifecycle::certify(
                &KeysDir(keys),
                &request,
                fingerprint.as_deref(),
                subject.as_deref(),
                days,
                out.as_deref(),
            )?;
            Ok(())
        }
        Command::Rewrap { keys, store, readers, studies, all } => {
            let studies = lifecycle::Studies::from_args(studies, all)?;
            let changed = lifecycle::rewrap(&KeysDir(keys), &store, &readers, &studies)?;
            lifecycle::report("rewrap", &changed);
            Ok(())
        }
        Command::Rotate { keys, store, studies, all } => {
            let studies = lifecycle::Studies::from_args(studies, all)?;
            let keys = KeysDir(keys);
            let changed = lifecycle::rotate(&keys, &store, &studies)?;
            lifecycle::forget_dropped(&gates::Gates::new(None, &keys), &changed)?;
            lifecycle::report("rotate", &changed);
            Ok(())
        }
        Command::Revoke { keys, store, reader, studies, all } => {
            let studies = lifecycle::Studies::from_args(studies, all)?;
            let id = lifecycle::reader_key_id(&reader)?;
            let keys = KeysDir(keys);
            let changed = lifecycle::revoke(&keys, &store, id, &studies)?;
            lifecycle::forget_dropped(&gates::Gates::new(None, &keys), &changed)?;
            lifecycle::report("revoke", &changed);
            Ok(())
        }
        Command::Share { keys, store, study, expires, passcode_file, attempts, gates, viewer_url, revoke } => {
            let keys = KeysDir(keys);
            let gates = gates::Gates::new(gates, &keys);
            if let Some(link) = revoke {
                let id = obscura_seal::LinkId::from_hex(&link).map_err(|_| {
                    anyhow::anyhow!("--revoke {link}: a link id is 32 hex digits, as `obscura inspect` shows")
                })?;
                lifecycle::report("share --revoke", &lifecycle::unshare(&keys, &gates, &store, &study, id)?);
                return Ok(());
            }
            let expires_in = lifecycle::parse_duration(&expires)?;
            let passcode = passcode_file.as_deref().map(lifecycle::read_passcode).transpose()?;
            lifecycle::share(
                &keys,
                &gates,
                &store,
                &study,
                expires_in,
                passcode,
                attempts,
                viewer_url.as_deref().unwrap_or_default(),
            )
        }
        Command::Serve { keys, store, site, port, demo, dicomweb, orthanc_raw, gates, request_log, idle_lock } => {
            serve::serve(serve::ServeOptions {
                keys,
                store,
                site,
                port,
                demo,
                dicomweb,
                orthanc_raw,
                gates,
                request_log,
                idle_lock_minutes: idle_lock,
            })
        }
        Command::Push { url, store, keys, readers, studies, connect, concurrency, batch_mib, dry_run, inputs } => {
            pushcmd::push(pushcmd::PushOptions {
                url,
                connect,
                store,
                keys,
                readers,
                inputs,
                studies,
                concurrency,
                batch_mib,
                dry_run,
            })
        }
        Command::Inspect { keys, store, remote, connect, study } => match (remote, store, keys) {
            (Some(url), _, keys) => {
                inspectremote::inspect_remote(&url, &connect, keys.map(KeysDir).as_ref(), study.as_deref())
            }
            (None, Some(store), Some(keys)) => {
                if connect.any() {
                    bail!("--ca-file and the credential options are for --remote");
                }
                inspect(&KeysDir(keys), &store, study.as_deref())
            }
            _ => bail!("give --keys and --store, or --remote"),
        },
        Command::ViewerConfig { keys, store_url, dicomweb, orthanc_raw, idle_lock } => {
            let org = KeysDir(keys).org_public()?;
            let store = match (store_url, dicomweb) {
                (_, Some(base)) => serve::ViewerStore::DicomWeb { base, orthanc_raw },
                (Some(url), None) => serve::ViewerStore::Static(url),
                (None, None) => bail!("give --store-url or --dicomweb"),
            };
            println!("{}", serde_json::to_string_pretty(&serve::viewer_config(&org, &store, false, idle_lock))?);
            Ok(())
        }
        Command::Decode { out, frames, png, inputs } => {
            let frames = frames.as_deref().map(decodecmd::FrameSelection::parse).transpose()?;
            decodecmd::decode(&inputs, &out, &decodecmd::Options { frames, png })
        }
        Command::SyntheticCt { out, slices, patient_name, series_number, slice_thickness, study_date, study_id } => {
            if slices == 0 {
                bail!("--slices must be at least 1");
            }
            if !(slice_thickness > 0.0 && slice_thickness <= 50.0) {
                bail!("--slice-thickness must be more than 0 and at most 50 (mm), not {slice_thickness}");
            }
            if study_date.len() != 8 || !study_date.bytes().all(|b| b.is_ascii_digit()) {
                bail!("--study-date must be a DICOM date, YYYYMMDD (e.g. 20240301), not {study_date:?}");
            }
            std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
            let defaults = obscura_imaging::synthetic::SeriesParams::default();
            let params = obscura_imaging::synthetic::SeriesParams {
                slices,
                patient_name,
                series_number,
                slice_thickness,
                series_description: format!("Axial {slice_thickness} mm"),
                study_date,
                // study 1 keeps the historical UIDs and accession number
                uid_root: match study_id {
                    1 => defaults.uid_root.clone(),
                    n => format!("{}.{n}", defaults.uid_root),
                },
                accession_number: match study_id {
                    1 => defaults.accession_number.clone(),
                    n => format!("{}-{n}", defaults.accession_number),
                },
                ..defaults
            };
            let prefix = if series_number == 1 { "CT".to_string() } else { format!("S{series_number}CT") };
            for (i, file) in obscura_imaging::synthetic::ct_series(&params).into_iter().enumerate() {
                std::fs::write(out.join(format!("{prefix}{:04}.dcm", i + 1)), file)?;
            }
            println!("{slices} slices written to {}", out.display());
            Ok(())
        }
    }
}

fn inspect(keys: &KeysDir, store_root: &std::path::Path, only: Option<&str>) -> Result<()> {
    let org = keys.org_public()?;
    let gates = gates::Gates::new(None, keys);
    let studies = store::studies(store_root)?;
    if studies.is_empty() {
        bail!("{} lists no sealed study (no studies/index.json): seal one with `obscura seal`", store_root.display());
    }
    let mut shown = 0;
    for uid in studies.iter().filter(|u| only.is_none_or(|o| o == u.as_str())) {
        shown += 1;
        let (_, sealed) = store::read_manifest(store_root, uid)?;
        println!("study {uid}");
        let m = match obscura_seal::open_manifest(&sealed, &org, sealcmd::now(), None) {
            Ok(m) => m,
            Err(e) => {
                println!("  manifest: REFUSED ({e})");
                continue;
            }
        };
        let b = m.body();
        println!(
            "  manifest: version {}, created {}, {} bytes, signature verified",
            b.version,
            sealcmd::utc(b.created),
            sealed.len()
        );
        println!(
            "  gateway: \"{}\", key {}, valid {} to {}, certified by the organisation",
            b.gateway.subject,
            b.gateway.public_key.key_id(),
            sealcmd::utc(b.gateway.not_before),
            sealcmd::utc(b.gateway.not_after)
        );
        println!("  study key epoch: {}", b.key_epoch);
        println!("  recipients: {}", b.stanzas.len());
        for s in &b.stanzas {
            println!("    key {}{}", s.key_id(), keys.label_of(&s.key_id()));
        }
        println!("  share links: {}", b.shares.len());
        for s in &b.shares {
            let state = if s.expires < sealcmd::now() { "expired" } else { "active" };
            let code = match gates.read(&s.link_id) {
                _ if s.passcode.is_none() => String::new(),
                Ok(Some(g)) if g.attempts_left == 0 => ", passcode, LOCKED (too many wrong passcodes)".into(),
                Ok(Some(g)) => format!(", passcode, {} wrong attempts left", g.attempts_left),
                Ok(None) if s.is_gated() => ", passcode, no gate record (it cannot be opened)".into(),
                _ => ", passcode".into(),
            };
            println!("    link {}: expires {}, {state}{code}", s.link_id, sealcmd::utc(s.expires));
        }
        let total: u64 = b.objects.iter().map(|o| o.sealed_len).sum();
        println!(
            "  objects: {} sealed, {} bytes in all; encrypted index {} bytes",
            b.objects.len(),
            total,
            b.index.sealed.len()
        );
    }
    if shown == 0 {
        bail!("study {} is not in {}", only.unwrap_or_default(), store_root.display());
    }
    Ok(())
}

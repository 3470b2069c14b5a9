//! Obscura's developer workflows. `cargo xtask <command>`:
//!
//! - `setup`: installs what the build and the tests need when it is missing (wasm32 target,
//!   the pinned wasm-bindgen-cli, Debian's chromium/chromedriver/DCMTK/Mesa, npm packages).
//! - `build-web`: builds the viewer to WebAssembly and lays out the site in `target/site`.
//! - `demo [--port N] [--data DIR] [--dicom DIR]`: setup, build, create a demo organisation, seal a
//!   synthetic CT (or your study), serve viewer + store and print the URL.
//! - `test`: every test: native, a short fuzzing run, in headless Chromium (wasm-bindgen-test),
//!   and end to end.
//! - `corpus`: fetches and generates the pixel-decoding corpus and its ground truth
//!   (`corpus/make.py`: pinned PyPI packages in `target/corpus/venv`, DCMTK, GDCM, OpenJPEG, OpenJPH
//!   from Debian) into `target/corpus/`; `crates/imaging/tests/corpus.rs` checks our decoder against it.
//! - `fuzz [--seconds N] [TARGET...]`: runs the cargo-fuzz targets of `fuzz/` (default: all, 20 s
//!   each) on stable Rust; new inputs go to a temporary directory, crashes to
//!   `target/fuzz-artifacts/<target>/`.
//! - `bench crypto`: in headless Chromium, decrypts a 64 MiB sealed object through our stream code
//!   with the WebCrypto backend and through raw `crypto.subtle.decrypt`; prints MB/s and ratios.
//! - `bench codecs`: in headless Chromium, parses and decodes the same synthetic CT slices, encoded
//!   in each transfer syntax by DCMTK, GDCM and OpenJPH, with `obscura_imaging::decode` (wasm) and
//!   with Cornerstone's parser and codecs (npm); prints frames/s, ratios and whether the stored
//!   values agree.
//! - `pacs [--fault PLAN] [--token T] [--viewer-origin O]... [--dir DIR] -- CMD ARGS...`: a real,
//!   untrusted PACS (Debian's Orthanc + DICOMweb plugin behind nginx with TLS, HTTP/2, a bearer
//!   token, CORS and byte ranges; optionally a fault-injecting proxy) in a loopback-only network
//!   namespace, around CMD, which gets its URLs in `OBSCURA_PACS_*` (`pacs.rs`, `faultproxy.rs`).
//! - `bench pacs`: in headless Chromium, inside `pacs --bench`: the same 300-slice CT from the
//!   same Orthanc, sealed through the real viewer, through the viewer's loading path with and
//!   without decryption, as bare ciphertext downloads, and unencrypted through Cornerstone3D's
//!   dicom-image-loader over WADO-RS; prints times to first image and to complete, and ratios.
//! - `bench scroll`: in headless Chromium, the real viewer (`obscura serve --demo`) with a 300-slice
//!   CT loaded: scripted wheel scrolling at 30 slices/s on WebGPU and WebGL2 (frame intervals, the
//!   viewer's draw time, positions never drawn, missed vsyncs), then the same study under a 64 MiB
//!   cache budget (peak cache bytes against the budget, evictions, positions shown).
//! - `bench seal`: natively, seals and opens 1 MiB and 64 MiB objects and runs raw `aes-gcm` on the
//!   same bytes (criterion, `crates/seal/benches/stream.rs`); prints GB/s and ratios.

mod faultproxy;
mod pacs;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WASM_BINDGEN_VERSION: &str = "0.2.130";
/// The newest cargo-fuzz that builds on (and fuzzes with) stable rustc 1.95.
const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// The targets of `fuzz/Cargo.toml`.
const FUZZ_TARGETS: &[&str] = &[
    "stanza",
    "object_header",
    "manifest",
    "certificate",
    "share_link",
    "gate_record",
    "enrolment_request",
    "decode",
    "jpegls",
    "jpeg",
    "jpeg2000",
    "dicomweb",
];
/// Seconds per fuzz target in `cargo xtask test`.
const TEST_FUZZ_SECONDS: u64 = 10;
const APT_PACKAGES: &[(&str, &str)] = &[
    ("/usr/bin/chromium", "chromium"),
    ("/usr/bin/chromedriver", "chromium-driver"),
    ("/usr/bin/dcmcjpeg", "dcmtk"),
    ("/usr/share/vulkan/icd.d/lvp_icd.x86_64.json", "mesa-vulkan-drivers"),
    // the decoding corpus (`cargo xtask corpus`) and `bench codecs`: encoders, reference decoders, Python's venv
    ("/usr/bin/gdcmconv", "libgdcm-tools"),
    ("/usr/bin/ojph_compress", "openjph-tools"),
    ("/usr/bin/opj_decompress", "libopenjp2-tools"),
    ("/usr/bin/cjxl", "libjxl-tools"),
    ("/usr/share/doc/python3-venv", "python3-venv"),
    // `cargo xtask pacs`: the PACS, its TLS front, certificates, the network namespace
    ("/usr/sbin/Orthanc", "orthanc"),
    ("/usr/share/orthanc/plugins/libOrthancDicomWeb.so", "orthanc-dicomweb"),
    ("/usr/sbin/nginx", "nginx-light"),
    ("/usr/bin/openssl", "openssl"),
    ("/usr/sbin/ip", "iproute2"),
];
/// pydicom, in a venv under target/, wraps OpenJPH's codestreams into DICOM for `bench codecs`.
const PYDICOM_VERSION: &str = "3.0.2";
/// Slices per transfer syntax in `bench codecs` (`BENCH_SLICES` overrides).
const BENCH_CODEC_SLICES: u32 = 20;
/// Slices of the study `bench pacs` loads (`BENCH_SLICES` overrides).
const BENCH_PACS_SLICES: u32 = 300;
/// Slices of the stack `bench scroll` scrolls through (`BENCH_SLICES` overrides).
const BENCH_SCROLL_SLICES: u32 = 300;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("setup") => setup(&root),
        Some("build-web") => {
            setup(&root)?;
            build_web(&root)
        }
        Some("demo") => demo(&root, &args[1..]),
        Some("test") if args.get(1).map(String::as_str) == Some("share") => {
            build_web(&root)?;
            let obscura = build_cli(&root, false)?;
            let artifacts = root.join("target/e2e-artifacts");
            std::fs::create_dir_all(&artifacts)?;
            share_e2e(&root, &obscura, &artifacts)
        }
        Some("test") if args.get(1).map(String::as_str) == Some("keys") => {
            build_web(&root)?;
            let obscura = build_cli(&root, false)?;
            let artifacts = root.join("target/e2e-artifacts");
            std::fs::create_dir_all(&artifacts)?;
            keys_e2e(&root, &obscura, &artifacts, &args[2..])
        }
        Some("test") => test(&root, &args[1..]),
        Some("bench") if args.get(1).map(String::as_str) == Some("crypto") => bench_crypto(&root),
        Some("bench") if args.get(1).map(String::as_str) == Some("codecs") => bench_codecs(&root),
        Some("bench") if args.get(1).map(String::as_str) == Some("seal") => bench_seal(),
        Some("bench") if args.get(1).map(String::as_str) == Some("pacs") => bench_pacs(&root),
        Some("bench") if args.get(1).map(String::as_str) == Some("scroll") => bench_scroll(&root),
        Some("fuzz") => fuzz(&root, &args[1..]),
        Some("corpus") => corpus(&root),
        Some("pacs") => pacs::pacs(&root, &args[1..]),
        // `pacs` re-executes itself as this inside its network namespace
        Some("pacs-netns") => pacs::inside(&root, &args[1..]),
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo xtask <setup|build-web|demo|test|fuzz|corpus|pacs|bench crypto|bench codecs|bench seal|bench pacs|bench scroll>\n\n  \
         demo [--port N] [--data DIR] [--dicom DIR]   build, seal a demo study, serve it\n  \
         test                                         run every test\n  \
         test share                                   only the share-link end-to-end test (builds the viewer and the CLI)\n  \
         test keys [FILE...]                          only the reader-key and lock end-to-end tests (or these files)\n  \
         corpus                                       fetch/generate the decoding corpus and its truth (target/corpus)\n  \
         fuzz [--seconds N] [TARGET...]               run the fuzz targets N seconds each (default 20; targets: {})\n  \
         {}\n                                                      a PACS (Orthanc+nginx) in a network namespace around CMD\n  \
         bench crypto                                 browser decrypt benchmark (BENCH_MIB, BENCH_REPS)\n  \
         bench codecs                                 browser decode benchmark against Cornerstone (BENCH_REPS, BENCH_SLICES)\n  \
         bench seal                                   native sealed-object throughput (criterion)\n  \
         bench pacs                                   loading a study from the PACS: Obscura encrypted vs unencrypted vs Cornerstone (BENCH_SLICES, BENCH_REPS)\n  \
         bench scroll                                 the reading room: wheel scrolling at 30 slices/s on WebGPU and WebGL2, then a cache budget\n                                                      smaller than the study (BENCH_SLICES, BENCH_REPS, BENCH_PART=scroll|memory, BENCH_BUDGET_MIB)",
        FUZZ_TARGETS.join(" "),
        pacs::USAGE
    );
    std::process::exit(2)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

fn step(what: &str) {
    eprintln!("\x1b[1mxtask:\x1b[0m {what}");
}

fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("could not start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Installs what is missing. Each step says what it does; nothing is downloaded but packages
/// from crates.io, Debian and npm.
fn setup(root: &Path) -> Result<()> {
    let targets = output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !targets.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        step("adding the wasm32-unknown-unknown Rust target");
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    let have = output(Command::new("wasm-bindgen").arg("--version")).unwrap_or_default();
    if !have.contains(WASM_BINDGEN_VERSION) {
        step(&format!("installing wasm-bindgen-cli {WASM_BINDGEN_VERSION} (about 3 minutes, once)"));
        run(cargo().args(["install", "wasm-bindgen-cli", "--version", WASM_BINDGEN_VERSION]))?;
    }
    setup_cargo_fuzz()?;
    apt_install_missing(APT_PACKAGES)?;
    npm_ci(&root.join("tests/e2e"), "the end-to-end test's npm packages (playwright-core; no browser download)")
}

/// Installs the Debian packages of `packages` (marker file, package) whose marker file is missing.
fn apt_install_missing(packages: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> = packages.iter().filter(|(f, _)| !Path::new(f).exists()).map(|(_, p)| *p).collect();
    if missing.is_empty() {
        return Ok(());
    }
    step(&format!("installing Debian packages: {}", missing.join(" ")));
    let sudo = if output(Command::new("id").arg("-u")).map(|s| s.trim() == "0").unwrap_or(false) {
        vec![]
    } else {
        vec!["sudo"]
    };
    let apt = |args: &[&str]| {
        let mut all: Vec<&str> = sudo.clone();
        all.push("apt-get");
        all.extend_from_slice(args);
        let mut c = Command::new(all[0]);
        c.args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut c)
    };
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(missing.iter().copied());
    // Installing orthanc or nginx must not start them as services in the host's network (Orthanc
    // listens on every interface): a policy-rc.d that refuses every start, for the install only.
    let policy = Path::new("/usr/sbin/policy-rc.d");
    let ours = sudo.is_empty() && !policy.exists() && {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(policy, "#!/bin/sh\n# cargo xtask: no service starts while installing test packages\nexit 101\n")
            .is_ok()
            && std::fs::set_permissions(policy, std::fs::Permissions::from_mode(0o755)).is_ok()
    };
    let result = apt(&args);
    if ours {
        let _ = std::fs::remove_file(policy);
    }
    result
}

/// Runs `npm ci` in `dir` when its node_modules is missing or older than its package-lock.json.
fn npm_ci(dir: &Path, what: &str) -> Result<()> {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let installed = modified(&dir.join("node_modules/.package-lock.json"));
    if installed.is_none() || installed < modified(&dir.join("package-lock.json")) {
        step(&format!("installing {what} (npm ci)"));
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(dir))?;
    }
    Ok(())
}

/// `cargo xtask corpus`: the Debian tools, then `corpus/make.py` (cached: a warm run takes a second).
fn corpus(root: &Path) -> Result<()> {
    apt_install_missing(APT_PACKAGES)?;
    step("building the decoding corpus and its ground truth (corpus/make.py → target/corpus)");
    run(Command::new("python3").arg(root.join("corpus/make.py")).current_dir(root))
}

/// Installs the pinned cargo-fuzz when missing.
fn setup_cargo_fuzz() -> Result<()> {
    let have = output(cargo().args(["fuzz", "--version"])).unwrap_or_default();
    if !have.split_whitespace().any(|w| w == CARGO_FUZZ_VERSION) {
        step(&format!("installing cargo-fuzz {CARGO_FUZZ_VERSION} (about 2 minutes, once)"));
        run(cargo().args(["install", "cargo-fuzz", "--locked", "--version", CARGO_FUZZ_VERSION]))?;
    }
    Ok(())
}

fn site_dir(root: &Path) -> PathBuf {
    root.join("target/site")
}

/// Builds the viewer to wasm and lays out `target/site` (index.html, www/, pkg/).
fn build_web(root: &Path) -> Result<()> {
    step("building the viewer for wasm32 (release)");
    run(cargo().args(["build", "--release", "-p", "obscura-viewer", "--target", "wasm32-unknown-unknown"]))?;
    let site = site_dir(root);
    let pkg = site.join("pkg");
    let _ = std::fs::remove_dir_all(&site);
    std::fs::create_dir_all(&pkg)?;
    run(Command::new("wasm-bindgen")
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(&pkg)
        .arg(root.join("target/wasm32-unknown-unknown/release/obscura_viewer.wasm")))?;
    copy_dir(&root.join("www"), &site.join("www"))?;
    std::fs::copy(root.join("index.html"), site.join("index.html"))?;
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

fn build_cli(root: &Path, release: bool) -> Result<PathBuf> {
    step(&format!("building the obscura CLI ({})", if release { "release" } else { "debug, as the tests built it" }));
    let mut cmd = cargo();
    cmd.args(["build", "-p", "obscura"]);
    if release {
        cmd.arg("--release");
    }
    run(&mut cmd)?;
    Ok(root.join(if release { "target/release/obscura" } else { "target/debug/obscura" }))
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

/// Creates (or reuses) the demo organisation in `data` and seals `dicom` (or a synthetic CT).
/// What the synthetic demo data holds besides the first series.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DemoExtras {
    /// One series, one study.
    None,
    /// A second series of the same study (5 mm, same frame of reference) and a prior study of the
    /// same patient a year earlier: what the reading room's layouts, synchronised scrolling and
    /// default hanging need.
    SeriesAndPrior,
}

fn prepare_demo_data(
    obscura: &Path,
    data: &Path,
    dicom: Option<PathBuf>,
    slices: u32,
    patient: &str,
    extras: DemoExtras,
) -> Result<PathBuf> {
    let keys = data.join("keys");
    if !keys.join("org.key").exists() {
        step(&format!("creating the demo organisation in {}", data.display()));
        run(Command::new(obscura).args(["org", "init", "--name", "Obscura Demo Hospital", "--keys"]).arg(&keys))?;
        run(Command::new(obscura).args(["gateway", "init", "--name", "Demo gateway", "--keys"]).arg(&keys))?;
    }
    let user_study = dicom.is_some();
    let mut inputs = Vec::new();
    match dicom {
        Some(d) => inputs.push(d),
        None => {
            let synthetic = |out: &Path, args: &[&str]| -> Result<()> {
                run(Command::new(obscura)
                    .args(["synthetic-ct", "--patient-name", patient, "--out"])
                    .arg(out)
                    .args(args))
            };
            let out = data.join("demo-dicom");
            if !out.exists() {
                step(&format!("generating a synthetic CT ({slices} slices of 512x512) in {}", out.display()));
                synthetic(&out, &["--slices", &slices.to_string()])?;
                if extras == DemoExtras::SeriesAndPrior {
                    let half = (slices / 2).max(1).to_string();
                    synthetic(&out, &["--slices", &half, "--series-number", "2", "--slice-thickness", "5"])?;
                }
            }
            inputs.push(out);
            if extras == DemoExtras::SeriesAndPrior {
                let prior = data.join("demo-prior");
                if !prior.exists() {
                    step(&format!("generating a prior study in {}", prior.display()));
                    let half = (slices / 2).max(1).to_string();
                    synthetic(
                        &prior,
                        &["--slices", &half, "--slice-thickness", "5", "--study-date", "20230301", "--study-id", "2"],
                    )?;
                }
                inputs.push(prior);
            }
        }
    }
    let store = data.join("store");
    // Your own study is sealed every time it is given (a new pseudonymous study in the store);
    // the phantom once.
    if user_study || !store.join("studies/index.json").exists() {
        for input in &inputs {
            step(&format!("sealing {} into the static store {}", input.display(), store.display()));
            run(Command::new(obscura).args(["seal", "--keys"]).arg(&keys).arg("--store").arg(&store).arg(input))?;
        }
    }
    Ok(store)
}

fn demo(root: &Path, args: &[String]) -> Result<()> {
    setup(root)?;
    build_web(root)?;
    let obscura = build_cli(root, true)?;
    let data = flag(args, "--data").map(PathBuf::from).unwrap_or_else(|| root.join("data/demo"));
    let port = flag(args, "--port").unwrap_or_else(|| "8080".into());
    let store = prepare_demo_data(
        &obscura,
        &data,
        flag(args, "--dicom").map(PathBuf::from),
        120,
        "OBSCURA^PHANTOM^DEMO",
        DemoExtras::SeriesAndPrior,
    )?;
    step("serving (Ctrl-C stops)");
    run(Command::new(&obscura)
        .args(["serve", "--demo", "--port", &port, "--keys"])
        .arg(data.join("keys"))
        .arg("--store")
        .arg(&store)
        .arg("--site")
        .arg(site_dir(root)))
}

struct KillOnDrop(Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `obscura serve --demo` on a free loopback port over the demo data in `data` (its keys) and
/// `store`, with the built viewer; the server stops when the returned guard is dropped.
fn serve_demo(root: &Path, obscura: &Path, data: &Path, store: &Path) -> Result<(KillOnDrop, u16)> {
    serve_with(root, obscura, data, store, &["--demo".as_ref()])
}

/// `obscura serve` as [`serve_demo`], with other options instead of `--demo`.
fn serve_with(
    root: &Path,
    obscura: &Path,
    data: &Path,
    store: &Path,
    options: &[&std::ffi::OsStr],
) -> Result<(KillOnDrop, u16)> {
    let port = free_port()?;
    let server = KillOnDrop(
        Command::new(obscura)
            .args(["serve", "--port", &port.to_string(), "--keys"])
            .arg(data.join("keys"))
            .arg("--store")
            .arg(store)
            .arg("--site")
            .arg(site_dir(root))
            .args(options)
            .stdin(Stdio::null())
            .spawn()?,
    );
    wait_for_port(port, Duration::from_secs(20))?;
    Ok((server, port))
}

fn wait_for_port(port: u16, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("nothing listens on 127.0.0.1:{port} after {timeout:?}")
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn test(root: &Path, _args: &[String]) -> Result<()> {
    setup(root)?;
    // the decoding corpus is an input of the native tests (crates/imaging/tests/corpus.rs)
    corpus(root)?;
    step("native tests (cargo test --workspace)");
    run(cargo().args(["test", "--workspace", "--exclude", "obscura-viewer", "--exclude", "obscura-wasm-tests"]))?;

    fuzz_targets(root, FUZZ_TARGETS, TEST_FUZZ_SECONDS)?;

    step("browser tests (wasm-bindgen-test in headless Chromium)");
    run(cargo()
        .args(["test", "-p", "obscura-wasm-tests", "--target", "wasm32-unknown-unknown"])
        .current_dir(root.join("wasm-tests"))
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", "wasm-bindgen-test-runner")
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("WASM_BINDGEN_TEST_TIMEOUT", "180"))?;

    build_web(root)?;
    let obscura = build_cli(root, false)?;
    let data = root.join("target/e2e-data");
    let _ = std::fs::remove_dir_all(&data);
    // A patient name no binary contains, so that finding it in the browser profile means a leak.
    let patient = format!("E2E{}^PATIENT^TEST", std::process::id());
    let store = prepare_demo_data(&obscura, &data, None, 60, &patient, DemoExtras::None)?;
    let (server, port) = serve_demo(root, &obscura, &data, &store)?;
    step(&format!("end-to-end test: obscura serve on 127.0.0.1:{port}, Playwright + Debian's chromium"));
    let artifacts = root.join("target/e2e-artifacts");
    std::fs::create_dir_all(&artifacts)?;
    let result = run(Command::new("node")
        .args(["--test", "--test-concurrency=1", "tests/e2e/spine.test.mjs"])
        .env("OBSCURA_PATIENT_NAME", &patient)
        .env("OBSCURA_URL", format!("http://127.0.0.1:{port}/"))
        .env("OBSCURA_STORE", &store)
        .env("OBSCURA_PLAINTEXT", data.join("demo-dicom"))
        .env("OBSCURA_ARTIFACTS", &artifacts));
    drop(server);
    result?;
    keys_e2e(root, &obscura, &artifacts, &[])?;
    reading_e2e(root, &obscura, &artifacts)?;
    share_e2e(root, &obscura, &artifacts)?;
    pacs_e2e(root, &obscura, &artifacts)?;
    step(&format!("all tests passed; screenshots in {}", artifacts.display()));
    Ok(())
}

/// The reader key at rest and enrolment (`tests/e2e/keys.test.mjs`): a passphrase, a passkey on a
/// virtual authenticator, an older viewer's key replaced, and an administrator's enrolment; then
/// locking and trust (`tests/e2e/lock.test.mjs`): the idle lock, Lock, Log out, a share link's idle
/// lock, a changed organisation key or certificate, a lost device (escrow re-wrap, revocation).
/// Both run against a demo server and a server without demo enrolment over the same small store.
/// `cargo xtask test keys [FILE…]` runs these alone (e.g. `tests/e2e/lock.test.mjs`).
fn keys_e2e(root: &Path, obscura: &Path, artifacts: &Path, only: &[String]) -> Result<()> {
    let data = root.join("target/e2e-keys-data");
    let _ = std::fs::remove_dir_all(&data);
    let patient = format!("KEYS{}^PATIENT^TEST", std::process::id());
    let store = prepare_demo_data(obscura, &data, None, 4, &patient, DemoExtras::None)?;
    let (demo, demo_port) = serve_demo(root, obscura, &data, &store)?;
    let (admin, admin_port) = serve_with(root, obscura, &data, &store, &[])?;
    step(&format!(
        "reader keys and lock end-to-end tests: obscura serve --demo on 127.0.0.1:{demo_port}, without demo on {admin_port}"
    ));
    let files: Vec<&str> = if only.is_empty() {
        vec!["tests/e2e/keys.test.mjs", "tests/e2e/lock.test.mjs"]
    } else {
        only.iter().map(String::as_str).collect()
    };
    let result = run(Command::new("node")
        .args(["--test", "--test-concurrency=1"])
        .args(&files)
        .env("OBSCURA_URL", format!("http://127.0.0.1:{demo_port}/"))
        .env("OBSCURA_ADMIN_URL", format!("http://127.0.0.1:{admin_port}/"))
        .env("OBSCURA_BIN", obscura)
        .env("OBSCURA_KEYS", data.join("keys"))
        .env("OBSCURA_STORE", &store)
        .env("OBSCURA_PLAINTEXT", data.join("demo-dicom"))
        .env("OBSCURA_PATIENT_NAME", &patient)
        .env("OBSCURA_ARTIFACTS", artifacts));
    drop((demo, admin));
    result
}

/// The reading room's end-to-end test: a study of two series and a prior, on a desktop and a
/// tablet-sized touch screen.
fn reading_e2e(root: &Path, obscura: &Path, artifacts: &Path) -> Result<()> {
    let data = root.join("target/e2e-reading-data");
    let _ = std::fs::remove_dir_all(&data);
    let slices = 40;
    let patient = format!("READ{}^PATIENT^TEST", std::process::id());
    let store = prepare_demo_data(obscura, &data, None, slices, &patient, DemoExtras::SeriesAndPrior)?;
    let (server, port) = serve_demo(root, obscura, &data, &store)?;
    step(&format!("reading-room end-to-end test: obscura serve on 127.0.0.1:{port}, desktop and tablet"));
    let result = run(Command::new("node")
        .args(["--test", "--test-concurrency=1", "tests/e2e/reading.test.mjs"])
        .env("OBSCURA_URL", format!("http://127.0.0.1:{port}/"))
        .env("OBSCURA_PLAINTEXT", data.join("demo-dicom"))
        .env("OBSCURA_SLICES", slices.to_string())
        .env("OBSCURA_ARTIFACTS", artifacts));
    drop(server);
    result
}

/// Share links end to end (`tests/e2e/share.test.mjs`): a referring physician's browser opens a
/// study through links the test makes with `obscura share` (plain, passcode, expired, revoked),
/// against `obscura serve` without demo mode, with its request log on.
fn share_e2e(root: &Path, obscura: &Path, artifacts: &Path) -> Result<()> {
    let data = root.join("target/e2e-share-data");
    let _ = std::fs::remove_dir_all(&data);
    let slices = 24;
    let patient = format!("SHARE{}^PATIENT^TEST", std::process::id());
    let store = prepare_demo_data(obscura, &data, None, slices, &patient, DemoExtras::None)?;
    let log = data.join("requests.jsonl");
    let (server, port) = serve_with(root, obscura, &data, &store, &["--request-log".as_ref(), log.as_os_str()])?;
    step(&format!("share-link end-to-end test: obscura serve on 127.0.0.1:{port}, desktop, tablet and phone"));
    let result = run(Command::new("node")
        .args(["--test", "--test-concurrency=1", "tests/e2e/share.test.mjs"])
        .env("OBSCURA_URL", format!("http://127.0.0.1:{port}/"))
        .env("OBSCURA_BIN", obscura)
        .env("OBSCURA_KEYS", data.join("keys"))
        .env("OBSCURA_STORE", &store)
        .env("OBSCURA_PLAINTEXT", data.join("demo-dicom"))
        .env("OBSCURA_PATIENT_NAME", &patient)
        .env("OBSCURA_REQUEST_LOG", &log)
        .env("OBSCURA_ARTIFACTS", artifacts));
    drop(server);
    result
}

/// The PACS end to end (`tests/e2e/pacs.test.mjs`): a study sealed and pushed to Orthanc over
/// TLS, listed and opened by the viewer from its own origin, the PACS's storage searched for
/// cleartext, and the same study opened through injected faults. Everything runs inside the
/// loopback-only namespace of `cargo xtask pacs`.
fn pacs_e2e(root: &Path, obscura: &Path, artifacts: &Path) -> Result<()> {
    let data = root.join("target/e2e-pacs-data");
    let _ = std::fs::remove_dir_all(&data);
    let patient = format!("PACS{}^PATIENT^TEST", std::process::id());
    let store = prepare_demo_data(obscura, &data, None, 40, &patient, DemoExtras::None)?;
    // Any port: nothing else listens in the fresh namespace.
    let viewer_port = free_port()?;
    let origin = format!("http://127.0.0.1:{viewer_port}");
    step("PACS end-to-end test: obscura push to Orthanc (TLS), the viewer from its own origin, faults");
    run(Command::new(std::env::current_exe()?)
        .args(["pacs", "--fault", "none", "--viewer-origin", &origin, "--dir"])
        .arg(root.join("target/pacs-e2e"))
        .args(["--", "node", "--test", "--test-concurrency=1", "tests/e2e/pacs.test.mjs"])
        .env("OBSCURA_BIN", obscura)
        .env("OBSCURA_SITE", site_dir(root))
        .env("OBSCURA_KEYS", data.join("keys"))
        .env("OBSCURA_STORE", &store)
        .env("OBSCURA_PLAINTEXT", data.join("demo-dicom"))
        .env("OBSCURA_PATIENT_NAME", &patient)
        .env("OBSCURA_VIEWER_PORT", viewer_port.to_string())
        .env("OBSCURA_ARTIFACTS", artifacts))
}

/// Builds `crates/bench-web` (release, wasm32) and lays out a bench site in `site`: the module
/// in `pkg/` and the pages of `crates/bench-web/www`.
fn bench_site(root: &Path, site: &Path) -> Result<()> {
    step("building the benchmark module for wasm32 (release)");
    run(cargo().args(["build", "--release", "-p", "obscura-bench-web", "--target", "wasm32-unknown-unknown"]))?;
    let _ = std::fs::remove_dir_all(site);
    std::fs::create_dir_all(site.join("pkg"))?;
    run(Command::new("wasm-bindgen")
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(site.join("pkg"))
        .arg(root.join("target/wasm32-unknown-unknown/release/obscura_bench_web.wasm")))?;
    copy_dir(&root.join("crates/bench-web/www"), site)
}

/// `cargo xtask bench crypto`: lays out the bench site in `target/bench-web` and runs
/// `crates/bench-web/run.mjs` (a loopback server and Debian's headless Chromium through
/// Playwright). `BENCH_MIB`, `BENCH_CHUNK`, `BENCH_REPS` and `BENCH_JSON` pass through.
fn bench_crypto(root: &Path) -> Result<()> {
    setup(root)?;
    let site = root.join("target/bench-web");
    bench_site(root, &site)?;
    step("decrypt benchmark in headless Chromium (loopback server, Playwright)");
    run(Command::new("node").arg(root.join("crates/bench-web/run.mjs")).env("BENCH_SITE", &site))
}

/// `cargo xtask bench codecs`: makes the inputs (cached in `target/bench-codecs/inputs`: the
/// synthetic CT encoded by `crates/bench-web/codecs/make_inputs.py`), lays out the bench site in
/// `target/bench-codecs/site` with Cornerstone's parser and codecs bundled from npm
/// (`codecs/build-peer.mjs`), and runs `crates/bench-web/run-codecs.mjs`. `BENCH_REPS`,
/// `BENCH_WARMUPS`, `BENCH_SLICES`, `BENCH_MAIN_THREAD=0` and `BENCH_JSON` pass through.
fn bench_codecs(root: &Path) -> Result<()> {
    setup(root)?;
    apt_install_missing(APT_PACKAGES)?;
    let bench = root.join("crates/bench-web");
    npm_ci(&bench, "Cornerstone's parser and codecs and esbuild")?;
    let cli = build_cli(root, false)?;
    let work = root.join("target/bench-codecs");
    let python = work.join("venv/bin/python");
    let have = output(Command::new(&python).args(["-c", "import pydicom; print(pydicom.__version__)"]));
    if have.as_deref().map(str::trim) != Some(PYDICOM_VERSION) {
        step(&format!("installing pydicom {PYDICOM_VERSION} into a venv in target/bench-codecs"));
        run(Command::new("/usr/bin/python3").args(["-m", "venv"]).arg(work.join("venv")))?;
        run(Command::new(work.join("venv/bin/pip")).args(["install", "-q", &format!("pydicom=={PYDICOM_VERSION}")]))?;
    }
    let slices = std::env::var("BENCH_SLICES").unwrap_or_else(|_| BENCH_CODEC_SLICES.to_string());
    step(&format!("encoding {slices} synthetic CT slices in each transfer syntax (cached)"));
    let inputs = work.join("inputs");
    run(Command::new(&python)
        .arg(bench.join("codecs/make_inputs.py"))
        .arg("--obscura")
        .arg(&cli)
        .arg("--out")
        .arg(&inputs)
        .args(["--slices", &slices]))?;
    let site = work.join("site");
    bench_site(root, &site)?;
    run(Command::new("node").arg(bench.join("codecs/build-peer.mjs")).arg(&site))?;
    copy_dir(&inputs, &site.join("inputs"))?;
    step("decode benchmark in headless Chromium (loopback server, Playwright)");
    run(Command::new("node").arg(bench.join("run-codecs.mjs")).env("BENCH_SITE", &site))
}

/// `cargo xtask bench pacs`: builds the CLI (release), the viewer's site (`target/site`) and the
/// bench site (`target/bench-pacs/site`: the bench module, the viewer's own decode worker and
/// wasm module, Cornerstone bundled by `crates/bench-web/pacs/build.mjs`), makes a demo
/// organisation and seals a synthetic CT of `BENCH_SLICES` (300) slices into
/// `target/bench-pacs/data`, then runs `crates/bench-web/run-pacs.mjs` inside
/// `cargo xtask pacs --bench` with the viewer's and the bench page's origins allowed by CORS.
/// `BENCH_REPS` and `BENCH_JSON` pass through.
fn bench_pacs(root: &Path) -> Result<()> {
    setup(root)?;
    let bench = root.join("crates/bench-web");
    npm_ci(&bench, "Cornerstone3D (core, dicom-image-loader) and esbuild")?;
    let slices: u32 = match std::env::var("BENCH_SLICES") {
        Ok(s) => s.parse().ok().filter(|&n| (1..=2000).contains(&n)).context("BENCH_SLICES must be 1..=2000")?,
        Err(_) => BENCH_PACS_SLICES,
    };
    let obscura = build_cli(root, true)?;
    build_web(root)?;
    let work = root.join("target/bench-pacs");
    let site = work.join("site");
    bench_site(root, &site)?;
    // The viewer's own decode worker and wasm module: the bench's DecodePool starts
    // `www/decode-worker.js`, which imports `../pkg/obscura_viewer.js`, exactly as in the viewer.
    let viewer_site = site_dir(root);
    std::fs::create_dir_all(site.join("www"))?;
    std::fs::copy(viewer_site.join("www/decode-worker.js"), site.join("www/decode-worker.js"))?;
    for f in ["obscura_viewer.js", "obscura_viewer_bg.wasm"] {
        std::fs::copy(viewer_site.join("pkg").join(f), site.join("pkg").join(f))?;
    }
    step("bundling Cornerstone3D's core and DICOM image loader (esbuild)");
    run(Command::new("node").arg(bench.join("pacs/build.mjs")).arg(&site))?;

    let data = work.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let store = prepare_demo_data(&obscura, &data, None, slices, "BENCH^PACS^PHANTOM", DemoExtras::None)?;
    let viewer_port = free_port()?;
    let bench_port = loop {
        let p = free_port()?;
        if p != viewer_port {
            break p;
        }
    };
    let origins = format!("http://127.0.0.1:{viewer_port},http://127.0.0.1:{bench_port}");
    step(&format!("PACS benchmark: {slices} slices, Orthanc + nginx in a network namespace, headless Chromium"));
    run(Command::new(std::env::current_exe()?)
        .args(["pacs", "--bench", "--viewer-origin", &origins, "--dir", "target/bench-pacs/pacs"])
        .args(["--", "node"])
        .arg(bench.join("run-pacs.mjs"))
        .env("OBSCURA_BIN", &obscura)
        .env("OBSCURA_SITE", &viewer_site)
        .env("OBSCURA_KEYS", data.join("keys"))
        .env("OBSCURA_STORE", &store)
        .env("OBSCURA_PLAINTEXT", data.join("demo-dicom"))
        .env("OBSCURA_VIEWER_PORT", viewer_port.to_string())
        .env("BENCH_SITE", &site)
        .env("BENCH_PORT", bench_port.to_string()))
}

/// `cargo xtask bench scroll`: builds the CLI (release) and the viewer's site (`target/site`),
/// makes a demo organisation and seals a synthetic CT of `BENCH_SLICES` (300) slices into
/// `target/bench-scroll/data`, serves it with `obscura serve --demo` on 127.0.0.1 and runs
/// `crates/bench-web/run-scroll.mjs` against it (results in `target/bench-scroll/results.json`).
/// `BENCH_REPS`, `BENCH_PART`, `BENCH_BUDGET_MIB` and `BENCH_JSON` pass through.
fn bench_scroll(root: &Path) -> Result<()> {
    setup(root)?;
    let slices: u32 = match std::env::var("BENCH_SLICES") {
        Ok(s) => s.parse().ok().filter(|&n| (2..=2000).contains(&n)).context("BENCH_SLICES must be 2..=2000")?,
        Err(_) => BENCH_SCROLL_SLICES,
    };
    let obscura = build_cli(root, true)?;
    build_web(root)?;
    let work = root.join("target/bench-scroll");
    let data = work.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let store = prepare_demo_data(&obscura, &data, None, slices, "BENCH^SCROLL^PHANTOM", DemoExtras::None)?;
    let (server, port) = serve_demo(root, &obscura, &data, &store)?;
    step(&format!(
        "scroll and memory benchmark: {slices} slices, obscura serve on 127.0.0.1:{port}, headless Chromium"
    ));
    let result = run(Command::new("node")
        .arg(root.join("crates/bench-web/run-scroll.mjs"))
        .env("OBSCURA_URL", format!("http://127.0.0.1:{port}/"))
        .env("BENCH_SLICES", slices.to_string())
        .env("BENCH_OUT", &work));
    drop(server);
    result
}

/// `cargo xtask fuzz [--seconds N] [TARGET...]`.
fn fuzz(root: &Path, args: &[String]) -> Result<()> {
    let mut seconds = 20;
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = args.next().and_then(|n| n.parse().ok()).context("--seconds needs a whole number")?;
            }
            t => match FUZZ_TARGETS.iter().find(|&&k| k == t) {
                Some(&k) => targets.push(k),
                None => bail!("unknown fuzz target {t:?} (targets: {})", FUZZ_TARGETS.join(" ")),
            },
        }
    }
    if targets.is_empty() {
        targets = FUZZ_TARGETS.to_vec();
    }
    fuzz_targets(root, &targets, seconds)
}

fn cargo_fuzz(root: &Path, subcommand: &str) -> Command {
    let mut c = cargo();
    // `--sanitizer none` needs no `-Z` flag, so stable rustc builds and runs the targets (see
    // fuzz/README.md). The build lives in the workspace's target directory.
    // 16 codegen units instead of cargo-fuzz's 1: a shorter cold build on two cores.
    c.args(["fuzz", subcommand, "--sanitizer", "none", "--codegen-units", "16", "--target-dir"])
        .arg(root.join("target/fuzz"));
    c
}

/// Builds the fuzz targets, then runs each for `seconds` on a temporary corpus (written) plus the
/// committed seeds in `fuzz/corpus/<target>` (only read). Fails if any target finds a crash, after
/// running all of them; crash inputs and logs are in `target/fuzz-artifacts/<target>/`.
fn fuzz_targets(root: &Path, targets: &[&str], seconds: u64) -> Result<()> {
    setup_cargo_fuzz()?;
    step("building the fuzz targets (cargo fuzz build --sanitizer none)");
    let start = Instant::now();
    run(&mut cargo_fuzz(root, "build"))?;
    eprintln!("built in {:.0?}", start.elapsed());
    let scratch = std::env::temp_dir().join(format!("obscura-fuzz-{}", std::process::id()));
    let result = (|| {
        let mut failed = Vec::new();
        for &target in targets {
            step(&format!("fuzzing {target} for {seconds} s"));
            let corpus = scratch.join(target);
            let artifacts = root.join("target/fuzz-artifacts").join(target);
            let _ = std::fs::remove_dir_all(&artifacts);
            std::fs::create_dir_all(&corpus)?;
            std::fs::create_dir_all(&artifacts)?;
            let log_path = artifacts.join("fuzz.log");
            let log = std::fs::File::create(&log_path)?;
            let status = cargo_fuzz(root, "run")
                .arg(target)
                .arg(&corpus)
                .arg(root.join("fuzz/corpus").join(target))
                .arg("--")
                .arg(format!("-max_total_time={seconds}"))
                .arg(format!("-artifact_prefix={}/", artifacts.display()))
                .arg("-timeout=20")
                .stdout(log.try_clone()?)
                .stderr(log)
                .status()
                .context("could not start cargo fuzz")?;
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            if status.success() {
                let done = lines.iter().rev().find(|l| l.starts_with("Done ")).copied().unwrap_or("");
                let stats = lines.iter().rev().find(|l| l.contains(" cov: ")).map(|l| l.trim()).unwrap_or("");
                eprintln!("{target}: {done}; {stats}");
                continue;
            }
            // The panic message and libFuzzer's verdict, not the whole backtrace.
            for (i, l) in lines.iter().enumerate() {
                let key = ["ERROR: libFuzzer", "SUMMARY:", "Test unit written"];
                if l.contains("panicked at") {
                    eprintln!("{}", lines[i..(i + 3).min(lines.len())].join("\n"));
                } else if key.iter().any(|k| l.contains(k)) {
                    eprintln!("{l}");
                }
            }
            eprintln!(
                "{target} FAILED ({status}); full log {}\nreproduce: cargo fuzz run --sanitizer none --codegen-units 16 \
                 --target-dir target/fuzz {target} <the crash-* file in {}>",
                log_path.display(),
                artifacts.display()
            );
            failed.push(target);
        }
        if !failed.is_empty() {
            bail!("fuzz targets found crashes: {}", failed.join(", "));
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// `cargo xtask bench seal`: criterion with a modest sampling time (never a timed assertion).
fn bench_seal() -> Result<()> {
    step("benchmarking native sealed-object throughput (crates/seal/benches/stream.rs)");
    run(cargo().args([
        "bench",
        "-p",
        "obscura-seal",
        "--bench",
        "stream",
        "--",
        "--warm-up-time",
        "1",
        "--measurement-time",
        "3",
    ]))
}

//! `cargo xtask pacs [OPTIONS] -- CMD ARGS...`: a real, untrusted PACS around one command.
//!
//! Debian's Orthanc with its DICOMweb plugin, behind nginx (TLS, HTTP/2, a bearer token, CORS,
//! byte ranges), optionally with the fault-injecting proxy of `faultproxy.rs` between the two.
//! Orthanc listens on every interface and has no bind option, so everything runs in a
//! loopback-only network namespace: `cargo xtask pacs` re-executes itself under
//! `unshare --net --kill-child` (the hidden `pacs-netns` command), brings `lo` up, starts
//! Orthanc, the proxy and nginx, runs CMD with the `OBSCURA_PACS_*` variables below, stops every
//! server it started by PID (SIGTERM, SIGKILL after 5 s) and exits with CMD's status. Nothing in
//! the namespace is reachable from the host, and the namespace disappears with its processes.
//! Each server is started with a parent-death signal (`setpriv --pdeathsig KILL`; CMD with
//! TERM), so none outlives the xtask even when the xtask itself is killed.
//!
//! Variables CMD gets (all URLs are on 127.0.0.1 inside the namespace):
//!
//! | variable | holds |
//! |---|---|
//! | `OBSCURA_PACS_URL` | `https://127.0.0.1:PORT/dicom-web`: DICOMweb (QIDO-RS, WADO-RS, STOW-RS) through nginx |
//! | `OBSCURA_PACS_RAW` | `https://127.0.0.1:PORT/orthanc`: only `GET`/`HEAD` `/instances/{orthanc-id}/content/0009-1010` (the sealed bytes, with byte ranges); with `--bench` also `GET /instances/{orthanc-id}/file` (a whole stored file) |
//! | `OBSCURA_PACS_CA` | the CA certificate (PEM) that signed nginx's certificate |
//! | `OBSCURA_PACS_SPKI` | base64 SHA-256 of the server certificate's SubjectPublicKeyInfo (Chromium's `--ignore-certificate-errors-spki-list`) |
//! | `OBSCURA_PACS_TOKEN` | the bearer token nginx requires |
//! | `OBSCURA_PACS_STORAGE` | Orthanc's storage and index directory |
//! | `OBSCURA_PACS_ACCESS_LOG` | nginx's access log (request line with query, status, bytes, Range, Referer, Origin, user agent) |
//! | `OBSCURA_PACS_ORTHANC` | Orthanc's own `http://127.0.0.1:PORT` (diagnostics; its credentials are in `DIR/orthanc.json`) |
//! | `OBSCURA_PACS_DIR` | the working directory (configurations, logs, certificates) |
//! | `OBSCURA_PACS_FAULT_PLAN` | with `--fault`: the plan file, re-read before every request (see `faultproxy.rs`) |
//! | `OBSCURA_PACS_FAULT_LOG` | with `--fault`: one line per injected fault and per plan change |
//!
//! `--bench` is for `cargo xtask bench pacs` only: nginx also routes Orthanc's whole stored files
//! (the benchmark fetches a plaintext copy of the study through them, as the viewer fetches sealed
//! bytes through the raw endpoint), and Orthanc's in-memory storage cache is off (every study is
//! read from the file system alike, whichever was read last). The test PACS never has either.
//!
//! `crates/xtask/pacs-check.sh` checks all of this for real (run it as its header says).
//!
//! # What Debian's Orthanc 1.10.1 + DICOMweb plugin 1.7 do (measured with `pacs-check.sh`)
//!
//! - STOW-RS stores Raw Data Storage carriers with our private block as they are; storing an
//!   instance again answers 200 with it listed as stored (`OverwriteInstances: false` keeps the
//!   first copy).
//! - WADO-RS answers multipart only; with `transfer-syntax=*` each part is the stored file,
//!   byte-identical.
//! - QIDO-RS instance level returns by default 00080005, 00080016, 00080018, 00080060, 0008103E,
//!   00081190 (RetrieveURL), 00100010 (when in the file), 00100020, 0020000D, 0020000E, 00200011,
//!   00200013. `includefield=TAG` adds public attributes read from the file; private ones are never
//!   returned, and `includefield=all` adds next to nothing.
//! - QIDO values are not URL-decoded: `%20` and `+` are compared literally, so an exact match on
//!   a value with spaces finds nothing; `?` (one character) and `*` work:
//!   `/instances?SeriesDescription=OBSCURA?SEALED?MANIFEST` finds every manifest across studies.
//!   Filters on private attributes are ignored (everything matches); matching is case-sensitive.
//! - QIDO reads the files: about 0.2 s per 64 MiB instance, whatever `StorageAccessOnFind` says.
//! - The raw endpoint answers the value padded to even length (a trailing 0x00): the exact length
//!   is in (0009,1012). Orthanc ignores Range (nginx answers single ranges with 206, several with
//!   200 and the whole value, unsatisfiable ones with 416) and answers every HEAD with 404 (nginx
//!   asks with GET). It sends no identifying header.
//! - The plugin builds RetrieveURLs from `Forwarded` but does not unquote `host="…"`.

use crate::{apt_install_missing, faultproxy, free_port, output, step, APT_PACKAGES};
use anyhow::{bail, Context, Result};
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Debian packages of `APT_PACKAGES` this command needs.
const PACKAGES: &[&str] = &["orthanc", "orthanc-dicomweb", "nginx-light", "openssl", "iproute2"];
const ORTHANC: &str = "/usr/sbin/Orthanc";
const DICOMWEB_PLUGIN: &str = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";
const NGINX: &str = "/usr/sbin/nginx";
/// The private tag whose raw value nginx exposes: the sealed bytes of a carrier.
const SEALED_TAG: &str = "0009-1010";
/// A file that marks a directory as ours, so that `--dir` never wipes anything else.
const MARKER: &str = ".obscura-pacs";
/// Orthanc's user; only nginx knows its password.
const ORTHANC_USER: &str = "obscura-nginx";

pub const USAGE: &str = "pacs [--fault PLAN] [--token TOKEN] [--viewer-origin ORIGIN]... [--basic USER:PASS] \
                         [--dir DIR] [--bench] [-- CMD ARGS...]";

struct Options {
    fault: Option<String>,
    token: Option<String>,
    origins: Vec<String>,
    basic: Option<String>,
    dir: PathBuf,
    /// `--bench` (`cargo xtask bench pacs`): also expose Orthanc's whole stored files, and turn
    /// Orthanc's in-memory storage cache off.
    bench: bool,
    cmd: Vec<String>,
}

fn parse(root: &Path, args: &[String]) -> Result<Options> {
    let mut o = Options {
        fault: None,
        token: None,
        origins: vec![],
        basic: None,
        dir: root.join("target/pacs"),
        bench: false,
        cmd: vec![],
    };
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        let mut value = || {
            i += 1;
            args.get(i - 1).cloned().with_context(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--fault" => o.fault = Some(value()?),
            "--token" => {
                let t = value()?;
                if t.is_empty() || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)) {
                    bail!("--token: use letters, digits and -._~+/= only");
                }
                o.token = Some(t);
            }
            "--viewer-origin" => {
                let v = value()?;
                for origin in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if origin == "*"
                        || origin.ends_with('/')
                        || !origin.contains("://")
                        || origin.contains(['"', ' ', '\'', ';'])
                    {
                        bail!("--viewer-origin {origin:?}: give an exact origin like https://viewer.example:8443");
                    }
                    o.origins.push(origin.to_string());
                }
            }
            "--basic" => {
                let b = value()?;
                if !b.contains(':') || b.contains(['"', '\n']) {
                    bail!("--basic needs USER:PASS");
                }
                o.basic = Some(b);
            }
            "--dir" => o.dir = root.join(value()?),
            "--bench" => o.bench = true,
            "--" => {
                o.cmd = args[i..].to_vec();
                break;
            }
            other => bail!("unknown option {other:?}\nusage: cargo xtask {USAGE}"),
        }
    }
    if let Some(plan) = &o.fault {
        faultproxy::Plan::parse(plan).context("--fault")?;
    }
    Ok(o)
}

/// `cargo xtask pacs`: installs what is missing, then re-executes itself as `pacs-netns` in a new
/// network namespace (`unshare --net`; `--map-root-user` too when not root).
pub fn pacs(root: &Path, args: &[String]) -> Result<()> {
    parse(root, args)?;
    let mine: Vec<(&str, &str)> = APT_PACKAGES.iter().filter(|(_, p)| PACKAGES.contains(p)).copied().collect();
    apt_install_missing(&mine)?;
    let mut c = Command::new("unshare");
    c.arg("--net");
    if output(Command::new("id").arg("-u")).map(|s| s.trim() != "0").unwrap_or(true) {
        c.arg("--map-root-user");
    }
    // --kill-child: should this process die, the xtask inside dies too, and with it (through
    // their parent-death signal) every server.
    c.args(["--kill-child", "--"]).arg(std::env::current_exe()?).arg("pacs-netns").args(args);
    let err = c.exec();
    Err(err).context("could not run unshare (util-linux)")
}

/// `pacs-netns`: inside the new namespace.
pub fn inside(root: &Path, args: &[String]) -> Result<()> {
    let o = parse(root, args)?;
    crate::run(Command::new("ip").args(["link", "set", "lo", "up"]))?;
    let pacs = Pacs::start(&o)?;
    let (program, rest) = match o.cmd.split_first() {
        Some((p, r)) => (p.clone(), r.to_vec()),
        None => (std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into()), vec![]),
    };
    step(&format!("running {program} {} in the PACS namespace", rest.join(" ")));
    // SIGTERM for CMD too should this process die (its PACS is gone then).
    let status = with_parent_death_signal(&program, "TERM").args(&rest).envs(pacs.env.iter().cloned()).status();
    drop(pacs);
    let status = status.with_context(|| format!("could not start {program}"))?;
    let code = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    if code != 0 {
        eprintln!("xtask: {program} exited with {status}");
    }
    std::process::exit(code)
}

/// A server this process started; stopped when dropped.
struct Server {
    name: &'static str,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        eprintln!("xtask: {} ignored SIGTERM for 5 s; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A command for `program` that gets `signal` when this process dies (`setpriv --pdeathsig`; it
/// execs, so the PID is the program's), or a plain one without util-linux's setpriv.
fn with_parent_death_signal(program: &str, signal: &str) -> Command {
    if Path::new("/usr/bin/setpriv").exists() {
        let mut c = Command::new("/usr/bin/setpriv");
        c.args(["--pdeathsig", signal, "--", program]);
        c
    } else {
        Command::new(program)
    }
}

/// Starts `program` with its output in `log`, in its own process group (a Ctrl-C meant for CMD
/// does not reach it), with SIGKILL as its parent-death signal when `setpriv` is there.
fn spawn(name: &'static str, program: &str, args: &[&str], log: &Path) -> Result<Server> {
    let log = std::fs::File::create(log)?;
    let mut c = with_parent_death_signal(program, "KILL");
    c.args(args).stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log).process_group(0);
    let child = c.spawn().with_context(|| format!("could not start {program}"))?;
    Ok(Server { name, child })
}

struct Pacs {
    /// In start order; stopped in reverse.
    servers: Vec<Server>,
    env: Vec<(String, String)>,
}

impl Drop for Pacs {
    fn drop(&mut self) {
        while let Some(s) = self.servers.pop() {
            drop(s);
        }
    }
}

impl Pacs {
    fn start(o: &Options) -> Result<Pacs> {
        let dir = prepare_dir(&o.dir)?;
        let mut pacs = Pacs { servers: vec![], env: vec![] };

        step("making a CA and nginx's certificate (openssl, ECDSA P-256)");
        let tls = dir.join("tls");
        std::fs::create_dir_all(&tls)?;
        let spki = make_certificates(&tls)?;

        let orthanc_port = free_port()?;
        let password = random_hex(24)?;
        let storage = dir.join("storage");
        let config = dir.join("orthanc.json");
        std::fs::write(&config, orthanc_config(orthanc_port, &storage, &password, o.bench))?;
        step(&format!("starting Orthanc on 127.0.0.1:{orthanc_port} (storage {})", storage.display()));
        let orthanc_log = dir.join("orthanc.log");
        pacs.servers.push(spawn("Orthanc", ORTHANC, &[&config.to_string_lossy()], &orthanc_log)?);
        let basic = format!("Basic {}", base64(format!("{ORTHANC_USER}:{password}").as_bytes()));
        wait_until("Orthanc", &mut pacs.servers[0], &orthanc_log, Duration::from_secs(60), || {
            http_status(orthanc_port, "/system", Some(&basic)) == Some(200)
        })?;
        if http_status(orthanc_port, "/system", None) != Some(401) {
            bail!("Orthanc answers without credentials; see {}", config.display());
        }
        // Orthanc logs its ordinary start-up as warnings (W); errors (E) are worth showing.
        for error in std::fs::read_to_string(&orthanc_log)?.lines().filter(|l| l.starts_with('E')) {
            eprintln!("orthanc: {error}");
        }

        let mut upstream = orthanc_port;
        if let Some(plan) = &o.fault {
            let plan_file = dir.join("fault-plan.txt");
            let log = dir.join("fault.log");
            upstream = faultproxy::start(orthanc_port, &plan_file, plan, &log)?;
            step(&format!("fault proxy on 127.0.0.1:{upstream}, plan {plan:?} (file {})", plan_file.display()));
            pacs.env.push(("OBSCURA_PACS_FAULT_PLAN".into(), plan_file.display().to_string()));
            pacs.env.push(("OBSCURA_PACS_FAULT_LOG".into(), log.display().to_string()));
        }

        let token = match &o.token {
            Some(t) => t.clone(),
            None => random_hex(32)?,
        };
        let port = free_port()?;
        let conf = dir.join("nginx.conf");
        let nginx = NginxConfig {
            dir: &dir,
            port,
            upstream,
            keepalive: o.fault.is_none(),
            token: &token,
            basic: o.basic.as_deref(),
            origins: &o.origins,
            orthanc_auth: &basic,
            bench: o.bench,
        };
        std::fs::write(&conf, nginx.render())?;
        for t in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            std::fs::create_dir_all(dir.join("nginx-tmp").join(t))?;
        }
        step(&format!("starting nginx on https://127.0.0.1:{port} (HTTP/2, TLS)"));
        let error_log = dir.join("nginx-error.log");
        let prefix = format!("{}/", dir.display());
        pacs.servers.push(spawn(
            "nginx",
            NGINX,
            &["-e", &error_log.to_string_lossy(), "-p", &prefix, "-c", &conf.to_string_lossy()],
            &dir.join("nginx.out"),
        )?);
        let last = pacs.servers.len() - 1;
        wait_until("nginx", &mut pacs.servers[last], &error_log, Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        })?;

        let base = format!("https://127.0.0.1:{port}");
        let env = [
            ("OBSCURA_PACS_URL", format!("{base}/dicom-web")),
            ("OBSCURA_PACS_RAW", format!("{base}/orthanc")),
            ("OBSCURA_PACS_CA", tls.join("ca.pem").display().to_string()),
            ("OBSCURA_PACS_SPKI", spki),
            ("OBSCURA_PACS_TOKEN", token),
            ("OBSCURA_PACS_STORAGE", storage.display().to_string()),
            ("OBSCURA_PACS_ACCESS_LOG", dir.join("nginx-access.log").display().to_string()),
            ("OBSCURA_PACS_ORTHANC", format!("http://127.0.0.1:{orthanc_port}")),
            ("OBSCURA_PACS_DIR", dir.display().to_string()),
        ];
        pacs.env.extend(env.into_iter().map(|(k, v)| (k.to_string(), v)));
        pacs.env.sort();
        for (k, v) in &pacs.env {
            eprintln!("  {k}={v}");
        }
        Ok(pacs)
    }
}

/// Empties `dir` (only if it is ours or empty) and returns it absolute.
fn prepare_dir(dir: &Path) -> Result<PathBuf> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)?.next().is_none();
        if !empty && !dir.join(MARKER).exists() {
            bail!("{} is not empty and was not made by cargo xtask pacs; refusing to wipe it", dir.display());
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("wiping {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(MARKER), "made by cargo xtask pacs; wiped at each start\n")?;
    Ok(dir.canonicalize()?)
}

/// Waits until `ready()`; fails with the tail of `log` if the server exits or time runs out.
fn wait_until(
    name: &str,
    server: &mut Server,
    log: &Path,
    timeout: Duration,
    mut ready: impl FnMut() -> bool,
) -> Result<()> {
    let start = Instant::now();
    loop {
        if ready() {
            return Ok(());
        }
        let exited = server.child.try_wait()?;
        if exited.is_some() || start.elapsed() > timeout {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            eprintln!("--- the last lines of {} ---", log.display());
            for l in &lines[lines.len().saturating_sub(30)..] {
                eprintln!("{l}");
            }
            match exited {
                Some(status) => bail!("{name} exited during start-up ({status}); its log is {}", log.display()),
                None => bail!("{name} not ready after {timeout:?}; its log is {}", log.display()),
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The status of `GET path` on `127.0.0.1:port` (plain HTTP/1.1), if anything answers.
fn http_status(port: u16, path: &str, authorization: Option<&str>) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let auth = authorization.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n").ok()?;
    // Read the whole answer: Orthanc logs an error for one not read to the end.
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).ok()?;
    std::str::from_utf8(answer.get(9..12)?).ok()?.parse().ok()
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Runs openssl with `input` on stdin; its stdout.
fn openssl(args: &[&str], input: &[u8]) -> Result<Vec<u8>> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("could not run openssl")?;
    child.stdin.take().unwrap().write_all(input)?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("openssl {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    }
    Ok(out.stdout)
}

/// A CA and a server certificate for 127.0.0.1 and localhost in `tls`; returns the server's SPKI
/// hash (base64 SHA-256 of its DER SubjectPublicKeyInfo).
fn make_certificates(tls: &Path) -> Result<String> {
    let p = |f: &str| tls.join(f).to_string_lossy().into_owned();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    let (ca_key, ca_pem) = (p("ca.key"), p("ca.pem"));
    ca.extend(["-keyout", &ca_key, "-out", &ca_pem, "-days", "30", "-subj", "/CN=Obscura test PACS CA"]);
    ca.extend(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(&ca, b"")?;
    let (key, csr, pem) = (p("server.key"), p("server.csr"), p("server.pem"));
    let mut req = vec!["req"];
    req.extend(ec);
    req.extend(["-keyout", &key, "-out", &csr, "-subj", "/CN=127.0.0.1"]);
    openssl(&req, b"")?;
    let ext = p("server.ext");
    std::fs::write(
        &ext,
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n\
         subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )?;
    let serial = format!("0x{}", random_hex(16)?);
    let mut sign = vec!["x509", "-req", "-sha256", "-days", "30", "-set_serial", &serial, "-extfile", &ext];
    sign.extend(["-in", &csr, "-CA", &ca_pem, "-CAkey", &ca_key, "-out", &pem]);
    openssl(&sign, b"")?;
    let public = openssl(&["x509", "-in", &pem, "-noout", "-pubkey"], b"")?;
    let der = openssl(&["pkey", "-pubin", "-outform", "DER"], &public)?;
    let digest = openssl(&["dgst", "-sha256", "-binary"], &der)?;
    Ok(base64(&digest))
}

fn json_string(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Orthanc's configuration: HTTP only (no DICOM port), on `port`, one user, the DICOMweb plugin.
/// With `bench`, Orthanc's in-memory cache of stored files (128 MB by default, least recently used)
/// is off, so that every study is read alike, from the file system (and so the OS page cache),
/// whichever was read last.
fn orthanc_config(port: u16, storage: &Path, password: &str, bench: bool) -> String {
    let storage = json_string(&storage.to_string_lossy());
    let storage_cache = if bench { "\n  \"MaximumStorageCacheSize\": 0," } else { "" };
    format!(
        r#"{{
  "Name": "ObscuraTestPACS",
  "StorageDirectory": {storage},
  "IndexDirectory": {storage},
  "StorageCompression": false,{storage_cache}
  "HttpPort": {port},
  "HttpServerEnabled": true,
  "RemoteAccessAllowed": true,
  "AuthenticationEnabled": true,
  "RegisteredUsers": {{ "{ORTHANC_USER}": {password} }},
  "HttpCompressionEnabled": false,
  "HttpDescribeErrors": true,
  "KeepAlive": true,
  "TcpNoDelay": true,
  "HttpThreadsCount": 50,
  "HttpTimeout": 60,
  "HttpsCACertificates": "/etc/ssl/certs/ca-certificates.crt",
  "DicomServerEnabled": false,
  "DicomModalities": {{}},
  "OrthancPeers": {{}},
  "OrthancExplorerEnabled": false,
  "WebDavEnabled": false,
  "ExecuteLuaEnabled": false,
  "RestApiWriteToFileSystemEnabled": false,
  "SaveJobs": false,
  "OverwriteInstances": false,
  "StableAge": 2,
  "StoreMD5ForAttachments": true,
  "LimitFindResults": 0,
  "LimitFindInstances": 0,
  "Plugins": [ {plugin} ],
  "DicomWeb": {{
    "Enable": true,
    "Root": "/dicom-web/",
    "EnableWado": false,
    "Ssl": true,
    "QidoCaseSensitive": true
  }}
}}
"#,
        password = json_string(password),
        plugin = json_string(DICOMWEB_PLUGIN),
    )
}

struct NginxConfig<'a> {
    dir: &'a Path,
    port: u16,
    upstream: u16,
    /// Keep upstream connections open (not with the fault proxy: it closes each one).
    keepalive: bool,
    token: &'a str,
    basic: Option<&'a str>,
    origins: &'a [String],
    /// The `Authorization` header nginx sends to Orthanc.
    orthanc_auth: &'a str,
    /// Also route `GET /orthanc/instances/{id}/file` (`--bench`).
    bench: bool,
}

impl NginxConfig<'_> {
    fn render(&self) -> String {
        let d = self.dir.display();
        // nginx compares map strings case-insensitively: regexes keep the secrets case-sensitive.
        let exact = |s: &str| -> String {
            s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("\\{c}") }).collect()
        };
        let mut authorized = format!("        \"~^[Bb]earer {}$\" 1;\n", exact(self.token));
        if let Some(b) = self.basic {
            authorized.push_str(&format!("        \"~^[Bb]asic {}$\" 1;\n", exact(&base64(b.as_bytes()))));
        }
        let origins: String = self.origins.iter().map(|o| format!("        \"{o}\" \"{o}\";\n")).collect();
        // `cargo xtask bench pacs` fetches the plaintext study's files the way the viewer fetches
        // sealed bytes (Orthanc's REST API, one whole body): never in the test PACS.
        let bench_route = if self.bench {
            r#"
        # --bench only: the whole stored file of an instance (the benchmark's plaintext study).
        location ~ "^/orthanc(?<obscura_file>/instances/[0-9a-f]{8}(-[0-9a-f]{8}){4}/file)$" {
            limit_except GET {
                deny all;
            }
            proxy_pass http://obscura_orthanc$obscura_file;
        }
"#
        } else {
            ""
        };
        let (keepalive, upstream_headers) = if self.keepalive {
            ("        keepalive 32;\n        # under Orthanc's fixed `Keep-Alive: timeout=1`, so nginx closes first\n        keepalive_timeout 500ms;\n", "        proxy_set_header Connection \"\";\n")
        } else {
            // The fault proxy counts GETs; HEADs reach it as GETs (below), so it needs the method.
            ("", "        proxy_set_header X-Obscura-Method $request_method;\n")
        };
        format!(
            r#"# generated by cargo xtask pacs
daemon off;
master_process off;
pid "{d}/nginx.pid";
error_log "{d}/nginx-error.log" notice;

events {{
    worker_connections 4096;
}}

http {{
    server_tokens off;
    default_type application/octet-stream;
    log_format obscura '$remote_addr [$time_iso8601] "$request" $status $body_bytes_sent '
                       'range="$http_range" referer="$http_referer" origin="$http_origin" '
                       'ua="$http_user_agent" $server_protocol $request_time';
    access_log "{d}/nginx-access.log" obscura;
    client_body_temp_path "{d}/nginx-tmp/body";
    proxy_temp_path "{d}/nginx-tmp/proxy";
    fastcgi_temp_path "{d}/nginx-tmp/fastcgi";
    uwsgi_temp_path "{d}/nginx-tmp/uwsgi";
    scgi_temp_path "{d}/nginx-tmp/scgi";
    client_max_body_size 2g;
    keepalive_requests 100000;
    gzip off;

    # Every request but a CORS preflight needs the bearer token (or the --basic credentials).
    map $http_authorization $obscura_authorized {{
        default 0;
{authorized}    }}
    map $status $obscura_www_authenticate {{
        401 'Bearer realm="obscura-pacs"';
        default "";
    }}
    # CORS only for the configured viewer origins.
    map $http_origin $obscura_cors_origin {{
        default "";
{origins}    }}
    map "$request_method:$obscura_cors_origin" $obscura_cors_methods {{
        default "";
        "~^OPTIONS:." "GET, HEAD, POST";
    }}
    map "$request_method:$obscura_cors_origin" $obscura_cors_headers {{
        default "";
        "~^OPTIONS:." "Authorization, Range, Accept, Content-Type";
    }}
    map "$request_method:$obscura_cors_origin" $obscura_cors_max_age {{
        default "";
        "~^OPTIONS:." "600";
    }}
    map $obscura_cors_origin $obscura_cors_expose {{
        "" "";
        default "Content-Range, Content-Length, Accept-Ranges, Content-Type, ETag";
    }}

    map $request_method $obscura_upstream_method {{
        HEAD GET;
        default $request_method;
    }}

    upstream obscura_orthanc {{
        server 127.0.0.1:{upstream};
{keepalive}    }}

    server {{
        listen 127.0.0.1:{port} ssl http2;
        server_name 127.0.0.1 localhost;
        ssl_certificate "{d}/tls/server.pem";
        ssl_certificate_key "{d}/tls/server.key";
        ssl_protocols TLSv1.2 TLSv1.3;

        add_header WWW-Authenticate $obscura_www_authenticate always;
        add_header Access-Control-Allow-Origin $obscura_cors_origin always;
        add_header Access-Control-Allow-Methods $obscura_cors_methods always;
        add_header Access-Control-Allow-Headers $obscura_cors_headers always;
        add_header Access-Control-Max-Age $obscura_cors_max_age always;
        add_header Access-Control-Expose-Headers $obscura_cors_expose always;
        add_header Vary Origin always;

        if ($request_method = OPTIONS) {{
            return 204;
        }}
        if ($obscura_authorized = 0) {{
            return 401;
        }}

        proxy_http_version 1.1;
{upstream_headers}        proxy_set_header Authorization "{orthanc_auth}";
        proxy_set_header Host $http_host;
        # The DICOMweb plugin builds its RetrieveURLs from this (it does not unquote host="…").
        proxy_set_header Forwarded "proto=https;host=$http_host";
        # Orthanc answers every HEAD with 404: ask with GET, nginx sends the headers only.
        proxy_method $obscura_upstream_method;
        proxy_hide_header WWW-Authenticate;
        proxy_hide_header X-Powered-By;
        proxy_request_buffering off;
        proxy_buffering off;
        proxy_max_temp_file_size 0;
        proxy_connect_timeout 10s;
        proxy_read_timeout 600s;
        proxy_send_timeout 600s;

        # DICOMweb: QIDO-RS, WADO-RS, STOW-RS (not the plugin's other routes, such as /servers).
        location ~ ^/dicom-web/(studies|series|instances)(/|$) {{
            limit_except GET POST {{
                deny all;
            }}
            proxy_pass http://obscura_orthanc;
        }}

        # Of Orthanc's own REST API, only the raw value of the sealed bytes, with byte ranges
        # (Orthanc ignores Range; nginx answers 206 itself).
        location ~ "^/orthanc(?<obscura_raw>/instances/[0-9a-f]{{8}}(-[0-9a-f]{{8}}){{4}}/content/{SEALED_TAG})$" {{
            limit_except GET {{
                deny all;
            }}
            proxy_force_ranges on;
            proxy_pass http://obscura_orthanc$obscura_raw;
        }}
{bench_route}
        location / {{
            return 404;
        }}
    }}
}}
"#,
            port = self.port,
            upstream = self.upstream,
            orthanc_auth = self.orthanc_auth,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn bench_routes_and_cache_only_with_bench() {
        let dir = Path::new("/tmp/obscura-pacs-test");
        let nginx = |bench| {
            super::NginxConfig {
                dir,
                port: 1,
                upstream: 2,
                keepalive: true,
                token: "t",
                basic: None,
                origins: &[],
                orthanc_auth: "Basic x",
                bench,
            }
            .render()
        };
        assert!(!nginx(false).contains("/file)$"));
        assert!(nginx(true).contains("/file)$\""));
        assert!(!super::orthanc_config(1, dir, "p", false).contains("MaximumStorageCacheSize"));
        assert!(super::orthanc_config(1, dir, "p", true).contains("\"MaximumStorageCacheSize\": 0,"));
    }

    #[test]
    fn base64() {
        for (i, o) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
            assert_eq!(super::base64(i.as_bytes()), o);
        }
    }
}

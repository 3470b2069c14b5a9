//! The gateway's side of a DICOMweb server: a blocking HTTP/1.1 client (ureq over rustls),
//! credentials that never come from the command line, the TLS roots, and retries of transient
//! failures. Used by `obscura push` and `obscura inspect --remote`.
//!
//! Secrets: a bearer token or `user:password` is read from an environment variable or a file, kept
//! in zeroising buffers, sent only in the `Authorization` header (never across a redirect: redirects
//! are not followed), and scrubbed from any server text an error message quotes.

use anyhow::{anyhow, bail, Context, Result};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use obscura_dicomweb::layout::Store;
use std::path::{Path, PathBuf};
use std::time::Duration;
use zeroize::Zeroizing;

/// How to reach the server: TLS roots and credentials (the URL is the command's own option).
#[derive(clap::Args, Debug, Clone, Default)]
#[command(group(clap::ArgGroup::new("credentials").multiple(false)))]
pub struct ConnectArgs {
    /// PEM file of the CA(s) that issued the server's certificate; replaces the built-in Mozilla roots.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Name of the environment variable that holds a bearer token (the token itself is never an argument).
    #[arg(long, value_name = "VAR", group = "credentials")]
    pub token_env: Option<String>,
    /// File whose first line is a bearer token ("-" for stdin).
    #[arg(long, value_name = "FILE", group = "credentials")]
    pub token_file: Option<PathBuf>,
    /// Name of the environment variable that holds HTTP basic credentials as user:password.
    #[arg(long, value_name = "VAR", group = "credentials")]
    pub basic_env: Option<String>,
    /// File whose first line is HTTP basic credentials as user:password ("-" for stdin).
    #[arg(long, value_name = "FILE", group = "credentials")]
    pub basic_file: Option<PathBuf>,
}

impl ConnectArgs {
    /// Whether any credential or TLS option was given.
    pub fn any(&self) -> bool {
        self.ca_file.is_some()
            || self.token_env.is_some()
            || self.token_file.is_some()
            || self.basic_env.is_some()
            || self.basic_file.is_some()
    }
}

/// A credential and where it came from (the "where" is safe to print; the value never is).
struct Credential {
    /// The `Authorization` header value.
    header: Zeroizing<String>,
    /// The secret as given, to scrub it from any text we print.
    secret: Zeroizing<String>,
    /// "bearer token" or "basic credentials".
    kind: &'static str,
    /// "environment variable PACS_TOKEN", "file ./token.txt", "standard input".
    source: String,
}

/// An environment variable name is printed only if it looks like one (capitals, digits, `_`):
/// someone who passed the token itself by mistake must not find it in a log.
fn printable_var_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

fn read_credential(args: &ConnectArgs) -> Result<Option<Credential>> {
    let (secret, bearer, source) = if let Some(var) = args.token_env.as_deref().or(args.basic_env.as_deref()) {
        let option = if args.token_env.is_some() { "--token-env" } else { "--basic-env" };
        if !printable_var_name(var) {
            bail!(
                "{option} takes the NAME of an environment variable (capitals, digits and _, e.g. PACS_TOKEN), \
                 and what was given is not one; if it was the secret itself, it is now in your shell history: \
                 revoke it, put the new one in an environment variable and give that variable's name"
            );
        }
        let value = match std::env::var(var) {
            Ok(v) => Zeroizing::new(v),
            Err(std::env::VarError::NotPresent) => {
                bail!("{option} {var}: the environment variable {var} is not set (export it before running obscura)")
            }
            Err(std::env::VarError::NotUnicode(_)) => bail!("{option} {var}: the value of {var} is not UTF-8"),
        };
        (value, args.token_env.is_some(), format!("environment variable {var}"))
    } else if let Some(path) = args.token_file.as_deref().or(args.basic_file.as_deref()) {
        let option = if args.token_file.is_some() { "--token-file" } else { "--basic-file" };
        let value = read_first_line(path, option)?;
        let source =
            if path == Path::new("-") { "standard input".to_string() } else { format!("file {}", path.display()) };
        (value, args.token_file.is_some(), source)
    } else {
        return Ok(None);
    };
    let secret = Zeroizing::new(secret.trim().to_string());
    if secret.is_empty() {
        bail!("the credential in {source} is empty");
    }
    if secret.chars().any(|c| c.is_control()) {
        bail!("the credential in {source} holds control characters; it cannot be sent in an HTTP header");
    }
    if bearer {
        let header = Zeroizing::new(format!("Bearer {}", secret.as_str()));
        Ok(Some(Credential { header, secret, kind: "bearer token", source }))
    } else {
        if !secret.contains(':') {
            bail!("the basic credentials in {source} must be user:password (no ':' found)");
        }
        let header = Zeroizing::new(format!("Basic {}", B64.encode(secret.as_bytes())));
        Ok(Some(Credential { header, secret, kind: "basic credentials", source }))
    }
}

fn read_first_line(path: &Path, option: &str) -> Result<Zeroizing<String>> {
    let text = Zeroizing::new(if path == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .with_context(|| format!("{option} -: cannot read standard input"))?;
        s
    } else {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(path) {
                if meta.permissions().mode() & 0o004 != 0 {
                    eprintln!(
                        "warning: {} is readable by every user of this machine; `chmod 600` it and consider the credential exposed",
                        path.display()
                    );
                }
            }
        }
        std::fs::read_to_string(path).with_context(|| format!("{option}: cannot read {}", path.display()))?
    });
    Ok(Zeroizing::new(text.lines().next().unwrap_or_default().to_string()))
}

/// Checks a DICOMweb base URL: http(s), a host, no credentials, no query or fragment.
pub fn check_base_url(url: &str, option: &str) -> Result<String> {
    let hint = "a DICOMweb base URL is like https://pacs.example.org/dicom-web";
    let Some((scheme, rest)) = url.split_once("://") else {
        bail!("{option}: not a URL ({hint})");
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        bail!("{option}: the scheme must be https or http ({hint})");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        // Never echo it: it holds a password.
        bail!("{option}: the URL holds credentials (user:password@); give them with --basic-env or --basic-file instead, and consider them exposed");
    }
    if authority.is_empty() || authority.starts_with(':') {
        bail!("{option} {url}: the URL has no host ({hint})");
    }
    if url.contains(['?', '#']) {
        bail!("{option} {url}: a base URL has no query or fragment ({hint})");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("{option}: the URL holds spaces or control characters");
    }
    url.parse::<ureq::http::Uri>().map_err(|e| anyhow!("{option} {url}: not a valid URL ({e})"))?;
    Ok(url.trim_end_matches('/').to_string())
}

/// Reads the CA certificates of a PEM file.
fn read_ca_file(path: &Path) -> Result<Vec<ureq::tls::Certificate<'static>>> {
    let pem = std::fs::read(path).with_context(|| format!("--ca-file: cannot read {}", path.display()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => bail!("--ca-file: {} is not a valid PEM file ({e})", path.display()),
        }
    }
    if certs.is_empty() {
        bail!("--ca-file: {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display());
    }
    Ok(certs)
}

/// One answer: status and body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// The `Location` header (for the message about a redirect).
    location: Option<String>,
    content_type: Option<String>,
    retry_after: Option<u64>,
}

/// Why a request did not give a usable answer.
#[derive(Debug)]
pub enum Failure {
    /// Worth trying again: 5xx, 408, 429, a reset connection, a timeout.
    Transient(String),
    /// The server refused what this request carried (a 4xx other than 401/403): other requests may pass.
    Refused(String),
    /// Trying again, or anything else, would not help (credentials, TLS, a redirect, the URL).
    Permanent(anyhow::Error),
}

impl Failure {
    pub fn into_error(self) -> anyhow::Error {
        match self {
            Failure::Transient(m) | Failure::Refused(m) => anyhow!("{m}"),
            Failure::Permanent(e) => e,
        }
    }
}

/// A URL without its query, for messages.
fn short(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// A DICOMweb server, ready to ask.
pub struct Remote {
    agent: ureq::Agent,
    base: String,
    store: Store,
    credential: Option<Credential>,
    tls_note: &'static str,
    /// How many times a transient failure is retried.
    pub retries: u32,
}

/// Largest answer read (QIDO pages and metadata are small; this keeps a hostile server from filling memory).
const MAX_ANSWER: u64 = 64 * 1024 * 1024;

impl Remote {
    /// Checks the URL, reads credentials and the CA file, and makes the client (no request yet).
    pub fn new(url: &str, option: &str, args: &ConnectArgs, connections: usize) -> Result<Self> {
        let base = check_base_url(url, option)?;
        let credential = read_credential(args)?;
        let https = base.to_ascii_lowercase().starts_with("https://");
        let mut tls = ureq::tls::TlsConfig::builder();
        let mut tls_note = "TLS: the built-in Mozilla roots";
        if let Some(path) = &args.ca_file {
            let certs = read_ca_file(path)?;
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
            tls_note = "TLS: only the CA(s) of --ca-file";
            if !https {
                eprintln!("warning: --ca-file is not used with an http:// URL");
            }
        }
        if !https {
            tls_note = "no TLS (http://)";
            if credential.is_some() && !is_loopback(&base) {
                eprintln!(
                    "warning: {} is not https: the credentials cross the network in clear (the sealed data stay encrypted)",
                    base
                );
            }
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_idle_connections_per_host(connections.max(1))
            .max_idle_connections(connections.max(1))
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_recv_response(Some(Duration::from_secs(300)))
            .timeout_per_read(Some(Duration::from_secs(120)))
            .timeout_per_write(Some(Duration::from_secs(120)))
            .user_agent(concat!("obscura/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .build();
        Ok(Remote { agent: config.into(), store: Store::dicomweb(&base), base, credential, tls_note, retries: 4 })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// "bearer token from environment variable X", "no credentials"; and the TLS roots.
    pub fn describe(&self) -> String {
        let who = match &self.credential {
            Some(c) => format!("{} from {}", c.kind, c.source),
            None => "no credentials".to_string(),
        };
        format!("{who}; {}", self.tls_note)
    }

    /// Removes the secret from server text before it is printed.
    fn scrub(&self, text: &str) -> String {
        let mut text: String = text.chars().filter(|c| !c.is_control() || *c == ' ').take(300).collect();
        if let Some(c) = &self.credential {
            for s in [c.secret.as_str(), c.header.as_str()] {
                if !s.is_empty() {
                    text = text.replace(s, "[redacted]");
                }
            }
            // The password half of user:password on its own too.
            if let Some((_, pass)) = c.secret.split_once(':') {
                if pass.len() >= 4 {
                    text = text.replace(pass, "[redacted]");
                }
            }
        }
        text
    }

    /// One request, once. `op` names what is asked ("list studies", "store instances").
    fn once(&self, method: &str, url: &str, accept: &str, body: Option<(&str, &[u8])>) -> Result<Answer, Failure> {
        let result = match body {
            None => {
                let mut req = self.agent.get(url).header("Accept", accept);
                if let Some(c) = &self.credential {
                    req = req.header("Authorization", c.header.as_str());
                }
                req.call()
            }
            Some((content_type, bytes)) => {
                debug_assert_eq!(method, "POST");
                let mut req = self.agent.post(url).header("Accept", accept).header("Content-Type", content_type);
                if let Some(c) = &self.credential {
                    req = req.header("Authorization", c.header.as_str());
                }
                req.send(bytes)
            }
        };
        let mut response = match result {
            Ok(r) => r,
            Err(e) => return Err(self.transport_failure(url, e)),
        };
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let location = header("location");
        let content_type = header("content-type");
        let retry_after = header("retry-after").and_then(|v| v.trim().parse().ok());
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .map_err(|e| self.transport_failure(url, e))?;
        Ok(Answer { status, body, location, content_type, retry_after })
    }

    fn transport_failure(&self, url: &str, e: ureq::Error) -> Failure {
        use ureq::Error as E;
        let url = short(url);
        let what = self.scrub(&e.to_string());
        match e {
            // rustls reports a refused certificate (and any TLS alert) as InvalidData on the stream:
            // no retry will change that.
            E::Io(ref io) if io.kind() == std::io::ErrorKind::InvalidData => {
                let what = self.scrub(&io.to_string());
                let hint = if what.contains("certificate") {
                    "if the server's certificate comes from a private CA, give that CA with --ca-file"
                } else {
                    "does the server speak TLS on this port?"
                };
                Failure::Permanent(anyhow!("{url}: TLS failed: {what} ({hint})"))
            }
            E::Io(_) | E::Timeout(_) | E::ConnectionFailed | E::BodyStalled | E::Protocol(_) => {
                Failure::Transient(format!("{url}: {what}"))
            }
            E::HostNotFound => Failure::Permanent(anyhow!("{url}: host not found (check the URL and the DNS)")),
            E::Tls(_) | E::Rustls(_) | E::Pem(_) => Failure::Permanent(anyhow!(
                "{url}: TLS failed: {what} (if the server's certificate comes from a private CA, give that CA with --ca-file)"
            )),
            E::BodyExceedsLimit(n) => {
                Failure::Permanent(anyhow!("{url}: the answer is larger than {n} bytes; refused"))
            }
            _ => Failure::Permanent(anyhow!("{url}: {what}")),
        }
    }

    /// What a non-2xx answer means, for people. `op` says what we were doing.
    fn status_failure(&self, url: &str, op: &str, a: &Answer) -> Failure {
        let url = short(url);
        let text = self.scrub(&String::from_utf8_lossy(&a.body));
        let text = text.trim();
        let server_says = if text.is_empty() { String::new() } else { format!(" — the server says: {text}") };
        let s = a.status;
        match s {
            401 => Failure::Permanent(anyhow!(match &self.credential {
                None => format!(
                    "{url}: the server asks for credentials (HTTP 401) to {op}: give them with --token-env VAR, \
                     --token-file FILE, --basic-env VAR or --basic-file FILE (never on the command line)"
                ),
                Some(c) => format!(
                    "{url}: the server refused the {} from {} (HTTP 401) to {op}: check that it is current and \
                     meant for this server (a bearer token may have expired), or use another credential option",
                    c.kind, c.source
                ),
            })),
            403 => Failure::Permanent(anyhow!(match &self.credential {
                None => format!(
                    "{url}: the server forbids anonymous requests to {op} (HTTP 403): give credentials with \
                     --token-env, --token-file, --basic-env or --basic-file"
                ),
                Some(c) => format!(
                    "{url}: the server accepted no right to {op} for the {} from {} (HTTP 403): ask the PACS \
                     administrator to grant it, or use credentials that have it",
                    c.kind, c.source
                ),
            })),
            301 | 302 | 303 | 307 | 308 => Failure::Permanent(anyhow!(
                "{url}: the server redirects (HTTP {s}) to {}: give that base URL instead (redirects are not followed, \
                 so credentials never go elsewhere)",
                a.location.as_deref().map(|l| self.scrub(l)).unwrap_or_else(|| "somewhere else".into())
            )),
            408 | 429 | 500..=599 => Failure::Transient(format!("{url}: HTTP {s} while trying to {op}{server_says}")),
            413 => Failure::Refused(format!(
                "{url}: the server refuses a request this large (HTTP 413) to {op}: lower --batch-mib{server_says}"
            )),
            400..=499 => Failure::Refused(format!("{url}: HTTP {s} while trying to {op}{server_says}")),
            _ => Failure::Permanent(anyhow!("{url}: HTTP {s} while trying to {op}{server_says}")),
        }
    }

    /// Runs `attempt` until it succeeds, fails permanently, or `retries` transient failures are
    /// used up (backoff 0.5 s, 1 s, 2 s, 4 s…, or the server's Retry-After up to 30 s).
    pub fn with_retries<T>(
        &self,
        mut attempt: impl FnMut(u32) -> Result<T, (Failure, Option<u64>)>,
        mut on_retry: impl FnMut(&str, Duration),
    ) -> Result<T, Failure> {
        let mut n = 0;
        loop {
            match attempt(n) {
                Ok(v) => return Ok(v),
                Err((Failure::Transient(m), retry_after)) => {
                    if n >= self.retries {
                        return Err(Failure::Transient(format!("{m} (gave up after {} attempts)", n + 1)));
                    }
                    let wait = retry_after
                        .filter(|s| *s <= 30)
                        .map(Duration::from_secs)
                        .unwrap_or(Duration::from_millis(500 << n.min(6)));
                    on_retry(&m, wait);
                    std::thread::sleep(wait);
                    n += 1;
                }
                Err((other, _)) => return Err(other),
            }
        }
    }

    /// GETs DICOM JSON (QIDO-RS, WADO-RS metadata), with retries. `None`: 404 or 204 (nothing there).
    pub fn get_json(&self, url: &str, op: &str) -> Result<Option<Vec<u8>>> {
        self.with_retries(
            |_| {
                let a =
                    self.once("GET", url, "application/dicom+json, application/json", None).map_err(|f| (f, None))?;
                match a.status {
                    200..=203 => Ok(Some(a.body)),
                    204 | 404 => Ok(None),
                    _ => Err((self.status_failure(url, op, &a), a.retry_after)),
                }
            },
            |m, wait| eprintln!("retrying in {:.1} s: {m}", wait.as_secs_f64()),
        )
        .map_err(Failure::into_error)
    }

    /// Fetches one carrier instance (WADO-RS, untranscoded) and returns its sealed bytes, after
    /// checking it is the carrier asked for.
    pub fn fetch_carrier(&self, study: &str, series: &str, sop: &str) -> Result<Vec<u8>> {
        for uid in [study, series, sop] {
            if !url_safe_uid(uid) {
                bail!("{uid:?} is not a UID of digits and dots");
            }
        }
        let url = self.store.wado_instance_url(study, series, sop);
        let answer = self
            .with_retries(
                |_| {
                    let a =
                        self.once("GET", &url, obscura_dicomweb::layout::WADO_ACCEPT, None).map_err(|f| (f, None))?;
                    match a.status {
                        200 => Ok(a),
                        _ => Err((self.status_failure(&url, "retrieve an instance (WADO-RS)", &a), a.retry_after)),
                    }
                },
                |m, wait| eprintln!("retrying in {:.1} s: {m}", wait.as_secs_f64()),
            )
            .map_err(Failure::into_error)?;
        let answer = obscura_dicomweb::client::Answer { content_type: answer.content_type, body: answer.body };
        let sealed = obscura_dicomweb::client::sealed_from_wado(&answer, sop).with_context(|| url.clone())?;
        Ok(sealed)
    }

    /// One STOW-RS request, once (the caller retries: it re-checks what arrived first).
    /// Returns the status and the answer's body.
    pub fn stow_once(&self, content_type: &str, body: &[u8]) -> Result<Answer, (Failure, Option<u64>)> {
        let url = self.store.stow_url();
        let a = self.once("POST", &url, "application/dicom+json", Some((content_type, body))).map_err(|f| (f, None))?;
        match a.status {
            // 200 all stored, 202 some stored / warnings, 409 none stored: the answer says which.
            200 | 202 | 409 => Ok(a),
            _ => {
                let f = self.status_failure(&url, "store instances (STOW-RS)", &a);
                Err((f, a.retry_after))
            }
        }
    }
}

fn is_loopback(base: &str) -> bool {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A UID that may go into a URL path: digits and dots only.
pub fn url_safe_uid(uid: &str) -> bool {
    !uid.is_empty() && uid.len() <= 64 && uid.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            check_base_url("https://pacs.example/dicom-web/", "--url").unwrap(),
            "https://pacs.example/dicom-web"
        );
        assert_eq!(
            check_base_url("http://127.0.0.1:8042/dicom-web", "--url").unwrap(),
            "http://127.0.0.1:8042/dicom-web"
        );
        for bad in ["pacs.example", "ftp://x/y", "https:///dicom-web", "https://a/b?c=d", "https://a b/"] {
            assert!(check_base_url(bad, "--url").is_err(), "{bad}");
        }
        let e = check_base_url("https://gw:s3cret@pacs.example/dicom-web", "--url").unwrap_err().to_string();
        assert!(!e.contains("s3cret") && e.contains("holds credentials"), "{e}");
    }

    #[test]
    fn loopback() {
        assert!(is_loopback("http://127.0.0.1:8042/dicom-web"));
        assert!(is_loopback("http://localhost/dicom-web"));
        assert!(is_loopback("http://[::1]:8042/x"));
        assert!(!is_loopback("http://10.0.0.1/x"));
        assert!(!is_loopback("http://pacs.example:80/x"));
    }

    #[test]
    fn variable_names_that_may_be_printed() {
        assert!(printable_var_name("PACS_TOKEN"));
        assert!(!printable_var_name("eyJhbGciOiJIUzI1NiJ9.e30.x"));
        assert!(!printable_var_name("pacs_token"));
        assert!(!printable_var_name("1TOKEN"));
        assert!(!printable_var_name(""));
    }

    #[test]
    fn secrets_are_scrubbed_from_server_text() {
        let args = ConnectArgs { basic_env: Some("OBSCURA_TEST_SCRUB".into()), ..Default::default() };
        std::env::set_var("OBSCURA_TEST_SCRUB", "gw:hunter22");
        let r = Remote::new("http://127.0.0.1:1/dicom-web", "--url", &args, 1).unwrap();
        let header = r.credential.as_ref().unwrap().header.to_string();
        let text = format!("denied for gw:hunter22 ({header}) password hunter22");
        let scrubbed = r.scrub(&text);
        assert!(!scrubbed.contains("hunter22") && !scrubbed.contains(&header[6..]), "{scrubbed}");
    }
}

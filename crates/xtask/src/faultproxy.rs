//! A fault-injecting HTTP/1.1 proxy between nginx and Orthanc (`cargo xtask pacs --fault PLAN`).
//!
//! One thread per connection, one request per connection: the proxy reads a request, forwards it
//! to Orthanc with `Connection: close`, frames the answer (Content-Length, chunked, or up to the
//! end of the connection), forwards it with `Connection: close` and closes. nginx opens a new
//! connection per request when it talks to the proxy (no upstream keep-alive in that case).
//!
//! # Plan
//!
//! A plan is a comma-separated list of items; the first item that matches a request decides:
//!
//! - `KIND@WHEN` faults the *sealed-bytes* requests whose number matches `WHEN`. Sealed-bytes
//!   requests are the GETs of Orthanc's raw endpoint (`/instances/{id}/content/{tag}`) and the
//!   WADO-RS retrieves (`/dicom-web/studies/{s}[/series/{r}[/instances/{i}[/frames/{f}]]]`);
//!   only they are numbered, from 1, in the order they reach the proxy. QIDO, STOW, metadata
//!   and HEAD requests pass untouched and are not counted.
//! - `down`: every request (any method, any path) answers 503 without reaching Orthanc.
//!
//! `WHEN` is `N` (only the Nth), `N-M` (N to M), `N+` (the Nth and every later one), `N/P` (the Nth
//! and every Pth after it: N, N+P, N+2P…) or `*` (every one).
//!
//! `KIND` is
//! - a status code `400`–`599` (`503@3`): answered by the proxy, Orthanc never sees the request;
//! - `reset`: forwarded; the client gets the headers (with the full Content-Length) and the first
//!   half of the body, then the connection closes (nginx then aborts the answer: HTTP/2
//!   RST_STREAM, or an HTTP/1.1 connection closed short of its Content-Length);
//! - `truncate[:BYTES]`: the same, with the first BYTES of the body (default: three quarters);
//! - `stall[:SECONDS]`: the headers and half the body, then nothing for SECONDS (default 20),
//!   then the connection closes;
//! - `delay:MILLIS`: forwarded whole after a pause of MILLIS.
//!
//! Orthanc ignores Range and nginx cuts ranges out of the whole answer further up, so a fault
//! on the whole body could miss the bytes asked for: for `reset`, `truncate` and `stall` the
//! proxy answers a single `Range: bytes=…` itself (206 with Content-Range) and cuts *that* body.
//!
//! Example: `503@3,reset@5,stall:5@7,truncate@11,503@20+`. `none` or an empty plan faults
//! nothing.
//!
//! The plan lives in a file that is read again before every request: when its text changes, the
//! new plan applies and the numbering restarts from 1, so a test can write `down` (the PACS is
//! gone), later `none` (it is back), or `503@1` (the very next sealed-bytes request fails).
//! Every injected fault is logged, one line each (`#N KIND REQUEST-LINE`, or `down`), together
//! with every plan change.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answered by the proxy with this status.
    Status(u16),
    /// Headers and half the body, then close.
    Reset,
    /// Headers and `Some(n)` bytes of the body (default three quarters), then close.
    Truncate(Option<u64>),
    /// Headers and half the body, then silence for this long, then close.
    Stall(Duration),
    /// The whole answer after this pause.
    Delay(Duration),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Status(c) => write!(f, "{c}"),
            Fault::Reset => write!(f, "reset"),
            Fault::Truncate(None) => write!(f, "truncate"),
            Fault::Truncate(Some(n)) => write!(f, "truncate:{n}"),
            Fault::Stall(d) => write!(f, "stall:{}", d.as_secs()),
            Fault::Delay(d) => write!(f, "delay:{}", d.as_millis()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    Range(u64, u64),
    Every { from: u64, period: u64 },
}

impl When {
    fn matches(self, n: u64) -> bool {
        match self {
            When::Range(a, b) => (a..=b).contains(&n),
            When::Every { from, period } => n >= from && (n - from).is_multiple_of(period),
        }
    }
}

/// A parsed plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    down: bool,
    items: Vec<(Fault, When)>,
}

impl Plan {
    /// Parses the plan syntax of the module docs.
    pub fn parse(text: &str) -> Result<Plan> {
        let mut plan = Plan::default();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if item == "none" {
                continue;
            }
            if item == "down" {
                plan.down = true;
                continue;
            }
            let (kind, when) = item.split_once('@').with_context(|| format!("fault {item:?}: expected KIND@WHEN"))?;
            plan.items.push((parse_kind(kind.trim())?, parse_when(when.trim())?));
        }
        Ok(plan)
    }

    /// The fault for sealed-bytes request number `n` (from 1), if any.
    pub fn fault_for(&self, n: u64) -> Option<Fault> {
        self.items.iter().find(|(_, w)| w.matches(n)).map(|(f, _)| *f)
    }
}

fn parse_kind(kind: &str) -> Result<Fault> {
    let (name, arg) = match kind.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (kind, None),
    };
    let number = |what: &str| -> Result<Option<u64>> {
        arg.map(|a| a.parse::<u64>().with_context(|| format!("fault kind {kind:?}: {what} must be a whole number")))
            .transpose()
    };
    Ok(match name {
        "reset" if arg.is_none() => Fault::Reset,
        "truncate" => Fault::Truncate(number("the byte count")?),
        "stall" => Fault::Stall(Duration::from_secs(number("the seconds")?.unwrap_or(20))),
        "delay" => Fault::Delay(Duration::from_millis(
            number("the milliseconds")?.with_context(|| "delay needs milliseconds: delay:MILLIS")?,
        )),
        code if arg.is_none() && code.len() == 3 => match code.parse::<u16>() {
            Ok(c) if (400..600).contains(&c) => Fault::Status(c),
            _ => bail!("unknown fault kind {kind:?}"),
        },
        _ => bail!("unknown fault kind {kind:?} (400-599, reset, truncate[:BYTES], stall[:SECONDS], delay:MILLIS)"),
    })
}

fn parse_when(when: &str) -> Result<When> {
    let n = |s: &str| -> Result<u64> {
        match s.trim().parse::<u64>() {
            Ok(v) if v > 0 => Ok(v),
            _ => bail!("request number {s:?} in {when:?}: expected a whole number from 1"),
        }
    };
    Ok(if when == "*" {
        When::Every { from: 1, period: 1 }
    } else if let Some(from) = when.strip_suffix('+') {
        When::Every { from: n(from)?, period: 1 }
    } else if let Some((from, period)) = when.split_once('/') {
        When::Every { from: n(from)?, period: n(period)? }
    } else if let Some((a, b)) = when.split_once('-') {
        When::Range(n(a)?, n(b)?)
    } else {
        let v = n(when)?;
        When::Range(v, v)
    })
}

struct State {
    plan_file: PathBuf,
    log: Mutex<std::fs::File>,
    current: Mutex<(String, Plan, u64)>,
}

impl State {
    fn log(&self, line: &str) {
        let mut f = self.log.lock().unwrap();
        let _ = writeln!(f, "{line}");
        let _ = f.flush();
    }

    /// Re-reads the plan file; on a change, applies it and restarts the numbering.
    fn refresh(&self) {
        let text = std::fs::read_to_string(&self.plan_file).unwrap_or_default();
        let mut cur = self.current.lock().unwrap();
        if text.trim() == cur.0.trim() {
            return;
        }
        match Plan::parse(&text) {
            Ok(plan) => {
                self.log(&format!("plan {:?}", text.trim()));
                *cur = (text, plan, 0);
            }
            Err(e) => {
                // Keep the old plan; say why once per distinct text.
                self.log(&format!("plan {:?} rejected ({e:#}); keeping the previous one", text.trim()));
                cur.0 = text;
            }
        }
    }

    /// `Some(fault)` for this request, counting sealed-bytes requests.
    fn decide(&self, method: &str, path: &str) -> (Option<Fault>, u64) {
        self.refresh();
        let mut cur = self.current.lock().unwrap();
        if cur.1.down {
            return (Some(Fault::Status(503)), 0);
        }
        if method != "GET" || !is_sealed_bytes(path) {
            return (None, 0);
        }
        cur.2 += 1;
        let n = cur.2;
        (cur.1.fault_for(n), n)
    }
}

/// Orthanc's raw endpoint or a WADO-RS retrieve (not QIDO, metadata, rendered or thumbnail).
pub fn is_sealed_bytes(path: &str) -> bool {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        ["instances", id, "content", ..] => !id.is_empty(),
        ["dicom-web", rest @ ..] => {
            // studies/{s}[/series/{r}[/instances/{i}[/frames/{f}]]]: names and IDs alternate,
            // so a retrieve ends with an ID (an even number of segments).
            let names = ["studies", "series", "instances", "frames"];
            !rest.is_empty()
                && rest.len() % 2 == 0
                && rest.iter().step_by(2).zip(names).all(|(s, n)| *s == n)
                && rest.iter().skip(1).step_by(2).all(|s| !s.is_empty())
        }
        _ => false,
    }
}

/// Starts the proxy on a free loopback port in front of `127.0.0.1:upstream`; returns the port.
/// The plan is read from `plan_file` (written with `initial` first); faults go to `log_file`.
pub fn start(upstream: u16, plan_file: &Path, initial: &str, log_file: &Path) -> Result<u16> {
    Plan::parse(initial).context("--fault")?;
    std::fs::write(plan_file, initial)?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let state = Arc::new(State {
        plan_file: plan_file.to_path_buf(),
        log: Mutex::new(std::fs::File::create(log_file)?),
        current: Mutex::new((String::new(), Plan::default(), 0)),
    });
    state.refresh();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let state = state.clone();
            std::thread::spawn(move || {
                if let Err(e) = handle(conn, upstream, &state) {
                    // nginx hangs up early on HEAD (it asks with GET) and when its client leaves.
                    let hung_up = e.downcast_ref::<std::io::Error>().is_some_and(|e| {
                        matches!(e.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset)
                    });
                    if !hung_up {
                        state.log(&format!("proxy error: {e:#}"));
                    }
                }
            });
        }
    });
    Ok(port)
}

const TIMEOUT: Duration = Duration::from_secs(600);

/// Reads an HTTP head (up to the blank line) from `r`.
fn read_head(r: &mut impl BufRead) -> Result<Option<Vec<String>>> {
    let mut lines = Vec::new();
    let mut total = 0;
    loop {
        let mut line = Vec::new();
        let n = r.read_until(b'\n', &mut line)?;
        if n == 0 {
            if lines.is_empty() {
                return Ok(None);
            }
            bail!("connection closed inside an HTTP head");
        }
        total += n;
        if total > 256 * 1024 {
            bail!("HTTP head over 256 KiB");
        }
        let line = String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            if lines.is_empty() {
                continue; // a stray CRLF between messages
            }
            return Ok(Some(lines));
        }
        lines.push(line);
    }
}

fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head[1..].iter().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The head with hop-by-hop framing replaced: no Connection/Keep-Alive, `Connection: close`,
/// and (when `length` is given) a Content-Length instead of any Transfer-Encoding.
fn rewrite_head(head: &[String], length: Option<u64>) -> Vec<u8> {
    let mut out = String::new();
    out.push_str(&head[0]);
    out.push_str("\r\n");
    for l in &head[1..] {
        let name = l.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
        let drop = matches!(name.as_str(), "connection" | "keep-alive" | "proxy-connection")
            || (length.is_some() && matches!(name.as_str(), "content-length" | "transfer-encoding"));
        if !drop {
            out.push_str(l);
            out.push_str("\r\n");
        }
    }
    if let Some(n) = length {
        out.push_str(&format!("Content-Length: {n}\r\n"));
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

fn framing(head: &[String], is_response: bool, no_body: bool) -> Result<Framing> {
    if no_body {
        return Ok(Framing::None);
    }
    if header(head, "transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        return Ok(Framing::Chunked);
    }
    match header(head, "content-length") {
        Some(v) => Ok(Framing::Length(v.parse().with_context(|| format!("bad Content-Length {v:?}"))?)),
        None if is_response => Ok(Framing::UntilClose),
        None => Ok(Framing::None),
    }
}

/// Copies one body from `r` to `w` as it is framed (chunked bodies keep their chunking).
fn copy_body(r: &mut impl BufRead, w: &mut impl Write, framing: &Framing) -> Result<()> {
    match framing {
        Framing::None => {}
        Framing::Length(n) => {
            let copied = std::io::copy(&mut r.take(*n), w)?;
            if copied != *n {
                bail!("body ended after {copied} of {n} bytes");
            }
        }
        Framing::UntilClose => {
            std::io::copy(r, w)?;
        }
        Framing::Chunked => loop {
            let mut line = Vec::new();
            if r.read_until(b'\n', &mut line)? == 0 {
                bail!("chunked body ended early");
            }
            w.write_all(&line)?;
            let text = String::from_utf8_lossy(&line);
            let size_hex = text.trim().split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size_hex, 16).with_context(|| format!("bad chunk size {size_hex:?}"))?;
            if size == 0 {
                // trailers up to the blank line
                loop {
                    let mut t = Vec::new();
                    if r.read_until(b'\n', &mut t)? == 0 {
                        return Ok(());
                    }
                    w.write_all(&t)?;
                    if t == b"\r\n" || t == b"\n" {
                        return Ok(());
                    }
                }
            }
            let copied = std::io::copy(&mut r.take(size + 2), w)?; // data + CRLF
            if copied != size + 2 {
                bail!("chunk ended early");
            }
        },
    }
    w.flush()?;
    Ok(())
}

/// Reads one whole body, de-chunked.
fn read_body(r: &mut impl BufRead, framing: &Framing) -> Result<Vec<u8>> {
    let mut raw = Vec::new();
    copy_body(r, &mut raw, framing)?;
    if !matches!(framing, Framing::Chunked) {
        return Ok(raw);
    }
    let mut body = Vec::new();
    let mut rest = &raw[..];
    loop {
        let eol = rest.iter().position(|&b| b == b'\n').context("bad chunk")?;
        let text = String::from_utf8_lossy(&rest[..eol]);
        let size = usize::from_str_radix(text.trim().split(';').next().unwrap_or("").trim(), 16)?;
        rest = &rest[eol + 1..];
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(rest.get(..size).context("bad chunk")?);
        rest = rest.get(size + 2..).context("bad chunk")?;
    }
}

/// The one satisfiable byte range of a `Range: bytes=…` header, inclusive.
fn single_range(header: &str, len: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = match (a.trim(), b.trim()) {
        ("", n) => (len.saturating_sub(n.parse().ok()?), len - 1),
        (a, "") => (a.parse().ok()?, len - 1),
        (a, b) => (a.parse().ok()?, b.parse::<u64>().ok()?.min(len - 1)),
    };
    (a <= b && a < len).then_some((a, b))
}

fn status_answer(code: u16) -> Vec<u8> {
    let reason = match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Injected Fault",
    };
    let body = format!("fault injected: {code} {reason}\n");
    format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn handle(client: TcpStream, upstream_port: u16, state: &State) -> Result<()> {
    client.set_read_timeout(Some(TIMEOUT))?;
    let mut client_w = client.try_clone()?;
    let mut client_r = BufReader::new(client);
    let Some(req) = read_head(&mut client_r)? else { return Ok(()) };
    let mut parts = req[0].split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let path = target.split('?').next().unwrap_or("");
    // nginx asks Orthanc with GET for a HEAD (Orthanc answers no HEAD) and says so in this header.
    let counted_method = header(&req, "x-obscura-method").unwrap_or(&method);
    let (fault, n) = state.decide(counted_method, path);
    if let Some(f) = fault {
        state.log(&if n == 0 { format!("down {}", req[0]) } else { format!("#{n} {f} {}", req[0]) });
    }
    if let Some(Fault::Status(code)) = fault {
        // Read the request body first: closing on unread bytes would reset the connection, and
        // nginx would answer 502 instead of this status.
        copy_body(&mut client_r, &mut std::io::sink(), &framing(&req, false, false)?)?;
        client_w.write_all(&status_answer(code))?;
        return Ok(());
    }
    if let Some(Fault::Delay(d)) = fault {
        std::thread::sleep(d);
    }

    let upstream = TcpStream::connect(("127.0.0.1", upstream_port)).context("connecting to Orthanc")?;
    upstream.set_read_timeout(Some(TIMEOUT))?;
    let mut up_w = upstream.try_clone()?;
    let mut up_r = BufReader::new(upstream);
    up_w.write_all(&rewrite_head(&req, None))?;
    copy_body(&mut client_r, &mut up_w, &framing(&req, false, false)?)?;

    let no_body = |head: &[String]| {
        let code: u16 = head[0].split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        method == "HEAD" || code / 100 == 1 || code == 204 || code == 304
    };
    // Interim answers (100 Continue) pass through as they are.
    let resp = loop {
        let head = read_head(&mut up_r)?.context("Orthanc closed without answering")?;
        if head[0].split_whitespace().nth(1).is_some_and(|c| c.starts_with('1')) {
            client_w.write_all(format!("{}\r\n\r\n", head[0]).as_bytes())?;
            continue;
        }
        break head;
    };
    let resp_framing = framing(&resp, true, no_body(&resp))?;

    match fault {
        None | Some(Fault::Delay(_)) | Some(Fault::Status(_)) => {
            client_w.write_all(&rewrite_head(&resp, None))?;
            copy_body(&mut up_r, &mut client_w, &resp_framing)?;
        }
        Some(f @ (Fault::Reset | Fault::Truncate(_) | Fault::Stall(_))) => {
            let mut resp = resp;
            let mut body = read_body(&mut up_r, &resp_framing)?;
            // Orthanc ignores Range (nginx answers it further up): cut the requested range, so
            // that the fault lands inside what the client asked for.
            let code = resp[0].split_whitespace().nth(1).unwrap_or("");
            if let Some((a, b)) = header(&req, "range").and_then(|r| single_range(r, body.len() as u64)) {
                if code == "200" {
                    resp[0] = "HTTP/1.1 206 Partial Content".into();
                    resp.push(format!("Content-Range: bytes {a}-{b}/{}", body.len()));
                    body = body[a as usize..=b as usize].to_vec();
                }
            }
            let len = body.len() as u64;
            let keep = match f {
                Fault::Truncate(Some(n)) => n.min(len),
                Fault::Truncate(None) => len * 3 / 4,
                _ => len / 2,
            } as usize;
            client_w.write_all(&rewrite_head(&resp, Some(len)))?;
            client_w.write_all(&body[..keep])?;
            client_w.flush()?;
            if let Fault::Stall(d) = f {
                std::thread::sleep(d);
            }
            let _ = client_w.shutdown(std::net::Shutdown::Both);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans() {
        let p = Plan::parse("503@3, reset@5,stall:5@7,truncate:10@11,500@20+,404@30/4,delay:50@40-41").unwrap();
        assert_eq!(p.fault_for(1), None);
        assert_eq!(p.fault_for(3), Some(Fault::Status(503)));
        assert_eq!(p.fault_for(5), Some(Fault::Reset));
        assert_eq!(p.fault_for(7), Some(Fault::Stall(Duration::from_secs(5))));
        assert_eq!(p.fault_for(11), Some(Fault::Truncate(Some(10))));
        assert_eq!(p.fault_for(25), Some(Fault::Status(500)));
        // the first matching item wins
        assert_eq!(p.fault_for(34), Some(Fault::Status(500)));
        assert_eq!(Plan::parse("404@30/4").unwrap().fault_for(34), Some(Fault::Status(404)));
        assert_eq!(Plan::parse("404@30/4").unwrap().fault_for(33), None);
        assert_eq!(Plan::parse("stall@*").unwrap().fault_for(9), Some(Fault::Stall(Duration::from_secs(20))));
        assert!(Plan::parse("down").unwrap().down);
        assert_eq!(Plan::parse(" none ").unwrap(), Plan::default());
        assert_eq!(Plan::parse("").unwrap(), Plan::default());
        for bad in ["503", "200@1", "reset@0", "boom@1", "delay@1", "503@x", "stall:x@1"] {
            assert!(Plan::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(single_range("bytes=10-99", 1000), Some((10, 99)));
        assert_eq!(single_range("bytes=10-", 1000), Some((10, 999)));
        assert_eq!(single_range("bytes=-5", 1000), Some((995, 999)));
        assert_eq!(single_range("bytes=990-2000", 1000), Some((990, 999)));
        assert_eq!(single_range("bytes=1000-", 1000), None);
        assert_eq!(single_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(single_range("items=0-1", 1000), None);
    }

    #[test]
    fn sealed_bytes_paths() {
        for p in [
            "/instances/a-b/content/0009-1010",
            "/dicom-web/studies/1.2",
            "/dicom-web/studies/1.2/series/3.4",
            "/dicom-web/studies/1.2/series/3.4/instances/5.6",
            "/dicom-web/studies/1.2/series/3.4/instances/5.6/frames/1",
        ] {
            assert!(is_sealed_bytes(p), "{p}");
        }
        for p in [
            "/dicom-web/studies",
            "/dicom-web/studies/1.2/instances",
            "/dicom-web/studies/1.2/series",
            "/dicom-web/instances",
            "/dicom-web/studies/1.2/metadata",
            "/dicom-web/studies/1.2/series/3.4/instances/5.6/metadata",
            "/dicom-web/studies/1.2/series/3.4/instances/5.6/rendered",
            "/system",
        ] {
            assert!(!is_sealed_bytes(p), "{p}");
        }
    }
}

//! `obscura serve`'s share-link gate over HTTP: the answers of `POST /api/share/<link>/gate`
//! (FORMAT.md §6.1) for the right and wrong verifiers, a locked, an expired, a revoked and an
//! unknown link, a malformed request; attempts persisted in the record; the request log.

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use obscura_seal::gate::GateRecord;
use obscura_seal::share::find_share;
use obscura_seal::{open_manifest, PublicKey, ShareLink};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

fn obscura(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_obscura")).args(args).current_dir(dir).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "obscura {args:?} failed: {}{}", stdout, String::from_utf8_lossy(&out.stderr));
    stdout
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// POSTs `body` and returns the status and the answer's body.
fn post(port: u16, path: &str, body: &str) -> (u16, serde_json::Value) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.to_ascii_lowercase().contains("cache-control: no-store") || status == 400, "{head}");
    (status, serde_json::from_str(body).unwrap_or_default())
}

fn share(d: &Path, uid: &str, extra: &[&str]) -> ShareLink {
    let mut args = vec!["share", "--keys", "keys", "--store", "store", "--study", uid, "--viewer-url", "https://v/"];
    args.extend_from_slice(extra);
    let out = obscura(d, &args);
    let url = out.lines().find(|l| l.starts_with("https://v/#share=1~")).expect("a link");
    ShareLink::from_fragment(url.split_once('#').unwrap().1).unwrap()
}

#[test]
fn the_gate_counts_wrong_passcodes_and_locks() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    obscura(d, &["org", "init", "--name", "St. Example", "--keys", "keys"]);
    obscura(d, &["gateway", "init", "--name", "Radiology gateway", "--keys", "keys"]);
    obscura(d, &["synthetic-ct", "--out", "ct", "--slices", "1"]);
    obscura(d, &["seal", "--keys", "keys", "--store", "store", "ct"]);
    let index = std::fs::read(d.join("store/studies/index.json")).unwrap();
    let uid = obscura_dicomweb::qido::parse_study_uids(&index).unwrap().remove(0);
    std::fs::write(d.join("code.txt"), "otter 99\n").unwrap();
    let link = share(d, &uid, &["--passcode-file", "code.txt", "--attempts", "2"]);
    let plain = share(d, &uid, &[]);
    std::fs::create_dir(d.join("site")).unwrap();
    std::fs::write(d.join("site/index.html"), "<!doctype html>").unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_obscura"))
            .args(["serve", "--keys", "keys", "--store", "store", "--site", "site", "--request-log", "requests.jsonl"])
            .args(["--port", &port.to_string()])
            .current_dir(d)
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    // The verifiers a viewer would compute.
    let org = {
        let text = std::fs::read_to_string(d.join("keys/org.pub")).unwrap();
        PublicKey::from_sec1(&B64.decode(text.lines().next().unwrap()).unwrap()).unwrap()
    };
    let manifest = {
        let listed = obscura_dicomweb::qido::parse_instances(
            &std::fs::read(d.join("store").join(obscura_dicomweb::layout::study_instances_index_path(&uid))).unwrap(),
        )
        .unwrap();
        let m = obscura_dicomweb::client::newest_manifest(listed, &uid).unwrap();
        let bytes = std::fs::read(d.join("store").join(obscura_dicomweb::layout::sealed_path(
            &m.study_uid,
            &m.series_uid,
            &m.sop_instance_uid,
        )))
        .unwrap();
        open_manifest(&bytes, &org, now(), None).unwrap()
    };
    let stanza = find_share(&uid, &manifest.body().shares, &link, now()).unwrap();
    let verifier = |code: &str| B64.encode(link.gate_verifier(&stanza.passcode_key(code).unwrap()));
    let path = format!("/api/share/{}/gate", link.link_id);
    let body = |v: String| serde_json::json!({ "verifier": v }).to_string();
    let record = || {
        GateRecord::from_json(&std::fs::read_to_string(d.join(format!("keys/gates/{}.json", link.link_id))).unwrap())
            .unwrap()
    };

    // Malformed requests cost nothing.
    assert_eq!(post(port, &path, "{}").0, 400);
    assert_eq!(post(port, &path, r#"{"verifier": "AAAA"}"#).0, 400);
    assert_eq!(post(port, "/api/share/zz/gate", &body(verifier("otter 99"))).0, 400);
    assert_eq!(record().attempts_left, 2);
    // The right passcode: the gate secret, no attempt spent.
    let (status, v) = post(port, &path, &body(verifier("otter 99")));
    assert_eq!(status, 200);
    assert_eq!(B64.decode(v["gate_secret"].as_str().unwrap()).unwrap(), record().gate_secret.unwrap().0);
    assert_eq!(record().attempts_left, 2);
    // A wrong one: 403 with the attempts left, persisted; the last one locks for good.
    let (status, v) = post(port, &path, &body(verifier("otter 98")));
    assert_eq!((status, v["attempts_left"].as_u64()), (403, Some(1)));
    assert_eq!(record().attempts_left, 1);
    let (status, v) = post(port, &path, &body(verifier("otter 97")));
    assert_eq!((status, v["locked"].as_bool()), (410, Some(true)));
    assert!(record().gate_secret.is_none(), "the gate secret is erased from the record");
    let (status, v) = post(port, &path, &body(verifier("otter 99")));
    assert_eq!((status, v["locked"].as_bool()), (410, Some(true)), "locked even for the right passcode");

    // A link without a gate record (a plain link, or revoked): 404.
    let (status, v) = post(port, &format!("/api/share/{}/gate", plain.link_id), &body(verifier("otter 99")));
    assert_eq!((status, v["revoked"].as_bool()), (404, Some(true)));
    let other = share(d, &uid, &["--passcode-file", "code.txt"]);
    let other_path = format!("/api/share/{}/gate", other.link_id);
    obscura(
        d,
        &["share", "--keys", "keys", "--store", "store", "--study", &uid, "--revoke", &other.link_id.to_string()],
    );
    assert_eq!(post(port, &other_path, &body(verifier("otter 99"))).0, 404);

    // Expired: the record says so (written here with a past expiry).
    let mut expired = record();
    expired.expires = 1_000_000_000;
    expired.attempts_left = 3;
    expired.gate_secret = Some(obscura_seal::GateSecret([9; 32]));
    std::fs::write(d.join(format!("keys/gates/{}.json", link.link_id)), expired.to_json()).unwrap();
    let (status, v) = post(port, &path, &body(verifier("otter 99")));
    assert_eq!((status, v["expired"].as_bool()), (410, Some(true)));
    assert_eq!(record().attempts_left, 3, "an expired link spends no attempt");

    // The request log has the gate requests, and no link secret in any encoding.
    let log = std::fs::read_to_string(d.join("requests.jsonl")).unwrap();
    assert!(log.lines().count() >= 10, "{log}");
    assert!(log.contains(&path) && log.contains("verifier"), "{log}");
    for l in [&link, &plain, &other] {
        let secret = l.to_fragment().split('~').nth(2).unwrap().to_owned();
        assert!(!log.contains(&secret), "the link secret is in the request log");
    }
}

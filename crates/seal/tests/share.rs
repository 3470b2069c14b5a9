//! Attacks on share links, each test named after the attack. None yields the study key.

mod common;

use common::TestRng;
use obscura_seal::gate::{GateAnswer, GateRecord};
use obscura_seal::share::{create_gated_share, create_share, find_share, open_share, unwrap_share, PasscodeParams};
use obscura_seal::*;

const UID: &str = "2.25.77";
const EXPIRES: i64 = 1_800_003_600;
const NOW: i64 = 1_800_000_000;

fn fixture(passcode: Option<&str>) -> (StudyKey, ShareStanza, ShareLink) {
    let mut rng = TestRng::new("share");
    let key = StudyKey::generate(&mut rng);
    let (stanza, link) = create_share(UID, &key, EXPIRES, passcode, PasscodeCost::TEST, &mut rng).unwrap();
    (key, stanza, link)
}

#[test]
fn share_link_round_trip() {
    let (key, stanza, link) = fixture(None);
    let parsed = ShareLink::from_fragment(&format!("#{}", link.to_fragment())).unwrap();
    assert_eq!(open_share(UID, std::slice::from_ref(&stanza), &parsed, None, NOW).unwrap(), key);
    // Expiry is inclusive; a passcode given to a link without one is ignored.
    assert_eq!(open_share(UID, &[stanza], &parsed, Some("x"), EXPIRES).unwrap(), key);
    // The fragment holds the secret; the stanza does not.
    let (_, stanza, link) = fixture(None);
    let json = serde_json::to_string(&stanza).unwrap();
    let secret_part = link.to_fragment().split('~').nth(2).unwrap().to_owned();
    assert!(!json.contains(&secret_part));
}

#[test]
fn share_link_past_expiry() {
    let (_, stanza, link) = fixture(None);
    assert_eq!(
        open_share(UID, &[stanza], &link, None, EXPIRES + 1).unwrap_err(),
        SealError::ShareExpired { expires: EXPIRES, now: EXPIRES + 1 }
    );
}

#[test]
fn share_link_expiry_extended_in_the_stanza() {
    // Moving the expiry forward breaks the AEAD (the expiry is associated data).
    let (_, mut stanza, link) = fixture(None);
    stanza.expires += 86_400;
    assert_eq!(
        open_share(UID, &[stanza], &link, None, EXPIRES + 1).unwrap_err(),
        SealError::Tampered { what: "share stanza" }
    );
    let (_, mut stanza, link) = fixture(Some("4711"));
    stanza.expires += 86_400;
    assert_eq!(open_share(UID, &[stanza], &link, Some("4711"), EXPIRES + 1).unwrap_err(), SealError::WrongPasscode);
}

#[test]
fn share_link_wrong_passcode() {
    let (key, stanza, link) = fixture(Some("4711"));
    assert_eq!(
        open_share(UID, std::slice::from_ref(&stanza), &link, Some("4712"), NOW).unwrap_err(),
        SealError::WrongPasscode
    );
    assert_eq!(
        open_share(UID, std::slice::from_ref(&stanza), &link, None, NOW).unwrap_err(),
        SealError::PasscodeRequired
    );
    assert_eq!(open_share(UID, &[stanza], &link, Some("4711"), NOW).unwrap(), key);
}

#[test]
fn share_link_passcode_requirement_stripped() {
    // Dropping the passcode parameters from the stanza does not turn it into a plain link.
    let (_, mut stanza, link) = fixture(Some("4711"));
    stanza.passcode = None;
    assert_eq!(open_share(UID, &[stanza], &link, None, NOW).unwrap_err(), SealError::Tampered { what: "share stanza" });
}

#[test]
fn share_link_cost_lowered() {
    // Weakening the Argon2id cost changes the derived key and the AAD: refused.
    let (_, mut stanza, link) = fixture(Some("4711"));
    let p = stanza.passcode.as_mut().unwrap();
    p.cost.t += 1;
    assert_eq!(open_share(UID, &[stanza], &link, Some("4711"), NOW).unwrap_err(), SealError::WrongPasscode);
}

#[test]
fn share_link_cost_bomb() {
    // A hostile stanza asking for gigabytes of Argon2id memory is refused before any work.
    let (_, mut stanza, link) = fixture(Some("4711"));
    stanza.passcode = Some(PasscodeParams {
        cost: PasscodeCost { m_kib: 4 * 1024 * 1024, t: 1, p: 1 },
        salt: stanza.passcode.as_ref().unwrap().salt,
        gate: false,
    });
    assert!(matches!(open_share(UID, &[stanza], &link, Some("4711"), NOW), Err(SealError::Malformed(_))));
}

#[test]
fn share_link_for_another_study() {
    let (_, stanza, link) = fixture(None);
    // The link names its study; used against another study's stanzas it opens nothing.
    assert_eq!(
        open_share("2.25.78", std::slice::from_ref(&stanza), &link, None, NOW).unwrap_err(),
        SealError::NoSuchShare { link_id: link.link_id }
    );
    // A stanza copied into another study (same link id) does not open there: the UID is in the KDF.
    let moved = ShareLink::from_fragment(&link.to_fragment().replace(UID, "2.25.78")).unwrap();
    assert_eq!(
        open_share("2.25.78", &[stanza], &moved, None, NOW).unwrap_err(),
        SealError::Tampered { what: "share stanza" }
    );
}

#[test]
fn share_link_secret_altered() {
    let (_, stanza, link) = fixture(None);
    let frag = link.to_fragment();
    let mut parts: Vec<String> = frag.split('~').map(str::to_owned).collect();
    // Change one character in the middle (the last one carries padding bits).
    let c = if parts[2].as_bytes()[5] == b'A' { "B" } else { "A" };
    parts[2].replace_range(5..6, c);
    let altered = ShareLink::from_fragment(&parts.join("~")).unwrap();
    assert_eq!(
        open_share(UID, &[stanza], &altered, None, NOW).unwrap_err(),
        SealError::Tampered { what: "share stanza" }
    );
}

#[test]
fn share_link_revoked() {
    let (_, _, link) = fixture(None);
    assert_eq!(open_share(UID, &[], &link, None, NOW).unwrap_err(), SealError::NoSuchShare { link_id: link.link_id });
}

#[test]
fn share_link_unknown_format_version() {
    let (_, _, link) = fixture(None);
    let v2 = link.to_fragment().replacen("share=1~", "share=2~", 1);
    assert_eq!(
        ShareLink::from_fragment(&v2).unwrap_err(),
        SealError::UnsupportedVersion { what: "share link", version: 2 }
    );
}

#[test]
fn share_link_damaged() {
    let (_, _, link) = fixture(None);
    let frag = link.to_fragment();
    for bad in [
        "",
        "share=1~",
        &frag[..frag.len() / 2],
        &frag.replace('~', "-"),
        &format!("{frag}\u{0}"),
        "share=1~00~AAAA~2.25.1",
        "https://example.org/",
    ] {
        assert!(ShareLink::from_fragment(bad).is_err(), "{bad:?} parsed");
    }
}

#[test]
fn share_link_empty_passcode_refused() {
    let mut rng = TestRng::new("empty");
    let key = StudyKey::generate(&mut rng);
    assert!(create_share(UID, &key, EXPIRES, Some(""), PasscodeCost::TEST, &mut rng).is_err());
}

fn gated() -> (StudyKey, ShareStanza, ShareLink, GateRecord) {
    let mut rng = TestRng::new("gated");
    let key = StudyKey::generate(&mut rng);
    let (stanza, link, gate) = create_gated_share(UID, &key, EXPIRES, "4711", PasscodeCost::TEST, &mut rng).unwrap();
    let record = GateRecord::new(link.link_id, EXPIRES, gate, 3);
    (key, stanza, link, record)
}

#[test]
fn gated_link_opens_only_with_the_gate_secret() {
    let (key, stanza, link, mut record) = gated();
    let pc = stanza.passcode_key("4711").unwrap();
    let GateAnswer::Open(secret) = record.attempt(&link.gate_verifier(&pc), NOW) else { panic!("gate refused") };
    assert_eq!(record.attempts_left, 3, "a right passcode costs nothing");
    let s = find_share(UID, std::slice::from_ref(&stanza), &link, NOW).unwrap();
    assert_eq!(unwrap_share(UID, s, &link, Some(&pc), Some(&secret)).unwrap(), key);
    // Offline guessing with the link and the manifest alone: no gate secret, no test of the passcode.
    assert_eq!(unwrap_share(UID, s, &link, Some(&pc), None).unwrap_err(), SealError::ShareGateRequired);
    assert_eq!(
        open_share(UID, std::slice::from_ref(&stanza), &link, Some("4711"), NOW).unwrap_err(),
        SealError::ShareGateRequired
    );
    // A guessed (wrong) gate secret does not open it either.
    let wrong = obscura_seal::GateSecret([7u8; 32]);
    assert_eq!(
        unwrap_share(UID, s, &link, Some(&pc), Some(&wrong)).unwrap_err(),
        SealError::Tampered { what: "share stanza" }
    );
}

#[test]
fn gated_link_gate_flag_stripped() {
    // Turning a gated stanza into a plain passcode one (to guess offline) breaks the AEAD: the
    // gate flag is in the associated data, and the wrap key needed the gate secret anyway.
    let (_, mut stanza, link, _) = gated();
    stanza.passcode.as_mut().unwrap().gate = false;
    assert_eq!(open_share(UID, &[stanza], &link, Some("4711"), NOW).unwrap_err(), SealError::WrongPasscode);
}

#[test]
fn gated_link_wrong_passcodes_lock_the_gate() {
    let (_, stanza, link, mut record) = gated();
    let verifier = |code: &str| link.gate_verifier(&stanza.passcode_key(code).unwrap());
    assert_eq!(record.attempt(&verifier("0000"), NOW), GateAnswer::Wrong { attempts_left: 2 });
    assert_eq!(record.attempt(&verifier("0001"), NOW), GateAnswer::Wrong { attempts_left: 1 });
    assert_eq!(record.attempt(&verifier("0002"), NOW), GateAnswer::Locked);
    assert!(record.gate_secret.is_none(), "the gate secret is erased for good");
    // The right passcode no longer opens the gate, even from the persisted record.
    let mut again = GateRecord::from_json(&record.to_json()).unwrap();
    assert_eq!(again.attempt(&verifier("4711"), NOW), GateAnswer::Locked);
}

#[test]
fn gated_link_expired_at_the_gate() {
    let (_, stanza, link, mut record) = gated();
    let v = link.gate_verifier(&stanza.passcode_key("4711").unwrap());
    assert_eq!(record.attempt(&v, EXPIRES + 1), GateAnswer::Expired);
}

#[test]
fn gated_link_verifier_needs_the_link_secret() {
    // The gate operator holds the verifier but not the link secret: the same passcode under
    // another link secret gives another verifier, so the record does not let it test passcodes.
    let (_, stanza, link, record) = gated();
    let mut rng = TestRng::new("other");
    let key = StudyKey::generate(&mut rng);
    let (_, other, _) = create_gated_share(UID, &key, EXPIRES, "4711", PasscodeCost::TEST, &mut rng).unwrap();
    let pc = stanza.passcode_key("4711").unwrap();
    assert_ne!(other.gate_verifier(&pc), record.verifier);
    assert_eq!(link.gate_verifier(&pc), record.verifier);
}

#[test]
fn gate_record_parsing_is_strict() {
    let (_, _, _, record) = gated();
    let json: serde_json::Value = serde_json::from_str(&record.to_json()).unwrap();
    let with = |k: &str, v: serde_json::Value| {
        let mut j = json.clone();
        j[k] = v;
        GateRecord::from_json(&j.to_string())
    };
    assert!(with("extra", serde_json::json!(1)).is_err());
    assert!(with("attempts_left", serde_json::json!(1000)).is_err());
    assert!(with("attempts_left", serde_json::json!(0)).is_err(), "a secret while no attempt is left");
    assert!(with("gate_secret", serde_json::Value::Null).is_err(), "no secret while attempts are left");
    assert!(with("gate_secret", serde_json::json!("AAAA")).is_err());
    assert!(matches!(with("format", serde_json::json!(2)), Err(SealError::UnsupportedVersion { .. })));
    assert_eq!(GateRecord::from_json(&record.to_json()).unwrap(), record);
}

#[test]
fn gated_stanza_parsing_is_strict() {
    let (_, stanza, _, _) = gated();
    let json = serde_json::to_value(&stanza).unwrap();
    assert_eq!(json["passcode"]["gate"], serde_json::json!(true));
    let with = |k: &str, v: serde_json::Value| {
        let mut j = json.clone();
        j["passcode"][k] = v;
        serde_json::from_value::<ShareStanza>(j)
    };
    assert!(with("extra", serde_json::json!(1)).is_err(), "unknown field inside passcode");
    assert!(with("gate", serde_json::json!("yes")).is_err());
    assert!(!with("gate", serde_json::json!(false)).unwrap().is_gated(), "false is the absent flag");
    // An ungated passcode stanza has no gate field at all (older links parse unchanged).
    let (_, plain, _) = fixture(Some("4711"));
    assert!(serde_json::to_value(&plain).unwrap()["passcode"].get("gate").is_none());
}

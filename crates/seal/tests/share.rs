//! Attacks on share links, each test named after the attack. None yields the study key.

mod common;

use common::TestRng;
use obscura_seal::share::{create_share, open_share, PasscodeParams};
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

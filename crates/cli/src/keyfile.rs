//! Key and certificate files of an organisation folder.
//!
//! Secret keys are written with mode 0600 and refused when the group or others may read them:
//! a key that others could have copied is no longer a secret anyone should rely on.

use anyhow::{bail, Context, Result};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use obscura_seal::{Certificate, DhSecretKey, PublicKey, SigningKey};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

const SECRET_HEADER: &str = "OBSCURA SECRET KEY v1";

/// The files of an organisation's keys folder.
#[derive(Clone)]
pub struct KeysDir(pub PathBuf);

impl KeysDir {
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    pub fn org_key(&self) -> Result<SigningKey> {
        let bytes = read_secret(&self.path("org.key"), "org-signing")?;
        SigningKey::from_bytes(&bytes).context("org.key does not hold a valid P-256 signing key")
    }
    pub fn org_public(&self) -> Result<PublicKey> {
        let path = self.path("org.pub");
        if !path.exists() {
            bail!("{} has no org.pub: --keys must be the folder `obscura org init` created", self.0.display());
        }
        read_public(&path)
    }
    pub fn gateway_key(&self) -> Result<SigningKey> {
        let bytes = read_secret(&self.path("gateway.key"), "gateway-signing")?;
        SigningKey::from_bytes(&bytes).context("gateway.key does not hold a valid P-256 signing key")
    }
    pub fn escrow_key(&self) -> Result<DhSecretKey> {
        let bytes = read_secret(&self.path("escrow.key"), "escrow-ecdh")?;
        DhSecretKey::from_bytes(&bytes).context("escrow.key does not hold a valid P-256 key")
    }
    /// " (escrow)" or " (reader \"subject\")" when this folder knows the key, else "".
    pub fn label_of(&self, id: &obscura_seal::KeyId) -> String {
        if self.certificate("escrow.cert.json").is_ok_and(|c| c.public_key.key_id() == *id) {
            return " (escrow)".into();
        }
        match self.certificate(&format!("{}/{id}.cert.json", crate::lifecycle::READERS_DIR)) {
            Ok(c) => format!(" (reader \"{}\")", c.subject),
            Err(_) => String::new(),
        }
    }
    /// gateway.cert.json, checked against the organisation key at time `t`.
    pub fn gateway_certificate(&self, org: &PublicKey, t: i64) -> Result<Certificate> {
        let cert = self.certificate("gateway.cert.json")?;
        cert.verify(org, obscura_seal::Role::Gateway, t)
            .context("the gateway certificate does not verify against org.pub; run `obscura gateway init` again")?;
        Ok(cert)
    }
    /// escrow.cert.json, checked against the organisation key at time `t`.
    pub fn escrow_certificate(&self, org: &PublicKey, t: i64) -> Result<Certificate> {
        let cert = self.certificate("escrow.cert.json")?;
        cert.verify(org, obscura_seal::Role::Escrow, t)
            .context("the escrow certificate does not verify against org.pub")?;
        Ok(cert)
    }
    pub fn certificate(&self, name: &str) -> Result<Certificate> {
        let path = self.path(name);
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        Certificate::from_json(&text).with_context(|| format!("{} is not an Obscura certificate", path.display()))
    }
}

pub fn write_secret(path: &Path, kind: &str, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    if path.exists() {
        bail!("{} already exists; refusing to overwrite a key (move it away first)", path.display());
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    let text = Zeroizing::new(format!("{SECRET_HEADER}\nkind: {kind}\n{}\n", B64.encode(bytes)));
    f.write_all(text.as_bytes())?;
    Ok(())
}

pub fn read_secret(path: &Path, kind: &str) -> Result<Zeroizing<[u8; 32]>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "{} is readable by others (mode {mode:o}); a secret key must be 0600: run `chmod 600 {}` and consider the key exposed",
                path.display(),
                path.display()
            );
        }
    }
    let text =
        Zeroizing::new(std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?);
    let mut lines = text.lines();
    if lines.next() != Some(SECRET_HEADER) {
        bail!("{} is not an Obscura secret key file", path.display());
    }
    let want = format!("kind: {kind}");
    if lines.next() != Some(want.as_str()) {
        bail!("{} is not a {kind} key", path.display());
    }
    let b64 = lines.next().unwrap_or_default();
    let bytes =
        Zeroizing::new(B64.decode(b64.trim()).with_context(|| format!("{} is damaged (bad base64)", path.display()))?);
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        bail!("{} is damaged (a key is 32 bytes, found {})", path.display(), bytes.len());
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}

pub fn write_public(path: &Path, key: &PublicKey) -> Result<()> {
    std::fs::write(path, format!("{}\n# fingerprint: {}\n", B64.encode(key.to_sec1()), key.fingerprint()))
        .with_context(|| format!("cannot write {}", path.display()))
}

pub fn read_public(path: &Path) -> Result<PublicKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let b64 = text.lines().next().unwrap_or_default();
    let bytes = B64.decode(b64.trim()).with_context(|| format!("{} is damaged (bad base64)", path.display()))?;
    PublicKey::from_sec1(&bytes).with_context(|| format!("{} does not hold a valid P-256 public key", path.display()))
}

/// Reads a reader certificate and checks it chains to `org`, grants the reader role and is valid at `t`.
pub fn read_reader_certificate(path: &Path, org: &PublicKey, t: i64) -> Result<Certificate> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let cert =
        Certificate::from_json(&text).with_context(|| format!("{} is not an Obscura certificate", path.display()))?;
    cert.verify(org, obscura_seal::Role::Reader, t)
        .with_context(|| format!("{} is not a valid reader certificate of this organisation", path.display()))?;
    Ok(cert)
}

pub fn write_certificate(path: &Path, cert: &Certificate) -> Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(cert)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))
}

//! The gates folder: one record per gated share link (`obscura_seal::gate::GateRecord`), written
//! by `obscura share`, consulted and updated by `obscura serve`'s gate endpoint, removed by
//! `obscura share --revoke` and by rotations that drop the link.
//!
//! It holds the gate secrets, so it lives with the keys (default `KEYS/gates`), never in the store
//! (which may be an untrusted PACS or CDN). Records are written whole (write, sync, rename), so a
//! crash never leaves a half record, and readable by the owner only.

use crate::keyfile::KeysDir;
use anyhow::{Context, Result};
use obscura_seal::gate::GateRecord;
use obscura_seal::LinkId;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The folder's name inside the keys folder.
pub const GATES_DIR: &str = "gates";

/// A gates folder.
#[derive(Clone)]
pub struct Gates(pub PathBuf);

impl Gates {
    /// `--gates DIR`, or `KEYS/gates`.
    pub fn new(explicit: Option<PathBuf>, keys: &KeysDir) -> Self {
        Gates(explicit.unwrap_or_else(|| keys.path(GATES_DIR)))
    }

    fn path(&self, id: &LinkId) -> PathBuf {
        self.0.join(format!("{id}.json"))
    }

    /// The record of link `id`, or `None` when there is none (revoked, or never gated).
    pub fn read(&self, id: &LinkId) -> Result<Option<GateRecord>> {
        let path = self.path(id);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => zeroize::Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        GateRecord::from_json(&text).map(Some).with_context(|| format!("{} is not a gate record", path.display()))
    }

    /// Writes (or replaces) a record atomically.
    pub fn write(&self, record: &GateRecord) -> Result<()> {
        std::fs::create_dir_all(&self.0).with_context(|| format!("cannot create {}", self.0.display()))?;
        let path = self.path(&record.link_id);
        let tmp = path.with_extension("partial");
        let text = zeroize::Zeroizing::new(record.to_json());
        write_private(&tmp, text.as_bytes())?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Removes link `id`'s record; whether there was one.
    pub fn remove(&self, id: &LinkId) -> Result<bool> {
        let path = self.path(id);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
        }
    }
}

/// Creates `path` (replacing a leftover) readable by the owner only, writes and syncs it.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))?;
    f.sync_all().with_context(|| format!("cannot write {}", path.display()))
}

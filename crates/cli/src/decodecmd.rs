//! `obscura decode`: DICOM files in, each frame's stored pixel values out (for checking our
//! decoders against reference decoders, and for people who want the raw values).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// One input file and where its outputs go (its path relative to the input it was found under).
struct Input {
    path: PathBuf,
    relative: PathBuf,
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<Input>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(root, &p, out)?;
        } else {
            let relative = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
            out.push(Input { path: p, relative });
        }
    }
    Ok(())
}

/// `<name>.dcm` → `<name>.frame<N>.raw` (any other file name keeps its extension before `.frame<N>`).
fn frame_path(out_dir: &Path, relative: &Path, frame: usize) -> PathBuf {
    let stem = if relative.extension().is_some_and(|e| e.eq_ignore_ascii_case("dcm")) {
        relative.with_extension("")
    } else {
        relative.to_path_buf()
    };
    let mut name = stem.into_os_string();
    name.push(format!(".frame{frame}.raw"));
    out_dir.join(name)
}

/// Decodes every input; prints one line per file and a summary; fails if any file failed.
pub fn decode(inputs: &[PathBuf], out_dir: &Path) -> Result<()> {
    let mut files = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).with_context(|| format!("cannot read {}", input.display()))?;
        if meta.is_dir() {
            collect(input, input, &mut files)?;
        } else {
            let name = input.file_name().map(PathBuf::from).unwrap_or_else(|| input.clone());
            files.push(Input { path: input.clone(), relative: name });
        }
    }
    if files.is_empty() {
        bail!("no file found in the input; give DICOM Part 10 files or folders");
    }
    let (mut ok, mut failed) = (0usize, 0usize);
    for f in &files {
        match decode_one(f, out_dir) {
            Ok(line) => {
                ok += 1;
                println!("{}: {line}", f.path.display());
            }
            Err(e) => {
                failed += 1;
                println!("{}: FAILED: {e:#}", f.path.display());
            }
        }
    }
    println!("{ok} decoded, {failed} failed; stored values in {}", out_dir.display());
    if failed > 0 {
        bail!("{failed} of {} files could not be decoded (see the lines above)", files.len());
    }
    Ok(())
}

fn decode_one(f: &Input, out_dir: &Path) -> Result<String> {
    let bytes = std::fs::read(&f.path).context("cannot read the file")?;
    let attrs = obscura_imaging::read_attributes(&bytes)?;
    let image = obscura_imaging::decode(&bytes)?;
    for i in 0..image.frames.len() {
        let path = frame_path(out_dir, &f.relative, i);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let data = image.stored_bytes(i).expect("frame index in range");
        std::fs::write(&path, data).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(format!(
        "{}, {}x{} x{} frames, {} samples, {}-bit {}, {:?}: ok",
        attrs.transfer_syntax_uid,
        image.columns,
        image.rows,
        image.frames.len(),
        image.samples_per_pixel,
        image.bits_allocated,
        if image.signed { "signed" } else { "unsigned" },
        image.photometric,
    ))
}

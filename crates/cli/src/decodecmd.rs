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

/// Which frames to write: a list of indices and inclusive ranges (`0,5,10-19`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameSelection(Vec<(usize, usize)>);

impl FrameSelection {
    /// Parses `0`, `0,5,9`, `10-19`.
    pub fn parse(text: &str) -> Result<Self> {
        let mut ranges = Vec::new();
        for part in text.split(',').map(str::trim) {
            let bad = || anyhow::anyhow!("--frames {text:?}: {part:?} is not a frame number or range like 3 or 10-19");
            let (a, b) = match part.split_once('-') {
                Some((a, b)) => (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?),
                None => {
                    let n = part.parse().map_err(|_| bad())?;
                    (n, n)
                }
            };
            if a > b {
                bail!("--frames {text:?}: the range {part} runs backwards; write it low-high");
            }
            ranges.push((a, b));
        }
        Ok(FrameSelection(ranges))
    }

    fn contains(&self, frame: usize) -> bool {
        self.0.iter().any(|&(a, b)| (a..=b).contains(&frame))
    }

    fn highest(&self) -> usize {
        self.0.iter().map(|&(_, b)| b).max().unwrap_or(0)
    }
}

/// What to write besides the raw frames.
pub struct Options {
    /// Only these frames (all when `None`).
    pub frames: Option<FrameSelection>,
    /// Also a PNG per frame, windowed for people.
    pub png: bool,
}

/// `<name>.dcm` → `<name>.frame<N>.<ext>` (any other file name keeps its extension before `.frame<N>`).
fn frame_path(out_dir: &Path, relative: &Path, frame: usize, ext: &str) -> PathBuf {
    let stem = if relative.extension().is_some_and(|e| e.eq_ignore_ascii_case("dcm")) {
        relative.with_extension("")
    } else {
        relative.to_path_buf()
    };
    let mut name = stem.into_os_string();
    name.push(format!(".frame{frame}.{ext}"));
    out_dir.join(name)
}

/// Decodes every input; prints one line per file and a summary; fails if any file failed.
pub fn decode(inputs: &[PathBuf], out_dir: &Path, options: &Options) -> Result<()> {
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
        match decode_one(f, out_dir, options) {
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

fn decode_one(f: &Input, out_dir: &Path, options: &Options) -> Result<String> {
    let bytes = std::fs::read(&f.path).context("cannot read the file")?;
    let attrs = obscura_imaging::read_attributes(&bytes)?;
    let image = obscura_imaging::decode(&bytes)?;
    let count = image.frames.len();
    if let Some(sel) = &options.frames {
        if sel.highest() >= count {
            bail!("--frames asks for frame {} but the file has {count} (numbered from 0)", sel.highest());
        }
    }
    let mut written = 0usize;
    for i in (0..count).filter(|&i| options.frames.as_ref().is_none_or(|s| s.contains(i))) {
        let data = image.stored_bytes(i).expect("frame index in range");
        write(&frame_path(out_dir, &f.relative, i, "raw"), &data)?;
        if options.png {
            write(&frame_path(out_dir, &f.relative, i, "png"), &png(&image, i)?)?;
        }
        written += 1;
    }
    Ok(format!(
        "{}, {}x{} x{count} frames, {} samples, {}-bit {}, {:?}: ok{}",
        attrs.transfer_syntax_uid,
        image.columns,
        image.rows,
        image.samples_per_pixel,
        image.bits_allocated,
        if image.signed { "signed" } else { "unsigned" },
        image.photometric,
        if written == count { String::new() } else { format!(" ({written} written)") },
    ))
}

fn write(path: &Path, data: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, data).with_context(|| format!("cannot write {}", path.display()))
}

/// Frame `i` as a PNG through the display pipeline (8-bit gray for gray images, else RGB).
fn png(image: &obscura_imaging::DecodedImage, i: usize) -> Result<Vec<u8>> {
    use obscura_imaging::display::{render_rgb8, Voi};
    let rgb = render_rgb8(image, i, Voi::default_for(image, i)).context("frame has no displayable pixels")?;
    let gray = matches!(
        image.photometric,
        obscura_imaging::Photometric::Monochrome1 | obscura_imaging::Photometric::Monochrome2
    );
    let (pixels, color) = if gray {
        (rgb.iter().step_by(3).copied().collect(), png::ColorType::Grayscale)
    } else {
        (rgb, png::ColorType::Rgb)
    };
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, image.columns, image.rows);
    enc.set_color(color);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()?.write_image_data(&pixels)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::FrameSelection;

    #[test]
    fn frame_lists() {
        let s = FrameSelection::parse("0, 5,10-12").unwrap();
        assert!([0, 5, 10, 11, 12].iter().all(|&i| s.contains(i)));
        assert!(!s.contains(4) && !s.contains(13));
        assert_eq!(s.highest(), 12);
        assert!(FrameSelection::parse("3-1").is_err());
        assert!(FrameSelection::parse("a").is_err());
    }
}

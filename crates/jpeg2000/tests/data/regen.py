#!/usr/bin/env python3
"""Regenerates the JPEG 2000 / HTJ2K test streams of obscura-jpeg2000 and their references.

What it makes, in this directory:
  *.j2k / *.jp2 / *.j2c   codestreams: synthetic images encoded by opj_compress (OpenJPEG) and
                          ojph_compress (OpenJPH), and the pixel-data fragments of the JPEG 2000
                          files shipped in pydicom 3.0.2's wheel (`pydicom_*.j2k`).
  *.ref                   for small irreversible streams only: the primary reference's
                          samples (same layout as the hashes below), to measure a difference.
  *.ojph                  for signed HTJ2K streams: ojph_expand's output, which clips negative
                          samples to 0 (its raw writer); obscura must equal it once clipped.
  index.tsv               one line per stream: name, codec (j2k|htj2k), width, height,
                          components, precision, signed, lossless (1 = reversible, exact
                          required), sha256 of the primary reference's samples, which
                          references agreed with it, and each reference's max abs diff.

Sample layout of hashes and .ref files: components interleaved per pixel, row-major,
little-endian, 1 byte per sample for precision <= 8 else 2, signed values as two's complement
at that width (what obscura_jpeg2000::Samples holds).

References: J2K: opj_decompress (primary), pylibjpeg-openjpeg, and GDCM (pydicom files only,
through pydicom's gdcm plugin). HTJ2K: ojph_expand (primary), opj_decompress,
pylibjpeg-openjpeg; for signed HTJ2K streams opj_decompress is primary (see *.ojph). "source"
is the encoder's input, the ground truth of reversible synthetic streams.

Set-up (Debian 12 + PyPI):
  apt-get install libopenjp2-tools openjph-tools
  python3 -m venv /tmp/j2k-venv && /tmp/j2k-venv/bin/pip install numpy pydicom==3.0.2 \
      pylibjpeg pylibjpeg-openjpeg python-gdcm
  (cd /tmp && /tmp/j2k-venv/bin/pip download --no-deps pydicom==3.0.2)
Run:
  /tmp/j2k-venv/bin/python crates/jpeg2000/tests/data/regen.py [--pydicom-wheel /tmp/pydicom-3.0.2-py3-none-any.whl]

Deterministic: the synthetic images come from fixed formulas and a seeded generator; the
encoders are deterministic, so re-running yields the same files with the same tool versions
(libopenjp2-tools 2.5.0, openjph-tools 0.10, pylibjpeg-openjpeg 2.6.0, python-gdcm 3.2.6).
"""

import argparse
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TMP = tempfile.mkdtemp(prefix="j2k-regen-")


# ---------------------------------------------------------------- synthetic images

def ct_like(size, seed, lo, hi):
    """A CT-like slice: air, a body ellipse of soft tissue, bones, a little noise."""
    h, w = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    img = np.full((h, w), -1000.0)
    body = ((x - cx) / (0.42 * w)) ** 2 + ((y - cy) / (0.36 * h)) ** 2 <= 1
    img[body] = 40 + 20 * np.sin(x[body] / 9.0) * np.cos(y[body] / 13.0)
    lung = (((x - cx * 0.6) / (0.12 * w)) ** 2 + ((y - cy) / (0.2 * h)) ** 2 <= 1) | (
        ((x - cx * 1.4) / (0.12 * w)) ** 2 + ((y - cy) / (0.2 * h)) ** 2 <= 1)
    img[lung] = -850
    bone = ((x - cx) / (0.06 * w)) ** 2 + ((y - cy * 1.5) / (0.06 * h)) ** 2 <= 1
    img[bone] = 1200
    img += rng.normal(0, 12, size=(h, w))
    return np.clip(np.round(img), lo, hi).astype(np.int64)


def rgb_like(size, seed):
    h, w = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 7.0)
    g = 128 + 100 * np.cos(y / 5.0)
    b = (x * 255 / max(w - 1, 1) + y * 3) % 256
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 6, size=(h, w, 3))
    return np.clip(np.round(img), 0, 255).astype(np.int64)


def images():
    ct512 = ct_like((512, 512), 1, -1024, 3071)
    ct128 = ct_like((128, 128), 2, -1024, 3071)
    rng = np.random.default_rng(7)
    return {
        # name: (array HxW or HxWxC, precision, signed)
        "ct512_s16": (ct512, 16, True),
        "ct128_s16": (ct128, 16, True),
        # signed, all values >= 0 (ojph_compress 0.9's raw reader does not sign-extend)
        "ct512_s16pos": (ct512 + 1024, 16, True),
        "ct128_s16pos": (ct128 + 1024, 16, True),
        "ct128_u12": (ct128 + 1024, 12, False),
        "ct_37x23_s12": (ct_like((23, 37), 3, -2048, 2047), 12, True),
        "ct_37x23_u12": (ct_like((23, 37), 3, -2048, 2047) + 2048, 12, False),
        "grey_37x23_u8": (rgb_like((23, 37), 4)[:, :, 0], 8, False),
        "rgb_64x48_u8": (rgb_like((48, 64), 5), 8, False),
        "rgb_33x17_u8": (rgb_like((17, 33), 6), 8, False),
        "noise_32x32_u16": (rng.integers(0, 65536, size=(32, 32)), 16, False),
        "noise_32x32_s16": (rng.integers(-32768, 32768, size=(32, 32)), 16, True),
        "noise_24x16_s8": (rng.integers(-128, 128, size=(16, 24)), 8, True),
    }


def as3(a):
    return a if a.ndim == 3 else a[:, :, None]


def write_planar(path, a, prec, signed, big_endian=False):
    """Planar raw file (component after component), 1 or 2 bytes per sample."""
    a = as3(a)
    width = 1 if prec <= 8 else 2
    dt = {(1, False): "u1", (1, True): "i1", (2, False): "u2", (2, True): "i2"}[(width, signed)]
    dt = (">" if big_endian else "<") + dt
    with open(path, "wb") as f:
        for c in range(a.shape[2]):
            f.write(a[:, :, c].astype(dt).tobytes())


def write_pnm(path, a, prec):
    a = as3(a)
    h, w, c = a.shape
    maxval = (1 << prec) - 1
    magic = b"P5" if c == 1 else b"P6"
    dt = ">u1" if maxval < 256 else ">u2"
    with open(path, "wb") as f:
        f.write(magic + b"\n%d %d\n%d\n" % (w, h, maxval))
        f.write(a.astype(dt).tobytes())


# ---------------------------------------------------------------- sample layout

def to_bytes(a, prec, signed):
    """Interleaved, little-endian, container width, two's complement."""
    a = as3(np.asarray(a)).astype(np.int64)
    dt = ("<i1" if signed else "<u1") if prec <= 8 else ("<i2" if signed else "<u2")
    return a.astype(dt).tobytes()


def from_planar(raw, h, w, c, prec, signed, big_endian=False):
    width = 1 if prec <= 8 else 2
    dt = {(1, False): "u1", (1, True): "i1", (2, False): "u2", (2, True): "i2"}[(width, signed)]
    dt = (">" if big_endian else "<") + dt
    arr = np.frombuffer(raw, dtype=dt)
    if arr.size != h * w * c:
        raise ValueError(f"planar size {arr.size} != {h}x{w}x{c}")
    a = arr.reshape(c, h, w).transpose(1, 2, 0).astype(np.int64)
    if signed and prec < 8 * width:
        # raw writers put signed samples of precision < container width as p-bit patterns
        a &= (1 << prec) - 1
        a = np.where(a >= 1 << (prec - 1), a - (1 << prec), a)
    return a


# ---------------------------------------------------------------- references

def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise RuntimeError(" ".join(cmd) + "\n" + p.stdout.decode(errors="replace"))
    return p.stdout.decode(errors="replace")


def ref_opj(path, geo):
    h, w, c, prec, signed = geo
    out = os.path.join(TMP, "opj_out.rawl")
    if os.path.exists(out):
        os.remove(out)
    run(["opj_decompress", "-i", path, "-o", out, "-quiet"])
    return from_planar(open(out, "rb").read(), h, w, c, prec, signed)


def ref_pylibjpeg(path, geo):
    import openjpeg
    h, w, c, prec, signed = geo
    data = open(path, "rb").read()
    fmt = 2 if data[4:8] == b"jP  " else 0
    a = as3(openjpeg.decode(data, j2k_format=fmt).astype(np.int64))
    if signed and prec < 16:
        # pylibjpeg-openjpeg returns signed samples of precision < 16 without sign extension
        a = np.where(a >= 1 << (prec - 1), a - (1 << prec), a)
    return a


def ref_ojph(path, geo):
    h, w, c, prec, signed = geo
    if c == 1 and not signed:
        out = os.path.join(TMP, "ojph_out.pgm")
        run(["ojph_expand", "-i", path, "-o", out])
        return read_pnm(out)
    if c == 3 and not signed:
        out = os.path.join(TMP, "ojph_out.ppm")
        run(["ojph_expand", "-i", path, "-o", out])
        return read_pnm(out)
    # signed: raw (yuv) output, planar, little-endian 16-bit (or 8-bit) samples
    out = os.path.join(TMP, "ojph_out.yuv")
    run(["ojph_expand", "-i", path, "-o", out])
    return from_planar(open(out, "rb").read(), h, w, c, prec, signed)


def read_pnm(path):
    data = open(path, "rb").read()
    parts = []
    pos = 0
    while len(parts) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        parts.append(data[pos:end])
        pos = end
    pos += 1
    magic, w, h, maxval = parts[0], int(parts[1]), int(parts[2]), int(parts[3])
    c = 1 if magic == b"P5" else 3
    dt = ">u1" if maxval < 256 else ">u2"
    return np.frombuffer(data[pos:], dtype=dt)[: h * w * c].reshape(h, w, c).astype(np.int64)


def ref_gdcm(dcm_path, frame_len):
    """GDCM through pydicom's decoding plugin: the whole (single-frame) DICOM file."""
    import pydicom
    ds = pydicom.dcmread(dcm_path)
    a = ds.pixel_array_options if False else None  # noqa: F841 (keep pydicom 3 API visible)
    from pydicom.pixels import pixel_array
    arr = pixel_array(dcm_path, decoding_plugin="gdcm", raw=True)
    return arr


# ---------------------------------------------------------------- cases

# (stream name, codec, image, encoder args) ; encoder = opj_compress for j2k, ojph_compress for htj2k
J2K_CASES = [
    ("opj_ct512_s16_lossless.j2k", "ct512_s16", []),
    ("opj_ct512_s16_lossy_i97.j2k", "ct512_s16", ["-I", "-r", "20"]),
    ("opj_ct128_s16_lossless.j2k", "ct128_s16", []),
    ("opj_ct128_s16_lossy_i97_layers.j2k", "ct128_s16", ["-I", "-r", "40,20,10"]),
    ("opj_ct128_u12_lossless_rpcl_prec.j2k", "ct128_u12", ["-n", "4", "-b", "32,32", "-p", "RPCL", "-c", "[64,64],[32,32],[32,32]"]),
    ("opj_ct128_u12_lossy_53.j2k", "ct128_u12", ["-r", "12"]),
    ("opj_ct128_u12_lossy_i97_q.j2k", "ct128_u12", ["-I", "-q", "45"]),
    ("opj_ct128_u12_tiles.j2k", "ct128_u12", ["-t", "48,40"]),
    ("opj_ct128_u12_tiles_i97.j2k", "ct128_u12", ["-t", "48,40", "-I", "-r", "8"]),
    ("opj_ct128_u12_offset_tiles.j2k", "ct128_u12", ["-d", "5,3", "-t", "50,50", "-T", "2,1"]),
    ("opj_ct128_u12_cblk16_modes.j2k", "ct128_u12", ["-b", "16,16", "-M", "63", "-SOP", "-EPH"]),
    ("opj_ct128_u12_cblk128x32_pcrl.j2k", "ct128_u12", ["-b", "128,32", "-p", "PCRL", "-n", "2"]),
    ("opj_ct128_u12_cprl_layers.j2k", "ct128_u12", ["-p", "CPRL", "-r", "20,5,1"]),
    ("opj_ct128_u12_rlcp_n1.j2k", "ct128_u12", ["-p", "RLCP", "-n", "1"]),
    ("opj_ct_37x23_s12_lossless.j2k", "ct_37x23_s12", ["-n", "3"]),
    ("opj_ct_37x23_s12_lossy_i97.j2k", "ct_37x23_s12", ["-n", "3", "-I", "-r", "6"]),
    ("opj_grey_37x23_u8_lossless.j2k", "grey_37x23_u8", ["-n", "3"]),
    ("opj_grey_37x23_u8_lossy_i97.j2k", "grey_37x23_u8", ["-n", "3", "-I", "-q", "35"]),
    ("opj_grey_37x23_u8.jp2", "grey_37x23_u8", ["-n", "2"]),
    ("opj_rgb_64x48_u8_rct.j2k", "rgb_64x48_u8", ["-n", "3", "-mct", "1"]),
    ("opj_rgb_64x48_u8_nomct.j2k", "rgb_64x48_u8", ["-n", "3", "-mct", "0"]),
    ("opj_rgb_64x48_u8_ict.j2k", "rgb_64x48_u8", ["-n", "3", "-I", "-mct", "1", "-r", "10"]),
    ("opj_rgb_64x48_u8_i97_nomct.j2k", "rgb_64x48_u8", ["-n", "3", "-I", "-mct", "0", "-r", "10"]),
    ("opj_rgb_33x17_u8_rct_tiles.j2k", "rgb_33x17_u8", ["-n", "2", "-t", "16,8"]),
    ("opj_noise_32x32_u16_lossless.j2k", "noise_32x32_u16", ["-n", "2"]),
    ("opj_noise_32x32_s16_lossless.j2k", "noise_32x32_s16", ["-n", "2"]),
    ("opj_noise_32x32_s16_lossy_i97.j2k", "noise_32x32_s16", ["-n", "2", "-I", "-r", "3"]),
    ("opj_noise_24x16_s8_lossless.j2k", "noise_24x16_s8", ["-n", "2"]),
]

HT_CASES = [
    # ojph_compress 0.9 reads signed raw samples without sign extension: signed inputs here have
    # no negative values; negative ones are covered by the rsojph_* streams below.
    ("ojph_ct512_s16_lossless.j2c", "ct512_s16pos", ["-reversible", "true"]),
    ("ojph_ct128_s16_lossless.j2c", "ct128_s16pos", ["-reversible", "true", "-prog_order", "LRCP"]),
    ("ojph_ct128_s16_lossy.j2c", "ct128_s16pos", ["-qstep", "0.002"]),
    ("ojph_ct128_u12_lossless_rpcl.j2c", "ct128_u12", ["-reversible", "true", "-prog_order", "RPCL"]),
    ("ojph_ct128_u12_lossy.j2c", "ct128_u12", ["-qstep", "0.005"]),
    ("ojph_ct128_u12_tiles.j2c", "ct128_u12", ["-reversible", "true", "-tile_size", "{48,40}"]),
    ("ojph_ct128_u12_cblk32_prec.j2c", "ct128_u12", ["-reversible", "true", "-block_size", "{32,32}",
                                                    "-precincts", "{32,32},{64,64}", "-num_decomps", "3"]),
    ("ojph_ct128_u12_n0.j2c", "ct128_u12", ["-reversible", "true", "-num_decomps", "0"]),
    # (not ct_37x23_s12: ojph_compress's raw reader and ojph_expand's raw writer mishandle signed
    # samples below 16 bits, and OpenJPEG 2.5's HT decoder mishandles signed ones: no reference)
    ("ojph_ct_37x23_u12_lossless.j2c", "ct_37x23_u12", ["-reversible", "true", "-num_decomps", "2"]),
    ("ojph_grey_37x23_u8_lossless.j2c", "grey_37x23_u8", ["-reversible", "true", "-num_decomps", "3"]),
    ("ojph_grey_37x23_u8_lossy.j2c", "grey_37x23_u8", ["-qstep", "0.01", "-num_decomps", "3"]),
    ("ojph_rgb_64x48_u8_rct.j2c", "rgb_64x48_u8", ["-reversible", "true", "-colour_trans", "true"]),
    ("ojph_rgb_64x48_u8_nomct.j2c", "rgb_64x48_u8", ["-reversible", "true", "-colour_trans", "false"]),
    ("ojph_rgb_64x48_u8_ict.j2c", "rgb_64x48_u8", ["-qstep", "0.01", "-colour_trans", "true"]),
    ("ojph_rgb_64x48_u8_i97_nomct.j2c", "rgb_64x48_u8", ["-qstep", "0.01", "-colour_trans", "false"]),
    ("ojph_rgb_33x17_u8_rct_rpcl.j2c", "rgb_33x17_u8", ["-reversible", "true", "-prog_order", "RPCL", "-num_decomps", "2"]),
    ("ojph_noise_32x32_u16_lossless.j2c", "noise_32x32_u16", ["-reversible", "true", "-num_decomps", "2"]),
    ("ojph_ct128_u12_prec32_lrcp.j2c", "ct128_u12", ["-reversible", "true", "-prog_order", "LRCP", "-precincts", "{32,32}"]),
    ("ojph_ct128_u12_pcrl.j2c", "ct128_u12", ["-reversible", "true", "-prog_order", "PCRL", "-precincts", "{16,16},{32,32}"]),
    ("ojph_ct128_u12_cprl_tiles.j2c", "ct128_u12", ["-reversible", "true", "-prog_order", "CPRL", "-tile_size", "{50,60}"]),
]

# HTJ2K streams with negative signed samples, made once by openjph-core 0.1.0's encoder (the
# Rust port of OpenJPH; `ht_signed_encoder.rs` beside this file, built against
# `openjph-core = "=0.1.0"`, run as `enc IN.rawl OUT.j2c W H BITS 1 1`) and kept as files.
# References: opj_decompress + pylibjpeg-openjpeg (ojph_expand's raw writer mishandles
# negative samples).
RS_HT_STREAMS = [
    ("rsojph_noise_32x32_s16_lossless.j2c", "noise_32x32_s16"),
    ("rsojph_ct_37x23_s12_lossless.j2c", "ct_37x23_s12"),
]

PYDICOM_FILES = [
    "MR_small_jp2klossless.dcm",
    "JPEG2000.dcm",
    "693_J2KI.dcm",
    "GDCMJ2K_TextGBR.dcm",
    "J2K_pixelrep_mismatch.dcm",
    "examples_jpeg2k.dcm",
    "JPEG2000-embedded-sequence-delimiter.dcm",
]


def encode_opj(name, img, args):
    a, prec, signed = img
    a3 = as3(a)
    h, w, c = a3.shape
    if c == 1 and not signed and "jp2" not in name and prec <= 16:
        src = os.path.join(TMP, "in.pgm")
        write_pnm(src, a3, prec)
        extra = []
    else:
        src = os.path.join(TMP, "in.rawl")
        write_planar(src, a3, prec, signed)
        extra = ["-F", f"{w},{h},{c},{prec},{'s' if signed else 'u'}"]
    if name.endswith(".jp2"):
        src = os.path.join(TMP, "in.pgm")
        write_pnm(src, a3, prec)
        extra = []
    out = os.path.join(HERE, name)
    run(["opj_compress", "-i", src, "-o", out] + extra + args)
    return out


def encode_ojph(name, img, args):
    a, prec, signed = img
    a3 = as3(a)
    h, w, c = a3.shape
    if not signed and c in (1, 3):
        src = os.path.join(TMP, "in.pgm" if c == 1 else "in.ppm")
        write_pnm(src, a3, prec)
        extra = []
    else:
        src = os.path.join(TMP, "in.yuv")
        write_planar(src, a3, prec, signed)
        extra = ["-dims", f"{{{w},{h}}}", "-num_comps", str(c), "-signed", ",".join(["true" if signed else "false"] * c),
                 "-bit_depth", ",".join([str(prec)] * c), "-downsamp", ",".join(["{1,1}"] * c)]
    out = os.path.join(HERE, name)
    run(["ojph_compress", "-i", src, "-o", out] + extra + args)
    return out


def header_of(path):
    """(h, w, c, prec, signed, reversible) from the codestream's SIZ/COD."""
    data = open(path, "rb").read()
    if data[4:8] == b"jP  ":
        i = data.index(b"jp2c") + 4
        data = data[i:]
    assert data[:4] == b"\xff\x4f\xff\x51", path
    xs, ys, xo, yo = (int.from_bytes(data[8 + 4 * k:12 + 4 * k], "big") for k in range(4))
    c = int.from_bytes(data[40:42], "big")
    ssiz = data[42]
    prec, signed = (ssiz & 0x7F) + 1, bool(ssiz & 0x80)
    cod = data.index(b"\xff\x52")
    reversible = data[cod + 13] == 1
    return ys - yo, xs - xo, c, prec, signed, reversible


def pydicom_streams(wheel):
    import pydicom
    from pydicom.encaps import generate_frames
    out = []
    z = zipfile.ZipFile(wheel)
    names = {os.path.basename(n): n for n in z.namelist()}
    for f in PYDICOM_FILES:
        raw = z.read(names[f])
        dcm = os.path.join(TMP, f)
        open(dcm, "wb").write(raw)
        ds = pydicom.dcmread(dcm)
        nf = int(getattr(ds, "NumberOfFrames", 1) or 1)
        frames = list(generate_frames(ds.PixelData, number_of_frames=nf))
        frame = frames[0]
        stem = "pydicom_" + f[:-4].replace("-", "_")
        # The fragment as stored (odd-length fragments carry a pad byte: keep it, a DICOM
        # decoder must cope with it).
        name = stem + ".j2k"
        open(os.path.join(HERE, name), "wb").write(frame)
        out.append((name, dcm, nf, ds))
    return out


def diff(a, b):
    if a.shape != b.shape:
        raise ValueError(f"shape {b.shape} != {a.shape}")
    return int(np.max(np.abs(a - b))) if a.size else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pydicom-wheel", default="/tmp/pydicom-3.0.2-py3-none-any.whl")
    args = ap.parse_args()
    imgs = images()
    rows = []

    def record(name, codec, refs, extra_refs):
        path = os.path.join(HERE, name)
        h, w, c, prec, signed, reversible = header_of(path)
        geo = (h, w, c, prec, signed)
        primary_name, primary_fn = refs[0]
        try:
            primary = primary_fn(path, geo)
        except Exception as e:
            # A stream no reference decodes (corrupt on purpose): obscura must return an error.
            print(f"{name}: {primary_name} failed ({str(e).splitlines()[-1][:80]}): expected error")
            rows.append([name, codec, w, h, c, prec, int(signed), int(reversible), "-", "error", primary_name + "=fail"])
            return
        agreed, diffs = [primary_name], []
        for rn, fn in refs[1:] + extra_refs:
            try:
                other = as3(np.asarray(fn(path, geo)))
                d = diff(primary, other)
            except Exception as e:  # a reference that cannot decode it
                print(f"  {name}: {rn} failed: {str(e).splitlines()[0][:100]}", file=sys.stderr)
                d = None
            diffs.append(f"{rn}={'fail' if d is None else d}")
            if d == 0:
                agreed.append(rn)
        data = to_bytes(primary, prec, signed)
        sha = hashlib.sha256(data).hexdigest()
        if not reversible and primary.size <= 65536:
            # small irreversible streams only: the big ones must match their hash exactly
            open(os.path.join(HERE, name.rsplit(".", 1)[0] + ".ref"), "wb").write(data)
        if codec == "htj2k" and signed and primary_name != "ojph_expand" and primary.size <= 65536:
            # ojph_expand's raw writer clips negative samples to 0; keep its output to show
            # that obscura equals OpenJPH apart from that clipping
            try:
                o = ref_ojph(path, geo)
                open(os.path.join(HERE, name.rsplit(".", 1)[0] + ".ojph"), "wb").write(to_bytes(o, prec, signed))
            except Exception:
                pass
        rows.append([name, codec, w, h, c, prec, int(signed), int(reversible), sha, "+".join(agreed), ",".join(diffs)])
        print(f"{name}: {w}x{h}x{c} p{prec}{'s' if signed else 'u'} rev={reversible} agreed={'+'.join(agreed)} {','.join(diffs)}")

    def source(img):
        # the encoder's input: ground truth for reversible streams (and a measure for the rest)
        return [("source", lambda path, geo, a=img[0]: a)]

    for name, img, eargs in J2K_CASES:
        encode_opj(name, imgs[img], eargs)
        record(name, "j2k", [("opj_decompress", ref_opj), ("pylibjpeg-openjpeg", ref_pylibjpeg)], source(imgs[img]))
    for name, img, eargs in HT_CASES:
        encode_ojph(name, imgs[img], eargs)
        refs = [("ojph_expand", ref_ojph), ("opj_decompress", ref_opj), ("pylibjpeg-openjpeg", ref_pylibjpeg)]
        if imgs[img][2]:
            # signed: ojph_expand's raw writer clips negative samples (see the .ojph files)
            refs = refs[1:] + refs[:1]
        record(name, "htj2k", refs, source(imgs[img]))
    for name, img in RS_HT_STREAMS:
        record(name, "htj2k", [("opj_decompress", ref_opj), ("pylibjpeg-openjpeg", ref_pylibjpeg)], source(imgs[img]))
    if os.path.exists(args.pydicom_wheel):
        for name, dcm, nf, ds in pydicom_streams(args.pydicom_wheel):
            gdcm = []
            if nf == 1:
                def g(path, geo, dcm=dcm):
                    from pydicom.pixels import pixel_array
                    return pixel_array(dcm, decoding_plugin="gdcm", raw=True).astype(np.int64)
                gdcm = [("gdcm", g)]
            record(name, "j2k", [("opj_decompress", ref_opj), ("pylibjpeg-openjpeg", ref_pylibjpeg)], gdcm)
    else:
        print(f"no pydicom wheel at {args.pydicom_wheel}: pydicom streams skipped", file=sys.stderr)

    with open(os.path.join(HERE, "index.tsv"), "w") as f:
        f.write("# name\tcodec\twidth\theight\tcomponents\tprecision\tsigned\treversible\tsha256\tagreed\tdiffs\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Regenerates the JPEG test streams of obscura-jpeg and their reference hashes.

What it needs (Debian bookworm + PyPI):
    apt-get install -y dcmtk libjpeg-turbo-progs          # dcmcjpeg/dcmdjpeg 3.6.7 (IJG 6b), cjpeg/djpeg 2.1.5
    python3 -m venv /tmp/jvenv
    /tmp/jvenv/bin/pip install numpy pydicom==3.0.2 imagecodecs   # imagecodecs bundles libjpeg-turbo 3.1
    /tmp/jvenv/bin/pip download --no-deps pydicom==3.0.2 -d /tmp/pyd   # the wheel's JPEG test files
How to run (from the repository root):
    /tmp/jvenv/bin/python crates/jpeg/tests/data/make.py [--wheel /tmp/pyd/pydicom-3.0.2-py3-none-any.whl]

It writes, next to this script, one `<name>.jpg` per test stream (a bare JPEG codestream: made by
an encoder, or extracted from the first pixel-data fragment of a DICOM file) and `index.tsv`, one
line per stream:

    name  transform  width  height  components  precision  sha256_ijg  sha256_turbo  sha256_djpeg  sha256_gdcm  agree

`transform` is `none` or `ycc` (YCbCr→RGB, as the DICOM Photometric Interpretation would ask).
The hashes are SHA-256 of the decoded samples, interleaved per pixel, row-major, as little-endian
u8 (precision ≤ 8) or u16: `sha256_ijg` from DCMTK's `dcmdjpeg` (IJG libjpeg 6b with the lossless
patch; `+cn` for `none`, `+ca` for `ycc`), `sha256_turbo` from libjpeg-turbo 3.1 (imagecodecs
`jpeg8_decode` with the colour spaces forced), `sha256_djpeg` from Debian's `djpeg` 2.1.5 where it
applies (8-bit DCT and colour guessed from the markers as `transform` says; `-` otherwise),
`sha256_gdcm` from GDCM 3.2 (python-gdcm, optional: `pip install python-gdcm`; `-` where GDCM fails
or, for `ycc`, since GDCM returns YCbCr unconverted). `agree`
lists the references equal to `sha256_ijg`. The Rust test (`tests/reference.rs`) checks that
obscura-jpeg's output hashes to `sha256_ijg`, and that IJG and turbo agree unless the stream is
listed in KNOWN_DIFFERENCES below (with the reason).
"""

import argparse
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile

import imagecodecs
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import ExplicitVRLittleEndian

try:
    import gdcm  # noqa: F401

    HAVE_GDCM = True
except ImportError:
    HAVE_GDCM = False

HERE = os.path.dirname(os.path.abspath(__file__))
TMP = tempfile.mkdtemp(prefix="obscura-jpeg-")

# Streams on which libjpeg 6b (DCMTK) and libjpeg-turbo legitimately differ.
KNOWN_DIFFERENCES = {
    "cjpeg_rgb_440_37x23": "4:4:0 (h1v2) chroma: libjpeg-turbo ≥ 1.5.1 has a fancy h1v2 upsampler, "
    "IJG 6b (DCMTK) replicates rows; obscura-jpeg follows IJG 6b",
}

TS_BY_SOF = {0xC0: "1.2.840.10008.1.2.4.50", 0xC1: "1.2.840.10008.1.2.4.51", 0xC3: "1.2.840.10008.1.2.4.57"}


def sh(*args, **kw):
    r = subprocess.run(args, capture_output=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{args}: {r.stderr.decode(errors='replace')}")
    return r.stdout


# ---------------------------------------------------------------- synthetic images

def ct_image(h, w, bits, signed=False, seed=1, noise=12.0):
    """CT-like: body ellipse with organs, a bone ring, a gradient, noise and sharp edges."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = h / 2, w / 2
    r = ((y - cy) / (0.42 * h)) ** 2 + ((x - cx) / (0.45 * w)) ** 2
    img = np.where(r < 1, 1040.0, 0.0)  # water-ish body, air outside (as HU + 1024)
    img += np.where((r > 0.8) & (r < 0.9), 900.0, 0.0)  # bone ring
    img += np.where(((y - cy * 0.8) ** 2 + (x - cx * 1.2) ** 2) < (0.1 * w) ** 2, -300.0, 0.0)
    img += 200.0 * np.sin(x / max(w, 1) * 6.0) * (r < 1)
    img += x * 0.5 + y * 0.25
    img += rng.normal(0, noise, (h, w))
    scale = ((1 << bits) - 1) / 4095.0 if bits <= 12 else 16.0
    img = img * scale
    if signed:
        img = img - (1 << (bits - 1)) / 2
        img = np.clip(img, -(1 << (bits - 1)), (1 << (bits - 1)) - 1).astype(np.int16 if bits > 8 else np.int8)
        return img
    img = np.clip(img, 0, (1 << bits) - 1)
    return img.astype(np.uint16 if bits > 8 else np.uint8)


def photo_image(h, w, seed=2, maxval=255):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 0.5 + 0.5 * np.sin(x / max(w, 1) * 3.1 + 0.3)
    g = 0.5 + 0.5 * np.cos(y / max(h, 1) * 2.7)
    b = ((x - w / 3) ** 2 + (y - h / 2) ** 2 < (min(h, w) / 3) ** 2) * 0.8 + 0.1
    img = np.stack([r, g, b], axis=-1)
    img[h // 2:, : w // 3] = [0.9, 0.1, 0.2]  # a saturated block with sharp edges
    img += rng.normal(0, 0.03, img.shape)
    img = np.clip(img, 0, 1) * maxval
    return img.round().astype(np.uint8 if maxval <= 255 else np.uint16)


# ---------------------------------------------------------------- DICOM wrapping

def make_dicom(path, pixels, photometric, bits_stored, signed=False, ts=ExplicitVRLittleEndian, encapsulated=None):
    h, w = pixels.shape[:2]
    spp = 1 if pixels.ndim == 2 else pixels.shape[2]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = "1.2.3.4.5.6.7.8.9"
    meta.TransferSyntaxUID = ts
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.PatientName = "TEST"
    ds.Rows, ds.Columns = h, w
    ds.SamplesPerPixel = spp
    ds.PhotometricInterpretation = photometric
    if spp > 1:
        ds.PlanarConfiguration = 0
    alloc = 8 if bits_stored <= 8 else 16
    ds.BitsAllocated = alloc
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    if encapsulated is not None:
        ds.PixelData = encapsulate([encapsulated])
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
    else:
        ds.PixelData = pixels.astype("<u2" if alloc == 16 else "u1").tobytes()
        ds["PixelData"].VR = "OW" if alloc == 16 else "OB"
    ds.save_as(path, enforce_file_format=True)


def first_fragment(path_or_bytes):
    ds = pydicom.dcmread(path_or_bytes)
    nf = int(getattr(ds, "NumberOfFrames", 1) or 1)
    frame = next(generate_frames(ds.PixelData, number_of_frames=nf))
    # strip the DICOM even-length padding after EOI only if it is not part of the stream
    return bytes(frame), ds


def sof_info(stream):
    """(sof marker, precision, height, width, components) of a codestream."""
    i = 2
    while i < len(stream):
        if stream[i] != 0xFF:
            i += 1
            continue
        m = stream[i + 1]
        if m in (0xC0, 0xC1, 0xC2, 0xC3):
            p = stream[i + 4]
            hgt = int.from_bytes(stream[i + 5:i + 7], "big")
            wid = int.from_bytes(stream[i + 7:i + 9], "big")
            return m, p, hgt, wid, stream[i + 9]
        if m in (0xD8, 0x01) or 0xD0 <= m <= 0xD7 or m == 0xFF:
            i += 2 if m != 0xFF else 1
            continue
        i += 2 + int.from_bytes(stream[i + 2:i + 4], "big")
    raise ValueError("no SOF")


def adobe_transform(stream):
    i = stream.find(b"\xff\xeeAdobe") if False else stream.find(b"\xff\xee")
    if i < 0 or stream[i + 4:i + 9] != b"Adobe":
        return None
    return stream[i + 15]


def has_jfif(stream):
    return stream.find(b"JFIF\x00") >= 0


# ---------------------------------------------------------------- reference decoders

def to_bytes(arr, precision):
    return np.ascontiguousarray(arr).astype("u1" if precision <= 8 else "<u2").tobytes()


def ref_dcmtk(stream, transform):
    sof, p, h, w, nc = sof_info(stream)
    ts = TS_BY_SOF[sof] if not (sof == 0xC1 and False) else None
    photometric = {1: "MONOCHROME2", 4: "CMYK"}.get(nc, "YBR_FULL" if transform == "ycc" else "RGB")
    src = os.path.join(TMP, "ref_in.dcm")
    dst = os.path.join(TMP, "ref_out.dcm")
    dummy = np.zeros((h, w) if nc == 1 else (h, w, nc), np.uint8 if p <= 8 else np.uint16)
    make_dicom(src, dummy, photometric, p if sof == 0xC3 else (8 if p <= 8 else 12), ts=ts, encapsulated=stream)
    sh("dcmdjpeg", "+ca" if transform == "ycc" else "+cn", src, dst)
    ds = pydicom.dcmread(dst)
    alloc = ds.BitsAllocated
    raw = np.frombuffer(ds.PixelData, dtype="u1" if alloc == 8 else "<u2")[: h * w * nc]
    if nc > 1 and int(getattr(ds, "PlanarConfiguration", 0)) == 1:
        raw = raw.reshape(nc, h, w).transpose(1, 2, 0)
    return to_bytes(raw, p)


def ref_turbo(stream, transform):
    sof, p, h, w, nc = sof_info(stream)
    cs = imagecodecs.JPEG8.CS
    if nc == 1:
        arr = imagecodecs.jpeg8_decode(stream)
    elif nc == 4:
        arr = imagecodecs.jpeg8_decode(stream, colorspace=cs.CMYK, outcolorspace=cs.CMYK)
    elif transform == "ycc":
        arr = imagecodecs.jpeg8_decode(stream, colorspace=cs.YCbCr, outcolorspace=cs.RGB)
    else:
        arr = imagecodecs.jpeg8_decode(stream, colorspace=cs.RGB, outcolorspace=cs.RGB)
    return to_bytes(arr, p)


def ref_djpeg(stream, transform):
    """Debian's djpeg (libjpeg-turbo 2.1.5): 8-bit DCT only, colour guessed from the markers."""
    sof, p, h, w, nc = sof_info(stream)
    if sof == 0xC3 or p != 8 or nc == 4:  # djpeg turns CMYK into RGB
        return None
    if nc == 3:
        adobe = adobe_transform(stream)
        guessed_rgb = adobe == 0 and not has_jfif(stream)
        if guessed_rgb != (transform == "none"):
            return None
    out = sh("djpeg", "-pnm", input=stream)
    # P5/P6 header: magic, width, height, maxval, then samples
    parts = out.split(maxsplit=4)
    return bytes(parts[4])[: h * w * nc]


def ref_gdcm(stream, transform):
    """GDCM 3.2 (python-gdcm; its bundled IJG 6b 8/12/16-bit builds), in a child process since it
    aborts on some streams. GDCM never converts YCbCr, so `ycc` streams are not comparable: None."""
    if transform == "ycc":
        return None
    sof, p, h, w, nc = sof_info(stream)
    src = os.path.join(TMP, "gdcm_in.dcm")
    photometric = {1: "MONOCHROME2", 4: "CMYK"}.get(nc, "RGB")
    dummy = np.zeros((h, w) if nc == 1 else (h, w, nc), np.uint8 if p <= 8 else np.uint16)
    make_dicom(src, dummy, photometric, p if sof == 0xC3 else (8 if p <= 8 else 12), ts=TS_BY_SOF[sof], encapsulated=stream)
    code = (
        "import gdcm, sys\n"
        "r = gdcm.ImageReader(); r.SetFileName(sys.argv[1])\n"
        "assert r.Read()\n"
        "img = r.GetImage()\n"
        "assert str(img.GetPhotometricInterpretation()).strip() in ('MONOCHROME2', 'RGB', 'CMYK')\n"
        "assert img.GetPlanarConfiguration() == 0\n"
        "b = img.GetBuffer()\n"
        "sys.stdout.buffer.write(b.encode('utf-8', 'surrogateescape') if isinstance(b, str) else bytes(b))\n"
    )
    r = subprocess.run([sys.executable, "-c", code, src], capture_output=True)
    if r.returncode != 0 or len(r.stdout) < h * w * nc:
        return None
    return r.stdout[: h * w * nc * (1 if p <= 8 else 2)]


def sha(b):
    return hashlib.sha256(b).hexdigest()


# ---------------------------------------------------------------- encoders

def dcmcjpeg(pixels, photometric, bits, opts, signed=False):
    src = os.path.join(TMP, "enc_in.dcm")
    dst = os.path.join(TMP, "enc_out.dcm")
    make_dicom(src, pixels, photometric, bits, signed=signed)
    sh("dcmcjpeg", *opts, src, dst)
    return first_fragment(dst)[0]


def cjpeg(pixels, opts, scans=None):
    src = os.path.join(TMP, "cj_in.pnm")
    h, w = pixels.shape[:2]
    magic = b"P5" if pixels.ndim == 2 else b"P6"
    with open(src, "wb") as f:
        f.write(magic + b"\n%d %d\n255\n" % (w, h) + pixels.astype(np.uint8).tobytes())
    extra = []
    if scans:
        sp = os.path.join(TMP, "scans.txt")
        with open(sp, "w") as f:
            f.write(scans)
        extra = ["-scans", sp]
    return sh("cjpeg", *opts, *extra, src)


class BitWriter:
    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value, bits):
        for i in range(bits - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)  # byte stuffing
                self.acc = 0
                self.n = 0

    def flush(self):
        while self.n:
            self.put(1, 1)  # pad with 1-bits


def lossless_encode(img, precision, sv, pt=0, restart_rows=0, interleaved=True):
    """A small T.81 lossless (SOF3) encoder, for what no encoder at hand writes: restart intervals
    and non-interleaved colour. Every category has a 5-bit code (valid, if not optimal)."""
    comps = 1 if img.ndim == 2 else img.shape[2]
    h, w = img.shape[:2]
    planes = [(img if comps == 1 else img[:, :, c]).astype(np.int64) >> pt for c in range(comps)]
    out = bytearray(b"\xff\xd8")
    seg = lambda m, payload: out.extend(bytes([0xFF, m]) + (len(payload) + 2).to_bytes(2, "big") + payload)
    seg(0xC4, bytes([0x00]) + bytes([0, 0, 0, 0, 17] + [0] * 11) + bytes(range(17)))
    sof = bytes([precision]) + h.to_bytes(2, "big") + w.to_bytes(2, "big") + bytes([comps])
    for c in range(comps):
        sof += bytes([c + 1, 0x11, 0])
    seg(0xC3, sof)
    if restart_rows:
        seg(0xDD, (restart_rows * w).to_bytes(2, "big"))
    initial = 1 << (precision - pt - 1)

    def pred(p, y, x, first_row):
        if y == first_row:
            return initial if x == 0 else int(p[y, x - 1])
        if x == 0:
            return int(p[y - 1, x])
        ra, rb, rc = int(p[y, x - 1]), int(p[y - 1, x]), int(p[y - 1, x - 1])
        return [0, ra, rb, rc, ra + rb - rc, ra + ((rb - rc) >> 1), rb + ((ra - rc) >> 1), (ra + rb) >> 1][sv]

    def code(bw, diff):
        diff %= 65536
        if diff >= 32768:
            diff -= 65536
        if diff == -32768:
            bw.put(16, 5)
            return
        cat = abs(diff).bit_length()
        bw.put(cat, 5)
        if cat:
            bw.put(diff if diff > 0 else diff - 1 + (1 << cat), cat)

    scans = [list(range(comps))] if interleaved else [[c] for c in range(comps)]
    for scan in scans:
        seg(0xDA, bytes([len(scan)]) + b"".join(bytes([c + 1, 0x00]) for c in scan) + bytes([sv, 0, pt]))
        bw = BitWriter()
        first_row, rst = 0, 0
        for y in range(h):
            if restart_rows and y and y % restart_rows == 0:
                bw.flush()
                bw.out.extend(bytes([0xFF, 0xD0 + rst]))
                rst = (rst + 1) % 8
                first_row = y
            for x in range(w):
                for c in scan:
                    code(bw, int(planes[c][y, x]) - pred(planes[c], y, x, first_row))
        bw.flush()
        out.extend(bw.out)
    out.extend(b"\xff\xd9")
    return bytes(out)


# ---------------------------------------------------------------- the cases

def cases(wheel):
    ct8_64 = ct_image(48, 64, 8, seed=3)
    ct8_odd = ct_image(23, 37, 8, seed=4)
    ct12_128 = ct_image(128, 128, 12, seed=5)
    ct12_odd = ct_image(23, 37, 12, seed=6)
    ct16s_96 = ct_image(80, 96, 16, signed=True, seed=7)
    ct16s_512 = ct_image(512, 512, 16, signed=True, seed=8, noise=4.0)
    ct12_512 = ct_image(512, 512, 12, seed=9, noise=4.0)
    ct8_512 = ct_image(512, 512, 8, seed=10, noise=4.0)
    rgb_64 = photo_image(48, 64, seed=11)
    rgb_odd = photo_image(23, 37, seed=12)
    rgb_tiny = photo_image(5, 4, seed=13)
    rgb12_odd = photo_image(23, 37, seed=14, maxval=4095)

    yield "dcmtk_gray8_eb_64x48", "none", dcmcjpeg(ct8_64, "MONOCHROME2", 8, ["+eb"])
    yield "dcmtk_gray8_eb_q75_37x23", "none", dcmcjpeg(ct8_odd, "MONOCHROME2", 8, ["+eb", "+q", "75"])
    yield "dcmtk_gray8_ee_std_37x23", "none", dcmcjpeg(ct8_odd, "MONOCHROME2", 8, ["+ee", "-ho"])
    yield "dcmtk_ct12_ee_128x128", "none", dcmcjpeg(ct12_128, "MONOCHROME2", 12, ["+ee"])
    yield "dcmtk_ct12_ee_q30_37x23", "none", dcmcjpeg(ct12_odd, "MONOCHROME2", 12, ["+ee", "+q", "30"])
    yield "dcmtk_ct12_ee_q2_37x23", "none", dcmcjpeg(ct12_odd, "MONOCHROME2", 12, ["+ee", "+q", "2"])
    yield "dcmtk_rgb_eb_s2_64x48", "ycc", dcmcjpeg(rgb_64, "RGB", 8, ["+eb", "+cy", "+s2"])
    yield "dcmtk_rgb_eb_s4_37x23", "ycc", dcmcjpeg(rgb_odd, "RGB", 8, ["+eb", "+cy", "+s4"])
    yield "dcmtk_rgb_eb_n1_37x23", "ycc", dcmcjpeg(rgb_odd, "RGB", 8, ["+eb", "+cy", "+n1"])
    yield "dcmtk_rgb_eb_n2_37x23", "ycc", dcmcjpeg(rgb_odd, "RGB", 8, ["+eb", "+cy", "+n2"])
    yield "dcmtk_rgb_eb_cr_37x23", "none", dcmcjpeg(rgb_odd, "RGB", 8, ["+eb", "+cr"])
    for sv in range(1, 8):
        yield f"dcmtk_ct16s_sv{sv}_96x80", "none", dcmcjpeg(ct16s_96, "MONOCHROME2", 16, ["+el", "+sv", str(sv)], signed=True)
    yield "dcmtk_ct12_sv1_pt2_37x23", "none", dcmcjpeg(ct12_odd, "MONOCHROME2", 12, ["+el", "+sv", "1", "+pt", "2"])
    yield "dcmtk_gray8_sv7_37x23", "none", dcmcjpeg(ct8_odd, "MONOCHROME2", 8, ["+el", "+sv", "7"])
    yield "dcmtk_rgb_sv1_37x23", "none", dcmcjpeg(rgb_odd, "RGB", 8, ["+el", "+sv", "1"])
    yield "dcmtk_ct16s_sv1_512x512", "none", dcmcjpeg(ct16s_512, "MONOCHROME2", 16, ["+e1"], signed=True)
    yield "dcmtk_ct12_ee_512x512", "none", dcmcjpeg(ct12_512, "MONOCHROME2", 12, ["+ee"])
    yield "dcmtk_gray8_eb_512x512", "none", dcmcjpeg(ct8_512, "MONOCHROME2", 8, ["+eb"])

    yield "cjpeg_rgb_420_37x23", "ycc", cjpeg(rgb_odd, ["-quality", "85"])
    yield "cjpeg_rgb_420_restart_64x48", "ycc", cjpeg(rgb_64, ["-restart", "1"])
    yield "cjpeg_gray_restart3b_37x23", "none", cjpeg(ct8_odd, ["-grayscale", "-restart", "3B"])
    yield "cjpeg_rgb_noninterleaved_64x48", "ycc", cjpeg(rgb_64, ["-optimize"], scans="0;\n1;\n2;\n")
    yield "cjpeg_rgb_noninterleaved_restart_37x23", "ycc", cjpeg(rgb_odd, ["-restart", "2B"], scans="0;\n1 2;\n")
    yield "cjpeg_rgb_rgb_37x23", "none", cjpeg(rgb_odd, ["-rgb"])
    yield "cjpeg_gray_q1_16bitdqt_37x23", "none", cjpeg(ct8_odd, ["-grayscale", "-quality", "1"])
    yield "cjpeg_rgb_422_37x23", "ycc", cjpeg(rgb_odd, ["-sample", "2x1"])
    yield "cjpeg_rgb_440_37x23", "ycc", cjpeg(rgb_odd, ["-sample", "1x2"])
    yield "cjpeg_rgb_411_37x23", "ycc", cjpeg(rgb_odd, ["-sample", "4x1"])
    yield "cjpeg_rgb_420_4x5", "ycc", cjpeg(rgb_tiny, [])
    yield "cjpeg_rgb_420_ycc_as_stored_37x23", "none", cjpeg(rgb_odd, [])

    cs = imagecodecs.JPEG8.CS
    yield "turbo3_gray12_q75_37x23", "none", imagecodecs.jpeg8_encode(ct12_odd, level=75, bitspersample=12)
    yield "turbo3_rgb12_420_37x23", "ycc", imagecodecs.jpeg8_encode(rgb12_odd, level=85, bitspersample=12, subsampling="420")
    yield "turbo3_ll12_sv5_37x23", "none", imagecodecs.jpeg8_encode(ct12_odd, lossless=True, predictor=5, bitspersample=12)
    yield "turbo3_ll6_sv4_37x23", "none", imagecodecs.jpeg8_encode((ct8_odd >> 2).astype(np.uint8), lossless=True, predictor=4, bitspersample=6)
    yield "turbo3_ll2_sv2_37x23", "none", imagecodecs.jpeg8_encode((ct8_odd >> 6).astype(np.uint8), lossless=True, predictor=2, bitspersample=2)
    ct16u = (ct16s_96.astype(np.int32) + 32768).astype(np.uint16)
    yield "turbo3_ll16_sv6_96x80", "none", imagecodecs.jpeg8_encode(ct16u, lossless=True, predictor=6, bitspersample=16)
    yield "turbo3_ll16_sv3_37x23", "none", imagecodecs.jpeg8_encode(ct16u[:23, :37], lossless=True, predictor=3, bitspersample=16)

    cmyk = np.concatenate([rgb_odd, rgb_odd[:, :, :1] // 2], axis=2)
    yield "turbo3_cmyk_37x23", "none", imagecodecs.jpeg8_encode(cmyk, level=90, colorspace=cs.CMYK, outcolorspace=cs.CMYK)
    ct16u_odd = ct16u[:23, :37]
    yield "pyenc_ll16_sv1_restart1_37x23", "none", lossless_encode(ct16u_odd, 16, 1, restart_rows=1)
    yield "pyenc_ll16_sv7_restart3_37x23", "none", lossless_encode(ct16u_odd, 16, 7, restart_rows=3)
    yield "pyenc_ll12_sv4_pt1_restart2_37x23", "none", lossless_encode(ct12_odd, 12, 4, pt=1, restart_rows=2)
    yield "pyenc_ll8_rgb_sv6_restart2_37x23", "none", lossless_encode(rgb_odd, 8, 6, restart_rows=2)
    yield "pyenc_ll8_rgb_noninterleaved_sv5_37x23", "none", lossless_encode(rgb_odd, 8, 5, interleaved=False)
    yield "pyenc_ll16_cat16_sv1_8x4", "none", lossless_encode(
        np.array([[0, 32768, 0, 65535, 1, 32769, 32767, 0]] * 4, dtype=np.uint16), 16, 1, restart_rows=2)

    if wheel:
        z = zipfile.ZipFile(wheel)
        for f in [
            "JPGExtended.dcm", "SC_jpeg_no_color_transform.dcm", "SC_jpeg_no_color_transform_2.dcm",
            "SC_rgb_dcmtk_+eb+cr.dcm", "SC_rgb_dcmtk_+eb+cy+n1.dcm", "SC_rgb_dcmtk_+eb+cy+n2.dcm",
            "SC_rgb_dcmtk_+eb+cy+np.dcm", "SC_rgb_dcmtk_+eb+cy+s2.dcm", "SC_rgb_dcmtk_+eb+cy+s4.dcm",
            "SC_rgb_jpeg.dcm", "SC_rgb_jpeg_app14_dcmd.dcm", "SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_jpeg_gdcm.dcm",
            "SC_rgb_jpeg_lossy_gdcm.dcm", "SC_rgb_small_odd_jpeg.dcm", "examples_ybr_color.dcm",
        ]:
            stream, ds = first_fragment(io.BytesIO(z.read("pydicom/data/test_files/" + f)))
            transform = "ycc" if str(ds.PhotometricInterpretation).startswith("YBR") else "none"
            name = "pydicom_" + f[:-4].replace("+", "").replace("-", "_")
            yield name, transform, stream


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wheel", default="/tmp/pyd/pydicom-3.0.2-py3-none-any.whl")
    a = ap.parse_args()
    wheel = a.wheel if os.path.exists(a.wheel) else None
    if not wheel:
        print("pydicom wheel not found: skipping its files", file=sys.stderr)
    for f in os.listdir(HERE):
        if f.endswith(".jpg"):
            os.remove(os.path.join(HERE, f))
    lines = ["# name\ttransform\twidth\theight\tcomponents\tprecision\tsha256_ijg\tsha256_turbo\tsha256_djpeg\tsha256_gdcm\tagree"]
    total = 0
    for name, transform, stream in cases(wheel):
        with open(os.path.join(HERE, name + ".jpg"), "wb") as f:
            f.write(stream)
        total += len(stream)
        sof, p, h, w, nc = sof_info(stream)
        ijg = sha(ref_dcmtk(stream, transform))
        turbo = sha(ref_turbo(stream, transform))
        dj = ref_djpeg(stream, transform)
        dj = sha(dj) if dj is not None else "-"
        gd = ref_gdcm(stream, transform) if HAVE_GDCM else None
        gd = sha(gd) if gd is not None else "-"
        agree = ["ijg"] + [n for n, v in (("turbo", turbo), ("djpeg", dj), ("gdcm", gd)) if v == ijg]
        if turbo != ijg and name not in KNOWN_DIFFERENCES:
            print(f"WARNING {name}: IJG and libjpeg-turbo differ", file=sys.stderr)
        lines.append("\t".join([name, transform, str(w), str(h), str(nc), str(p), ijg, turbo, dj, gd, ",".join(agree)]))
        print(f"{name}: {len(stream)} bytes, SOF{sof - 0xC0} P={p} {w}x{h}x{nc}, agree={','.join(agree)}")
    with open(os.path.join(HERE, "index.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Regenerates the JPEG-LS test streams of obscura-jpegls and their reference digests.

What it needs
-------------
* DCMTK's `dcmcjpls` and `dcmdjpls` on PATH (Debian: `apt-get install -y dcmtk`; 3.6.7 was used).
* A Python 3 with numpy, pydicom 3.0.2 and pyjpegls (CharLS 2.4 inside), e.g.:

      python3 -m venv /tmp/jlsvenv
      /tmp/jlsvenv/bin/pip install numpy pydicom==3.0.2 pyjpegls

  The pydicom 3.0.2 *wheel* is also unpacked for its test files (its JPEG-LS files are not in the
  installed package's data): `pip download --no-deps pydicom==3.0.2 -d <dir>`; pass that
  directory with `--pydicom-wheel-dir` (the wheel is downloaded there if missing).

How to run
----------
From the repository root:

    /tmp/jlsvenv/bin/python crates/jpegls/tests/data/generate.py [--pydicom-wheel-dir DIR]

It rewrites `crates/jpegls/tests/data/*.jls` and `index.tsv` (deterministic: fixed seeds).

What it makes
-------------
Each stream `NAME.jls` is a complete JPEG-LS codestream (SOI..EOI, plus any padding its encoder
wrote). Streams come from three encoders:

* `c_*`: CharLS through pyjpegls (its C API `charls_jpegls_encoder_*` called with ctypes, so that custom preset
  parameters and colour transforms can be set); `c_*_rst*` streams get restart markers by encoding
  each restart interval as its own image and splicing the entropy-coded segments with RSTm
  markers and a DRI segment (exactly what a restart resets: contexts, run index, line buffers,
  bit stream);
* `d_*`: DCMTK `dcmcjpls` (the codestream taken from the pixel data fragment);
* `p_*`: the JPEG-LS files shipped in the pydicom 3.0.2 wheel.

Each stream is decoded by CharLS (pyjpegls) and by DCMTK `dcmdjpls` (the stream wrapped in a
DICOM file when it did not come from one; its native pixel data read with pydicom), and, for
lossless streams made here, compared with the original samples. `index.tsv` records, per stream:
name, expected result (`ok` or `err:<Variant>`), width, height, components, precision, NEAR,
interleave mode, the SHA-256 of the reference samples (little-endian, sample-interleaved, u8 when
precision <= 8 else u16), and which references agreed on it (`original`, `charls`, `dcmtk`),
with the ones that could not decode it listed as `!name`. A stream is kept only if every
reference that decoded it agreed.
"""

import argparse
import ctypes
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

import jpeg_ls
import _CharLS

HERE = os.path.dirname(os.path.abspath(__file__))
TMP = tempfile.mkdtemp(prefix="jls-gen-")


# ---------------------------------------------------------------- CharLS through ctypes


class PresetParams(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in ("maxval", "t1", "t2", "t3", "reset")]


class FrameInfo(ctypes.Structure):
    _fields_ = [("width", ctypes.c_uint32), ("height", ctypes.c_uint32), ("bits", ctypes.c_int32), ("components", ctypes.c_int32)]


CHARLS = ctypes.CDLL(_CharLS.__file__)
CHARLS.charls_jpegls_encoder_create.restype = ctypes.c_void_p
for fn, args in {
    "charls_jpegls_encoder_destroy": [ctypes.c_void_p],
    "charls_jpegls_encoder_set_frame_info": [ctypes.c_void_p, ctypes.POINTER(FrameInfo)],
    "charls_jpegls_encoder_set_near_lossless": [ctypes.c_void_p, ctypes.c_int32],
    "charls_jpegls_encoder_set_interleave_mode": [ctypes.c_void_p, ctypes.c_int32],
    "charls_jpegls_encoder_set_preset_coding_parameters": [ctypes.c_void_p, ctypes.POINTER(PresetParams)],
    "charls_jpegls_encoder_set_color_transformation": [ctypes.c_void_p, ctypes.c_int32],
    "charls_jpegls_encoder_get_estimated_destination_size": [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t)],
    "charls_jpegls_encoder_set_destination_buffer": [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t],
    "charls_jpegls_encoder_encode_from_buffer": [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint32],
    "charls_jpegls_encoder_get_bytes_written": [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t)],
}.items():
    getattr(CHARLS, fn).argtypes = args
    getattr(CHARLS, fn).restype = ctypes.c_int32


def charls_encode(arr, bits, near=0, ilv=0, presets=None, transform=0):
    """arr: (h, w) or (h, w, c) unsigned. CharLS wants planar input for ILV 0, else by pixel."""
    h, w = arr.shape[:2]
    comps = 1 if arr.ndim == 2 else arr.shape[2]
    dtype = np.dtype(np.uint8) if bits <= 8 else np.dtype("<u2")
    a = arr.astype(dtype)
    if comps > 1 and ilv == 0:
        a = np.ascontiguousarray(a.transpose(2, 0, 1))
    src = a.tobytes()
    enc = CHARLS.charls_jpegls_encoder_create()

    def check(err):
        if err != 0:
            CHARLS.charls_jpegls_encoder_destroy(enc)
            raise RuntimeError(f"CharLS encode error {err}")

    check(CHARLS.charls_jpegls_encoder_set_frame_info(enc, ctypes.byref(FrameInfo(w, h, bits, comps))))
    check(CHARLS.charls_jpegls_encoder_set_near_lossless(enc, near))
    check(CHARLS.charls_jpegls_encoder_set_interleave_mode(enc, ilv))
    if presets:
        check(CHARLS.charls_jpegls_encoder_set_preset_coding_parameters(enc, ctypes.byref(PresetParams(*presets))))
    if transform:
        check(CHARLS.charls_jpegls_encoder_set_color_transformation(enc, transform))
    size = ctypes.c_size_t(0)
    check(CHARLS.charls_jpegls_encoder_get_estimated_destination_size(enc, ctypes.byref(size)))
    dst = ctypes.create_string_buffer(size.value + 1024)
    check(CHARLS.charls_jpegls_encoder_set_destination_buffer(enc, dst, len(dst)))
    check(CHARLS.charls_jpegls_encoder_encode_from_buffer(enc, src, len(src), 0))
    written = ctypes.c_size_t(0)
    check(CHARLS.charls_jpegls_encoder_get_bytes_written(enc, ctypes.byref(written)))
    CHARLS.charls_jpegls_encoder_destroy(enc)
    return dst.raw[: written.value]


def charls_decode(stream):
    """Samples sample-interleaved (h, w[, c]) or an error string."""
    try:
        info = _CharLS.read_header(bytes(stream))
        raw = _CharLS._decode(bytes(stream))
    except Exception as e:  # noqa: BLE001
        return f"error: {e}"
    h, w, c, bits = info["height"], info["width"], info["components"], info["bits_per_sample"]
    arr = np.frombuffer(bytes(raw), dtype=np.uint8 if bits <= 8 else "<u2")
    if c == 1:
        return arr.reshape(h, w)
    if info["interleave_mode"] == 0:
        return arr.reshape(c, h, w).transpose(1, 2, 0)
    return arr.reshape(h, w, c)


# ---------------------------------------------------------------- DICOM helpers


def dicom_dataset(arr, bits, ts):
    h, w = arr.shape[:2]
    comps = 1 if arr.ndim == 2 else arr.shape[2]
    ds = Dataset()
    fm = FileMetaDataset()
    fm.TransferSyntaxUID = ts
    fm.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    fm.MediaStorageSOPInstanceUID = "1.2.3.4.5.6.7.8"
    ds.file_meta = fm
    ds.SOPClassUID = fm.MediaStorageSOPClassUID
    ds.SOPInstanceUID = fm.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = h, w
    ds.SamplesPerPixel = comps
    ds.PhotometricInterpretation = "MONOCHROME2" if comps == 1 else ("RGB" if comps == 3 else "ARGB")
    if comps > 1:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = 8 if bits <= 8 else 16
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    return ds


def write_native(arr, bits, path):
    ds = dicom_dataset(arr, bits, ExplicitVRLittleEndian)
    ds.PixelData = arr.astype(np.uint8 if bits <= 8 else "<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)


def stream_from_dicom(path):
    ds = pydicom.dcmread(path)
    frames = list(generate_frames(ds.PixelData, number_of_frames=int(getattr(ds, "NumberOfFrames", 1))))
    return bytes(frames[0])


def dcmtk_decode(stream, shape_arr_bits):
    """Wraps `stream` in a DICOM file (TS .80 or .81 from its NEAR), runs dcmdjpls, reads the
    native samples. `shape_arr_bits` = (h, w, comps, bits)."""
    h, w, comps, bits = shape_arr_bits
    near = scan_near(stream)
    ts = "1.2.840.10008.1.2.4.80" if near == 0 else "1.2.840.10008.1.2.4.81"
    dummy = np.zeros((h, w) if comps == 1 else (h, w, comps), dtype=np.uint16)
    ds = dicom_dataset(dummy, bits, ts)
    data = stream if len(stream) % 2 == 0 else stream + b"\x00"
    ds.PixelData = encapsulate([data])
    ds["PixelData"].VR = "OB"
    ds.is_little_endian, ds.is_implicit_VR = True, False
    src = os.path.join(TMP, "wrap.dcm")
    out = os.path.join(TMP, "wrap_out.dcm")
    ds.save_as(src, enforce_file_format=True)
    return dcmtk_decode_file(src, out)


def dcmtk_decode_file(src, out):
    r = subprocess.run(["dcmdjpls", src, out], capture_output=True, text=True)
    if r.returncode != 0:
        return f"error: {r.stderr.strip()[:200]}"
    ds = pydicom.dcmread(out)
    h, w, comps, bits = ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.BitsAllocated
    arr = np.frombuffer(ds.PixelData, dtype=np.uint8 if bits == 8 else "<u2")[: h * w * comps]
    if comps == 1:
        return arr.reshape(h, w)
    if int(getattr(ds, "PlanarConfiguration", 0)) == 1:
        return arr.reshape(comps, h, w).transpose(1, 2, 0)
    return arr.reshape(h, w, comps)


# ---------------------------------------------------------------- codestream inspection


def segments(stream):
    """(marker, offset, payload) of the marker segments before the first SOS's data, and the SOS."""
    i = 2
    out = []
    while i < len(stream):
        assert stream[i] == 0xFF, (i, stream[i])
        while stream[i] == 0xFF:
            i += 1
        m = stream[i]
        i += 1
        if m in (0xD8, 0xD9) or 0xD0 <= m <= 0xD7:
            out.append((m, i - 2, b""))
            continue
        ln = int.from_bytes(stream[i : i + 2], "big")
        out.append((m, i - 2, stream[i + 2 : i + ln]))
        i += ln
        if m == 0xDA:
            return out, i
    raise ValueError("no SOS")


def frame_info(stream):
    segs, _ = segments(stream)
    for m, _, p in segs:
        if m == 0xF7:
            return p[0], int.from_bytes(p[1:3], "big"), int.from_bytes(p[3:5], "big"), p[5]
    raise ValueError("no SOF55")


def scan_near(stream):
    segs, _ = segments(stream)
    p = segs[-1][2]
    ns = p[0]
    return p[1 + 2 * ns]


def scan_ilv(stream):
    segs, _ = segments(stream)
    p = segs[-1][2]
    ns = p[0]
    return p[2 + 2 * ns]


def split_entropy(stream):
    """(header bytes up to and including the SOS, entropy-coded bytes, trailer from the marker on)
    for a single-scan stream."""
    _, data_start = segments(stream)
    i = data_start
    while not (stream[i] == 0xFF and stream[i + 1] >= 0x80):
        i += 1
    return stream[:data_start], stream[data_start:i], stream[i:]


def with_restarts(arr, bits, interval, **kw):
    """CharLS encoding of `arr` with a restart marker every `interval` lines (see module doc)."""
    h = arr.shape[0]
    parts = [charls_encode(arr[y : y + interval], bits, **kw) for y in range(0, h, interval)]
    header, first, _ = split_entropy(parts[0])
    # Patch the height in SOF55 and add a DRI before the SOS.
    segs, _ = segments(parts[0])
    sof = next(off for m, off, _ in segs if m == 0xF7)
    sos = next(off for m, off, _ in segs if m == 0xDA)
    header = bytearray(header)
    header[sof + 5 : sof + 7] = h.to_bytes(2, "big")
    header = bytes(header[:sos]) + b"\xff\xdd\x00\x04" + interval.to_bytes(2, "big") + bytes(header[sos:])
    body = first
    for n, part in enumerate(parts[1:]):
        body += bytes([0xFF, 0xD0 + n % 8]) + split_entropy(part)[1]
    return header + body + b"\xff\xd9"


# ---------------------------------------------------------------- synthetic images


def ct_like(h, w, bits, seed, comps=1):
    """A disc of 'tissue' with inner discs and noise on a zero background (runs and edges)."""
    rng = np.random.default_rng(seed)
    maxv = (1 << bits) - 1
    y, x = np.mgrid[0:h, 0:w]
    cy, cx = (h - 1) / 2, (w - 1) / 2
    r = np.hypot((y - cy) / max(h / 2, 1), (x - cx) / max(w / 2, 1))
    img = np.where(r < 0.9, 0.45 * maxv, 0.0)
    img = img + np.where(np.hypot((y - cy * 0.7) / max(h / 6, 1), (x - cx * 0.8) / max(w / 6, 1)) < 1, 0.3 * maxv, 0)
    img = img + (x + y) * (maxv / 40.0) / max(h + w, 1) * (r < 0.9)
    noise = rng.normal(0, max(maxv / 200.0, 0.6), size=img.shape) * (r < 0.9)
    img = np.clip(np.rint(img + noise), 0, maxv)
    if comps > 1:
        planes = [img]
        for c in range(1, comps):
            shift = np.roll(img, c * 3, axis=1) * (0.6 + 0.2 * c)
            planes.append(np.clip(np.rint(shift + rng.normal(0, 1.0, img.shape)), 0, maxv))
        img = np.stack(planes, axis=2)
    return img.astype(np.uint16)


def ct_slice(n, seed):
    """A 512-class CT slice: HU + 1024 in 16-bit samples, air (0) outside the body, soft tissue
    with noise (sigma 12 HU), bone ring and two organs."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n] / n - 0.5
    r = np.hypot(x / 0.42, y / 0.34)
    hu = np.full((n, n), -1024.0)
    hu[r < 1] = 40
    hu[(r > 0.9) & (r < 1)] = 700
    hu[np.hypot((x - 0.12) / 0.1, (y + 0.05) / 0.13) < 1] = 60
    hu[np.hypot((x + 0.15) / 0.12, y / 0.1) < 1] = -800
    hu = hu + rng.normal(0, 12, size=hu.shape) * (r < 1)
    return np.clip(np.rint(hu + 1024), 0, 65535).astype(np.uint16)


def photo_rgb(n, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n] / n
    planes = [
        128 + 100 * np.sin(6 * x + 2 * y),
        128 + 90 * np.cos(5 * y - 3 * x * x),
        128 + 80 * np.sin(9 * x * y + 1),
    ]
    img = np.stack(planes, axis=2) + rng.normal(0, 2.0, size=(n, n, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint16)


def noise(h, w, bits, seed, comps=1):
    rng = np.random.default_rng(seed)
    shape = (h, w) if comps == 1 else (h, w, comps)
    return rng.integers(0, 1 << bits, size=shape).astype(np.uint16)


def capped(arr, maxval):
    return np.minimum(arr, maxval).astype(np.uint16)


# ---------------------------------------------------------------- the catalogue


def charls_streams():
    s = {}

    def add(name, arr, bits, **kw):
        s[name] = (charls_encode(arr, bits, **kw), arr, bits, kw.get("near", 0))

    add("c_g8_ct_64x48", ct_like(48, 64, 8, 1), 8)
    add("c_g8_noise_32x32", noise(32, 32, 8, 2), 8)
    add("c_g2_33x17", ct_like(17, 33, 2, 3), 2)
    add("c_g2_noise_16x9", noise(9, 16, 2, 4), 2)
    add("c_g5_40x21", ct_like(21, 40, 5, 5), 5)
    add("c_g12_37x23", ct_like(23, 37, 12, 6), 12)
    add("c_g16_ct_128x96", ct_like(96, 128, 16, 7), 16)
    add("c_g16_noise_24x16", noise(16, 24, 16, 8), 16)
    add("c_g10_1x1", noise(1, 1, 10, 9), 10)
    add("c_g8_1x1", noise(1, 1, 8, 10), 8)
    add("c_g16_513x7", ct_like(7, 513, 16, 11), 16)
    add("c_g8_1x40", ct_like(40, 1, 8, 12), 8)
    add("c_g8_40x1", ct_like(1, 40, 8, 13), 8)
    add("c_g8_flat_50x20", np.full((20, 50), 77, dtype=np.uint16), 8)
    for near in range(1, 6):
        add(f"c_g8_near{near}_64x48", ct_like(48, 64, 8, 20 + near), 8, near=near)
    add("c_g8_noise_near3_32x32", noise(32, 32, 8, 30), 8, near=3)
    add("c_g12_near3_37x23", ct_like(23, 37, 12, 31), 12, near=3)
    add("c_g16_near2_128x96", ct_like(96, 128, 16, 32), 16, near=2)
    add("c_g16_near5_64x40", ct_like(40, 64, 16, 33), 16, near=5)
    add("c_g16_noise_near4_24x16", noise(16, 24, 16, 34), 16, near=4)
    add("c_g2_near1_33x17", ct_like(17, 33, 2, 35), 2, near=1)
    add("c_rgb8_ilv0_48x32", ct_like(32, 48, 8, 40, 3), 8, ilv=0)
    add("c_rgb8_ilv1_48x32", ct_like(32, 48, 8, 41, 3), 8, ilv=1)
    add("c_rgb8_ilv2_48x32", ct_like(32, 48, 8, 42, 3), 8, ilv=2)
    add("c_rgb8_ilv2_37x23", ct_like(23, 37, 8, 43, 3), 8, ilv=2)
    add("c_rgb8_noise_ilv2_16x16", noise(16, 16, 8, 44, 3), 8, ilv=2)
    add("c_rgb8_ilv0_near1_48x32", ct_like(32, 48, 8, 45, 3), 8, ilv=0, near=1)
    add("c_rgb8_ilv1_near2_48x32", ct_like(32, 48, 8, 46, 3), 8, ilv=1, near=2)
    add("c_rgb8_ilv2_near3_48x32", ct_like(32, 48, 8, 47, 3), 8, ilv=2, near=3)
    add("c_rgb12_ilv1_33x21", ct_like(21, 33, 12, 48, 3), 12, ilv=1)
    add("c_rgb16_ilv2_33x21", ct_like(21, 33, 16, 49, 3), 16, ilv=2)
    add("c_rgb16_ilv2_near4_33x21", ct_like(21, 33, 16, 50, 3), 16, ilv=2, near=4)
    add("c_rgba8_ilv2_24x16", ct_like(16, 24, 8, 51, 4), 8, ilv=2)
    add("c_rgba8_ilv1_24x16", ct_like(16, 24, 8, 52, 4), 8, ilv=1)
    add("c_rgba8_ilv0_24x16", ct_like(16, 24, 8, 53, 4), 8, ilv=0)
    # Custom preset coding parameters (LSE id 1): (MAXVAL, T1, T2, T3, RESET), 0 = default.
    add("c_g8_lse_64x48", ct_like(48, 64, 8, 60), 8, presets=(255, 2, 5, 10, 32))
    add("c_g16_lse_64x48", ct_like(48, 64, 16, 61), 16, presets=(0, 10, 50, 300, 200))
    add("c_g12_maxval4000_37x23", capped(ct_like(23, 37, 12, 62) * 1.2, 4000), 12, presets=(4000, 0, 0, 0, 0))
    add("c_g8_lse_near2_64x48", ct_like(48, 64, 8, 63), 8, near=2, presets=(0, 5, 9, 20, 100))
    # (CharLS 2.4's sample-interleaved encoder corrupts memory with a RESET other than 64: the
    # same holds for DCMTK: no stream has a custom RESET with sample interleave.)
    add("c_rgb8_ilv2_lse_near1_48x32", ct_like(32, 48, 8, 64, 3), 8, ilv=2, near=1, presets=(0, 4, 8, 30, 0))
    add("c_rgb8_ilv1_lse_48x32", ct_like(32, 48, 8, 66, 3), 8, ilv=1, presets=(0, 3, 9, 25, 20))
    add("c_g16_lse_reset3_40x30", ct_like(30, 40, 16, 65), 16, presets=(0, 0, 0, 0, 3))
    # For examples/bench.rs (and decoded by the tests like the others).
    add("bench_ct16_512x512", ct_slice(512, 200), 16)
    add("bench_rgb8_ilv2_512x512", photo_rgb(512, 201), 8, ilv=2)
    # Restart markers (spliced, see the module doc).
    for name, arr, bits, interval, kw in [
        ("c_g8_rst8_64x48", ct_like(48, 64, 8, 70), 8, 8, {}),
        ("c_g16_near2_rst5_40x23", ct_like(23, 40, 16, 71), 16, 5, {"near": 2}),
        ("c_rgb8_ilv2_rst4_24x30", ct_like(30, 24, 8, 72, 3), 8, 4, {"ilv": 2}),
        ("c_rgb8_ilv1_rst3_24x20", ct_like(20, 24, 8, 73, 3), 8, 3, {"ilv": 1}),
        ("c_g8_rst1_16x20", ct_like(20, 16, 8, 74), 8, 1, {}),
    ]:
        s[name] = (with_restarts(arr, bits, interval, **kw), arr, bits, kw.get("near", 0))
    return s


def dcmtk_streams():
    s = {}
    cases = [
        ("d_g8_ct_64x48", ct_like(48, 64, 8, 80), 8, []),
        ("d_g12_ct_37x23", ct_like(23, 37, 12, 81), 12, []),
        ("d_g16_ct_128x96", ct_like(96, 128, 16, 82), 16, []),
        ("d_g16_nl2_64x40", ct_like(40, 64, 16, 83), 16, ["+en"]),
        ("d_g8_md5_64x48", ct_like(48, 64, 8, 84), 8, ["+en", "+md", "5"]),
        ("d_g12_md1_37x23", ct_like(23, 37, 12, 85), 12, ["+en", "+md", "1"]),
        ("d_rgb8_il_48x32", ct_like(32, 48, 8, 86, 3), 8, ["+il"]),
        ("d_rgb8_is_48x32", ct_like(32, 48, 8, 87, 3), 8, ["+is"]),
        ("d_rgb8_in_48x32", ct_like(32, 48, 8, 88, 3), 8, ["+in"]),
        ("d_rgb8_is_md2_48x32", ct_like(32, 48, 8, 89, 3), 8, ["+is", "+en", "+md", "2"]),
        ("d_g8_custom_64x48", ct_like(48, 64, 8, 90), 8, ["+t1", "2", "+t2", "6", "+t3", "15", "+rs", "40"]),
        ("d_rgb8_is_custom_48x32", ct_like(32, 48, 8, 92, 3), 8, ["+is", "+t1", "4", "+t2", "8", "+t3", "30"]),
        ("d_g16_custom_64x48", ct_like(48, 64, 16, 91), 16, ["+t1", "20", "+t2", "90", "+t3", "400", "+rs", "100"]),
    ]
    # Odd-length codestreams for both padding styles: search seeds until the stream is odd.
    for style in ("+ps", "+pz"):
        for seed in range(100, 200):
            arr = ct_like(13, 17, 8, seed)
            raw = charls_encode(arr, 8)
            if len(raw) % 2 == 1:
                cases.append((f"d_g8_pad{style[2]}_17x13", arr, 8, [style]))
                break
    for name, arr, bits, opts in cases:
        src = os.path.join(TMP, name + "_in.dcm")
        dst = os.path.join(TMP, name + ".dcm")
        write_native(arr, bits, src)
        subprocess.run(["dcmcjpls", *opts, src, dst], check=True)
        near = 0
        if "+en" in opts:
            near = int(opts[opts.index("+md") + 1]) if "+md" in opts else 2
        s[name] = (stream_from_dicom(dst), arr, bits, near, dst)
    return s


def pydicom_streams(wheel_dir):
    os.makedirs(wheel_dir, exist_ok=True)
    wheels = glob.glob(os.path.join(wheel_dir, "pydicom-3.0.2-*.whl"))
    if not wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "pydicom==3.0.2", "-d", wheel_dir],
            check=True,
        )
        wheels = glob.glob(os.path.join(wheel_dir, "pydicom-3.0.2-*.whl"))
    import zipfile

    s = {}
    with zipfile.ZipFile(wheels[0]) as z:
        for short, fname in [
            ("p_mr_small_lossless", "MR_small_jpeg_ls_lossless.dcm"),
            ("p_nearlossless_08", "JPEGLSNearLossless_08.dcm"),
            ("p_nearlossless_16", "JPEGLSNearLossless_16.dcm"),
            ("p_sc_rgb_lossy_line", "SC_rgb_jls_lossy_line.dcm"),
            ("p_sc_rgb_lossy_sample", "SC_rgb_jls_lossy_sample.dcm"),
        ]:
            path = os.path.join(TMP, fname)
            with open(path, "wb") as f:
                f.write(z.read("pydicom/data/test_files/" + fname))
            s[short] = path
    return s


# ---------------------------------------------------------------- references and the index


def le_bytes(arr, bits):
    return np.ascontiguousarray(arr.astype(np.uint8 if bits <= 8 else "<u2")).tobytes()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pydicom-wheel-dir", default=os.path.join(TMP, "wheel"))
    args = ap.parse_args()
    for old in glob.glob(os.path.join(HERE, "*.jls")):
        os.remove(old)

    rows = []

    def record(name, stream, original, dicom_path=None, expect="ok"):
        bits, h, w, comps = frame_info(stream)
        near, ilv = scan_near(stream), scan_ilv(stream)
        refs = {}
        if original is not None and near == 0:
            refs["original"] = le_bytes(original, bits)
        c = charls_decode(stream)
        refs["charls"] = c if isinstance(c, str) else le_bytes(c, bits)
        d = dcmtk_decode_file(dicom_path, os.path.join(TMP, "out.dcm")) if dicom_path else dcmtk_decode(stream, (h, w, comps, bits))
        refs["dcmtk"] = d if isinstance(d, str) else le_bytes(d, bits)
        good = {k: v for k, v in refs.items() if not isinstance(v, str)}
        failed = sorted(k for k, v in refs.items() if isinstance(v, str))
        digests = {hashlib.sha256(v).hexdigest() for v in good.values()}
        if expect == "ok":
            if len(digests) != 1:
                print(f"DISAGREE {name}: " + ", ".join(f"{k}={hashlib.sha256(v).hexdigest()[:12]}" for k, v in good.items()))
                return
            digest = digests.pop()
        else:
            digest = "-"
        with open(os.path.join(HERE, name + ".jls"), "wb") as f:
            f.write(stream)
        agreed = ",".join(sorted(good) + ["!" + k for k in failed]) if expect == "ok" else ",".join(
            f"{k}:{'err' if isinstance(v, str) else 'ok'}" for k, v in sorted(refs.items())
        )
        rows.append((name, expect, w, h, comps, bits, near, ilv, digest, agreed))
        for k in failed:
            print(f"  note {name}: {k} {refs[k]}")

    for name, (stream, arr, bits, near) in charls_streams().items():
        record(name, stream, arr)
    for name, (stream, arr, bits, near, path) in dcmtk_streams().items():
        record(name, stream, arr, dicom_path=path)
    for name, path in pydicom_streams(args.pydicom_wheel_dir).items():
        record(name, stream_from_dicom(path), None, dicom_path=path)
    # Streams that must be refused with a typed error.
    rgb = ct_like(16, 16, 8, 99, 3)
    record("c_rgb8_hp1_16x16", charls_encode(rgb, 8, ilv=2, transform=1), None, expect="err:Unsupported")
    record("c_rgb8_hp2_16x16", charls_encode(rgb, 8, ilv=1, transform=2), None, expect="err:Unsupported")

    with open(os.path.join(HERE, "index.tsv"), "w") as f:
        f.write("# name\texpect\twidth\theight\tcomponents\tprecision\tnear\tilv\tsha256\treferences\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")
    total = sum(os.path.getsize(p) for p in glob.glob(os.path.join(HERE, "*.jls")))
    print(f"{len(rows)} streams, {total} bytes")
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()

"A corpus of bad inputs, built on the fly: every one gives a note or an `ImageError` with its exact reason."
import os, resource, struct, subprocess, sys, time, zlib
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from pydicom import uid
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.tag import Tag

import boneage.images as images
from boneage.core import BoneageError
from boneage.images import ImageError, read_dicom, read_image, sniff_format, write_dicom

RAMP = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (32, 1))       # 64 x 32, aspect 2
STORED = np.round(RAMP * 4095).astype(np.uint16)                         # what write_dicom stores at 12 bits


def reason(path, **kw):
    "The reason of the ImageError that reading `path` raises (the message less its 'path: ' prefix)."
    with pytest.raises(ImageError) as e: read_image(path, **kw)
    msg = str(e.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg, msg
    return msg[len(f"{path}: "):]


# ---------------------------------------------------------------- builders of bad files
def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

def png_file(w, h, idat=b"", bits=8, colour=0) -> bytes:
    "A PNG whose IHDR claims w x h, with the given compressed IDAT payload."
    ihdr = struct.pack(">IIBBBBB", w, h, bits, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")

def zeros_png(side: int) -> bytes:
    "A valid 1-bit grey PNG of side x side zeros: about 200 kB for 40000 x 40000, 1.6 G pixels decoded."
    z, block = zlib.compressobj(9), b"\0" * ((1 + (side + 7) // 8) * 1000)
    data = b"".join(z.compress(block) for _ in range(side // 1000)) + z.flush()
    return png_file(side, side, data, bits=1)

def jpeg_lossless(img, bits=12) -> bytes:
    "Minimal JPEG lossless encoder (process 14, first-order prediction): one component, each category coded in 5 bits."
    img = np.asarray(img, np.int64); h, w = img.shape
    pred = np.empty_like(img); pred[0, 0] = 1 << (bits - 1)
    pred[0, 1:], pred[1:, 0], pred[1:, 1:] = img[0, :-1], img[:-1, 0], img[1:, :-1]
    out, acc, n = bytearray(), 0, 0
    for d in (((img - pred + 32768) % 65536) - 32768).ravel().tolist():
        s = int(abs(d)).bit_length()
        acc, n = (acc << 5) | s, n + 5
        if s: acc, n = (acc << s) | (d if d >= 0 else d + (1 << s) - 1), n + s
        while n >= 8:
            n -= 8; out.append((acc >> n) & 0xFF)
            if out[-1] == 0xFF: out.append(0)
        acc &= (1 << n) - 1
    if n:
        out.append(((acc << (8 - n)) | ((1 << (8 - n)) - 1)) & 0xFF)
        if out[-1] == 0xFF: out.append(0)
    seg = lambda m, p: bytes([0xFF, m]) + (len(p) + 2).to_bytes(2, "big") + p
    sof = bytes([bits]) + h.to_bytes(2, "big") + w.to_bytes(2, "big") + b"\x01\x01\x11\x00"
    dht = b"\x00" + bytes([0, 0, 0, 0, 17] + [0] * 11) + bytes(range(17))
    return b"\xff\xd8" + seg(0xC3, sof) + seg(0xC4, dht) + seg(0xDA, b"\x01\x01\x00\x01\x00\x00") + bytes(out) + b"\xff\xd9"

def dicom(tmp_path, name, image=RAMP, raw=None, bits=12, **attrs) -> Path:
    "A DICOM written by write_dicom, then changed: `attrs` set as values (None deletes), `raw` as DS text."
    p = write_dicom(tmp_path / name, image, bits_stored=bits)
    ds = pydicom.dcmread(p)
    for k, v in attrs.items():
        if v is None: del ds[k]
        else: setattr(ds, k, v)
    for k, v in (raw or {}).items():
        b = v.encode() + b" " * (len(v) % 2)
        ds[Tag(k)] = RawDataElement(Tag(k), "DS", len(b), b, 0, False, True)
    ds.save_as(p); return p

def recompress(path, syntax, **kw) -> Path:
    ds = pydicom.dcmread(path); ds.compress(syntax, **kw); ds.save_as(path); return path


# ---------------------------------------------------------------- 1. limits before decoding
def refused_quickly(path):
    "Reason, seconds and growth of the peak RSS (MB) while refusing `path`."
    peak, t = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
    why = reason(path)
    return why, time.perf_counter() - t, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024

def test_huge_png_refused_from_its_header(tmp_path):
    (tmp_path / "claims.png").write_bytes(png_file(40000, 40000, zlib.compress(b"\0" * 100)))
    (tmp_path / "zeros.png").write_bytes(zeros_png(40000))         # valid: decodes to 1.6 G pixels
    for name in ("claims.png", "zeros.png"):
        why, seconds, mb = refused_quickly(tmp_path / name)
        assert why == "PNG of 40000x40000 = 1,600,000,000 pixels exceeds the limit of 50,000,000"
        assert seconds < 1 and mb < 50, (seconds, mb)
    (tmp_path / "length.png").write_bytes(png_file(64, 32)[:33] + struct.pack(">I", 2_900_000_000) + b"IDAT" + bytes(200))
    why, seconds, mb = refused_quickly(tmp_path / "length.png")     # OpenCV alone allocates 2.8 GB for this 245-byte file
    assert why == "corrupt PNG (truncated: IDAT chunk at byte 33 needs 2,900,000,000 bytes, 200 left)" and mb < 50
    (tmp_path / "colour.png").write_bytes(png_file(5000, 4000, colour=6))   # RGBA: 4 samples
    assert reason(tmp_path / "colour.png") == "PNG of 5000x4000x4 samples = 80,000,000 pixels exceeds the limit of 50,000,000"

def test_huge_jpeg_refused_from_its_sof(tmp_path):
    jpg = bytearray(cv2.imencode(".jpg", (RAMP * 255).astype(np.uint8))[1].tobytes())
    i = jpg.index(b"\xff\xc0"); jpg[i + 5:i + 9] = struct.pack(">HH", 60000, 60000)
    (tmp_path / "big.jpg").write_bytes(jpg)
    assert reason(tmp_path / "big.jpg") == "JPEG of 60000x60000 = 3,600,000,000 pixels exceeds the limit of 50,000,000"
    (tmp_path / "nosof.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x04ab\xff\xd9")
    assert reason(tmp_path / "nosof.jpg") == "corrupt JPEG (no frame header before the image data)"

def test_huge_dicom_refused_from_its_header(tmp_path):
    p = dicom(tmp_path, "rle.dcm", Rows=24000, Columns=24000)
    ds = pydicom.dcmread(p); ds.file_meta.TransferSyntaxUID = uid.RLELossless
    ds.PixelData = encapsulate([bytes(64)]); ds["PixelData"].VR = "OB"; ds.save_as(p)
    why, seconds, mb = refused_quickly(p)
    assert why == "DICOM of 24000x24000 = 576,000,000 pixels exceeds the limit of 50,000,000"
    assert seconds < 1 and mb < 50, (seconds, mb)
    p = dicom(tmp_path, "frames.dcm", Rows=2000, Columns=2000, NumberOfFrames=20)
    assert reason(p) == "DICOM of 2000x2000x20 frames = 80,000,000 pixels exceeds the limit of 50,000,000"
    p = dicom(tmp_path, "zero.dcm", Rows=0)
    assert reason(p) == "corrupt DICOM header (image size 64x0)"

def test_opencv_errors_become_image_errors(tmp_path, monkeypatch):
    cv2.imwrite(str(tmp_path / "ok.png"), (RAMP * 255).astype(np.uint8))
    def limit(*a): raise cv2.error("OpenCV(5.0.0) loadsave.cpp:79: error: (-215:Assertion failed) pixels <= CV_IO_MAX_IMAGE_PIXELS")
    monkeypatch.setattr(images.cv2, "imdecode", limit)
    assert reason(tmp_path / "ok.png") == "PNG exceeds OpenCV's CV_IO_MAX_IMAGE_PIXELS limit"
    def other(*a): raise cv2.error("OpenCV(5.0.0) grfmt_png.cpp:1: error: (-2:Unspecified error) bad chunk")
    monkeypatch.setattr(images.cv2, "imdecode", other)
    assert reason(tmp_path / "ok.png").startswith("corrupt PNG (OpenCV: error: ")

def test_opencv_own_pixel_limit_for_real(tmp_path):
    "OpenCV reads OPENCV_IO_MAX_IMAGE_PIXELS once per process: check its real cv2.error in a child process."
    cv2.imwrite(str(tmp_path / "ok.png"), (RAMP * 255).astype(np.uint8))
    code = "import sys; from boneage.images import *\ntry: read_image(sys.argv[1])\nexcept ImageError as e: print(e)"
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "ok.png")], capture_output=True, text=True,
                         env=dict(os.environ, OPENCV_IO_MAX_IMAGE_PIXELS="100"), timeout=60)
    assert out.stdout.strip() == f"{tmp_path / 'ok.png'}: PNG exceeds OpenCV's CV_IO_MAX_IMAGE_PIXELS limit", out.stderr

def test_file_size_limit(tmp_path, monkeypatch):
    cv2.imwrite(str(tmp_path / "ok.png"), (RAMP * 255).astype(np.uint8))
    monkeypatch.setattr(images, "MAX_FILE_BYTES", 100)
    size = (tmp_path / "ok.png").stat().st_size
    assert reason(tmp_path / "ok.png") == f"file of {size:,} bytes exceeds the limit of 100"


# ---------------------------------------------------------------- 2. DICOM read as a viewer would
WINDOWS = {   # (WindowCenter, WindowWidth) as written -> first note
    "valid pair": (("2048", "2048"), "DICOM window applied"),
    "first of two": (("2048\\100", "2048\\50"), "DICOM window applied"),
    "empty": (("", "2048"), "invalid DICOM window ignored (WindowCenter='', WindowWidth='2048'): full range used"),
    "text": (("abc", "2048"), "invalid DICOM window ignored (WindowCenter='abc', WindowWidth='2048'): full range used"),
    "NaN": (("NaN", "NaN"), "invalid DICOM window ignored (WindowCenter='NaN', WindowWidth='NaN'): full range used"),
    "zero width": (("2048", "0"), "invalid DICOM window ignored (WindowCenter='2048', WindowWidth='0'): full range used"),
    "second valid": (("abc\\2048", "2048\\2048"), "DICOM window applied (pair 2 of 2: the pairs before it are invalid)"),
}

@pytest.mark.parametrize("case", WINDOWS)
def test_malformed_windows(tmp_path, case):
    (c, w), note = WINDOWS[case]
    img, notes = read_image(dicom(tmp_path, "w.dcm", raw=dict(WindowCenter=c, WindowWidth=w)))
    assert notes[0] == note
    if "full range" in note: assert np.abs(img - RAMP).max() < 1e-3 and notes[1] == "12-bit DICOM scaled to [0, 1]"
    else: assert img[:, 0].max() == 0 and img[:, -1].min() == 1       # window 1024..3072 of 0..4095

def test_unknown_voi_function_is_linear(tmp_path):
    img, notes = read_image(dicom(tmp_path, "f.dcm", WindowCenter=2048, WindowWidth=4096, VOILUTFunction="CUBIC"))
    assert notes == ["unknown VOI LUT function 'CUBIC': LINEAR used", "DICOM window applied"]
    assert np.abs(img - RAMP).max() < 2e-3

def voi_lut(entries) -> Dataset:
    item = Dataset(); item.LUTDescriptor = [len(entries), 0, 16]; item["LUTDescriptor"].VR = "US"
    item.LUTData = [int(v) for v in entries]; item["LUTData"].VR = "US"
    return item

def test_voi_lut_sequences(tmp_path):
    inverse = 65535 - np.round(np.arange(4096) / 4095 * 65535)
    img, notes = read_image(dicom(tmp_path, "lut.dcm", VOILUTSequence=[voi_lut(inverse)]))
    assert notes == ["VOI LUT applied"] and np.abs(img - (1 - RAMP)).max() < 1e-3
    img, notes = read_image(dicom(tmp_path, "empty.dcm", VOILUTSequence=[], WindowCenter=2048, WindowWidth=2048))
    assert notes == ["empty VOI LUT sequence ignored", "DICOM window applied"]
    bad = voi_lut(inverse); bad.LUTDescriptor = [4096, 0, 9]
    img, notes = read_image(dicom(tmp_path, "bad.dcm", VOILUTSequence=[bad]))
    assert notes[0] == "unusable VOI LUT ignored (NotImplementedError: '9' bits per LUT entry is not supported)"
    assert np.abs(img - RAMP).max() < 1e-3

@pytest.mark.parametrize("slope,intercept", [("NaN", "0"), ("1", "inf"), ("0", "0"), ("abc", "0")])
def test_unusable_rescale_ignored(tmp_path, slope, intercept):
    p = dicom(tmp_path, "r.dcm", raw=dict(RescaleSlope=slope, RescaleIntercept=intercept, WindowCenter="9000", WindowWidth="10"))
    img, notes = read_image(p)
    assert notes == [f"invalid rescale ignored (RescaleSlope='{slope}', RescaleIntercept='{intercept}'): "
                     "stored values scaled to their range", "12-bit DICOM scaled to [0, 1]"]
    assert np.abs(img - RAMP).max() < 1e-3      # the window (in rescaled units) is skipped too

def test_rescale_overflow_is_refused(tmp_path):
    p = dicom(tmp_path, "o.dcm", raw=dict(RescaleSlope="1e38", RescaleIntercept="0"))
    assert reason(p) == "non-finite pixel values (NaN or infinity) after DICOM conversion"

def float_dicom(tmp_path, name, values) -> Path:
    p = dicom(tmp_path, name, BitsStored=None, HighBit=None, PixelRepresentation=None, PixelData=None, BitsAllocated=32)
    ds = pydicom.dcmread(p); ds.FloatPixelData = values.astype(np.float32).tobytes(); ds.save_as(p)
    return p

def test_float_pixel_data(tmp_path):
    img, notes = read_image(float_dicom(tmp_path, "f.dcm", RAMP * 3.5 - 1))
    assert notes == ["float pixel data scaled to its range"] and np.abs(img - RAMP).max() < 1e-5
    holes = RAMP.copy(); holes[3, 4] = np.nan
    assert reason(float_dicom(tmp_path, "nan.dcm", holes)) == "float pixel data holds NaN or infinite values"

def palette(tmp_path, name, with_lut=True) -> Path:
    p = dicom(tmp_path, name, image=(RAMP * 255).astype(np.uint8), bits=8, PhotometricInterpretation="PALETTE COLOR")
    ds = pydicom.dcmread(p)
    if with_lut:
        for c in ("Red", "Green", "Blue"):
            setattr(ds, f"{c}PaletteColorLookupTableDescriptor", [256, 0, 16])
            ds[f"{c}PaletteColorLookupTableDescriptor"].VR = "US"
            setattr(ds, f"{c}PaletteColorLookupTableData", (np.arange(256, dtype="<u2") * 257).tobytes())
    ds.save_as(p); return p

def test_palette_color(tmp_path):
    img, notes = read_image(palette(tmp_path, "p.dcm"))
    assert notes == ["PALETTE COLOR DICOM converted to grey"] and np.abs(img - RAMP).max() < 1 / 255
    assert reason(palette(tmp_path, "nolut.dcm", with_lut=False)).startswith("PALETTE COLOR DICOM without a usable palette (")

def test_three_samples_labelled_monochrome(tmp_path):
    rgb = np.repeat(STORED[..., None], 3, axis=2)
    p = dicom(tmp_path, "rgb.dcm", SamplesPerPixel=3, PlanarConfiguration=0, PixelData=rgb.tobytes())
    img, notes = read_image(p)
    assert notes == ["3 samples per pixel labelled MONOCHROME2: read as RGB, converted to grey"]
    assert np.abs(img - RAMP).max() < 1e-3
    p = dicom(tmp_path, "rgb2.dcm", SamplesPerPixel=3, PlanarConfiguration=0, PixelData=rgb.tobytes(), PhotometricInterpretation="RGB")
    assert read_image(p)[1] == ["RGB DICOM converted to grey"]

def test_dicom_without_preamble(tmp_path):
    full = write_dicom(tmp_path / "full.dcm", RAMP).read_bytes()
    (tmp_path / "meta.dcm").write_bytes(full[132:])                # starts with group 0x0002
    assert sniff_format(full[132:264]) == "dicom"
    img, notes = read_image(tmp_path / "meta.dcm")
    assert notes == ["DICOM without the 128-byte preamble: read anyway", "12-bit DICOM scaled to [0, 1]"]
    assert np.abs(img - RAMP).max() < 1e-3
    fp = DicomBytesIO(); fp.is_little_endian, fp.is_implicit_VR = True, True
    write_dataset(fp, pydicom.dcmread(tmp_path / "full.dcm"))      # no file meta at all: starts with group 0x0008
    (tmp_path / "bare.png").write_bytes(fp.getvalue())
    img, notes = read_image(tmp_path / "bare.png")
    assert notes == ["DICOM without the 128-byte preamble: read anyway",
                     "DICOM without a transfer syntax: read as Implicit VR Little Endian",
                     "12-bit DICOM scaled to [0, 1]", "content is DICOM despite the .png extension"]
    assert np.abs(img - RAMP).max() < 1e-3

@pytest.mark.parametrize("syntax", ["RLE", "JPEG lossless", "JPEG 2000 lossless", "JPEG 2000"])
def test_compressed_transfer_syntaxes_are_read(tmp_path, syntax):
    p = write_dicom(tmp_path / "c.dcm", RAMP)
    if syntax == "RLE": recompress(p, uid.RLELossless)
    elif syntax == "JPEG 2000 lossless": recompress(p, uid.JPEG2000Lossless)
    elif syntax == "JPEG 2000": recompress(p, uid.JPEG2000, j2k_cr=[10])
    else:
        ds = pydicom.dcmread(p); ds.file_meta.TransferSyntaxUID = uid.JPEGLosslessSV1
        ds.PixelData = encapsulate([jpeg_lossless(STORED)]); ds["PixelData"].VR = "OB"; ds.save_as(p)
    assert pydicom.dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID != uid.ExplicitVRLittleEndian
    img, notes = read_image(p)
    assert notes == ["12-bit DICOM scaled to [0, 1]"]
    assert np.abs(img - RAMP).max() < (0.02 if syntax == "JPEG 2000" else 1e-3)

def test_undecodable_dicom_pixels(tmp_path):
    p = dicom(tmp_path, "mpeg.dcm")
    ds = pydicom.dcmread(p); ds.file_meta.TransferSyntaxUID = uid.MPEG2MPML
    ds.PixelData = encapsulate([bytes(64)]); ds["PixelData"].VR = "OB"; ds.save_as(p)
    assert reason(p) == "DICOM pixels cannot be decoded (MPEG2 Main Profile / Main Level: no decoder for this transfer syntax)"
    p = dicom(tmp_path, "short.dcm", PixelData=STORED.tobytes()[:1000])
    assert reason(p).startswith("DICOM pixels cannot be decoded (Explicit VR Little Endian: ValueError: ")
    assert reason(dicom(tmp_path, "nopix.dcm", PixelData=None)) == "DICOM has no pixel data"
    assert reason(dicom(tmp_path, "norows.dcm", Rows=None)) == "DICOM has no pixel data (no Rows/Columns)"

def test_rust_decoder_panic_is_an_image_error(tmp_path):
    "pylibjpeg-rle panics (a BaseException, not an Exception) on segments that overrun the frame."
    p = dicom(tmp_path, "panic.dcm")
    seg = bytes([0x81, 0]) * 40                                       # 40 runs of 128 zeros: more than a segment holds
    frame = struct.pack("<16I", 2, 64, 64 + len(seg), *[0] * 13) + seg + seg
    ds = pydicom.dcmread(p); ds.file_meta.TransferSyntaxUID = uid.RLELossless
    ds.PixelData = encapsulate([frame]); ds["PixelData"].VR = "OB"; ds.save_as(p)
    assert reason(p).startswith("DICOM pixels cannot be decoded (RLE Lossless: ")

def test_multi_frame_first_frame(tmp_path):
    frames = np.stack([STORED, 4095 - STORED, STORED])
    img, notes = read_image(dicom(tmp_path, "m.dcm", NumberOfFrames=3, PixelData=frames.tobytes()))
    assert notes == ["multi-frame DICOM: first frame used", "12-bit DICOM scaled to [0, 1]"] and np.abs(img - RAMP).max() < 1e-3

def test_corrupt_and_fake_dicoms(tmp_path):
    good = write_dicom(tmp_path / "g.dcm", RAMP).read_bytes()
    (tmp_path / "cut.dcm").write_bytes(good[:300])
    assert reason(tmp_path / "cut.dcm") == "DICOM has no pixel data (no Rows/Columns)"
    (tmp_path / "short.dcm").write_bytes(good[:-1000])
    assert reason(tmp_path / "short.dcm").startswith("DICOM pixels cannot be decoded (Explicit VR Little Endian: "
                                                     "ValueError: The number of bytes of pixel data is less than expected")
    (tmp_path / "text.dcm").write_text("patient list\n")
    assert reason(tmp_path / "text.dcm") == "not a DICOM file"


# ---------------------------------------------------------------- 3. valid means usable
@pytest.mark.parametrize("name,image,why", [
    ("tall.png", np.tile(np.arange(40, dtype=np.uint8) * 6, (200, 1)), "aspect ratio 5.0:1 (40x200 px) exceeds the limit of 4:1"),
    ("tiny.png", np.arange(64, dtype=np.uint8).reshape(8, 8), "image too small (8x8 px)"),
    ("flat.png", np.full((32, 32), 7, np.uint8), "blank image (all pixels equal)"),
    ("haze.png", (30000 + np.arange(64 * 64) % 50).reshape(64, 64).astype(np.uint16),        # 16-bit, 50 levels apart
     "no contrast (0.5th to 99.5th percentile range 0.19/255, below 1/255)"),
    ("label.png", np.pad(np.full((4, 8), 255, np.uint8), ((2, 58), (2, 54))),               # an unexposed film's label
     "near-empty image (only 0.78% of pixels differ from the background)"),
])
def test_unusable_images(tmp_path, name, image, why):
    cv2.imwrite(str(tmp_path / name), image)
    assert reason(tmp_path / name) == why

def test_non_finite_dicom_refused_by_read_image(tmp_path):
    vals = RAMP.copy(); vals[0, 0] = np.inf
    assert reason(float_dicom(tmp_path, "inf.dcm", vals)) == "float pixel data holds NaN or infinite values"

@pytest.mark.parametrize("ext,name", [(".tiff", "TIFF image"), (".bmp", "BMP image"), (".webp", "WebP image"), (".gif", "GIF image")])
def test_other_formats_named(tmp_path, ext, name):
    data = (b"GIF89a\x40\x00\x20\x00\x00\x00\x00;" if ext == ".gif" else
            cv2.imencode(ext, (RAMP * 255).astype(np.uint8))[1].tobytes())
    (tmp_path / "film.png").write_bytes(data)
    assert reason(tmp_path / "film.png") == f"{name}: not a supported format (PNG, JPEG or DICOM)"

def test_every_failure_is_an_image_error(tmp_path, monkeypatch):
    cv2.imwrite(str(tmp_path / "ok.png"), (RAMP * 255).astype(np.uint8))
    monkeypatch.setattr(images, "_raster_to_unit", lambda *a: [][1])
    assert reason(tmp_path / "ok.png") == "cannot be read (IndexError: list index out of range)"
    def oom(*a): raise MemoryError()
    monkeypatch.setattr(images, "_raster_to_unit", oom)
    assert reason(tmp_path / "ok.png") == "not enough memory to read the image"
    assert issubclass(ImageError, BoneageError)
    (tmp_path / "dir.png").mkdir()
    assert reason(tmp_path / "dir.png") == "cannot be read (Is a directory)"


def test_mutated_files_never_crash(tmp_path):
    "Seeded random truncations and byte changes of good PNG, JPEG and DICOM files: read, or an ImageError."
    g = (RAMP * 255).astype(np.uint8)
    sources = [cv2.imencode(".png", g)[1].tobytes(), cv2.imencode(".jpg", g)[1].tobytes(),
               write_dicom(tmp_path / "a.dcm", RAMP, window=(2048, 2048)).read_bytes(),
               recompress(write_dicom(tmp_path / "r.dcm", RAMP), uid.RLELossless).read_bytes()]
    rng = np.random.default_rng(0)
    for i in range(240):
        b = bytearray(sources[i % len(sources)])
        if i % 2: b = b[:rng.integers(1, len(b))]
        else:
            for j in rng.integers(0, len(b), rng.integers(1, 8)): b[j] = rng.integers(256)
        p = tmp_path / f"m{i}.png"; p.write_bytes(bytes(b))
        try: read_image(p)
        except ImageError as e: assert str(e).startswith(f"{p}: ") and "\n" not in str(e)


# ---------------------------------------------------------------- 4. good controls
def test_good_files_still_read(tmp_path):
    g = (RAMP * 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "g.png"), g); cv2.imwrite(str(tmp_path / "g.jpg"), g)
    cv2.imwrite(str(tmp_path / "d.png"), (RAMP * 65535).astype(np.uint16))
    cv2.imwrite(str(tmp_path / "big.png"), np.tile(g, (40, 40)))     # 2560 x 1280
    assert read_image(tmp_path / "g.png")[1] == [] and read_image(tmp_path / "g.jpg")[1] == []
    assert read_image(tmp_path / "d.png")[1] == ["16-bit image scaled to [0, 1] (16-bit range)"]
    assert read_image(tmp_path / "big.png")[0].shape == (1280, 2560)
    img, notes = read_image(write_dicom(tmp_path / "m1.dcm", RAMP, monochrome1=True))
    assert notes == ["12-bit DICOM scaled to [0, 1]", "MONOCHROME1 inverted to MONOCHROME2"] and np.abs(img - RAMP).max() < 1e-3
    img, notes = read_dicom(write_dicom(tmp_path / "s.dcm", RAMP, slope=2.0, intercept=-1024.0))
    assert np.abs(img - RAMP).max() < 1e-3
    hand = np.zeros((256, 200), np.uint8); hand[60:188, 50:150] = g[:, :50].repeat(4, 0).repeat(2, 1)
    cv2.imwrite(str(tmp_path / "hand.png"), hand)                    # a hand on a black background
    assert read_image(tmp_path / "hand.png")[1] == []

def test_real_films_read(shared_data):
    files = (sorted((shared_data / "rsna-lowres" / "images").glob("*.png"))[:30]
             + sorted((shared_data / "rsna-hires" / "images").glob("*.png"))[:5]
             + sorted((shared_data / "isbi2015-ceph" / "images").glob("*.jpg"))[:5])
    for f in files:
        img, _ = read_image(f)
        assert img.ndim == 2 and img.dtype == np.float32

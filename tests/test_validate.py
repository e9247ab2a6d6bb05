"""Trustworthy inputs: a corpus of bad labels files and image folders, built on the fly, through `validate_dataset` and
the `boneage` command. No film or row stops a batch, no bad film passes as good, no input is overwritten."""
import os, subprocess
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

import boneage.data
from boneage.cli import main
from boneage.data import validate_dataset
from conftest import quiet_env

G = (np.add.outer(np.arange(64), np.arange(48)) % 255).astype(np.uint8)
PNG = cv2.imencode(".png", G)[1].tobytes()
TIFF, BMP = b"II*\0" + bytes(60), b"BM" + bytes(4) + bytes(4) + bytes(54)
WEBP, GIF, PDF = b"RIFF" + bytes(4) + b"WEBPVP8 " + bytes(40), b"GIF89a" + bytes(40), b"%PDF-1.4\n" + bytes(40)
NOT_PLAIN = "is not a plain decimal number (months, like 120 or 120.5)"
NAMES = ".png, .jpg, .jpeg, .dcm or .dicom"


def dataset(root: Path, labels, files: dict, flat: bool = False) -> Path:
    "A dataset folder: the labels (text or bytes) and `{name: bytes}` in images/ (or beside the labels when flat)."
    img = root if flat else root / "images"
    img.mkdir(parents=True, exist_ok=True)
    for name, data in files.items(): (img / name).write_bytes(data)
    (root / "labels.csv").write_bytes(labels.encode() if isinstance(labels, str) else labels)
    return root


def good(n: int = 3, start: int = 1) -> dict:
    return {f"{i}.png": PNG for i in range(start, start + n)}


def problems(v) -> dict:
    "(file name, id) -> problem text."
    return {(os.path.basename(r["file"]), r["id"]): r["problem"] for r in v.report.rows}


def run(cmd, *args):
    r = subprocess.run([cmd, *map(str, args)], capture_output=True, text=True, env=quiet_env(), timeout=60)
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    return r


# --- good controls -------------------------------------------------------------------------------------------------

GOOD_LABELS = {
    "plain": "id,boneage,male\n1,120,1\n2,120.5,0\n3,0120,1\n",
    "excel_semicolon_bom": '\ufeff"Image ID";"Bone Age (months)";"Sex"\r\n"1";"120";"M"\r\n2;36;F\r\n\r\n3;200;M\r\n',
    "trailing_empty_fields": "id,boneage,male,,\n1,100,True,,\n2,50,False,,\n3,60,True\n",
    "tabs": "id\tboneage\tmale\n1\t10.5\t1\n2\t100\t0\n3\t99\t1\n",
}


@pytest.mark.parametrize("name", list(GOOD_LABELS))
def test_good_controls_stay_valid(tmp_path, name):
    v = validate_dataset(dataset(tmp_path, GOOD_LABELS[name], good()), progress=False)
    assert v.report.rows == [] and sorted(v.valid.id) == ["1", "2", "3"] and v.warnings == []


def test_utf16_labels_and_upper_case_suffix_stay_valid(tmp_path, boneage_cmd):
    data = dataset(tmp_path / "d", "id\tboneage\tmale\n1\t100\t1\n2\t50\t0\n".encode("utf-16"), {"1.PNG": PNG, "2.png": PNG})
    r = run(boneage_cmd, "validate", data, "--report", tmp_path / "r.csv", "--quiet")
    assert r.returncode == 0 and "2 valid; 0 problems" in r.stdout and r.stderr == ""


# --- labels: rows -----------------------------------------------------------------------------------------------------

def test_ages_are_parsed_strictly(tmp_path):
    ages = ["1_20", "1e2", "12 months", "inf", "-inf", "0x78", "١٢٠", '"120,5"', ".5", "12.", "nan", "", "-3", "241", "120", "120.5"]
    labels = "id,boneage,male\n" + "".join(f"{k},{a},1\n" for k, a in enumerate(ages))
    v = validate_dataset(dataset(tmp_path, labels, good(len(ages), 0)), progress=False)
    got = {r["id"]: r["problem"] for r in v.report.rows}
    expect = {str(k): f"age '{a.strip(chr(34))}' {NOT_PLAIN}" for k, a in enumerate(ages[:10])}
    expect.update({"10": "age is NaN", "11": "age '' is missing", "12": "negative age -3", "13": "age 241 months is over 240"})
    assert got == expect
    assert v.valid.set_index("id").boneage.to_dict() == {"14": 120.0, "15": 120.5}
    assert all(r["file"].endswith(f"labels.csv:{int(r['id']) + 2}") for r in v.report.rows)


def test_ragged_rows_and_quoted_newlines_are_rows_not_crashes(tmp_path):
    labels = 'id,boneage,male\n1,100,1,,\n2,100,0,extra\n3,100\n"4","10\n0","0"\n5,"1,5",1\n6,"60",0\n'
    v = validate_dataset(dataset(tmp_path, labels, good(6)), progress=False)
    assert problems(v) == {
        ("labels.csv:3", "2"): "row has 4 fields, the header has 3",
        ("labels.csv:4", "3"): "row has 2 fields, the header has 3",
        ("labels.csv:5", "4"): f"age '10\\n0' {NOT_PLAIN}",
        ("labels.csv:7", "5"): f"age '1,5' {NOT_PLAIN}"}
    assert sorted(v.valid.id) == ["1", "6"] and v.n_label_rows == 6


def test_header_only_and_no_valid_rows_are_problems(tmp_path, boneage_cmd):
    data = dataset(tmp_path / "hdr", "id,boneage,male\n", {})
    v = validate_dataset(data, progress=False)
    assert problems(v) == {("labels.csv", ""): "no label rows (the labels file has a header only)"}
    r = run(boneage_cmd, "validate", data, "--report", tmp_path / "r.csv", "--quiet")
    assert r.returncode == 1 and r.stdout.strip().endswith(
        "0 valid; 1 problem left rows out, 0 notes; warning: no label rows (the labels file has a header only) "
        f"(report: {tmp_path / 'r.csv'})")
    v = validate_dataset(dataset(tmp_path / "none", "id,boneage,male\n1,abc,1\n2,50,X\n", good(2)), progress=False)
    assert v.report.rows[-1] == dict(file=str(tmp_path / "none" / "labels.csv"), id="", severity="error",
                                     problem="no valid rows (none of the 2 label rows has a usable label and image)")


def test_ages_that_look_like_years_are_a_warning(tmp_path, boneage_cmd):
    data = dataset(tmp_path / "d", "id,boneage,male\n" + "".join(f"{k},{4 + k},{k % 2}\n" for k in range(1, 9)), good(8))
    v = validate_dataset(data, progress=False)
    assert len(v.valid) == 8 and v.report.errors == [] and problems(v) == {
        ("labels.csv", ""): "all 8 valid ages are below 20 months (largest 12): years, not months? Bone age must be in months"}
    r = run(boneage_cmd, "validate", data, "--report", tmp_path / "r.csv", "--quiet")
    assert r.returncode == 0 and "1 note; warning: ages look like years, not months (all 8 valid ages below 20)" in r.stdout
    assert run(boneage_cmd, "validate", data, "--report", tmp_path / "r.csv", "--quiet", "--strict").returncode == 1
    few = dataset(tmp_path / "few", "id,boneage,male\n1,5,1\n2,8,0\n", good(2))   # a handful of infants: no warning
    assert validate_dataset(few, progress=False).report.rows == []


# --- labels: files that are no CSV ------------------------------------------------------------------------------------

UNREADABLE = {
    "latin1": ("id,boneage,male\nJos\xe9,100,1\n".encode("latin-1"), "not UTF-8 text (byte 0xe9 at offset 19); save it as a UTF-8 CSV"),
    "png": (PNG, "not UTF-8 text (byte 0x89 at offset 0); save it as a UTF-8 CSV"),
    "nul": (b"id,boneage,male\n1,\x00\x01,1\n", "binary data, not a CSV (NUL byte on line 2)"),
    "open_quote": (b'id,boneage,male\n1,"100,1\n2,50,0\n', "not a readable CSV (line 2: unexpected end of data)"),
    "stray_quote": (b'id,boneage,male\n1,"10"0,1\n', "not a readable CSV (line 2: ',' expected after '\"')"),
    "huge_field": (b"id,boneage,male\n1," + b"9" * 200_000 + b",1\n", "not a readable CSV (line 2: field larger than field limit (131072))"),
    "empty": (b"", "empty file (0 bytes), not a labels CSV"),
    "blank": (b"\n \n\n", "no header row (the file is blank)"),
    "no_header": (b"1,100,1\n", "no id column (expected one of: id, image id, imageid, case id, caseid, image)"),
}


@pytest.mark.parametrize("name", list(UNREADABLE))
def test_unreadable_labels_are_one_line(tmp_path, boneage_cmd, name):
    data, why = UNREADABLE[name]
    d = dataset(tmp_path / "d", data, good(1))
    r = run(boneage_cmd, "validate", d, "--report", tmp_path / "r.csv", "--quiet")
    assert r.returncode == 2 and r.stdout == "" and r.stderr == f"boneage validate: {d / 'labels.csv'}: {why}\n"


def test_random_bytes_as_labels_are_one_line(tmp_path, boneage_cmd):
    for seed in range(3):
        d = dataset(tmp_path / str(seed), np.random.default_rng(seed).bytes(3000), good(1))
        r = run(boneage_cmd, "validate", d, "--report", tmp_path / "r.csv", "--quiet")
        assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and r.stderr.startswith(f"boneage validate: {d / 'labels.csv'}: ")


# --- the images folder ------------------------------------------------------------------------------------------------

def test_every_entry_of_the_images_folder_is_accounted_for(tmp_path, boneage_cmd):
    files = {"1.png": PNG, "scan.tif": TIFF, "xray.bmp": BMP, "film.webp": WEBP, "anim.gif": GIF, "doc.pdf": PDF,
             "notes.txt": b"films from 2019\n", "7.png.bak": PNG, "empty.dat": b"", "junk.bin": bytes(range(256)), ".DS_Store": b"\0\1"}
    data = dataset(tmp_path / "d", "id,boneage,male\n1,100,1\n", files)
    img = data / "images"
    (img / "lost.png").symlink_to(tmp_path / "nowhere.png")
    (img / "sub").mkdir()
    os.mkfifo(img / "pipe.png")                          # reading it would block forever: it must not be opened
    (img / os.fsdecode(b"caf\xe9.png")).write_bytes(PNG)  # a Latin-1 file name
    v = validate_dataset(data, progress=False)
    assert v.valid.id.tolist() == ["1"]
    assert problems(v) == {
        ("scan.tif", ""): "TIFF image: unsupported format (PNG, JPEG or DICOM needed) and no label row",
        ("xray.bmp", ""): "BMP image: unsupported format (PNG, JPEG or DICOM needed) and no label row",
        ("film.webp", ""): "WebP image: unsupported format (PNG, JPEG or DICOM needed) and no label row",
        ("anim.gif", ""): "GIF image: unsupported format (PNG, JPEG or DICOM needed) and no label row",
        ("doc.pdf", ""): "PDF document: not an image and no label row",
        ("notes.txt", ""): "text file: not an image and no label row",
        ("7.png.bak", ""): f"PNG image under an unsupported name (<id>{NAMES}) and no label row",
        ("empty.dat", ""): "empty file: not an image and no label row",
        ("junk.bin", ""): "binary file of unknown format: not an image and no label row",
        ("lost.png", ""): f"broken symbolic link (its target {tmp_path / 'nowhere.png'} does not exist)",
        ("sub", ""): "subfolder, not searched for images",
        ("pipe.png", ""): "not a regular file (named pipe), not read",
        ("caf\\xe9.png", ""): "file name is not valid UTF-8 (bytes shown as \\xNN), so it matches no label id"}
    assert [r["severity"] for r in v.report.rows if r["severity"] == "note"] == ["note"]   # the subfolder only
    r = run(boneage_cmd, "validate", data, "--report", tmp_path / "r.csv", "--quiet")
    assert r.returncode == 1 and len(r.stdout.splitlines()) == 1 and "12 problems left rows out, 1 note" in r.stdout
    rep = pd.read_csv(tmp_path / "r.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    assert len(rep) == 13 and rep.file.str.endswith("caf\\xe9.png").sum() == 1


def test_a_file_under_another_name_is_named(tmp_path):
    labels = "id,boneage,male\n1,100,1\n123,100,1\n124,90,0\n125,80,1\n126,70,0\n127,60,1\n128,50,0\nAB,40,1\n9.png,30,0\n"
    files = {"1.png": PNG, "123.PNG.bak": PNG, "124.tif": TIFF, "0125.png": PNG, "128.jpg.txt": b"hello", "ab.png": PNG, "9.png": PNG}
    data = dataset(tmp_path, labels, files)
    (data / "images" / "127.png").symlink_to("127-original.png")
    v = validate_dataset(data, progress=False)
    assert v.valid.id.tolist() == ["1"]
    assert problems(v) == {
        ("123.PNG.bak", "123"): f"found 123.PNG.bak, not a supported image name (the image of id 123 must be 123{NAMES})",
        ("124.tif", "124"): "image file 124.tif has an unsupported format (TIFF image; PNG, JPEG or DICOM needed)",
        ("0125.png", "125"): f"found 0125.png, not a supported image name (the image of id 125 must be 125{NAMES})",
        ("labels.csv:6", "126"): "no image file for this label",
        ("127.png", "127"): "broken symbolic link (its target 127-original.png does not exist)",
        ("128.jpg.txt", "128"): f"found 128.jpg.txt, not a supported image name (the image of id 128 must be 128{NAMES})",
        ("ab.png", "AB"): f"found ab.png, not a supported image name (the image of id AB must be AB{NAMES})",
        ("9.png", "9.png"): "found 9.png, but the label id 9.png includes the suffix (the id is 9)"}


def test_images_beside_the_labels_report_only_image_like_files(tmp_path):
    files = {"1.png": PNG, "2.tif": TIFF, "scan.tiff": b"not really", "README.md": b"# films\n", "truth.csv": b"a,b\n"}
    v = validate_dataset(dataset(tmp_path, "id,boneage,male\n1,100,1\n2,90,0\n", files, flat=True), progress=False)
    assert v.valid.id.tolist() == ["1"] and problems(v) == {
        ("2.tif", "2"): "image file 2.tif has an unsupported format (TIFF image; PNG, JPEG or DICOM needed)",
        ("scan.tiff", ""): "text file: not an image and no label row"}


def test_one_failing_file_or_row_never_stops_the_batch(tmp_path, monkeypatch):
    read_image, parse_age = boneage.data.read_image, boneage.data._parse_age
    def flaky_read(p):
        if Path(p).name == "2.png": raise RuntimeError("decoder crashed\nwith a second line")
        return read_image(p)
    def flaky_age(s):
        if s == "77": raise ValueError("parser bug")
        return parse_age(s)
    monkeypatch.setattr(boneage.data, "read_image", flaky_read)
    monkeypatch.setattr(boneage.data, "_parse_age", flaky_age)
    v = validate_dataset(dataset(tmp_path, "id,boneage,male\n1,100,1\n2,100,0\n3,77,1\n4,60,0\n", good(4)), progress=False)
    assert sorted(v.valid.id) == ["1", "4"] and problems(v) == {
        ("labels.csv:4", "3"): "row cannot be read (ValueError: parser bug)",
        ("2.png", "2"): "cannot be checked (RuntimeError: decoder crashed\\nwith a second line)"}


# --- the command: exit codes, reports, phantom ------------------------------------------------------------------------

def test_exit_codes(tmp_path, boneage_cmd, monkeypatch, capsys):
    ok = dataset(tmp_path / "ok", GOOD_LABELS["plain"], good())
    bad = dataset(tmp_path / "bad", GOOD_LABELS["plain"], {"1.png": PNG, "2.png": b"", "3.tif": TIFF})
    assert run(boneage_cmd, "validate", ok, "--report", tmp_path / "r.csv", "--quiet").returncode == 0
    assert run(boneage_cmd, "validate", bad, "--report", tmp_path / "r.csv", "--quiet").returncode == 1
    r = run(boneage_cmd, "validate", ok, "--report", tmp_path / "r.csv", "--no-such-option")
    assert r.returncode == 2 and "usage" in r.stderr
    def boom(*a, **k): raise KeyError("an unforeseen bug")
    monkeypatch.setattr(boneage.data, "validate_dataset", boom)
    assert main(["validate", str(ok), "--report", str(tmp_path / "r.csv"), "--quiet"]) == 3
    assert capsys.readouterr().err == "boneage: internal error: KeyError: 'an unforeseen bug'\n"


def test_report_never_overwrites_an_input(tmp_path, boneage_cmd):
    data = dataset(tmp_path / "d", GOOD_LABELS["plain"], good())
    labels = data / "labels.csv"
    before = labels.read_bytes()
    (tmp_path / "notes.txt").write_text("my notes")
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    (tmp_path / "link.csv").symlink_to(labels)
    refused = {labels: "is the labels file", tmp_path / "link.csv": "is the labels file",
               data / "images" / "r.csv": "inside the images folder", data / "images": "inside the images folder",
               tmp_path / "notes.txt": "exists and is not a previous report (a CSV starting file,id,severity,problem)",
               tmp_path / "table.csv": "exists and is not a previous report (a CSV starting file,id,severity,problem)"}
    for path, why in refused.items():
        r = run(boneage_cmd, "validate", data, "--report", path, "--quiet")
        assert r.returncode == 2 and r.stdout == "" and r.stderr == f"boneage validate: --report {path}: {why}; choose another path\n"
    assert labels.read_bytes() == before and (tmp_path / "notes.txt").read_text() == "my notes"
    assert sorted(p.name for p in (data / "images").iterdir()) == ["1.png", "2.png", "3.png"]
    (tmp_path / "old.csv").write_text("file,id,severity,problem\nx,1,error,old\n")
    (tmp_path / "blank.csv").write_bytes(b"")
    for path in (tmp_path / "old.csv", tmp_path / "blank.csv", data / "report.csv"):   # a previous report, an empty file, a new file
        assert run(boneage_cmd, "validate", data, "--report", path, "--quiet").returncode == 0
        assert path.read_text() == "file,id,severity,problem\n"
    flat = dataset(tmp_path / "flat", GOOD_LABELS["plain"], good(), flat=True)
    r = run(boneage_cmd, "validate", flat, "--report", flat / "r.csv", "--quiet")
    assert r.returncode == 2 and r.stderr.endswith("inside the dataset folder, which holds the images; choose another path\n")


def test_phantom_refuses_a_non_empty_folder_and_settings_out_of_bounds(tmp_path, boneage_cmd):
    out = tmp_path / "out"; out.mkdir(); (out / "keep.txt").write_text("mine")
    r = run(boneage_cmd, "phantom", out, "--n", 1, "--size", 64, "--quiet")
    assert r.returncode == 2 and r.stderr == f"boneage phantom: {out}: folder is not empty; use --force to write into it\n"
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert run(boneage_cmd, "phantom", out, "--n", 1, "--size", 64, "--quiet", "--force").returncode == 0
    assert (out / "keep.txt").read_text() == "mine" and (out / "images" / "1.png").exists()
    r = run(boneage_cmd, "phantom", out / "keep.txt", "--n", 1, "--size", 64, "--quiet")
    assert r.returncode == 2 and r.stderr == f"boneage phantom: {out / 'keep.txt'}: exists and is not a folder\n"
    for option, value, bounds in [("--size", 63, "64 to 4096"), ("--size", 4097, "64 to 4096"), ("--n", 0, "1 to 100000"),
                                  ("--n", 100001, "1 to 100000"), ("--seed", -1, "0 to 4294967295"),
                                  ("--seed", 2**32, "0 to 4294967295"), ("--noise-sd", -0.5, "0 to 60"),
                                  ("--noise-sd", 61.0, "0 to 60"), ("--noise-sd", "nan", "0 to 60")]:
        args = {"--n": 1, "--size": 64, option: value}
        r = run(boneage_cmd, "phantom", tmp_path / "new", *[x for kv in args.items() for x in kv], "--quiet")
        assert r.returncode == 2 and r.stderr == f"boneage phantom: {option} {value} is out of bounds ({bounds})\n", r.stderr
        assert not (tmp_path / "new").exists()
    r = run(boneage_cmd, "phantom", tmp_path / "edge", "--n", 1, "--size", 64, "--seed", 2**32 - 1, "--noise-sd", 60, "--quiet")
    assert r.returncode == 0, r.stderr


def test_data_stage_stops_on_a_dataset_with_no_valid_row(tmp_path):
    from boneage.core import BoneageError, Paths
    from boneage.data import DataConfig, run_data
    dataset(tmp_path / "empty", "id,boneage,male\n", {})
    with pytest.raises(BoneageError, match="empty: no valid rows for the data stage"):
        run_data(DataConfig(source="rsna", dir="empty"), Paths(tmp_path), progress=False)
    rep = pd.read_csv(tmp_path / "data" / "data" / "report.csv", dtype=str)
    assert rep.problem.tolist() == ["no label rows (the labels file has a header only)"]

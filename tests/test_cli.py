"The `boneage` command line, run as a user runs it: exit codes, one-line messages, reports, determinism."
import subprocess

import pandas as pd

from boneage.data import make_bad_dataset
from conftest import quiet_env


def run(cmd, *args):
    return subprocess.run([cmd, *map(str, args)], capture_output=True, text=True, env=quiet_env(), timeout=300)


def test_validate_bad_folder_names_every_problem(tmp_path, boneage_cmd):
    data = make_bad_dataset(tmp_path / "bad")
    r = run(boneage_cmd, "validate", data, "--report", tmp_path / "report.csv", "--quiet")
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1 and "5 valid" in lines[0] and "report.csv" in lines[0]
    rep = pd.read_csv(tmp_path / "report.csv", dtype=str, keep_default_na=False)
    by_id = rep.groupby("id").problem.apply(" | ".join).to_dict()
    assert "duplicate id" in by_id["dup"]
    assert "NaN" in by_id["nan_age"]
    assert "over 240" in by_id["old"]
    assert "unknown sex value 'X'" in by_id["sexx"]
    assert by_id["orphan_label"] == "no image file for this label"
    assert by_id["orphan_image"] == "image has no label row"
    assert by_id["corrupt"].startswith("corrupt PNG")
    assert by_id["zero"] == "empty file (0 bytes)"
    assert by_id["text"] == "not an image (file holds text)"
    assert "16-bit" in by_id["deep"] and "RGBA" in by_id["rgba"] and "MONOCHROME1" in by_id["mono1"]
    # every problem names its file
    assert rep.file.str.len().gt(0).all()
    assert set(rep[rep.severity == "note"].id) == {"deep", "rgba", "mono1"}


def test_validate_clean_phantom_exits_zero_and_usage_errors_exit_two(tmp_path, boneage_cmd):
    r = run(boneage_cmd, "phantom", tmp_path / "ph", "--n", 4, "--size", 96, "--quiet")
    assert r.returncode == 0, r.stderr
    r = run(boneage_cmd, "validate", tmp_path / "ph", "--report", tmp_path / "r.csv", "--quiet")
    assert r.returncode == 0 and "4 valid; 0 problems" in r.stdout
    r = run(boneage_cmd, "validate", tmp_path / "missing")
    assert r.returncode == 2 and r.stderr.strip() == f"boneage validate: {tmp_path / 'missing'}: dataset folder not found"
    r = run(boneage_cmd, "validate")
    assert r.returncode == 2 and "usage" in r.stderr
    r = run(boneage_cmd, "phantom", tmp_path / "x", "--n", 0)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_phantom_same_seed_byte_identical_other_seed_different(tmp_path, boneage_cmd):
    for name, seed in (("a", 42), ("b", 42), ("c", 43)):
        assert run(boneage_cmd, "phantom", tmp_path / name, "--n", 3, "--seed", seed, "--size", 128, "--quiet").returncode == 0
    for f in ("labels.csv", "truth.csv", "images/1.png", "images/3.png", "masks/bone/2.png", "masks/hand/2.png"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    for f in ("images/1.png", "images/2.png", "images/3.png", "truth.csv"):
        assert (tmp_path / "a" / f).read_bytes() != (tmp_path / "c" / f).read_bytes(), f


def test_phantom_writes_dicom_that_validates(tmp_path, boneage_cmd):
    r = run(boneage_cmd, "phantom", tmp_path / "dcm", "--n", 3, "--size", 96, "--format", "dcm", "--quiet")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "dcm" / "images").iterdir()) == ["1.dcm", "2.dcm", "3.dcm"]
    r = run(boneage_cmd, "validate", tmp_path / "dcm", "--report", tmp_path / "r.csv", "--quiet")
    assert r.returncode == 0 and "3 valid" in r.stdout

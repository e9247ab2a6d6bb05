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


def test_cli_cvs_isbi_film_gives_19_landmarks_in_mm(shared_data, boneage_cmd):
    "The released ISBI model on a test1 film, as a user runs it: 19 landmarks in px and mm, MRE against its truth below 4 mm."
    import re
    import numpy as np
    from boneage.cervical import ISBI_LANDMARKS
    root = shared_data / "isbi2015-ceph"
    truth = pd.read_csv(root / "landmarks.csv").set_index("image").loc["images/151.jpg"]
    r = run(boneage_cmd, "cvs", root / "images" / "151.jpg", "--spacing", 0.2, "--quiet")
    assert r.returncode == 0 and "Traceback" not in r.stdout + r.stderr, r.stderr
    (line,) = r.stdout.strip().splitlines()
    assert line.startswith(f"{root / 'images' / '151.jpg'} (968 x 1200 px, 0.2 mm/px given): ")
    got = re.findall(r"(\w+) \(([\d.]+), ([\d.]+)\) px \(([\d.]+), ([\d.]+)\) mm", line)
    assert [g[0] for g in got] == list(ISBI_LANDMARKS)
    px, mm = np.array([g[1:3] for g in got], float), np.array([g[3:5] for g in got], float)
    assert np.allclose(mm, 0.2 * px, atol=0.011)
    true = np.array([[truth[f"L{i}_x"], truth[f"L{i}_y"]] for i in range(1, 20)], float)
    assert np.hypot(*(mm - 0.2 * true).T).mean() < 4.0


def test_cli_cvs_goes_on_past_a_corrupt_film_and_json_names_each(tmp_path, capsys):
    "Two films and a corrupt one: an error line naming it, the others predicted, exit 1; --json: one record per film."
    import json
    import cv2
    import numpy as np
    from boneage.cli import main
    films = tmp_path / "films"; films.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.jpg"):
        cv2.imwrite(str(films / name), cv2.GaussianBlur((rng.random((300, 240)) * 255).astype(np.uint8), (0, 0), 4))
    (films / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    assert main(["cvs", str(films), "--quiet"]) == 1
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    assert len(lines) == 3 and [l for l in lines if "error:" in l] == [l for l in lines if l.startswith(str(films / "broken.png"))]
    assert all(l.count(") px") == 19 and "pixels only" in l and " mm" not in l for l in lines if "broken" not in l)
    assert "2 predicted, 1 failed" in out.err
    assert main(["cvs", str(films), "--json", "--spacing", "0.1", "--quiet"]) == 1
    recs = [json.loads(l) for l in capsys.readouterr().out.strip().splitlines()]
    assert {x["file"] for x in recs} == {str(films / n) for n in ("a.png", "b.jpg", "broken.png")}
    good = [x for x in recs if x["ok"]]
    assert len(good) == 2 and all(len(x["landmarks"]) == 19 and x["mm_per_px"] == [0.1, 0.1] and "x_mm" in x["landmarks"][0] for x in good)
    assert main(["cvs", str(films / "a.png"), "--spacing", "-1", "--quiet"]) == 2 and "--spacing" in capsys.readouterr().err

"The data stage notebook run end to end through papermill, as DVC runs it, on tiny parameters."
import json, subprocess, sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT, quiet_env


def papermill(nb, out, **params):
    args = [sys.executable, "-m", "papermill", str(ROOT / "nbs" / nb), str(out), "--no-progress-bar", "--log-level", "ERROR"]
    for k, v in params.items(): args += ["-p", k, str(v)]
    r = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=quiet_env(), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


@pytest.fixture(scope="module")
def phantom_stage(tmp_path_factory):
    d = tmp_path_factory.mktemp("stage")
    papermill("03_data.ipynb", d / "run.ipynb", n_images=30, size=96, out_dir=d / "out",
              metrics_path=d / "metrics.json", figure_dir=d / "fig")
    return d


def test_data_stage_on_the_phantom(phantom_stage):
    d = phantom_stage
    m = pd.read_csv(d / "out" / "manifest.csv", dtype={"id": str})
    metrics = json.loads((d / "metrics.json").read_text())
    assert list(m.columns[:8]) == ["id", "path", "sha256", "boneage", "male", "split", "height", "width"]
    assert len(m) == 30 and metrics["n_valid"] == 30 and metrics["n_problems"] == 0
    counts = m.split.value_counts()
    assert counts.sum() == 30 and 4 <= counts["val"] <= 5 and 4 <= counts["test"] <= 5
    assert abs(metrics["floor"]["expected_mae"] - 4.7873) < 1e-3
    assert (d / "fig" / "data_distribution.png").stat().st_size > 1000
    assert all((ROOT / p).exists() for p in m.path) and all((ROOT / p).exists() for p in m.bone_mask)


def test_data_stage_is_deterministic(phantom_stage, tmp_path):
    papermill("03_data.ipynb", tmp_path / "run.ipynb", n_images=30, size=96, out_dir=tmp_path / "out",
              metrics_path=tmp_path / "metrics.json", figure_dir=tmp_path / "fig")
    a = pd.read_csv(phantom_stage / "out" / "manifest.csv").drop(columns=["path", "bone_mask", "hand_mask"])
    b = pd.read_csv(tmp_path / "out" / "manifest.csv").drop(columns=["path", "bone_mask", "hand_mask"])
    assert a.equals(b)
    assert (phantom_stage / "metrics.json").read_text() == (tmp_path / "metrics.json").read_text()


def test_data_stage_on_an_rsna_layout_dicom_folder(tmp_path):
    "The same stage, unchanged, on a folder in the RSNA layout holding DICOM files."
    from boneage.phantom import PhantomConfig, write_phantom
    write_phantom(tmp_path / "dicoms", 12, seed=5, cfg=PhantomConfig(size=96), fmt="dcm", progress=False)
    (tmp_path / "dicoms" / "truth.csv").unlink()   # real data ships no truth
    papermill("03_data.ipynb", tmp_path / "run.ipynb", source="rsna", dir=tmp_path / "dicoms", out_dir=tmp_path / "out",
              metrics_path=tmp_path / "metrics.json", figure_dir=tmp_path / "fig")
    m = pd.read_csv(tmp_path / "out" / "manifest.csv")
    assert len(m) == 12 and m.path.str.endswith(".dcm").all() and "skeletal_age" not in m.columns


def test_data_stage_reads_yaml_booleans_as_dvc_passes_them(tmp_path):
    "DVC writes `strict: false` as the string 'false'; it must not switch strict mode on (and 'true' must)."
    from boneage.data import make_bad_dataset
    bad = make_bad_dataset(tmp_path / "bad")
    common = dict(source="rsna", dir=bad, out_dir=tmp_path / "out", metrics_path=tmp_path / "m.json", figure_dir=tmp_path)
    papermill("03_data.ipynb", tmp_path / "lenient.ipynb", strict="false", **common)
    assert json.loads((tmp_path / "m.json").read_text())["n_valid"] == 5
    args = [sys.executable, "-m", "papermill", str(ROOT / "nbs" / "03_data.ipynb"), str(tmp_path / "strict.ipynb"),
            "--no-progress-bar", "--log-level", "ERROR", "-p", "strict", "true"]
    for k, v in common.items(): args += ["-p", k, str(v)]
    r = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=quiet_env(), timeout=600)
    assert r.returncode != 0 and "problems in strict mode" in r.stderr + r.stdout

"The data stage function on smoke data: manifest, report, metrics (headline and details), determinism."
import json

import pandas as pd
import pytest

from boneage.core import BoneageError, Paths
from boneage.data import DataConfig, make_bad_dataset, run_data


@pytest.fixture(scope="module")
def phantom_run(tmp_path_factory):
    paths = Paths(tmp_path_factory.mktemp("data"))
    return paths, run_data(DataConfig(n_images=30, size=96), paths, progress=False)


def test_data_stage_on_the_phantom(phantom_run, capsys):
    paths, details = phantom_run
    m = pd.read_csv(paths.data("data") / "manifest.csv", dtype={"id": str})
    assert list(m.columns[:8]) == ["id", "path", "sha256", "boneage", "male", "split", "height", "width"]
    assert len(m) == 30 and details["n_valid"] == 30 and details["n_problems"] == 0
    counts = m.split.value_counts()
    assert counts.sum() == 30 and 4 <= counts["val"] <= 5 and 4 <= counts["test"] <= 5
    assert abs(details["floor"]["expected_mae"] - 4.7873) < 1e-3 and 0 < details["floor"]["realised_mae_test"] < 12
    assert json.loads(paths.metrics("data").read_text()) == {"n": 30, "problems": 0}
    assert json.loads(paths.details("data").read_text())["all"]["n"] == 30
    assert paths.figure("data_distribution.png").stat().st_size > 1000
    assert all(paths.resolve(p).exists() for p in m.path) and all(paths.resolve(p).exists() for p in m.bone_mask)
    assert m.inverted_film.isin([0, 1]).all()


def test_data_stage_is_deterministic_and_prints_one_summary_line(phantom_run, tmp_path, capsys):
    paths, details = phantom_run
    run_data(DataConfig(n_images=30, size=96), Paths(tmp_path), progress=False)
    out = capsys.readouterr().out.strip().splitlines()
    n = {s: details[s]["n"] for s in ("train", "val", "test")}
    assert out == [f"data: 30 rows, 30 valid, 0 problems -> train {n['train']} / val {n['val']} / test {n['test']}"]
    a = pd.read_csv(paths.data("data") / "manifest.csv")
    b = pd.read_csv(tmp_path / "data" / "data" / "manifest.csv")
    assert a.equals(b)   # paths are relative to each root, so whole manifests agree
    assert paths.details("data").read_text() == Paths(tmp_path).details("data").read_text()


def test_data_stage_on_an_rsna_layout_dicom_folder(tmp_path):
    "The same stage, unchanged, on a folder in the RSNA layout holding DICOM files."
    from boneage.phantom import RenderConfig, write_phantom
    write_phantom(tmp_path / "dicoms", 12, seed=5, cfg=RenderConfig(size=96), fmt="dcm", progress=False)
    (tmp_path / "dicoms" / "truth.csv").unlink()   # real data ships no truth
    details = run_data(DataConfig(source="rsna", dir="dicoms"), Paths(tmp_path), progress=False)
    m = pd.read_csv(tmp_path / "data" / "data" / "manifest.csv")
    assert details["n_valid"] == 12 and len(m) == 12 and m.path.str.endswith(".dcm").all() and "skeletal_age" not in m.columns
    assert "floor" not in details


def test_data_stage_strict_and_lenient(tmp_path):
    make_bad_dataset(tmp_path / "bad")
    details = run_data(DataConfig(source="rsna", dir="bad"), Paths(tmp_path), progress=False)
    assert details["n_valid"] == 5 and details["n_problems"] > 5
    with pytest.raises(BoneageError, match="problems in strict mode"):
        run_data(DataConfig(source="rsna", dir="bad", strict=True), Paths(tmp_path), progress=False)
    with pytest.raises(BoneageError, match="neither 'phantom' nor 'rsna'"):
        run_data(DataConfig(source="kaggle"), Paths(tmp_path), progress=False)

"The release stage on smoke data, the released bundle, `predict_files` and `boneage predict` as a user runs it."
import json
from pathlib import Path
import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import quiet_env


def _bundle(paths):
    from boneage.release import BoneAgeModel
    return BoneAgeModel.load(paths.models("release") / "boneage.keras")


def test_release_stage_on_smoke_data(stage_result):
    from boneage.core import import_keras
    keras = import_keras()
    (paths, d), config = stage_result("release"), __import__("conftest").smoke_configs()["release"]
    cal = d["meta"]["calibration"]
    assert len(cal["q"]) == len(config.band_edges) + 1 and cal["alpha"] == config.alpha and all(np.isfinite(cal["q"]))
    iv = d["intervals"]
    assert 0 <= iv["coverage_ci"][0] <= iv["coverage"] <= iv["coverage_ci"][1] <= 1 and 0 < iv["mean_width"] < 500
    assert "mae_ci" in d["test"]["overall"] and set(d["test"]["by_sex"]) <= {"female", "male"}
    head = json.loads(paths.metrics("release").read_text())
    assert set(head) == {"mae", "val_mae", "coverage"} and abs(head["mae"] - d["test"]["overall"]["mae"]) < 1e-3
    # the bundle loads with safe_mode, and is the cnn stage's chosen model
    model = keras.saving.load_model(paths.models("release") / "boneage.keras", safe_mode=True)
    chosen = keras.saving.load_model(paths.models("cnn") / "best.keras", safe_mode=True)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), chosen.get_weights()))
    card = (paths.models("release") / "MODEL_CARD.md").read_text()
    assert f"Test MAE {d['test']['overall']['mae']:.1f}" in card and "Intended use" in card and "Terms" in card
    assert paths.figure("gradcam.png").stat().st_size > 5_000


def test_calibration_uses_validation_films_only(stage_result):
    "The thresholds are those of the validation predictions (finite here), and the test films would give others."
    from boneage.augment import make_dataset
    from boneage.cnn import resized_cache
    from boneage.preprocess import load_preprocessed
    from boneage.release import fit_conformal
    paths, d = stage_result("release")
    bundle, cal = _bundle(paths), d["meta"]["calibration"]
    images, table = load_preprocessed(paths.data("preprocess"))
    images = resized_cache(images, bundle.size)
    fit = {}
    for s in ("val", "test"):
        pred = bundle.model.predict(make_dataset(images, table, s, 64, None, shuffle=False), verbose=0).ravel()
        fit[s] = fit_conformal(table.boneage.to_numpy()[table.split.to_numpy() == s], pred, cal["alpha"], cal["edges"], cal["min_band"])
    assert all(np.isfinite(cal["q"])) and np.allclose(fit["val"]["q"], cal["q"], atol=1e-3) and fit["val"]["n"] == cal["n"]
    assert not np.allclose(fit["test"]["q"], cal["q"], atol=1e-3)


def test_predict_files_prepares_films_as_the_cache_and_reads_dicom_sex(stage_result, tmp_path):
    "A film read from disk becomes the network input the training cache holds (to its 16-bit encoding)."
    import cv2
    from boneage.cnn import resized_cache
    from boneage.images import read_image, write_dicom
    from boneage.preprocess import load_preprocessed, preprocess
    from boneage.release import predict_files
    paths, _ = stage_result("release")
    bundle = _bundle(paths)
    images, table = load_preprocessed(paths.data("preprocess"))
    cache = resized_cache(images, bundle.size)
    manifest = pd.read_csv(paths.data("data") / "manifest.csv", dtype={"id": str}).set_index("id")
    rows = np.flatnonzero(table.split.to_numpy() == "test")[:4]
    files = [paths.resolve(manifest.loc[table.id[i], "path"]) for i in rows]
    for f, i in zip(files, rows):
        x, _ = bundle.model_input(read_image(f)[0])
        assert np.abs(x - cache[i]).max() <= 1 / 65535 + 1e-6
    male = table.male.to_numpy()[rows]
    recs = [predict_files([f], bundle, sex=int(m), progress=False)[0] for f, m in zip(files, male)]
    assert np.allclose([r["boneage_months"] for r in recs], bundle.predict(np.stack([cache[i] for i in rows]), male), atol=0.05)
    assert all(r["interval_low"] <= r["boneage_months"] <= r["interval_high"] < 1e3 for r in recs)
    # film_side: a film is squashed to that square first, as the rsna-lowres films were
    film = read_image(files[0])[0]
    bundle.meta["film_side"] = 50
    x, _ = bundle.model_input(film)
    lowres = cv2.resize(np.round(np.clip(film, 0, 1) * 255).astype(np.uint8), (50, 50), interpolation=cv2.INTER_NEAREST) / 255.0
    squashed = preprocess(lowres.astype(np.float32), **bundle.meta["preprocess"]).image   # as rsna-lowres was made: nearest, 8 bits
    assert np.abs(x - cv2.resize(squashed, (bundle.size, bundle.size), interpolation=cv2.INTER_AREA)).max() < 2e-3
    bundle.meta["film_side"] = 0
    # a DICOM carries the sex; a PNG without --sex fails with a line saying so
    dcm = write_dicom(tmp_path / "film.dcm", film, patient_sex="M" if male[0] else "F")
    r_dcm, r_png = predict_files([dcm, files[0]], bundle, sex=None, progress=False)
    assert r_dcm["ok"] and r_dcm["sex_from"] == "DICOM header" and r_dcm["sex"] == ("M" if male[0] else "F")
    assert not r_png["ok"] and "sex unknown" in r_png["error"] and str(files[0]) in r_png["error"]


def _run(cmd, *args):
    return subprocess.run([cmd, *map(str, args)], capture_output=True, text=True, env=quiet_env(), timeout=300)


def test_cli_predict_goes_on_past_a_corrupt_film(stage_result, boneage_cmd, tmp_path, capsys):
    from boneage.cli import main
    paths, _ = stage_result("release")
    manifest = pd.read_csv(paths.data("data") / "manifest.csv", dtype={"id": str})
    films = tmp_path / "films"; films.mkdir()
    for p in manifest[manifest.split == "test"].path[:2]: (films / paths.resolve(p).name).write_bytes(paths.resolve(p).read_bytes())
    (films / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    model, cams = paths.models("release") / "boneage.keras", tmp_path / "cams"
    # as a user runs it: the installed command in its own process
    r = _run(boneage_cmd, "predict", films, "--sex", "f", "--model", model, "--gradcam", cams, "--csv", tmp_path / "out.csv", "--quiet")
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 3 and sum("error:" in l for l in lines) == 1
    assert all("months" in l and "% interval" in l for l in lines if "broken" not in l)
    assert "1 failed" in r.stderr and len(list(cams.glob("*_gradcam.png"))) == 2
    out = pd.read_csv(tmp_path / "out.csv")
    assert len(out) == 3 and out.ok.sum() == 2
    # --json: one record per film with its file name (overlays lying among the films are not films); the CSV may be
    # replaced, another file may not
    (films / "old_gradcam.png").write_bytes(next(cams.glob("*.png")).read_bytes())
    assert main(["predict", str(films), "--sex", "M", "--model", str(model), "--json", "--csv", str(tmp_path / "out.csv"), "--quiet"]) == 1
    recs = [json.loads(l) for l in capsys.readouterr().out.strip().splitlines()]
    assert {Path(x["file"]).name for x in recs} == {p.name for p in films.iterdir()} - {"old_gradcam.png"} and sum(x["ok"] for x in recs) == 2
    keep = tmp_path / "notes.csv"; keep.write_text("my,own\n1,2\n")
    assert main(["predict", str(films), "--sex", "M", "--model", str(model), "--csv", str(keep), "--quiet"]) == 2
    assert "not a previous prediction CSV" in capsys.readouterr().err and keep.read_text() == "my,own\n1,2\n"
    # the overlays are never replaced: a second run writes none and says why
    assert main(["predict", str(films), "--sex", "M", "--model", str(model), "--gradcam", str(cams), "--quiet"]) == 1
    assert capsys.readouterr().out.count("exists; not overwritten") == 2
    assert main(["predict", str(tmp_path / "nothing.png"), "--sex", "M", "--model", str(model), "--quiet"]) == 1
    assert "nothing.png: error:" in capsys.readouterr().out


def test_an_ensemble_is_one_network_averaging_its_members_and_is_kept_only_if_better_on_val(stage_result, tmp_path):
    "average_networks: the mean of the members, one .keras file that loads with safe_mode; Grad-CAM averages the members'."
    from boneage.core import import_keras, save_keras
    from boneage.cnn import resized_cache
    from boneage.gradcam import GradCam
    from boneage.preprocess import load_preprocessed
    from boneage.release import average_networks, choose_ensemble
    from boneage.zoo import build_model
    keras = import_keras()
    paths, d = stage_result("release")
    chosen = keras.saving.load_model(paths.models("cnn") / "best.keras", safe_mode=True)
    size = d["meta"]["input_size"]
    other = build_model("tunable_cnn", size, conv_blocks=2, filters=4)   # untrained: its ages are the prior mean
    ens = average_networks([chosen, other])
    x = {"image": np.random.default_rng(0).random((3, size, size, 1), np.float32), "male": np.array([[0.], [1.], [1.]], np.float32)}
    mean = (chosen.predict(x, verbose=0) + other.predict(x, verbose=0)) / 2
    assert np.allclose(ens.predict(x, verbose=0), mean, atol=1e-4)
    loaded = keras.saving.load_model(save_keras(ens, tmp_path / "ens.keras"), safe_mode=True)
    assert np.allclose(loaded.predict(x, verbose=0), mean, atol=1e-4)
    maps, out = GradCam(loaded).cam(x)
    assert maps.shape == (3, size, size) and np.allclose(out, mean.ravel(), atol=1e-3)
    images, table = load_preprocessed(paths.data("preprocess"))
    images = resized_cache(images, size)
    kept, record = choose_ensemble(chosen, [other], images, table, ["other.keras"])
    assert record["members"] == 2 and record["kept"] == (record["val_mae_ensemble"] < record["val_mae_single"])
    val = table.boneage.to_numpy()[table.split.to_numpy() == "val"]
    assert record["others"] == ["other.keras"] and choose_ensemble(chosen, [other], images, table)[1]["others"] == ["member1"]
    assert abs(record["val_mae_members"][1] - np.abs(val - other.predict(             # the other member's own MAE
        {"image": np.stack([images[i] for i in np.flatnonzero(table.split == "val")])[..., None],
         "male": table.male.to_numpy()[table.split == "val", None].astype("float32")}, verbose=0).ravel()).mean()) < 1e-3
    assert (kept is chosen) != record["kept"]
    assert choose_ensemble(chosen, [], images, table) == (chosen, None)
    with pytest.raises(Exception, match="different image inputs"):
        average_networks([chosen, build_model("tunable_cnn", size * 2, conv_blocks=2, filters=4)])


def test_released_ages_stay_within_the_training_labels_range(stage_result):
    "A network's output below 0 or above the oldest label is no bone age: the bundle clips to the training labels' range."
    from boneage.preprocess import load_preprocessed
    paths, d = stage_result("release")
    _, table = load_preprocessed(paths.data("preprocess"))
    train = table.boneage[table.split == "train"]
    bundle = _bundle(paths)
    assert bundle.meta["age_range"] == [float(train.min()), float(train.max())] == d["meta"]["age_range"]
    lo, hi = bundle.meta["age_range"]
    assert bundle.clip([lo - 300, (lo + hi) / 2, hi + 50]).tolist() == [lo, (lo + hi) / 2, hi]


def test_the_model_card_names_each_member_and_the_age_bands_its_intervals_miss(stage_result):
    "Each member's own validation MAE; the bands of true age covered > 2 points under the target, in age order; the film size."
    import copy
    from boneage.release import model_card
    _, d = stage_result("release")
    d = copy.deepcopy(d)
    d["meta"].update(film_side=100, ensemble=dict(members=3, val_mae_single=11.24, val_mae_ensemble=10.1, kept=True,
                                                   val_mae_members=[11.24, 11.31, 11.12], others=["a.keras", "b.keras"]))
    d["meta"]["calibration"]["alpha"] = 0.1                                        # a 90 % target (the smoke run's is 50 %)
    d["intervals"]["coverage_by_true_band"] = {"0-60": 0.828, "120-180": 0.885, "180+": 0.812, "60-120": 0.86}
    card = model_card(d)
    assert "11.24 (this network), 11.31 (a.keras), 11.12 (b.keras); 10.10 averaged" in card
    # in age order (the JSON's text order puts 180+ before 60-120); 88.5 % is within 2 points of 90 %: not listed
    assert "true ages of 0-60 months (82.8 %), 60-120 months (86.0 %), 180+ months (81.2 %):" in card
    assert "films of 100 × 100 px only" in card
    d["meta"]["film_side"] = 0
    d["intervals"]["coverage_by_true_band"] = {k: 0.9 for k in d["intervals"]["coverage_by_true_band"]}
    card = model_card(d)
    assert "falls short" not in card and "px only" not in card

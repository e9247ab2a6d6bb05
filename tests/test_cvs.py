"The cvs stage: landmark geometry, decoding and augmentation; the training loop's early stopping; run_cvs on a small phantom."
import json
from types import SimpleNamespace

import numpy as np
import pytest

SMOKE = dict(n_images=48, phantom_size=64, size=64, depth=3, filters=8, refine=True, refine_size=64, epochs=3, schedule_epochs=2,
             patience=1, min_epochs=0, batch_size=8, n_boot=50)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    from boneage.core import Paths
    from boneage.cvs import CvsConfig, run_cvs
    paths, config = Paths(tmp_path_factory.mktemp("cvs")), CvsConfig(**SMOKE)
    return paths, config, run_cvs(config, paths, progress=False)


def blob(h, w, x, y, sd):
    yy, xx = np.mgrid[:h, :w]
    return np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sd ** 2))


def test_decoders_recover_a_sub_pixel_point():
    from boneage.cvs import gaussian_logits, ops, quadratic_peaks, soft_argmax
    true = np.array([[[13.27, 30.81], [22.5, 9.04]]])
    for stride in (1, 2):
        z = gaussian_logits(true, 48 // stride, 48 // stride, 2.0, stride)
        assert np.abs(ops.convert_to_numpy(soft_argmax(z, stride)) - true).max() < 0.05
        assert np.abs(quadratic_peaks(z, stride) - true).max() < 0.05
    assert np.abs(ops.convert_to_numpy(soft_argmax(z, 1)) - true).max() > 0.2     # the wrong stride is wrong: the test can fail


def test_letterbox_keeps_aspect_and_maps_back():
    from boneage.cvs import from_letterbox, letterbox, to_letterbox
    film = blob(240, 100, 31.4, 170.2, 5.0).astype(np.float32)
    box, t = letterbox(film, 96)
    assert abs(t[0] - t[1]) < 0.01 and box[:, :20].max() == 0                  # one scale, padded, not stretched
    yy, xx = np.mgrid[:96, :96]
    c = np.array([(box * xx).sum(), (box * yy).sum()]) / box.sum()
    assert np.abs(c - to_letterbox([31.4, 170.2], t)).max() < 0.1
    assert np.allclose(from_letterbox(to_letterbox([[31.4, 170.2]], t), t), [[31.4, 170.2]])


def test_augmentation_moves_image_and_points_together():
    import tensorflow as tf
    from boneage.cvs import AugmentSettings, augment_film
    pts = np.array([[16.2, 20.7], [44.9, 40.3]], np.float32)
    img = sum(blob(64, 64, x, y, 1.2) for x, y in pts).astype(np.float32)[..., None]
    out, moved = augment_film(tf.constant(img), tf.constant(pts), tf.constant([3, 4]),
                              AugmentSettings(30, 0.2, 0.1, 0, 0, 0))
    out, moved = out.numpy()[..., 0], moved.numpy()
    assert np.abs(moved - pts).max() > 2
    for x, y in moved:
        assert out[int(round(y)), int(round(x))] > 0.5 * out.max()           # the dot is under its moved point


def test_early_stopping_fires_and_reports_the_epoch(tmp_path):
    "With a learning rate of 0 validation never improves: the loop stops after `patience` epochs and says so."
    from boneage.core import import_keras
    from boneage.cvs import HeatmapLoss, MeanRadialError, fit_landmarks, landmark_dataset
    from boneage.train import TrainConfig
    rng = np.random.default_rng(0)
    ims, pts = (rng.random((8, 32, 32)) * 255).astype(np.uint8), rng.uniform(4, 28, (8, 2, 2)).astype(np.float32)
    cfg = TrainConfig(lr=0.0, epochs=10, patience=2, min_epochs=0, warmup_epochs=0, batch_size=4)
    keras = import_keras()
    tiny = lambda: keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Conv2D(2, 3, padding="same")])   # no BatchNorm: val stays put
    r = fit_landmarks(tiny, landmark_dataset(ims, pts, 4), landmark_dataset(ims, pts, 4),
                      HeatmapLoss(2.0, 1), [MeanRadialError(1)], cfg, tmp_path)
    assert len(set(r.history["val_mre"])) == 1
    assert r.stopped_epoch == 3 and r.epochs_run == 3 and r.best_epoch == 1
    assert json.loads((tmp_path / "fit.json").read_text())["stopped_epoch"] == 3


def test_cvs_stage_on_a_small_phantom(smoke):
    from boneage.core import import_keras
    from boneage.cvs import from_letterbox, letterbox_all, load_films
    keras = import_keras()
    paths, config, d = smoke
    assert d["chosen"] == "heatmap_unet" and d["n"]["test"] == round(0.15 * 48) and sum(d["n"].values()) == 48
    fit = d["models"]["heatmap_unet"]
    assert 1 <= fit["best_epoch"] <= fit["epochs_run"] <= config.epochs and fit["decoder"] in ("softargmax", "quadratic")
    t = d["test"]["test"]
    assert t["mre_mm_ci"][0] <= t["mre_mm"] <= t["mre_mm_ci"][1] and len(t["per_landmark"]) == 19
    assert 0 <= t["project3"]["pck_unet"] and 0 <= t["sdr_2mm"] <= t["sdr_4mm"] <= 100
    st = d["stage"]
    assert np.sum(st["predicted_points"]["confusion"]) == d["n"]["test"] and st["true_points"]["accuracy"] >= 50
    # the rule that reads predicted points is fitted on predicted validation points; the true-point thresholds are scored beside
    assert st["fitted_on"] == "validation films' predicted points" and set(st["thresholds"]) == set(st["thresholds_true_points"])
    assert np.sum(st["predicted_points_true_thresholds"]["confusion"]) == d["n"]["test"]
    head = json.loads(paths.metrics("cvs").read_text())
    assert set(head) == {"mre_mm", "sdr_2mm", "stage_accuracy"} and abs(head["mre_mm"] - t["mre_mm"]) < 1e-3
    assert paths.figure("cvs_landmarks.png").stat().st_size > 10_000 and paths.details("cvs").exists()
    # the saved predictor loads with safe_mode and, with the soft-argmax decoder, gives the test points it was scored on
    model = keras.saving.load_model(paths.models("cvs") / "heatmap_unet.keras", safe_mode=True)
    films = load_films(config)
    te = np.flatnonzero(films["split"] == "test")
    boxed, tr = letterbox_all(films["images"][te], config.size)
    out = model.predict(boxed[..., None] / 255.0, verbose=0)
    assert set(out) == {"landmarks", "heatmaps"} and out["landmarks"].shape == (len(te), 19, 2)
    err = np.hypot(*(from_letterbox(out["landmarks"], tr) - films["landmarks"][te]).transpose(2, 0, 1)) * films["mm_per_px"][te, None]
    if fit["decoder"] == "softargmax" and not d["refined"]: assert abs(err.mean() - t["mre_mm"]) < 1e-3
    # the second look: scored beside the first, used exactly when validation prefers it
    r = d["models"]["refine"]
    assert r["input"] == "crops around heatmap_unet's points" and isinstance(d["refined"], bool)
    assert d["refined"] == (r["val_mre_mm"][r["decoder"]] < fit["val_mre_mm"][fit["decoder"]])
    assert abs((r if d["refined"] else fit)["test_mre_mm"] - t["mre_mm"]) < 1e-6
    # the two saved predictors, chained (first look, crop, second look), give the points the second look was scored on
    from boneage.cvs import crop_all, roi_box
    second = keras.saving.load_model(paths.models("cvs") / "refine.keras", safe_mode=True)
    crops, tc = crop_all(films["images"][te], roi_box(from_letterbox(out["landmarks"], tr), config.refine_margin), config.refine_size)
    pts = from_letterbox(second.predict(crops[..., None] / 255.0, verbose=0)["landmarks"], tc)
    err2 = np.hypot(*(pts - films["landmarks"][te]).transpose(2, 0, 1)) * films["mm_per_px"][te, None]
    if fit["decoder"] == r["decoder"] == "softargmax": assert abs(err2.mean() - r["test_mre_mm"]) < 1e-3


def test_cvs_chooses_on_validation_never_on_test(smoke, monkeypatch, tmp_path):
    "Two models with made-up predictions: one better on val, the other on test; the val one is chosen."
    import boneage.cvs as cvs
    from boneage.core import Paths
    _, config, _ = smoke
    offsets = {"heatmap_unet": (1.0, 6.0), "irv2": (3.0, 0.0)}          # (val, test) shift in letterbox px
    def fake_train(name, config, data, paths):
        return dict(model=name, decoder="direct", params=1, train_minutes=0.0, history={},
                    val_mre_mm={"direct": offsets[name][0]}, fit=dict(best_epoch=1, stopped_epoch=None, epochs_run=1, best_val_mre_px=0.0))
    def fake_predict(model, images, batch_size=16):
        n = len(images)
        truth = fake_predict.data["landmarks_box"][fake_predict.idx[n]]
        return {"direct": truth + offsets[model][1]}
    orig_prepare = cvs._prepare_data
    def prepare(config, films):
        data = orig_prepare(config, films)
        fake_predict.data, fake_predict.idx = data, {len(v): v for k, v in data["idx"].items() if k != "train"}
        return data
    monkeypatch.setattr(cvs, "_train_model", fake_train)
    monkeypatch.setattr(cvs, "predict_landmarks", fake_predict)
    monkeypatch.setattr(cvs, "_prepare_data", prepare)
    monkeypatch.setattr(cvs, "landmark_bundle", lambda *a, **k: SimpleNamespace(save=lambda path: path))   # no networks to bundle
    c = cvs.CvsConfig(**{**SMOKE, "n_images": 40, "test_fraction": 0.25, "models": ["irv2", "heatmap_unet"], "size": 96, "refine": False})
    d = cvs.run_cvs(c, Paths(tmp_path), progress=False)
    assert d["chosen"] == "heatmap_unet"                                     # lower val error, higher test error
    assert d["models"]["irv2"]["test_mre_mm"] < 1e-9 < d["models"]["heatmap_unet"]["test_mre_mm"]


def test_isbi_films_split_without_leaks(shared_data):
    from boneage.cvs import CvsConfig, load_films
    f = load_films(CvsConfig(source="isbi", isbi_dir=str(shared_data / "isbi2015-ceph"), size=256))
    split, ids = np.asarray(f["split"]), np.asarray(f["ids"])
    assert {s: int((split == s).sum()) for s in ("train", "val", "test1", "test2")} == {"train": 126, "val": 22, "test1": 150, "test2": 100}
    assert "038" not in ids and "144" not in ids and np.allclose(f["mm_per_px"], 0.2)
    assert set(ids[split == "val"]) <= {f"{i:03d}" for i in range(1, 151)}
    again = load_films(CvsConfig(source="isbi", isbi_dir=str(shared_data / "isbi2015-ceph"), size=256))
    assert (again["split"] == split).all()                                   # the val part is seeded


def test_the_stage_rule_is_fitted_on_the_points_it_is_given():
    "With predicted validation points the thresholds are fitted on those (with the validation truth), else on true training points."
    from boneage import cervical
    from boneage.cvs import stage_from_points
    films = cervical.cervical_phantom(36, size=128, seed=3, stages=cervical.STAGES * 6)
    tr, va, te = np.arange(0, 18), np.arange(18, 30), np.arange(30, 36)
    noisy = films["landmarks"][va] + np.random.default_rng(0).normal(0, 1.5, films["landmarks"][va].shape)
    st = stage_from_points(films, films["landmarks"][te], tr, te, noisy, va)
    fit = lambda pts, idx: cervical.fit_stage_thresholds(cervical.cvs_features(pts), films["stage"][idx])
    assert st["thresholds"] == fit(noisy, va) and st["thresholds_true_points"] == fit(films["landmarks"][tr], tr)
    old = stage_from_points(films, films["landmarks"][te], tr, te)
    assert old["thresholds"] == st["thresholds_true_points"] and "predicted_points_true_thresholds" not in old


def test_crop_roi_maps_points_both_ways_and_pads_outside_the_film():
    from boneage.cvs import crop_roi, from_letterbox, roi_box, to_letterbox
    film = (255 * blob(90, 70, 30.3, 60.8, 1.5)).astype(np.uint8)
    box = roi_box(np.array([[20.0, 50.0], [40.0, 70.0]]), margin=0.5)      # 20 px of points -> a 40 px square at (10, 40)
    assert np.allclose(box, [10.0, 40.0, 40.0])
    crop, t = crop_roi(film, box, 80)
    yy, xx = np.mgrid[:80, :80]
    c = crop.astype(float)
    assert np.abs(np.array([(c * xx).sum(), (c * yy).sum()]) / c.sum() - to_letterbox([30.3, 60.8], t)).max() < 0.15
    assert np.allclose(from_letterbox(to_letterbox([[1.0, 2.0]], t), t), [[1.0, 2.0]])
    out, _ = crop_roi(np.full((20, 20), 9, np.uint8), [10.0, 10.0, 20.0], 20)   # three quarters off the film
    assert (out[:10, :10] == 9).all() and out[10:].max() == 0 and out[:, 10:].max() == 0


def test_second_look_crops_validation_and_test_films_around_the_first_looks_points():
    "Training crops follow the truth; validation and test crops follow the first look's points, never the truth."
    import boneage.cvs as cvs
    config = cvs.CvsConfig(**{**SMOKE, "n_images": 20, "refine_margin": 0.3})
    films = cvs.load_films(config)
    split = np.asarray(films["split"])
    first = {s: films["landmarks"][split == s] + 7.0 for s in ("val", "test")}
    data = cvs._prepare_crops(config, films, first)
    for s, truth_shift in (("train", 0.0), ("val", 7.0), ("test", 7.0)):
        i = np.flatnonzero(split == s)[0]
        _, t = cvs.crop_roi(films["images"][i], cvs.roi_box(films["landmarks"][i] + truth_shift, 0.3), config.refine_size)
        assert np.allclose(data["transforms"][i], t)
    with pytest.raises(ValueError, match="test films"):
        cvs._prepare_crops(config, films, {"val": first["val"]})


def test_the_stage_writes_its_run_as_one_model_that_boneage_cvs_uses(smoke, tmp_path, capsys):
    "models/cvs/cvs.keras: both looks chained as the stage scored them (test MRE and stages), and `boneage cvs` gives the stage."
    import cv2
    from boneage import cervical
    from boneage.cli import main
    from boneage.cvs import LandmarkModel, load_films
    paths, config, d = smoke
    bundle = LandmarkModel.load(paths.models("cvs") / "cvs.keras")
    assert bundle.cervical and (bundle.refine is not None) == d["refined"] 
    assert bundle.meta["stage_thresholds"] == pytest.approx(d["stage"]["thresholds"], abs=1e-4)   # as the details JSON rounds them
    films = load_films(config)
    te = np.flatnonzero(films["split"] == "test")
    pts = np.stack([bundle.landmarks(films["images"][i]) for i in te])
    err = np.hypot(*(pts - films["landmarks"][te]).transpose(2, 0, 1)) * films["mm_per_px"][te, None]
    assert abs(err.mean() - d["test"]["test"]["mre_mm"]) < 1e-3
    stages = cervical.stage_from_landmarks(pts, bundle.meta["stage_thresholds"])
    assert (stages == np.array(d["stage"]["pred_stage"])).mean() >= 0.9          # float32 batch vs one film: a threshold tie may flip
    cv2.imwrite(str(tmp_path / "film.png"), films["images"][te[0]])
    assert main(["cvs", str(tmp_path / "film.png"), "--model", str(paths.models("cvs") / "cvs.keras"), "--json", "--quiet"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["stage"] == int(stages[0]) and len(rec["landmarks"]) == 19
    assert np.allclose([[p["x_px"], p["y_px"]] for p in rec["landmarks"]], pts[0], atol=0.051)


def test_fresh_phantom_benchmark_scores_the_stage_model_on_new_films(smoke, tmp_path):
    "benchmarks/cvs_fresh_phantoms.py: new films (another seed, the stage's own refused), the model as `boneage cvs` runs it."
    import importlib.util
    from conftest import ROOT
    spec = importlib.util.spec_from_file_location("cvs_fresh_phantoms", ROOT / "benchmarks" / "cvs_fresh_phantoms.py")
    bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)
    paths, config, d = smoke
    bench.ROOT = paths.root
    r = bench.fresh_test(paths.models("cvs") / "cvs.keras", 8, 7)
    assert r["n"] == r["stage"]["n"] == 8 and r["second_look"] == d["refined"] and r["phantom_size"] == config.phantom_size
    assert r["mre_mm_ci"][0] <= r["mre_mm"] <= r["mre_mm_ci"][1] and np.sum(r["stage"]["confusion"]) == 8
    with pytest.raises(SystemExit, match="own seed"):
        bench.fresh_test(paths.models("cvs") / "cvs.keras", 8, config.seed)


def test_a_two_look_model_missing_its_second_look_fails_in_one_line_naming_it(tmp_path, capsys):
    "A bundle whose second-look file is gone or mislabelled: a one-line error naming the file, usage exit 2, no traceback."
    import cv2
    from boneage.cervical import CVS_LANDMARKS
    from boneage.cli import main
    from boneage.core import BoneageError
    from boneage.cvs import LandmarkModel, heatmap_unet, landmark_predictor
    toy = landmark_predictor(heatmap_unet(32, 19, filters=4, depth=2, stride=2))
    meta = dict(landmarks=list(CVS_LANDMARKS), decoder="softargmax", input_size=32)
    LandmarkModel(toy, meta, refine=(toy, dict(decoder="softargmax", input_size=32, margin=0.2))).save(tmp_path / "two.keras")
    assert LandmarkModel.load(tmp_path / "two.keras").refine is not None
    LandmarkModel(toy, json.loads((tmp_path / "two.json").read_text())).save(tmp_path / "one.keras")   # a stale 'refine' is dropped
    assert "refine" not in json.loads((tmp_path / "one.json").read_text())
    (tmp_path / "two_refine.keras").unlink()
    with pytest.raises(BoneageError, match="two_refine.keras: no such model file"):
        LandmarkModel.load(tmp_path / "two.keras")
    cv2.imwrite(str(tmp_path / "film.png"), np.full((40, 40), 100, np.uint8))
    assert main(["cvs", str(tmp_path / "film.png"), "--model", str(tmp_path / "two.keras"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "two_refine.keras" in err[0] and "Traceback" not in err[0]
    (tmp_path / "two.json").write_text(json.dumps({**meta, "refine": 3}))
    with pytest.raises(BoneageError, match="'refine' must name"):
        LandmarkModel.load(tmp_path / "two.keras")

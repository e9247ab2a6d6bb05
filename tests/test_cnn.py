"The cnn stage on smoke data: every arch x seed trained, chosen on validation, tested once, the sex ablation."
import json

import numpy as np

from conftest import smoke_configs


def test_cnn_stage_on_smoke_data(stage_result):
    from boneage.core import import_keras
    from boneage.preprocess import load_preprocessed
    keras = import_keras()
    (paths, d), config = stage_result("cnn"), smoke_configs()["cnn"]
    row = d["archs"]["tunable_cnn"]
    assert d["chosen"] == "tunable_cnn" and len(row["val_mae_seeds"]) == len(row["test_mae_seeds"]) == config.seeds == 2
    assert row["val_mae_seeds"][0] != row["val_mae_seeds"][1]           # the seeds really differ
    assert all(1 <= e <= config.epochs for e in row["epochs_run"]) and row["params"] > 10_000
    assert row["train_per_s"]["mean"] > 0 and row["infer_per_s"]["mean"] > 0
    # the chosen seed is the one with the lowest validation MAE, and the saved model is that run
    assert d["chosen_seed"] == config.seed + int(np.argmin(row["val_mae_seeds"]))
    model = keras.saving.load_model(paths.models("cnn") / "best.keras", safe_mode=True)
    images, table = load_preprocessed(paths.data("preprocess"))
    te = np.flatnonzero(table.split.to_numpy() == "test")
    x = np.stack([__import__("cv2").resize(images[i], (32, 32), interpolation=__import__("cv2").INTER_AREA) for i in te])
    pred = model.predict({"image": x[..., None], "male": table.male.to_numpy()[te, None].astype("float32")}, verbose=0).ravel()
    assert abs(np.abs(pred - table.boneage.to_numpy()[te]).mean() - d["test"]["overall"]["mae"]) < 0.5
    assert d["tuned"] == {} and d["budget"] == {}                          # neither the search nor a time budget by default
    # the ablation: same seeds without the sex input, a paired difference with its interval
    ab = d["sex_ablation"]
    assert ab["arch"] == "tunable_cnn" and ab["mae_gain_from_sex"]["ci_low"] <= ab["mae_gain_from_sex"]["mean"] <= ab["mae_gain_from_sex"]["ci_high"]
    head = json.loads(paths.metrics("cnn").read_text())
    assert set(head) == {"mae", "val_mae", "sex_gain"} and abs(head["mae"] - d["test"]["overall"]["mae"]) < 1e-3
    assert paths.figure("cnn_comparison.png").stat().st_size > 5_000 and paths.figure("cnn_test.png").exists()


def _scratch_project(stage_result, tmp_path):
    import shutil
    from boneage.core import Paths
    paths, _ = stage_result("cnn")
    root = Paths(tmp_path)
    for sub in ("data/data", "data/preprocess", "models/augment"): shutil.copytree(paths.root / sub, root.root / sub)
    return root


def test_cnn_chooses_on_validation_never_on_test(stage_result, monkeypatch, tmp_path):
    "Two architectures with made-up predictions: one better on val, the other on test; the val one is chosen."
    import boneage.cnn as cnn
    from boneage.preprocess import load_preprocessed
    from boneage.zoo import build_model
    root = _scratch_project(stage_result, tmp_path)
    _, table = load_preprocessed(root.data("preprocess"))
    y = {s: table.boneage.to_numpy()[table.split.to_numpy() == s].astype(float) for s in ("val", "test")}
    tiny = build_model("tunable_cnn", 32, conv_blocks=3, filters=8)
    off = {"tunable_cnn": (5.0, 20.0), "resnet34_cbam": (10.0, 0.0)}      # (val error, test error) in months
    def fake(arch, config, data, seed, out_dir, use_sex=True, live_dir=None):
        v, t = off[arch]
        return dict(model=tiny, fit=dict(best_epoch=1, stopped_epoch=None, epochs_run=1), params=1, train_per_s=1.0,
                    train_minutes=1.0, infer_per_s=1.0, pred_val=y["val"] + v + seed - 42, pred_test=y["test"] + t + seed - 42)
    monkeypatch.setattr(cnn, "train_one", fake)
    d = cnn.run_cnn(cnn.CnnConfig(archs=("resnet34_cbam", "tunable_cnn"), seeds=2, size=32, sex_ablation=False, n_boot=20), root, progress=False)
    assert d["chosen"] == "tunable_cnn" and d["chosen_seed"] == 42                # lowest val MAE, not lowest test MAE
    assert abs(d["test"]["overall"]["mae"] - 20.0) < 1e-6
    assert d["archs"]["resnet34_cbam"]["test_mae"]["mean"] < d["archs"]["tunable_cnn"]["test_mae"]["mean"]


def test_cnn_equal_wall_clock_gives_each_arch_the_epochs_its_rate_fits(stage_result, monkeypatch, tmp_path):
    "Under budget_min the loop really trains each architecture for the epochs its measured rate fits, its schedule shortened to match."
    from types import SimpleNamespace
    import boneage.cnn as cnn
    from boneage.zoo import build_model
    root = _scratch_project(stage_result, tmp_path)
    config = cnn.CnnConfig(archs=("tunable_cnn", "resnet34_cbam"), seeds=1, size=32, batch_size=8, epochs=40,
                           budget_min=0.05, sex_ablation=False, n_boot=20)
    images, table = cnn.load_preprocessed(root.data("preprocess"))
    ds = cnn.split_datasets(cnn.resized_cache(images, 32), table, config)["train"]
    assert 1 < cnn.training_rate("tunable_cnn", config, ds, steps=2) < 1e5          # the real measurement, on a few batches
    n = int((table.split == "train").sum())
    rates, seen = {"tunable_cnn": 10.5 * n / 3.0, "resnet34_cbam": 2.0}, {}         # 10 epochs and 1 in 3 s (0.05 min)
    monkeypatch.setattr(cnn, "training_rate", lambda arch, config, ds, steps=24, **kw: rates[arch])
    tiny = build_model("tunable_cnn", 32, conv_blocks=3, filters=8)
    def fake_fit(builder, train, val, train_config, *a, **kw):                      # what train_one hands the loop
        seen[builder().name.split("_regressor")[0]] = train_config
        return SimpleNamespace(model=tiny, summary=lambda: dict(best_epoch=1, stopped_epoch=None, epochs_run=1))
    monkeypatch.setattr(cnn, "fit_regressor", fake_fit)
    d = cnn.run_cnn(config, root, progress=False)
    expected = {"tunable_cnn": 10, "resnet34_cbam": 1}
    assert {a: b["epochs"] for a, b in d["budget"].items()} == expected
    assert {a: c.epochs for a, c in seen.items()} == expected
    assert all(c.schedule_epochs == c.epochs and c.min_epochs == c.epochs - 1 and c.warmup_epochs <= c.epochs / 10
               for c in seen.values())


def test_cnn_budget_measurement_leaves_the_runs_unchanged(stage_result, monkeypatch, tmp_path):
    "Measuring the rates uses its own batches and augmenter: with the budget granting all epochs, the run is the unbudgeted one."
    import boneage.cnn as cnn
    root = _scratch_project(stage_result, tmp_path)
    base = dict(archs=("tunable_cnn",), seeds=1, size=32, batch_size=8, epochs=2, schedule_epochs=1, patience=1,
                min_epochs=0, sex_ablation=False, n_boot=20)
    plain = cnn.run_cnn(cnn.CnnConfig(**base), root, progress=False)
    monkeypatch.setattr(cnn, "budget_epochs", lambda budget, n, rate, most: most)
    timed = cnn.run_cnn(cnn.CnnConfig(**base, budget_min=5.0), root, progress=False)
    assert timed["budget"]["tunable_cnn"]["rate_per_s"] > 0
    assert timed["archs"]["tunable_cnn"]["val_mae_seeds"] == plain["archs"]["tunable_cnn"]["val_mae_seeds"]


def test_cnn_trains_the_tunable_cnn_the_search_found(stage_result, monkeypatch, tmp_path):
    "The search sees train and val only, and the tunable CNN trained is built from the values it returns."
    from types import SimpleNamespace
    import boneage.cnn as cnn
    from boneage.core import import_keras
    keras = import_keras()
    root = _scratch_project(stage_result, tmp_path)
    _, table = cnn.load_preprocessed(root.data("preprocess"))
    found, got = dict(conv_blocks=3, filters=8, dense_depth=1, dropout=0.1), {}
    def fake_search(train, val, trials, epochs, out_dir, config, **kw):
        got.update(train=int(train.cardinality()), val=int(val.cardinality()))
        trial = SimpleNamespace(hyperparameters=SimpleNamespace(values=found), score=12.0)
        return found, SimpleNamespace(oracle=SimpleNamespace(trials={"0": trial}))
    monkeypatch.setattr(cnn, "tune_cnn", fake_search)
    config = cnn.CnnConfig(archs=("tunable_cnn",), seeds=1, size=32, batch_size=8, epochs=2, schedule_epochs=1, patience=1,
                           min_epochs=0, sex_ablation=False, n_boot=20, tune_trials=1, tune_epochs=1)
    d = cnn.run_cnn(config, root, progress=False)
    batches = lambda s: int(np.ceil((table.split == s).sum() / 8))
    assert got == {"train": batches("train"), "val": batches("val")} and d["tuned"]["values"] == found
    model = keras.saving.load_model(root.models("cnn") / "best.keras", safe_mode=True)
    convs = [l for l in model.get_layer("tunable_cnn_backbone").layers if l.name.endswith("_conv")]
    assert len(convs) == 3 and convs[0].filters == 8 and d["archs"]["tunable_cnn"]["params"] == model.count_params()

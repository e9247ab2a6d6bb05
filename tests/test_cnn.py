"The cnn stage on smoke data: every arch x seed trained, chosen on validation, tested once, the sex ablation."
import json

import numpy as np

from conftest import smoke_configs


def test_cnn_stage_on_smoke_data(upstream):
    from boneage.cnn import run_cnn
    from boneage.core import import_keras
    from boneage.preprocess import load_preprocessed
    keras = import_keras()
    paths, config = upstream("cnn"), smoke_configs()["cnn"]
    d = run_cnn(config, paths, progress=False)
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
    # the ablation: same seeds without the sex input, a paired difference with its interval
    ab = d["sex_ablation"]
    assert ab["arch"] == "tunable_cnn" and ab["mae_gain_from_sex"]["ci_low"] <= ab["mae_gain_from_sex"]["mean"] <= ab["mae_gain_from_sex"]["ci_high"]
    head = json.loads(paths.metrics("cnn").read_text())
    assert set(head) == {"mae", "val_mae", "sex_gain"} and abs(head["mae"] - d["test"]["overall"]["mae"]) < 1e-3
    assert paths.figure("cnn_comparison.png").stat().st_size > 5_000 and paths.figure("cnn_test.png").exists()

"The regressors stage on smoke data: five models, chosen on validation, saved models that load back."
import json

import numpy as np

from boneage.regressors import load_model


def test_regressors_stage(stage_result):
    paths, details = stage_result("regressors")   # the smoke config: 2 folds, 5 MLP epochs, 100 resamples
    assert set(details["models"]) == {"mean", "svr", "random_forest", "boosting", "mlp"}
    for r in details["models"].values():
        t = r["test"]["overall"]
        assert 0 < t["mae"] < 120 and t["mae_ci"][0] <= t["mae"] <= t["mae_ci"][1]
        assert {"female", "male"} >= set(r["test"]["by_sex"]) and r["test"]["floor"]["label_noise_mae"] > 0
    best = details["best_by_val"]
    assert best != "mean" and details["models"][best]["val"]["overall"]["mae"] == min(
        r["val"]["overall"]["mae"] for n, r in details["models"].items() if n != "mean")
    head = json.loads(paths.metrics("regressors").read_text())
    assert set(head) == {"mae", "val_mae"} and head["mae"] == round(details["models"][best]["test"]["overall"]["mae"], 4)
    for name in ("svr", "random_forest", "boosting"):
        assert hasattr(load_model(paths.models("regressors") / f"{name}.skops"), "predict")
    mlp = load_model(paths.models("regressors") / "mlp.keras")
    assert np.isfinite(mlp.predict(np.zeros((2, details["n_features"]), np.float32))).all()

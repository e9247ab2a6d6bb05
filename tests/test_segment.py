"The segment stage on smoke data: trained through the augmenter, chosen on validation, every model loads safely."
import json

from boneage.core import import_keras


def test_segment_stage_scores_every_method_and_saves_safe_models(stage_result):
    paths, details = stage_result("segment")      # the smoke config: unet_bce + ddunet_custom, 32 px, 2 epochs
    assert set(details["test"]) == {"K-Means (pseudo-labels)", "U-Net (project 1) + BCE", "DDU-Net + Dice-bootstrap"}
    for label, r in details["test"].items():
        assert 0 <= r["dice_ci"][0] <= r["dice_mean"] <= r["dice_ci"][1] <= 1 and r["iou_mean"] <= r["dice_mean"]
    assert details["test"]["K-Means (pseudo-labels)"]["dice_mean"] > 0.3
    assert details["best_network"] in details["models"] and "px at 32 px" in details["hd95_units"]
    keras = import_keras()
    for info in details["models"].values():
        assert 1 <= info["epochs_run"] <= 2 and 1 <= info["best_epoch"] <= info["epochs_run"]
        keras.saving.load_model(paths.models("segment") / f"{info['key']}.keras", safe_mode=True)
        assert (paths.live("segment") / info["key"] / "metrics.json").exists()
    head = json.loads(paths.metrics("segment").read_text())
    assert set(head) == {"dice", "dice_kmeans"} and head["dice"] == round(details["test"][details["best_network"]]["dice_mean"], 4)
    assert paths.figure("segment_phantom.png").stat().st_size > 10_000

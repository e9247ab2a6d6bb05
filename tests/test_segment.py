"The segment stage on smoke data: trained through the augmenter, chosen on validation, every model loads safely."
import json, subprocess, sys

from boneage.segment import KMEANS_LABEL


def test_segment_stage_scores_every_method_and_saves_safe_models(stage_result):
    paths, details = stage_result("segment")      # the smoke config: unet_bce + ddunet_dice_bootstrap, 2 seeds, 32 px, 2 epochs
    assert set(details["test"]) == {KMEANS_LABEL, "U-Net (project 1) + BCE", "DDU-Net + Dice + hard bootstrap"}
    for label, r in details["test"].items():
        assert 0 <= r["dice_ci"][0] <= r["dice_mean"] <= r["dice_ci"][1] <= 1 and r["iou_mean"] <= r["dice_mean"]
        assert r["seeds"] == (1 if label == KMEANS_LABEL else 2)
        assert (r["dice_seed_sd"] is None) == (label == KMEANS_LABEL)
    assert details["test"][KMEANS_LABEL]["dice_mean"] > 0.3
    best = details["best_network"]
    assert best == max(details["models"], key=lambda l: details["models"][l]["val_pseudo_dice"])   # chosen on validation
    assert details["best_network_minus_kmeans_dice"] == details["minus_kmeans_dice"][best] and "px at 32 px" in details["hd95_units"]
    for info in details["models"].values():
        assert [r["seed"] for r in info["runs"]] == [42, 43]
        for r in info["runs"]:
            assert 1 <= r["best_epoch"] <= r["epochs_run"] <= 2 and "val_pseudo_dice_before_bn" in r
            assert (paths.live("segment") / f"{info['key']}_seed{r['seed']}" / "metrics.json").exists()
    head = json.loads(paths.metrics("segment").read_text())
    assert set(head) == {"dice", "dice_kmeans"} and head["dice"] == round(details["test"][best]["dice_mean"], 4)
    assert paths.figure("segment_phantom.png").stat().st_size > 10_000


def test_saved_segmenters_load_with_safe_mode_in_a_fresh_process(stage_result):
    "Every saved network loads with safe_mode through load_segmenter, in a process that imported nothing else."
    paths, details = stage_result("segment")
    files = sorted(str(p) for p in paths.models("segment").glob("*.keras"))
    assert len(files) == 2 * len(details["models"])
    code = ("import sys; from boneage.segment import load_segmenter\n"
            "for f in sys.argv[1:]: m = load_segmenter(f); assert m.loss is not None, f\nprint('ok', len(sys.argv) - 1)")
    r = subprocess.run([sys.executable, "-c", code, *files], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == f"ok {len(files)}", r.stderr[-2000:]

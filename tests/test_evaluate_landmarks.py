"Landmark metrics with known answers: radial errors, MRE, SDR and project 3's PCKs."
import numpy as np


def test_mre_and_sdr_known_answers():
    from boneage.evaluate import landmark_metrics, radial_errors
    true = np.zeros((2, 2, 2))
    pred = np.array([[[2, 0], [0, 4]], [[0, 12], [16, 0]]], float)        # 1, 2, 3, 4 mm at 0.5 and 0.25 mm/px
    assert radial_errors(pred, true, [0.5, 0.25]).tolist() == [[1, 2], [3, 4]]
    m = landmark_metrics(pred, true, [0.5, 0.25], n_boot=100)
    assert m["mre_mm"] == 2.5 and m["mre_px"] == 8.5
    assert [m[f"sdr_{r}mm"] for r in ("2", "2.5", "3", "4")] == [50, 50, 75, 100]
    assert m["per_landmark"]["L2"]["mre_mm"] == 3 and m["mre_mm_ci"][0] <= 2.5 <= m["mre_mm_ci"][1]


def test_project3_pck_is_not_one_to_one():
    from boneage.evaluate import project3_pck
    true = np.array([[[100, 100], [104, 100], [50, 300]]], float)
    r = project3_pck(true[:, [1, 0, 2]], true, (512, 256))              # two points swapped: still 100 %
    assert r["pck_unet"] == 100 and r["pck_unet_threshold_px"] == [5, 10]
    both = np.array([[[100, 100], [100, 100], [0, 0]]], float)
    assert abs(project3_pck(both, true, (512, 256))["pck_unet"] - 200 / 3) < 1e-9
    far = true + [0, 40]
    assert project3_pck(far, true, (600, 250))["pck_inception"] == 100 and project3_pck(far + [0, 1], true, (600, 250))["pck_inception"] == 0

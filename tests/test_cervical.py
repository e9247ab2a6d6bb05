"The cervical phantom, Baccetti's stage rule and the landmark loaders."
import cv2
import numpy as np
import pandas as pd
import pytest

from boneage.core import BoneageError
from boneage.cervical import (CVS_LANDMARKS, cervical_film, cervical_phantom, cvs_features, fit_stage_thresholds,
                              load_isbi, load_landmark_csv, read_film, stage_from_landmarks)


@pytest.fixture(scope="module")
def films():
    return cervical_phantom(60, size=256, seed=42)


def test_phantom_arrays_and_determinism(films):
    assert films["images"].shape == (60, 256, 256) and films["images"].dtype == np.uint8
    assert films["landmarks"].shape == (60, 19, 2) and films["landmarks"].dtype == np.float32
    assert films["stage"].dtype == np.int8 and set(films["stage"]) == set(range(1, 7))
    assert films["mm_per_px"].dtype == np.float32 and len(films["params"]) == 60 and len(CVS_LANDMARKS) == 19
    again = cervical_phantom(5, size=256, seed=42)
    assert again["images"].tobytes() == films["images"][:5].tobytes()      # same seed, same bytes; film i ignores n
    assert np.array_equal(again["landmarks"], films["landmarks"][:5])
    other = cervical_phantom(5, size=256, seed=43)
    assert other["images"].tobytes() != again["images"].tobytes()


def test_landmarks_inside_and_on_the_drawn_bodies():
    rng = np.random.default_rng(0)
    for stage in range(1, 7):
        img, lm, info = cervical_film(stage, rng, 256)
        assert ((lm > 0) & (lm < 255)).all()
        for k, outline in enumerate(info["outlines"]):            # C2, C3, C4: points are vertices of the outlines
            idx = [0, 1, 2] if k == 0 else list(range(3 + 8 * (k - 1), 11 + 8 * (k - 1)))
            d = np.hypot(*(outline[None] - lm[idx][:, None]).transpose(2, 0, 1)).min(1)
            assert d.max() < 1e-3, (stage, k, d)
            mask = np.zeros(img.shape, np.uint8)
            cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], 1)
            inner = cv2.erode(mask, np.ones((5, 5), np.uint8))
            ring = cv2.dilate(mask, np.ones((7, 7), np.uint8)) - cv2.dilate(mask, np.ones((3, 3), np.uint8))
            assert img[inner > 0].mean() > img[ring > 0].mean() + 5, (stage, k)


def test_concavity_grows_and_bodies_change_with_stage():
    films = cervical_phantom(60, seed=1, stages=np.repeat(np.arange(1, 7), 10))
    f = pd.DataFrame(cvs_features(films["landmarks"]))
    f["stage"] = films["stage"]
    m = f.groupby("stage").mean()
    for v, first in (("c2", 2), ("c3", 3), ("c4", 4)):
        assert m[f"concavity_{v}"].loc[first - 1] < 0.025 < 0.05 < m[f"concavity_{v}"].loc[first]
        assert m[f"concavity_{v}"].loc[first:].is_monotonic_increasing
    ratio = np.maximum(f.ratio_c3, f.ratio_c4)
    assert ratio[f.stage <= 2].max() < 0.7 and ratio[f.stage == 4].max() < 0.85
    assert ratio[f.stage == 5].between(0.9, 1.1).all() and ratio[f.stage == 6].min() > 1.15
    assert f.taper_c3[f.stage <= 2].max() < 0.8 and f.taper_c3[f.stage == 4].min() > 0.85


def test_stage_rule_on_true_landmarks(films):
    train = cervical_phantom(120, seed=7)
    t = fit_stage_thresholds(cvs_features(train["landmarks"]), train["stage"])
    assert (stage_from_landmarks(films["landmarks"], t) == films["stage"]).mean() >= 0.95
    assert (stage_from_landmarks(films["landmarks"]) == films["stage"]).mean() >= 0.95
    # the rule is about shape only: scaling, rotating and mirroring the points changes nothing
    c, r = np.cos(0.3), np.sin(0.3)
    moved = films["landmarks"] @ np.array([[c, -r], [r, c]]).T * 2.5 * [-1, 1] + 40
    assert np.array_equal(stage_from_landmarks(moved), stage_from_landmarks(films["landmarks"]))
    with pytest.raises(BoneageError): cervical_film(7, np.random.default_rng(0))


def _write_csv(tmp_path, lm):
    (tmp_path / "images").mkdir()
    for k in (1, 2, 3): cv2.imwrite(str(tmp_path / "images" / f"{k}.png"), np.full((600, 250), 90, np.uint8))
    header = "image_name," + ",".join(f"{k}_{a}" for k in range(1, 20) for a in "xy")
    row = lambda name, xy: name + "," + ",".join(f"{v:.3f}" for v in np.ravel(xy))
    far = lm.copy(); far[18, 1] = 612.0
    bad = row("images/3.png", lm).split(","); bad[10] = "oops"
    lines = [header, row("images/1.png", lm), row("images/2.png", far), ",".join(bad), row("images/4.png", lm)]
    (tmp_path / "p3.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "p3.csv"


def test_landmark_csv_flags_bad_rows_and_outside_points(tmp_path, films):
    lm = films["landmarks"][0] + [0, 250]
    frame, arr = load_landmark_csv(_write_csv(tmp_path, lm))
    assert arr.shape == (2, 19, 2) and np.allclose(arr[0], lm, atol=1e-3)
    assert frame.outside.tolist() == ["", "19"] and frame.width.tolist() == [250, 250]
    assert read_film(frame.path.iloc[0]).shape == (600, 250)
    rep = frame.attrs["report"]
    errors = [r["problem"] for r in rep.errors]
    assert len(errors) == 2 and "line 4" in errors[0] and "5_y" in errors[0] and "4.png" in errors[1]
    assert len(rep.notes) == 1 and "19" in rep.notes[0]["problem"] and str(tmp_path) in rep.notes[0]["file"]
    with pytest.raises(BoneageError, match="not found"): read_film(tmp_path / "nothing.png")
    (tmp_path / "x.csv").write_text("file,a\n1,2\n")
    with pytest.raises(BoneageError, match="x.csv: no image column"): load_landmark_csv(tmp_path / "x.csv")


def test_cvs_roi_format(shared_data):
    frame, arr = load_landmark_csv(shared_data / "cvs-roi" / "landmarks.csv")
    assert arr.shape == (2, 19, 2) and frame.outside.iloc[0] == "" and frame.outside.iloc[1] != ""
    assert len(frame.attrs["report"].notes) == 1 and "LC11" in frame.attrs["report"].notes[0]["problem"]


def test_isbi_drops_duplicates_and_reads_tests_only_by_name(shared_data):
    train = load_isbi(shared_data / "isbi2015-ceph")
    names = set(train["frame"].image)
    assert len(train["landmarks"]) == 148 and set(train["split"]) == {"train"}
    assert "images/038.jpg" not in names and "images/144.jpg" not in names and len(train["dropped"]) == 2
    assert np.allclose(train["mm_per_px"], 0.2) and train["landmarks"].shape[1:] == (19, 2)
    test1 = load_isbi(shared_data / "isbi2015-ceph", splits="test1")
    assert len(test1["landmarks"]) == 150 and set(test1["split"]) == {"test1"} and not test1["dropped"]
    with pytest.raises(BoneageError, match="unknown ISBI split"): load_isbi(shared_data / "isbi2015-ceph", splits=("val",))

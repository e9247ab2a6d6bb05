"Preprocessing on real films (skipped without ../shared) and its clear errors."
import importlib.util

import cv2
import numpy as np
import pytest

from boneage.core import BoneageError
from boneage.preprocess import check_hand_boxes, preprocess, preprocess_file


def test_every_boxed_real_film_is_cropped_to_the_hand(shared_data):
    boxes = check_hand_boxes(shared_data / "rsna-hires")
    assert len(boxes) == 14 and boxes.ok.all(), boxes[~boxes.ok]


def test_same_film_same_input_whatever_the_caller(shared_data):
    f = shared_data / "rsna-hires" / "images" / "1377.png"
    a, b = preprocess_file(f), preprocess_file(f)
    assert np.array_equal(a.image, b.image) and a.box == b.box and a.image.shape == (256, 256)


@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is not None, reason="mediapipe is installed here")
def test_mediapipe_detector_without_the_package_says_so():
    img = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    with pytest.raises(BoneageError, match="needs the mediapipe package"):
        preprocess(img, detector="mediapipe", mediapipe_model="hand_landmarker.task")
    with pytest.raises(BoneageError, match="detector must be"):
        preprocess(img, detector="yolo")


def test_preprocess_stage_on_smoke_data(upstream):
    import json
    from boneage.preprocess import PreprocessConfig, PreprocessedImages, load_preprocessed, run_preprocess
    paths = upstream("preprocess")
    details = run_preprocess(PreprocessConfig(size=64), paths, progress=False)
    images, table = load_preprocessed(paths.data("preprocess"))
    assert isinstance(images, PreprocessedImages) and images.shape == (details["n"], 64, 64)
    x = images[:3]
    assert x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1 and x.std() > 0.05
    assert details["n"] == 48 and details["n_unreadable"] == 0 and details["n_no_hand"] <= 3
    p = details["phantom"]
    assert p["hand_in_crop_rate"] > 0.9 and 1.0 <= p["crop_over_hand_median"] < 1.6 and p["inversion_accuracy"] >= 0.95
    assert json.loads(paths.metrics("preprocess").read_text()) == dict(
        n=details["n"], problems=0, no_hand=details["n_no_hand"], inverted=details["n_inverted"])
    assert paths.figure("preprocess_examples.png").stat().st_size > 10_000


def test_every_raw_real_film_keeps_its_whole_hand(shared_data):
    "Our own boxes of the 20 unboxed raw rsna-hires films: fingertips, thumb and wrist all inside the crop (1 % slack)."
    import pandas as pd
    from pathlib import Path
    from boneage.preprocess import box_sides_cut
    boxes = pd.read_csv(Path(__file__).parents[1] / "benchmarks" / "rsna_hires_boxes.csv")
    assert len(boxes) == 20
    cut = {r.id: max(box_sides_cut(preprocess_file(shared_data / "rsna-hires" / "images" / f"{r.id}.png").box,
                                   (r.x0, r.y0, r.x1, r.y1)).values()) for r in boxes.itertuples()}
    assert max(cut.values()) <= 0.01, {k: round(v, 3) for k, v in cut.items() if v > 0.01}


def test_polarity_on_real_films_and_their_inversions(shared_data):
    "All 1,252 rsna-lowres val films (they chose the threshold: a regression check): none inverted, >= 99 % of inversions found."
    import pandas as pd
    from boneage.images import read_image
    d = shared_data / "rsna-lowres"
    lab = pd.read_csv(d / "labels.csv", dtype={"id": str})
    ids = lab[lab.split == "val"].id
    normal = [preprocess(read_image(d / "images" / f"{i}.png")[0], size=32) for i in ids]
    flipped = [preprocess(1 - read_image(d / "images" / f"{i}.png")[0], size=32) for i in ids]
    assert sum(p.inverted for p in normal) == 0
    assert len(ids) == 1252 and sum(p.inverted for p in flipped) >= 0.99 * len(ids)


def test_released_polarity_band_is_the_one_val_chose():
    import json
    from pathlib import Path
    from boneage.preprocess import POLARITY_BAND, POLARITY_MODEL
    fit = json.loads((Path(__file__).parents[1] / "benchmarks" / "polarity_fit.json").read_text())
    assert tuple(fit["band"]) == POLARITY_BAND and POLARITY_MODEL.is_file()


def test_uncertain_polarity_leaves_the_film_as_read(monkeypatch):
    import boneage.preprocess as pp
    from boneage.phantom import RenderConfig, phantom_at
    film = phantom_at(9, 0, cfg=RenderConfig(size=256, invert_fraction=0))[0].astype(np.float32) / 255
    monkeypatch.setattr(pp, "film_polarity", lambda g, *a, **k: ("uncertain", 0.5))
    p = pp.preprocess(1 - film)
    assert not p.inverted and p.quality.startswith("polarity uncertain (P(inverted) 0.50): left as read")
    assert np.corrcoef(p.image.ravel(), pp.preprocess(film, fix_inversion=False).image.ravel())[0, 1] < 0   # not flipped


def test_small_hand_widens_the_crop_and_says_so(monkeypatch):
    "A hand found in under a third of the film's side: the crop takes more film around it and the quality says so."
    import boneage.preprocess as pp
    small = np.zeros((256, 256), bool); small[100:150, 100:140] = True         # 20 % of the side
    monkeypatch.setattr(pp, "hand_mask", lambda g: (small, "ok"))
    film = np.random.default_rng(0).random((512, 512)).astype(np.float32)
    p = pp.preprocess(film, fix_inversion=False)
    x0, y0, x1, y1 = p.box
    assert p.quality == "small hand (21% of the film side): crop widened, check it"   # 50 px + 5 % margins of 256
    assert x0 <= 160 and y0 <= 150 and x1 >= 320 and y1 >= 350     # half the hand box more on every side


def test_polarity_on_unseen_phantoms():
    "Phantoms of a seed the classifier never saw (9), as the data stage renders them: none flipped, inversions found."
    from boneage.phantom import RenderConfig, make_phantom
    from boneage.preprocess import _small, film_polarity, normalise, robust_range
    calls = []
    for i in range(60):
        img, _, _, _, _, acq = make_phantom(9, i, RenderConfig(size=512))
        g = _small(img.astype(np.float32) / 255)[0]
        g = normalise(g, robust_range(g))
        g = 1 - g if acq["inverted"] else g                  # every film in normal polarity
        calls.append((film_polarity(g)[0], film_polarity(1 - g)[0]))
    assert sum(a == "inverted" for a, _ in calls) == 0
    assert sum(b == "inverted" for _, b in calls) >= 58


def test_clip_zero_gives_the_normalised_crop_that_clahe_would_equalise():
    "preprocess.clip 0 leaves CLAHE out and nothing else: equalising its output gives the default's exactly."
    from boneage.phantom import make_phantom, RenderConfig
    from boneage.preprocess import clahe
    film = make_phantom(42, 3, RenderConfig(size=256))[0]
    plain, equalised = preprocess(film, size=64, clip=0), preprocess(film, size=64)
    assert plain.box == equalised.box and not np.allclose(plain.image, equalised.image)
    np.testing.assert_array_equal(clahe(plain.image, 2.0, 8, 8), equalised.image)
    with pytest.raises(BoneageError, match="clip limit"):
        clahe(plain.image, -1.0)


def test_crop_film_keeps_the_whole_film_and_only_the_frame_changes():
    "preprocess.crop film: the box is the whole film, padded to a square; the hand found and its mask follow the film."
    from boneage.phantom import make_phantom, RenderConfig
    from boneage.preprocess import to_model_frame
    film, _, hand = make_phantom(42, 3, RenderConfig(size=256))[:3]
    film, hand = np.pad(film, ((0, 0), (0, 160)), mode="edge"), np.pad(hand, ((0, 0), (0, 160)))   # room beside the hand
    cropped, whole = preprocess(film, size=64), preprocess(film, size=64, crop="film")
    H, W = film.shape
    assert whole.box == (0, 0, W, H) and cropped.box[2] < W - 100       # the hand's crop leaves the empty side out
    assert cropped.image.shape == whole.image.shape == (64, 64)
    top = (64 - round(H * 64 / W)) // 2
    assert whole.hand[:top].sum() == 0 and whole.hand[:, 40:].sum() == 0   # the padding and the empty side hold no hand
    def iou(p):
        t, f = to_model_frame(hand, p.box, 64) > 0, p.hand > 0
        return (t & f).sum() / (t | f).sum()
    assert abs(iou(whole) - iou(cropped)) < 0.1                           # the same hand, found and framed alike
    assert whole.hand.sum() < 0.6 * cropped.hand.sum()                    # and smaller in the whole film
    with pytest.raises(BoneageError, match="crop must be"):
        preprocess(film, size=64, crop="box")

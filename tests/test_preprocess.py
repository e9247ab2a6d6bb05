"Preprocessing on real films (skipped without ../shared) and its clear errors."
import importlib.util

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

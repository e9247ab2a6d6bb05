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

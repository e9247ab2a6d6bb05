"The augment stage: the saved augmenter loads safely, feeds tf.data, and the metrics are in range."
import json

import numpy as np

from boneage.augment import AugmentConfig, load_augmenter, make_dataset, run_augment
from boneage.preprocess import load_preprocessed


def test_augment_stage_saves_an_augmenter_the_model_stages_load(upstream):
    paths = upstream("augment")
    details = run_augment(AugmentConfig(), paths, progress=False)
    assert 0.01 < details["mean_abs_change"] < 0.5 and details["n"] > 0
    assert json.loads(paths.metrics("augment").read_text()) == {"mean_abs_change": round(details["mean_abs_change"], 4)}
    assert paths.figure("augment_examples.png").stat().st_size > 10_000
    aug = load_augmenter(paths)
    assert [l.name for l in aug.layers] == ["geometry", "photometric"]
    images, table = load_preprocessed(paths.data("preprocess"))
    feats, y = next(iter(make_dataset(images, table, "train", 4, aug)))
    x = np.asarray(feats["image"])
    assert x.shape[1:] == (images.shape[1], images.shape[2], 1) and 0 <= x.min() and x.max() <= 1


def test_augment_stage_writes_the_same_model_file_twice(upstream):
    paths = upstream("augment")
    run_augment(AugmentConfig(), paths, progress=False)
    a = (paths.models("augment") / "augmenter.keras").read_bytes()
    run_augment(AugmentConfig(), paths, progress=False)
    assert (paths.models("augment") / "augmenter.keras").read_bytes() == a

"The kmeans stage: pseudo-masks for the train split only, its settings recorded for the stages that follow."
import json

import numpy as np

from boneage.kmeans import KMeansConfig, kmeans_mask, kmeans_settings, run_kmeans
from boneage.preprocess import load_preprocessed


def test_kmeans_stage_masks_train_films_only(upstream):
    paths = upstream("kmeans")
    details = run_kmeans(KMeansConfig(), paths, progress=False)
    images, table = load_preprocessed(paths.data("preprocess"))
    masks = np.load(paths.data("kmeans") / "masks.npy")
    assert masks.shape == ((table.split == "train").sum(),) + images.shape[1:] == (details["n"],) + images.shape[1:]
    assert 0.03 < details["foreground_mean"] < 0.6
    assert json.loads(paths.metrics("kmeans").read_text()) == {"foreground": round(details["foreground_mean"], 4)}
    assert kmeans_settings(paths) == dict(seed=42, region="hand", k=2, n_bone=1, features="intensity", rule="brightest", cleanup=True,
                                         sample=4096, n_init=4)


def test_kmeans_in_the_hand_marks_nothing_outside_it(upstream):
    "region hand: the clusters are made of the hand's pixels only, so no background, film field or border is bone."
    from boneage.preprocess import hand_mask
    images, table = load_preprocessed(upstream("kmeans").data("preprocess"))
    for x in images[:4]:
        m = kmeans_mask(x, region="hand", k=2, n_bone=1)
        assert m.any() and not (m & ~hand_mask(x)[0]).any()

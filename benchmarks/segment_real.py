"""The segment stage's networks on raw real films: figures/segment_real.png (no truth there: a visual check).

Six raw films of ../shared/data/rsna-hires through the same preprocessing, K-Means with the kmeans stage's
settings, and the first seed of every network method in models/segment (run `dvc repro segment` first).
Run: python benchmarks/segment_real.py
"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from boneage.core import Paths, load_config, shared_data_dir
from boneage.kmeans import kmeans_mask, kmeans_settings
from boneage.preprocess import PreprocessConfig, preprocess_file
from boneage.segment import SEGMENT_MODELS, SegmentConfig, load_segmenter, predict_masks, resize_stack, segmentation_figure


def main():
    root = Path(__file__).parents[1]
    shared = shared_data_dir(root)
    if shared is None: sys.exit("benchmarks/segment_real.py: ../shared/data is not on this machine")
    paths = Paths(root)
    pre = load_config(PreprocessConfig, "preprocess", root / "params.yaml")
    seg = load_config(SegmentConfig, "segment", root / "params.yaml")
    lab = pd.read_csv(shared / "rsna-hires" / "labels.csv")
    films = [preprocess_file(shared / "rsna-hires" / "images" / f"{i}.png", **pre.preprocess_kwargs()).image
             for i in lab[lab.registered == 0].id[:6]]
    columns = {"K-Means": [kmeans_mask(x, **kmeans_settings(paths)) for x in films]}
    for key in seg.models:
        net = load_segmenter(paths.models("segment") / f"{key}_seed{seg.seed}.keras")
        columns[SEGMENT_MODELS[key][0]] = predict_masks(net, resize_stack(films, seg.size), pre.size) >= 0.5
    out = segmentation_figure(np.stack(films), columns, root / "figures" / "segment_real.png",
                              "bone segmentation on raw RSNA films (no truth: a visual check); networks trained on phantom pseudo-masks")
    print("figure:", out)


if __name__ == "__main__":
    main()

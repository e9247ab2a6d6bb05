"""K-Means as a method family: every setting on the phantom's test split against the true bone masks.

An ablation, not a selection: the kmeans stage's default is fixed by a stated rule (params.yaml, nbs/07_kmeans.ipynb)
and nothing here changes it. Needs the preprocess and data stages' outputs (`dvc repro preprocess`).
Run: python benchmarks/kmeans_ablation.py   (about 4 minutes on 2 cores)
"""
import sys
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from boneage.core import Paths, load_config, write_json
from boneage.evaluate import score_masks, summarise_masks
from boneage.kmeans import KMeansConfig, kmeans_mask
from boneage.preprocess import load_preprocessed
from boneage.segment import true_masks

SETTINGS = {   # name: kmeans_mask keyword arguments
    "image, k 5, 2 brightest (project 1)": dict(region="image", k=5, n_bone=2),
    "image, k 5, 2 brightest, cleanup": dict(region="image", k=5, n_bone=2, cleanup=True),
    "image, k 3, brightest": dict(region="image", k=3, n_bone=1),
    "image, k 5, above mean": dict(region="image", k=5, rule="above_mean"),
    "hand, k 2, brightest": dict(region="hand", k=2, n_bone=1),
    "hand, k 2, brightest, cleanup (default)": dict(region="hand", k=2, n_bone=1, cleanup=True),
    "hand, k 3, 2 brightest, cleanup": dict(region="hand", k=3, n_bone=2, cleanup=True),
    "hand, k 3, brightest, cleanup": dict(region="hand", k=3, n_bone=1, cleanup=True),
    "hand, k 2, +texture, cleanup": dict(region="hand", k=2, n_bone=1, features="intensity+texture", cleanup=True),
    "hand, k 2, +contrast, cleanup": dict(region="hand", k=2, n_bone=1, features="intensity+contrast", cleanup=True),
    "hand, k 2, +position, cleanup": dict(region="hand", k=2, n_bone=1, features="intensity+position", cleanup=True),
}


def main():
    root = Path(__file__).parents[1]
    paths = Paths(root)
    images, table = load_preprocessed(paths.data("preprocess"))
    rows = np.flatnonzero(table.split.to_numpy() == "test")
    truth = true_masks(paths, table, rows, images.shape[1])
    if truth is None: sys.exit("benchmarks/kmeans_ablation.py: the data stage made no true masks (run it on the phantom)")
    base = {k: v for k, v in vars(load_config(KMeansConfig, "kmeans", root / "params.yaml")).items() if k in ("seed", "sample", "n_init")}
    out = []
    for name, kw in SETTINGS.items():
        masks = [kmeans_mask(images[i], **{**base, **kw}) for i in tqdm(rows, desc=name, mininterval=2, leave=False)]
        s = summarise_masks(score_masks(masks, truth), seed=base["seed"])
        out.append(dict(setting=name, **kw, dice_mean=s["dice_mean"], dice_ci=s["dice_ci"], iou_mean=s["iou_mean"],
                        hd95_median=s["hd95_median"], foreground=float(np.mean([m.mean() for m in masks]))))
        print(f"{name:42s} Dice {s['dice_mean']:.3f} [{s['dice_ci'][0]:.3f}, {s['dice_ci'][1]:.3f}]  HD95 {s['hd95_median']:.1f} px")
    write_json(root / "benchmarks" / "kmeans_ablation.json",
               dict(rows=out, n_test=len(rows), size=int(images.shape[1]),
                    note="phantom test split, true bone masks, at the preprocess size; no setting is chosen from this table"))


if __name__ == "__main__":
    main()

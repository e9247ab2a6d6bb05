"""Preprocessing speed and crop correctness on the real full-size films of ../shared/data/rsna-hires.

Side by side in one process, one OpenCV thread, on the 34 raw (unregistered) films:
  (a) floor: decode + CLAHE (2.0, 8x8) + resize to 256 px, nothing else;
  (b) boneage.preprocess: read_image + the whole preprocessing;
  (c) project 1's pipeline reimplemented (boneage.preprocess.preprocess_project1: scikit-image
      equalize_adapthist, row/column trimming, pad, resize).
Prints images per second and how many of the 14 films with a manual hand box (b) and (c) crop correctly
(crop keeps >= 95 % of the box, box covers >= 50 % of the crop); writes benchmarks/preprocess_speed.json.
Targets (issue 3): (b) within 2x of (a), faster than (c), every boxed film correct.
Also draws figures/preprocess_real.png: every raw rsna-hires film with its crop box and model input, and 12
rsna-lowres train images (the stage never reads ../shared, so its outputs are the same on every machine).
Run: python benchmarks/preprocess_speed.py [--repeat 2]
"""
import os
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"): os.environ[var] = "1"
import argparse, json, sys, time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from boneage.core import shared_data_dir
from boneage.images import read_image
from boneage.preprocess import before_after_figure, box_check, preprocess, preprocess_project1


def floor(path, size=256):
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    img = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(img)
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


def ours(path): return preprocess(read_image(path)[0], size=256)
def project1(path): return preprocess_project1(read_image(path)[0], size=256)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_suffix(".json"))
    args = ap.parse_args()
    shared = shared_data_dir(Path(__file__).parent)
    if shared is None: sys.exit("benchmarks/preprocess_speed.py: ../shared/data is not on this machine")
    d = shared / "rsna-hires"
    lab, boxes = pd.read_csv(d / "labels.csv"), pd.read_csv(d / "hand_boxes.csv")
    files = [d / "images" / f"{i}.png" for i in lab[lab.registered == 0].id]
    cv2.setNumThreads(1)
    rows = []
    for name, fn in (("(a) floor: decode + CLAHE + resize", floor), ("(b) boneage preprocess", ours),
                     ("(c) project 1 pipeline", project1)):
        fn(files[0])
        t = time.perf_counter()
        for _ in range(args.repeat):
            for f in files: fn(f)
        rate = args.repeat * len(files) / (time.perf_counter() - t)
        correct = None
        if fn is not floor:
            correct = 0
            for r in boxes.itertuples():
                keep, cover = box_check(fn(d / "images" / f"{r.id}.png").box, (r.x, r.y, r.x + r.w, r.y + r.h))
                correct += keep >= 0.95 and cover >= 0.5
        rows.append(dict(method=name, images_per_s=round(rate, 1), boxed_correct=correct, boxed_total=len(boxes)))
    print(f"{'method':<38} {'img/s':>7} {'boxed films correct':>20}")
    for r in rows:
        c = "–" if r["boxed_correct"] is None else f"{r['boxed_correct']} / {r['boxed_total']}"
        print(f"{r['method']:<38} {r['images_per_s']:>7} {c:>20}")
    a, b, c = (r["images_per_s"] for r in rows)
    verdict = dict(within_2x_of_floor=b >= a / 2, faster_than_project1=b > c, all_boxed_correct=rows[1]["boxed_correct"] == len(boxes))
    print("targets:", ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in verdict.items()))
    args.out.write_text(json.dumps(dict(rows=rows, films=len(files), threads=1, **verdict), indent=2) + "\n")
    low = pd.read_csv(shared / "rsna-lowres" / "labels.csv")
    low = [shared / "rsna-lowres" / "images" / f"{i}.png" for i in low[low.split == "train"].sample(12, random_state=42).id]
    fig = before_after_figure(files + low, Path(__file__).parents[1] / "figures" / "preprocess_real.png",
                              f"preprocess on real films: {len(files)} raw RSNA films (rsna-hires) and 12 rsna-lowres train images", cols=6)
    print("figure:", fig)


if __name__ == "__main__":
    main()

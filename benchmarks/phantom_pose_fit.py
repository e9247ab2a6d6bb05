"""How the phantom's framing, pose and exposure distributions (boneage.phantom.POSE) were fitted to real films.

A coordinate search from START (the values set by hand before it) that makes phantoms, squashed to 100 x 100 by
nearest neighbour as rsna-lowres was, match 1,500 rsna-lowres train films (not the 1,000 that
benchmarks/phantom_fidelity.py tests against) in the mean and sd of each pixel of their 32-px thumbnails and in
their 16-bin grey-level histogram. 300 phantoms (seed 7) rendered at 256 px per evaluation; steps of 12 % then 6 %.
Prints each accepted step and writes benchmarks/phantom_pose_fit.json; POSE holds the fitted values (rounded).
Run: python benchmarks/phantom_pose_fit.py   (about 10 minutes on one core)
"""
import os
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"): os.environ[var] = "1"
import argparse, json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

import boneage.phantom as ph
from boneage.core import shared_data_dir
from boneage.data import grey_histograms, squash_like_lowres

START = dict(tip_row=(0.04, 0.18), wrist_row=(0.58, 0.78), rotation_mean=3.0, rotation_sd=5.0, centre_x=(0.435, 0.565),
             spread=(1.3, 1.7), thumb=0.98, forearm_cm=1.3, soft_cm=(1.33, 1.73), mu_soft=(0.27, 0.39),
             mu_bone=(1.64, 2.04), window_hi=(1.58, 2.75), gamma=(0.56, 1.54), finger_width=1.1, palm_margin=5.5,
             wrist_sd=4.0, flexion_deg=30.0, trabecular=0.12, cortex_cm=0.06, full_hand_mm=150.0)
STEPS = (0.12, 0.06)


def fit_films(real_dir: Path, n=1500) -> np.ndarray:
    "rsna-lowres train films outside the fidelity benchmark's sample (random_state 42), `n` of them (random_state 1)."
    lab = pd.read_csv(real_dir / "labels.csv")
    train = lab[lab.split == "train"]
    held = set(train.sample(1000, random_state=42).id)
    ids = train[~train.id.isin(held)].sample(n, random_state=1).id
    return np.stack([cv2.imread(str(real_dir / "images" / f"{i}.png"), cv2.IMREAD_GRAYSCALE) for i in ids])


def moments(films) -> tuple:
    "Per-pixel mean and sd of the 32-px thumbnails, and the mean 16-bin histogram."
    s = np.stack([cv2.resize(f, (32, 32), interpolation=cv2.INTER_AREA) for f in films]).astype(float)
    h = grey_histograms(films).mean(0)
    return s.mean(0), s.std(0), h


def distance(real, n=300) -> float:
    "Standardised squared differences of the thumbnails' means and sds, plus the histograms' L1 distance."
    cfg = ph.RenderConfig(size=256)
    films = np.stack([squash_like_lowres(ph.make_phantom(7, i, cfg)[0]) for i in range(n)])
    (mp, sp, hp), (mr, sr, hr) = moments(films), real
    var = 0.5 * (sp ** 2 + sr ** 2) + 25
    return float(np.mean((mp - mr) ** 2 / var) + np.mean((sp - sr) ** 2 / var) + np.abs(hp - hr).sum())


def candidates(key, value, step):
    "Moves of one entry: a range shifted up or down, widened or narrowed; a number scaled (rotation shifted)."
    if isinstance(value, tuple):
        c, w = (value[0] + value[1]) / 2, (value[1] - value[0]) / 2
        d = step * max(abs(c), 0.05)
        out = [(c + d - w, c + d + w), (c - d - w, c - d + w), (c - w * (1 + 2 * step), c + w * (1 + 2 * step)),
               (c - w * (1 - 2 * step), c + w * (1 - 2 * step))]
        return [tuple(round(x, 4) for x in v) for v in out]
    if key == "rotation_mean": return [round(value + 20 * step, 4), round(value - 20 * step, 4)]
    return [round(value * (1 + step), 4), round(value * (1 - step), 4)]


def search(real) -> tuple[dict, list]:
    ph.POSE.clear(); ph.POSE.update(START)
    best, steps = distance(real), []
    steps.append(dict(step=0, key=None, value=None, distance=round(best, 4)))
    print(f"start: distance {best:.4f}")
    for step in STEPS:
        for key in list(ph.POSE):
            for value in candidates(key, ph.POSE[key], step):
                old, ph.POSE[key] = ph.POSE[key], value
                d = distance(real)
                if d < best - 1e-4:
                    best = d; steps.append(dict(step=step, key=key, value=value, distance=round(d, 4)))
                    print(f"step {step}: {key} = {value}, distance {d:.4f}")
                else: ph.POSE[key] = old
    return dict(ph.POSE), steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).with_suffix(".json"))
    args = ap.parse_args()
    shared = shared_data_dir(Path(__file__).parent)
    if shared is None: raise SystemExit("benchmarks/phantom_pose_fit.py: ../shared/data is not on this machine")
    cv2.setNumThreads(1)
    fitted, steps = search(moments(fit_films(shared / "rsna-lowres")))
    print("fitted:", json.dumps(fitted))
    args.out.write_text(json.dumps(dict(start=START, fitted=fitted, steps=steps, real_films=1500, phantoms=300,
                                        render_size=256, phantom_seed=7), indent=1) + "\n")


if __name__ == "__main__":
    main()

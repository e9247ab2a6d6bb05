"""`boneage predict` end to end on the 34 raw full-size films of ../shared/data/rsna-hires, beside the floor.

Two timings in one process, on the same films, after one warm-up film:
  (a) floor: boneage.images.read_image + boneage.preprocess.preprocess with the released model's settings
      (decode and preprocessing, no network);
  (b) predict: boneage.release.predict_files with the released model (decode, preprocessing, network, interval),
      the function `boneage predict` runs.
Prints films per second and writes benchmarks/predict_speed.json.
Run: python benchmarks/predict_speed.py [--model boneage/released/boneage_cnn.keras] [--repeat 2]
"""
import argparse, json, sys, time
from pathlib import Path

import pandas as pd

from boneage.cli import default_model
from boneage.core import shared_data_dir
from boneage.images import read_image
from boneage.release import BoneAgeModel, predict_files
from cnn_speed import device_name          # benchmarks/ is on the path when this script runs


def best_rate(fn, n, repeat) -> float:
    "Films per second: the best of `repeat` timed passes over `n` films."
    times = []
    for _ in range(repeat):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return n / min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    shared = shared_data_dir()
    if shared is None: sys.exit("../shared/data is not on this machine")
    hires = shared / "rsna-hires"
    labels = pd.read_csv(hires / "labels.csv", dtype={"id": str})
    files = [hires / "images" / f"{i}.png" for i in labels[labels.registered == 0].id]
    bundle = BoneAgeModel.load(args.model or default_model())
    predict_files(files[:1], bundle, sex=1, progress=False)                      # build and trace once
    floor = best_rate(lambda: [bundle.model_input(read_image(f)[0]) for f in files], len(files), args.repeat)
    rate = best_rate(lambda: predict_files(files, bundle, sex=1, progress=False), len(files), args.repeat)
    out = dict(n=len(files), floor_per_s=round(floor, 2), predict_per_s=round(rate, 2), network_share=round(1 - rate / floor, 3),
               model=str(args.model or "boneage/released/boneage_cnn.keras"), input_size=bundle.size, device=device_name())
    print("| step | films/s |\n|---|---|")
    print(f"| read + preprocess (floor) | {floor:.1f} |\n| boneage predict (read + preprocess + network + interval) | {rate:.1f} |")
    path = Path(__file__).with_suffix(".json")
    path.write_text(json.dumps(out, indent=2) + "\n"); print(f"wrote {path}")


if __name__ == "__main__":
    main()

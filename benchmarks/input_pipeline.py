"""Training input pipeline throughput: cached preprocessed arrays -> shuffle -> batch -> augment -> prefetch.

Target (issue 3): at least 5x the training throughput of DenseNet-121 at 256 px on this CPU
(8.6 img/s, ../shared/STACK.md), i.e. >= 43 images/s, so the pipeline never starves training.
Reads data/preprocess (run `dvc repro preprocess` first); prints a table and writes benchmarks/input_pipeline.json.
Run: python benchmarks/input_pipeline.py [--batches 40]
"""
import argparse, json, os, time
from pathlib import Path

import numpy as np

from boneage.augment import AugmentConfig, build_augmenter, make_dataset
from boneage.core import project_root, seed_everything
from boneage.preprocess import load_preprocessed

DENSENET_256_TRAIN = 8.6


def rate(ds, batches):
    it = iter(ds)
    next(it)                                   # build and warm up the graph
    t, n = time.perf_counter(), 0
    for _ in range(batches):
        f, y = next(it); n += int(y.shape[0])
    return n / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_suffix(".json"))
    args = ap.parse_args()
    seed_everything(42)
    images, table = load_preprocessed(project_root(Path(__file__).parent) / "data" / "preprocess")
    ds_plain = make_dataset(images, table, "train", args.batch_size, None).repeat()
    ds_aug = make_dataset(images, table, "train", args.batch_size, build_augmenter(AugmentConfig(seed=42))).repeat()
    rows = [dict(pipeline="cache -> shuffle -> batch -> prefetch", images_per_s=round(rate(ds_plain, args.batches), 1)),
            dict(pipeline="... + augmentation (geometry, exposure, blur/sharpen, noise)", images_per_s=round(rate(ds_aug, args.batches), 1))]
    target = 5 * DENSENET_256_TRAIN
    print(f"{'pipeline':<64} {'img/s':>8}")
    for r in rows: print(f"{r['pipeline']:<64} {r['images_per_s']:>8}")
    ok = rows[1]["images_per_s"] >= target
    print(f"{images.shape[1]} px, batch {args.batch_size}, {os.cpu_count()} CPUs: augmented pipeline "
          f"{'meets' if ok else 'MISSES'} the target of {target:.0f} img/s (5x DenseNet-121 training at 256 px)")
    args.out.write_text(json.dumps(dict(rows=rows, size=int(images.shape[1]), batch_size=args.batch_size,
                                        target_per_s=target, meets_target=ok, cpus=os.cpu_count()), indent=2) + "\n")


if __name__ == "__main__":
    main()

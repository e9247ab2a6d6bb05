"""Phantom generation speed on one CPU core: prints a table and writes benchmarks/phantom_speed.json.

Target (foundation issue): at least 20 images/s at 512 px on one core.
Run: python benchmarks/phantom_speed.py [--n 100]
"""
import os
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"): os.environ[var] = "1"
import argparse, json, platform, tempfile, time
from pathlib import Path

import cv2
import numpy as np

from boneage.phantom import RenderConfig, make_phantom, write_phantom

TARGET_512 = 20.0


def rate(fn, n):
    fn(0)                                   # warm-up
    t = time.perf_counter()
    for i in range(1, n + 1): fn(i)
    return n / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="images per measurement")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_suffix(".json"))
    args = ap.parse_args()
    cv2.setNumThreads(1)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for size in (256, 512, 1024):
            cfg = RenderConfig(size=size)
            n = max(args.n * 512 // size // 2, 10) if size > 512 else args.n
            render = rate(lambda i: make_phantom(42, i, cfg), n)
            write = rate(lambda i: write_phantom(f"{d}/{size}", 1, seed=42, cfg=cfg, start=i + 1, progress=False), n)
            rows.append(dict(size=size, n=n, render_per_s=round(render, 1), render_and_write_per_s=round(write, 1)))
    print(f"{'size (px)':>10} {'n':>5} {'render img/s':>13} {'render+write img/s':>19}")
    for r in rows: print(f"{r['size']:>10} {r['n']:>5} {r['render_per_s']:>13} {r['render_and_write_per_s']:>19}")
    at512 = next(r for r in rows if r["size"] == 512)["render_and_write_per_s"]
    verdict = "meets" if at512 >= TARGET_512 else "MISSES"
    print(f"512 px, one core, written to disk: {at512} img/s ({verdict} the target of {TARGET_512} img/s)")
    args.out.write_text(json.dumps(dict(rows=rows, target_512_per_s=TARGET_512, meets_target=at512 >= TARGET_512,
                                        threads=1, machine=platform.machine(), processor=platform.processor(),
                                        cpus=os.cpu_count()), indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Cross-resolution check: the released model through `boneage predict` on the 93 labelled full-size films of
../shared/data/rsna-hires (longer side up to 1024 px; none of them in rsna-lowres train or val: every id they share
with rsna-lowres is in its test split).

Each film goes through boneage.release.predict_files exactly as `boneage predict FILE --sex M|F` would take it (sex
from labels.csv). Reports MAE with a bootstrap 95 % CI and the coverage of the calibrated intervals, for all films,
the 34 raw films and the 59 films their source had already registered; writes benchmarks/predict_hires.json.
Run: python benchmarks/predict_hires.py [--model boneage/released/boneage_cnn.keras]
"""
import argparse, json, sys
from pathlib import Path

import numpy as np
import pandas as pd

from boneage.cli import default_model
from boneage.core import shared_data_dir
from boneage.evaluate import age_metrics, bootstrap_ci
from boneage.release import BoneAgeModel, predict_files


def row(name, sub) -> dict:
    ok = sub[sub.ok]
    y, p = ok.boneage.to_numpy(float), ok.boneage_months.to_numpy(float)
    inside = (ok.interval_low <= ok.boneage) & (ok.boneage <= ok.interval_high)
    return dict(films=name, n=len(ok), failed=int((~sub.ok).sum()), mae=age_metrics(y, p)["mae"],
                mae_ci=list(bootstrap_ci(y, p, 1000, 42)["mae"]), coverage=float(inside.mean()), bias=float((p - y).mean()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None)
    args = ap.parse_args()
    shared = shared_data_dir()
    if shared is None: sys.exit("../shared/data is not on this machine")
    hires = shared / "rsna-hires"
    labels = pd.read_csv(hires / "labels.csv", dtype={"id": str})
    bundle = BoneAgeModel.load(args.model or default_model())
    recs = []
    for male in (0, 1):
        sub = labels[labels.male == male]
        recs += [dict(r, id=i) for i, r in zip(sub.id, predict_files([hires / "images" / f"{i}.png" for i in sub.id], bundle, sex=male, progress=False))]
    res = labels.merge(pd.DataFrame(recs), on="id")
    rows = [row("all", res), row("raw (registered = 0)", res[res.registered == 0]), row("registered by their source", res[res.registered == 1])]
    print("| films | n | MAE [95 % CI] | coverage | failed |\n|---|---|---|---|---|")
    for r in rows: print(f"| {r['films']} | {r['n']} | {r['mae']:.1f} [{r['mae_ci'][0]:.1f}, {r['mae_ci'][1]:.1f}] | {100 * r['coverage']:.1f} % | {r['failed']} |")
    worst = res[res.ok].assign(err=lambda d: (d.boneage_months - d.boneage).abs()).nlargest(5, "err")
    out = dict(model=str(args.model or "boneage/released/boneage_cnn.keras"), level=1 - bundle.meta["calibration"]["alpha"], rows=rows,
               worst=worst[["id", "boneage", "boneage_months", "registered", "quality"]].to_dict("records"),
               errors=res[~res.ok].reindex(columns=["id", "error"]).to_dict("records"))
    path = Path(__file__).with_suffix(".json")
    path.write_text(json.dumps(out, indent=2, default=float) + "\n"); print(f"wrote {path}")


if __name__ == "__main__":
    main()

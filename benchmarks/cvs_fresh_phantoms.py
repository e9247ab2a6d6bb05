"""The cvs stage's model on phantom films it has never seen: a fresh test set from another seed.

The stage's own test split (60 films) has been read by three profiles (128 px, 256 px, the two looks), so it is no
longer untouched. The phantom can make new films: this draws `--n` films with a seed the stage never used, runs
the stage's model as `boneage cvs` would (`models/cvs/cvs.keras`: both looks chained, the stage thresholds fitted
on the stage's validation films), and scores the landmarks (MRE in mm with a bootstrap CI, SDR) and the stage
(accuracy with its exact CI, kappa, confusion matrix). Nothing is fitted here.
Needs the cvs stage's outputs (`dvc repro cvs` or `dvc pull`).
Run: python benchmarks/cvs_fresh_phantoms.py [--n 300] [--seed 2027]   (about a minute on 2 cores)
"""
import argparse, json, os, sys, time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
from tqdm.auto import tqdm

from boneage.cervical import CVS_LANDMARKS, cervical_phantom, stage_from_landmarks
from boneage.core import write_json
from boneage.cvs import LandmarkModel, stage_scores
from boneage.evaluate import landmark_metrics

ROOT = Path(__file__).resolve().parents[1]


def fresh_test(model_path: Path, n: int, seed: int) -> dict:
    "The model's landmarks and stages on `n` new phantom films (seed `seed`, the stage's film size), scored against their truth."
    bundle = LandmarkModel.load(model_path)
    config = bundle.meta["provenance"]["config"]
    if seed == config["seed"]: raise SystemExit(f"--seed {seed} is the stage's own seed: its films are not fresh")
    films = cervical_phantom(n, size=config["phantom_size"], seed=seed)
    t0 = time.perf_counter()
    pred = np.stack([bundle.landmarks(im) for im in tqdm(films["images"], desc="cvs_fresh", unit="film")])
    seconds = time.perf_counter() - t0
    m = landmark_metrics(pred, films["landmarks"], films["mm_per_px"], seed=42, names=CVS_LANDMARKS)
    stages = stage_from_landmarks(pred, bundle.meta["stage_thresholds"])
    return dict(model=str(model_path.relative_to(ROOT)), second_look=bundle.refine is not None, n=n, seed=seed,
                phantom_size=config["phantom_size"], films_per_s=round(n / seconds, 1),
                mre_mm=m["mre_mm"], mre_mm_ci=m["mre_mm_ci"], sdr_2mm=m["sdr_2mm"], median_mm=m["median_mm"],
                stage=dict(stage_scores(films["stage"], stages), thresholds=bundle.meta["stage_thresholds"]),
                true_points_stage_accuracy=stage_scores(films["stage"], stage_from_landmarks(films["landmarks"], bundle.meta["stage_thresholds"]))["accuracy"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=2027, help="phantom seed; the stage's own (42) is refused")
    ap.add_argument("--model", default=str(ROOT / "models" / "cvs" / "cvs.keras"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "cvs_fresh_phantoms.json"))
    args = ap.parse_args()
    if not Path(args.model).is_file():
        print(f"cvs_fresh_phantoms: {args.model}: no such model file (run `dvc repro cvs` or `dvc pull` first)", file=sys.stderr)
        return 1
    r = fresh_test(Path(args.model).resolve(), args.n, args.seed)
    write_json(Path(args.out), r)
    s = r["stage"]
    print(f"cvs_fresh_phantoms: {r['n']} new films (seed {r['seed']}): MRE {r['mre_mm']:.2f} mm [{r['mre_mm_ci'][0]:.2f}, "
          f"{r['mre_mm_ci'][1]:.2f}], SDR@2mm {r['sdr_2mm']:.1f} %; stage {s['accuracy']:.1f} % [{s['accuracy_ci'][0]:.1f}, "
          f"{s['accuracy_ci'][1]:.1f}], kappa {s['kappa_quadratic']:.2f} (true points {r['true_points_stage_accuracy']:.1f} %) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

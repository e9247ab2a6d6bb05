"""How much the synthetic phantom looks like real films: prints tables and writes benchmarks/phantom_fidelity.json.

Two parts, run separately or together; each keeps the other's results in the JSON.
1. Classifier two-sample test (default). `--n` phantom films (seed `--phantom-seed`, 7: not the pipeline's 42, so
   these are not the films the stages train on), rendered at RenderConfig's 512 px, then squashed to 100 x 100 by
   nearest neighbour as 8-bit, as ../shared/data/rsna-lowres was made (its origin, icefairy2/boneage-IS, called
   PIL's `Image.resize((100, 100))`, whose default filter was nearest neighbour before Pillow 7), against `--n` rsna-lowres train films
   (sampled with random_state 42). Features: the film at 32 x 32 (INTER_AREA, / 255) and its 16-bin histogram;
   5-fold stratified accuracy of a standardised logistic regression and of histogram gradient boosting.
   0.5 = indistinguishable; targets (issue) <= 0.70 and <= 0.80.
2. Sim-to-real (`--sim2real`, off by default: it trains three CNNs, ~30-40 min on 2 CPU cores at the defaults).
   The zoo's tunable CNN trained on phantom films only, squashed to 100 x 100 and preprocessed as the rsna-lowres
   pipeline feeds its CNN, then scored on rsna-lowres val (target MAE <= 20 months; predicting the training mean
   gives 33.4). Then, the same real budget (`--epochs` on rsna-lowres train) from scratch and from the phantom model.
   The test split is never read.
Run: python benchmarks/phantom_fidelity.py [--n 1000] [--sim2real [--phantom-films 6000] [--epochs 20]] [--skip-two-sample]
"""
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import argparse, json, tempfile, time, warnings
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from boneage.core import sha256_file, shared_data_dir
try:
    from boneage.data import LOWRES_SIDE as FILM_SIDE, grey_histograms, squash_like_lowres
except ImportError:   # --baseline runs this script on an earlier commit's boneage/, from before these two were in the library
    FILM_SIDE = 100
    def squash_like_lowres(film):
        return np.clip(np.round(cv2.resize(np.asarray(film), (FILM_SIDE,) * 2, interpolation=cv2.INTER_NEAREST)), 0, 255).astype(np.uint8)
    def grey_histograms(films, bins=16): return np.stack([np.histogram(f, bins, (0, 256))[0] for f in films]) / films[0].size
from boneage.phantom import RenderConfig, make_phantom

SEED = 42
PHANTOM_SEED = 7          # the pipeline's phantom uses 42
TARGETS = dict(logistic=0.70, boosting=0.80)
TARGET_VAL_MAE = 20.0     # months, phantom-only CNN on rsna-lowres val
HIST_BINS = 16


# ---------------------------------------------------------------- films
def phantom_films(n, seed=PHANTOM_SEED, cfg=RenderConfig()) -> tuple[np.ndarray, pd.DataFrame]:
    "`n` phantom films (uint8, 100 x 100) rendered at `cfg.size` and squashed, and their labels (boneage, male)."
    films, rows = [], []
    for i in range(n):
        img, _, _, subject, _, _ = make_phantom(seed, i, cfg)
        films.append(squash_like_lowres(img)); rows.append(dict(id=f"phantom{i}", boneage=subject["boneage"], male=subject["male"]))
    return np.stack(films), pd.DataFrame(rows)


def real_labels(real_dir: Path, splits=("train", "val")) -> pd.DataFrame:
    "rsna-lowres labels of `splits` only (the test rows are dropped before anything else is read)."
    lab = pd.read_csv(real_dir / "labels.csv")
    return lab[lab.split.isin(splits)].reset_index(drop=True)


def real_films(real_dir: Path, ids) -> np.ndarray:
    "rsna-lowres films (uint8, 100 x 100) as stored."
    return np.stack([cv2.imread(str(real_dir / "images" / f"{i}.png"), cv2.IMREAD_GRAYSCALE) for i in ids])


# ---------------------------------------------------------------- part 1: two-sample test
def features(films, side=32) -> np.ndarray:
    "The film at `side` x `side` (INTER_AREA, / 255, flattened) and its 16-bin histogram."
    small = np.stack([cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA) for f in films]).reshape(len(films), -1)
    return np.hstack([small / 255.0, grey_histograms(films, HIST_BINS)])


def classifiers() -> dict:
    return dict(logistic=make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)),
                boosting=HistGradientBoostingClassifier(random_state=SEED))


def two_sample_accuracy(phantom, real) -> dict:
    """{classifier: (mean, sd) of the 5-fold accuracy telling phantom (0) from real (1) films}. BLAS and OpenMP held
    to one thread: on 2 shared cores their waiting threads made the logistic fits 30x slower (27 s vs 0.8 s)."""
    x = np.vstack([features(phantom), features(real)])
    y = np.r_[np.zeros(len(phantom)), np.ones(len(real))]
    cv = StratifiedKFold(5, shuffle=True, random_state=SEED)
    with threadpool_limits(1):
        scores = {name: cross_val_score(clf, x, y, cv=cv) for name, clf in classifiers().items()}
    return {name: (float(s.mean()), float(s.std(ddof=1))) for name, s in scores.items()}


def mean_thumbnail(films, side=4) -> list:
    "The films' mean grey level in each cell of a `side` x `side` grid (rows top to bottom): where the brightness lies."
    cells = np.stack([cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA) for f in films]).astype(float)
    return np.round(cells.mean(0), 1).tolist()


def two_sample_test(real_dir: Path, n: int, phantom_seed: int) -> dict:
    t = time.perf_counter()
    phantom, _ = phantom_films(n, phantom_seed)
    train = real_labels(real_dir, ("train",)).sample(n, random_state=SEED)
    real = real_films(real_dir, train.id)
    acc = two_sample_accuracy(phantom, real)
    return dict(n_phantom=n, n_real=n, phantom_seed=phantom_seed, render_size=RenderConfig().size, film_side=FILM_SIDE,
                real_split="train", real_sample_random_state=SEED, folds=5,
                features="32x32 INTER_AREA / 255 + 16-bin histogram (fractions) of the 100x100 film (nearest-neighbour squash)",
                accuracy={k: dict(mean=round(m, 4), sd=round(s, 4), target=TARGETS[k], met=m <= TARGETS[k])
                          for k, (m, s) in acc.items()},
                mean_histogram=dict(bins=np.linspace(0, 256, HIST_BINS + 1).astype(int).tolist(),
                                    phantom=np.round(grey_histograms(phantom, HIST_BINS).mean(0), 4).tolist(),
                                    real=np.round(grey_histograms(real, HIST_BINS).mean(0), 4).tolist()),
                mean_grey=dict(phantom=round(float(phantom.mean()), 2), real=round(float(real.mean()), 2)),
                sd_grey=dict(phantom=round(float(phantom.std()), 2), real=round(float(real.std()), 2)),
                mean_thumbnail_4x4=dict(phantom=mean_thumbnail(phantom), real=mean_thumbnail(real)),
                seconds=round(time.perf_counter() - t, 1))


def print_two_sample(r: dict):
    print(f"two-sample test: {r['n_phantom']} phantom films (seed {r['phantom_seed']}) vs {r['n_real']} rsna-lowres "
          f"train films, 5-fold accuracy (0.5 = indistinguishable)")
    print(f"{'classifier':<10} {'accuracy':>8} {'sd':>6} {'target':>7} {'met':>4}")
    for name, a in r["accuracy"].items():
        print(f"{name:<10} {a['mean']:>8.3f} {a['sd']:>6.3f} {'<= ' + str(a['target']):>7} {'yes' if a['met'] else 'no':>4}")
    h = r["mean_histogram"]
    print("mean 16-bin histogram (fraction of pixels per bin of 16 grey levels):")
    print(f"{'bin from':<10}" + "".join(f"{b:>6}" for b in h["bins"][:-1]))
    for name in ("phantom", "real"): print(f"{name:<10}" + "".join(f"{v:>6.3f}" for v in h[name]))
    print(f"mean grey: phantom {r['mean_grey']['phantom']}, real {r['mean_grey']['real']}; "
          f"sd: phantom {r['sd_grey']['phantom']}, real {r['sd_grey']['real']}")
    if "mean_thumbnail_4x4" in r:
        print("mean grey in a 4 x 4 grid (rows top to bottom), phantom | real:")
        for p, q in zip(*r["mean_thumbnail_4x4"].values()):
            print("  " + " ".join(f"{v:5.1f}" for v in p) + "  |  " + " ".join(f"{v:5.1f}" for v in q))


# ---------------------------------------------------------------- part 2: sim-to-real
PREPROCESS_SIZE = 128     # the documented rsna-lowres runs: -S preprocess.size=128
LIGHT_AUGMENT = dict(blur=0.0, sharpen=0.0, gaussian=0.0, photons=(1e6, 1e6))   # the documented rsna-lowres runs


def preprocessed(films, size=PREPROCESS_SIZE):
    "8-bit films through `boneage.preprocess.preprocess` (read as `read_image` reads a PNG: / 255): the cache's encoding."
    from boneage.preprocess import PreprocessConfig, PreprocessedImages, preprocess
    kw = PreprocessConfig(size=size).preprocess_kwargs()
    return PreprocessedImages(PreprocessedImages.encode([preprocess(f.astype(np.float32) / 255.0, **kw).image for f in films]))


def phantom_table(labels: pd.DataFrame, val_fraction=0.15) -> pd.DataFrame:
    "Phantom labels with a train / val split of their own (val: early stopping of the phantom-only model)."
    val = np.random.default_rng(SEED).permutation(len(labels))[:int(round(val_fraction * len(labels)))]
    split = np.full(len(labels), "train", dtype=object); split[val] = "val"
    return labels.assign(split=split)


def datasets(images, table, config, seed=SEED) -> dict:
    "train (shuffled, augmented as the documented rsna-lowres runs, a fresh augmenter) and val datasets of a cache."
    from boneage.augment import AugmentConfig, build_augmenter, make_dataset
    augmenter = build_augmenter(AugmentConfig(seed=seed, **LIGHT_AUGMENT))
    return dict(train=make_dataset(images, table, "train", config.batch_size, augmenter, shuffle=True, seed=seed),
                val=val_dataset(images, table, config), augmenter=augmenter)


def val_dataset(images, table, config):
    from boneage.augment import make_dataset
    return make_dataset(images, table, "val", config.batch_size, None, shuffle=False)


def train(model, data, config, epochs, out_dir) -> dict:
    "`boneage.train.fit_regressor` with the cnn stage's settings for a time budget of `epochs` (all run, best kept)."
    from boneage.train import fit_regressor
    warnings.filterwarnings("ignore", message="`shuffle=True` was passed")   # Keras about the tf.data input
    t = time.perf_counter()
    fit = fit_regressor(model, data["train"], data["val"], config.train_config(config.seed, epochs), out_dir,
                        rng_layers=[data["augmenter"]])
    return dict(model=fit.model, best_epoch=fit.best_epoch, best_val_mae=fit.best_val_mae, epochs_run=fit.epochs_run,
                minutes=(time.perf_counter() - t) / 60,
                val_mae_per_epoch=[round(v, 2) for v in fit.history.get("val_mae", [])])


def val_mae(model, val_ds, y) -> float:
    "MAE (months) of `model` on the val dataset, labels `y`."
    from boneage.cnn import predict_split
    from boneage.evaluate import age_metrics
    return float(age_metrics(y, predict_split(model, val_ds)[0])["mae"])


def run_summary(run: dict, mae: float) -> dict:
    return dict(val_mae=round(mae, 2), best_epoch=run["best_epoch"], epochs_run=run["epochs_run"],
                train_minutes=round(run["minutes"], 1), val_mae_per_epoch=run["val_mae_per_epoch"])


def caches(real_dir: Path, args) -> dict:
    """Phantom films (own train / val split) and rsna-lowres train and val films, squashed if rendered, through the
    pipeline's preprocessing at 128 px and then resized to the CNN's input as the cnn stage does: {name: (cache, table)}."""
    from boneage.cnn import resized_cache
    films, labels = phantom_films(args.phantom_films, args.phantom_seed)
    rtable = real_labels(real_dir)
    return dict(phantom=(resized_cache(preprocessed(films), args.size), phantom_table(labels)),
                real=(resized_cache(preprocessed(real_films(real_dir, rtable.id)), args.size), rtable))


def train_three(data: dict, config, args) -> dict:
    """{name: (run, rsna-lowres val MAE)} of the phantom-only CNN, the real-only CNN and the phantom-only CNN trained
    on, the last two with the same real budget (`--epochs` on rsna-lowres train)."""
    from boneage.zoo import build_model, tunable_cnn_kwargs
    (pimages, ptable), (rimages, rtable) = data["phantom"], data["real"]
    y_val = rtable.boneage.to_numpy()[rtable.split.to_numpy() == "val"].astype(float)
    score = lambda run: val_mae(run["model"], val_dataset(rimages, rtable, config), y_val)
    builder = lambda: build_model("tunable_cnn", args.size, **tunable_cnn_kwargs(**config.tunable))
    with tempfile.TemporaryDirectory() as scratch:
        phantom = train(builder, datasets(pimages, ptable, config), config, args.phantom_epochs or args.epochs, f"{scratch}/p")
        out = dict(phantom_only=(phantom, score(phantom)))                      # before training on changes the model
        real = train(builder, datasets(rimages, rtable, config), config, args.epochs, f"{scratch}/r")
        tuned = train(phantom["model"], datasets(rimages, rtable, config), config, args.epochs, f"{scratch}/pr")
    return dict(out, real_only=(real, score(real)), phantom_then_real=(tuned, score(tuned)))


def sim2real(real_dir: Path, args) -> dict:
    "The sim-to-real part: caches, the three CNNs, and what is written to the JSON."
    from boneage.cnn import CnnConfig
    t0 = time.perf_counter()
    data = caches(real_dir, args)
    data_minutes = (time.perf_counter() - t0) / 60
    config = CnnConfig(archs=("tunable_cnn",), size=args.size, filters=args.filters, seed=SEED)
    runs = train_three(data, config, args)
    ptable, rtable = data["phantom"][1], data["real"][1]
    y_val, y_train = (rtable.boneage[rtable.split == s].to_numpy(float) for s in ("val", "train"))
    (phantom, phantom_mae), maes = runs["phantom_only"], {k: mae for k, (_, mae) in runs.items()}
    return dict(
        arch="tunable_cnn", tunable_cnn=config.tunable, params=int(phantom["model"].count_params()), input_size=args.size,
        preprocess_size=PREPROCESS_SIZE, augment=dict(LIGHT_AUGMENT, rest="AugmentConfig defaults"), seed=SEED,
        phantom_seed=args.phantom_seed, phantom_films=args.phantom_films, phantom_split=dict(ptable.split.value_counts()),
        epochs=args.epochs, phantom_epochs=args.phantom_epochs or args.epochs, n_real=dict(rtable.split.value_counts()),
        predict_mean_val_mae=round(float(np.abs(y_val - y_train.mean()).mean()), 2),
        **{k: run_summary(run, mae) for k, (run, mae) in runs.items()},
        target_val_mae=TARGET_VAL_MAE, phantom_only_met=phantom_mae <= TARGET_VAL_MAE,
        phantom_only_own_val_mae=round(phantom["best_val_mae"], 2),
        pretraining_gain=round(maes["real_only"] - maes["phantom_then_real"], 2),
        note=("phantom_only keeps its best epoch on the phantom's own val films (rsna-lowres val only scores it); "
              "real_only and phantom_then_real keep theirs on rsna-lowres val, as the cnn stage does, on equal terms; "
              "the phantom pre-training is on top of the equal real budget"),
        data_minutes=round(data_minutes, 1), minutes=round((time.perf_counter() - t0) / 60, 1))


def print_sim2real(r: dict):
    print(f"sim-to-real: {r['arch']} at {r['input_size']} px, {r['phantom_films']} phantom films x {r['phantom_epochs']} "
          f"epochs; real runs {r['epochs']} epochs on {r['n_real']['train']} rsna-lowres train films; val MAE (months) "
          f"on {r['n_real']['val']} val films")
    print(f"{'model':<22} {'val MAE':>8} {'best epoch':>11} {'train min':>10}")
    print(f"{'predict train mean':<22} {r['predict_mean_val_mae']:>8.1f}")
    for name in ("phantom_only", "real_only", "phantom_then_real"):
        x = r[name]
        print(f"{name:<22} {x['val_mae']:>8.1f} {x['best_epoch']:>11} {x['train_minutes']:>10.1f}")
    print(f"phantom only: {'meets' if r['phantom_only_met'] else 'MISSES'} the target of {r['target_val_mae']:.0f} months "
          f"(on its own phantom val: {r['phantom_only_own_val_mae']:.1f}); pre-training gain {r['pretraining_gain']:+.1f} "
          f"months; {r['minutes']:.1f} min in all")


# ---------------------------------------------------------------- main
def merged(path: Path, **parts) -> dict:
    "The JSON at `path` with `parts` replaced (the part not run this time is kept)."
    old = json.loads(path.read_text()) if path.exists() else {}
    return {**old, **parts}


def phantom_version() -> dict:
    "Which phantom was measured: boneage/phantom.py's SHA-256 (it changes while the phantom is being worked on)."
    import boneage.phantom
    return dict(phantom_py_sha256=sha256_file(boneage.phantom.__file__)[:16])


def baseline_two_sample(commit: str, args) -> dict:
    """The two-sample test of the phantom as it was at git `commit` (its boneage/ package extracted to a temporary
    folder and imported first by a child run of this script), so the README can show what the current one gained."""
    import subprocess, sys
    root = Path(__file__).parents[1]
    with tempfile.TemporaryDirectory() as d:
        archive = subprocess.run(["git", "archive", commit, "boneage"], cwd=root, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", d], input=archive, check=True)
        out = Path(d) / "baseline.json"
        subprocess.run([sys.executable, __file__, "--n", str(args.n), "--phantom-seed", str(args.phantom_seed),
                        "--section", "baseline", "--out", str(out)], env={**os.environ, "PYTHONPATH": d}, check=True)
        sha = subprocess.run(["git", "rev-parse", commit], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        return {**json.loads(out.read_text())["baseline"], "commit": sha}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="films per set in the two-sample test")
    ap.add_argument("--phantom-seed", type=int, default=PHANTOM_SEED, help="phantom dataset seed (the pipeline's is 42)")
    ap.add_argument("--skip-two-sample", action="store_true", help="run the sim-to-real part only")
    ap.add_argument("--sim2real", action="store_true", help="also train the sim-to-real CNNs (~30-40 min on 2 cores)")
    ap.add_argument("--phantom-films", type=int, default=6000, help="sim2real: phantom films (85 %% train, 15 %% val)")
    ap.add_argument("--epochs", type=int, default=20, help="sim2real: epochs of each training run (< 40: all run, best kept)")
    ap.add_argument("--phantom-epochs", type=int, default=0, help="sim2real: epochs on the phantom (0: --epochs)")
    ap.add_argument("--size", type=int, default=64, help="sim2real: CNN input side (px), the preprocessed 128 px film resized")
    ap.add_argument("--filters", type=int, default=16, help="sim2real: the tunable CNN's first-block filters")
    ap.add_argument("--baseline", metavar="COMMIT", help="also run the two-sample test on the phantom of this git commit")
    ap.add_argument("--section", default="two_sample", help=argparse.SUPPRESS)   # the JSON key of the two-sample result
    ap.add_argument("--out", type=Path, default=Path(__file__).with_suffix(".json"))
    args = ap.parse_args()
    if args.skip_two_sample and not args.sim2real: ap.error("--skip-two-sample without --sim2real leaves nothing to run")
    shared = shared_data_dir(Path(__file__).parent)
    if shared is None: raise SystemExit("benchmarks/phantom_fidelity.py: ../shared/data is not on this machine")
    real_dir = shared / "rsna-lowres"
    parts = {}
    if not args.skip_two_sample:
        parts[args.section] = {**two_sample_test(real_dir, args.n, args.phantom_seed), **phantom_version()}
        print_two_sample(parts[args.section])
    if args.baseline: parts["baseline"] = baseline_two_sample(args.baseline, args)
    if args.sim2real:
        parts["sim2real"] = {**sim2real(real_dir, args), **phantom_version()}
        print_sim2real(parts["sim2real"])
    args.out.write_text(json.dumps(merged(args.out, **parts), indent=2, default=int) + "\n")


if __name__ == "__main__":
    main()

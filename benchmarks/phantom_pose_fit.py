"""How the phantom's framing, pose and exposure distributions (boneage.phantom.POSE) were fitted to real films.

A coordinate search (passes over the entries, moving each by a step: 12 % then 6 %; the critic round 12, 12, 6 %)
that makes phantoms, squashed to 100 x 100 by nearest neighbour as rsna-lowres was, like 1,500 rsna-lowres train
films (not the 1,000 that benchmarks/phantom_fidelity.py tests against), in two rounds, each its own `--objective`:
- `moments`, from START (values set by hand): match the mean and sd of each pixel of the films' 32-px thumbnails
  and their 16-bin grey-level histogram; 300 phantoms (seed 7) rendered at 256 px per evaluation.
- `critic`, from the moments round's result rounded to 3 decimals, plus the entries added since at the values they
  had before they were entries (a rerun: with the measured entries as POSE holds them now): make a classifier's job hard. The critic is a standardised logistic regression on
  the films' 16-px thumbnails and 16-bin histogram (C = 0.1); the objective is its 5-fold cross-validated log-loss,
  phantom against real, with 400 phantoms (seed 7, 256 px) per evaluation, and the search maximises it.
- `whitened`, from POSE as the library holds it (the adopted round plus the hand edits, which it keeps fixed): make
  the phantoms' mean film what the real films' is, in the classifier's own metric. The benchmark's logistic
  classifier separates the two by their means: shifting the phantoms' 8- and 16-px thumbnails to the real films'
  mean drops its cross-validated accuracy on the fitting films from about 0.92 to chance (`--where`). The objective is the
  squared Mahalanobis distance between the phantoms' and the real films' mean features (16-px thumbnail and
  16-bin histogram), under the real films' covariance (Ledoit-Wolf shrinkage); 400 phantoms per evaluation.
Prints each accepted step and writes its round into benchmarks/phantom_pose_fit.json (the rest of the JSON is
kept). POSE holds the round the JSON names in `adopted` (rounded; the moments round: the critic's barely moved the
benchmark's classifier, `adopted_why`) and the entries of `set_by_hand`, each with its reason.
`--where` says what the classifier tells the films apart by (the JSON's `where`). `--markers` measures where the
lead markers and burnt-in letters lie on the fitting films and on phantoms (the JSON's `markers`): POSE's marker_left
and marker_low are the real films' shares, rounded. `--noise` measures the films' pixel noise (the JSON's `noise`):
POSE's photons and detector_noise are set (by hand, in `noise.set`) so that the phantoms' noise is the real films'.
`--aspect` fits the films' width / height (the JSON's `aspect`): rsna-lowres squashed its films to squares, which
stretches a hand across the film by 1 / aspect, so `fitted` is the renderer's old range scaled until the phantoms'
hands lie as wide as the fitting films' (no other film is read); POSE's aspect is the record's `set`, with its
`why`. `--centre` measures where the hand lies across the film, on the fitting films and on phantoms with the
adopted round's centre_x (the JSON's `centre`): POSE's centre_x is that range moved by the median difference.
Every round renders with these entries (`MEASURED`) and never moves them, so a rerun of an earlier round renders
phantoms unlike the ones it was fitted on (its record keeps the start it had) and cannot move `photons` as the critic
round could.
A hand edit is judged on the same fitting films, never on the benchmark's: `--check finger_width=1.1 --record NAME`
prints (and keeps in the JSON's `checks`) the benchmark's logistic classifier's balanced accuracy, 600 phantoms
against the 1,500 films, and the mean 4 x 4 grid of each, with POSE as it is and with that change.
The phantoms are seed 7, the benchmark's too (the benchmark renders them at 512 px): the two share subjects, never
real films.
Run: python benchmarks/phantom_pose_fit.py --objective whitened   (about 20 minutes on one core; critic 30, moments 10)
"""
import os
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"): os.environ[var] = "1"
import argparse, json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

import boneage.phantom as ph
import phantom_fidelity as fidelity     # the benchmark's features, classifier and mean grid (this folder)
from boneage.core import shared_data_dir
from boneage.data import grey_histograms, squash_like_lowres
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

START = dict(tip_row=(0.04, 0.18), wrist_row=(0.58, 0.78), rotation_mean=3.0, rotation_sd=5.0, centre_x=(0.435, 0.565),
             spread=(1.3, 1.7), thumb=0.98, forearm_cm=1.3, soft_cm=(1.33, 1.73), mu_soft=(0.27, 0.39),
             mu_bone=(1.64, 2.04), window_hi=(1.58, 2.75), gamma=(0.56, 1.54), finger_width=1.1, palm_margin=5.5,
             wrist_sd=4.0, flexion_deg=30.0, trabecular=0.12, cortex_cm=0.06, full_hand_mm=150.0)
STEPS = dict(moments=(0.12, 0.06), critic=(0.12, 0.12, 0.06), whitened=(0.12, 0.12, 0.06))   # one pass over POSE per step
# `breadth` and `photons` became entries after the moments round, at the values the renderer had fixed before: that
# round rendered with them and did not move them; the critic round started from them and could (photons is measured now)
ADDED_SINCE_MOMENTS = dict(breadth=1.0, photons=(150.0, 3000.0))
# entries added for the whitened round, at values that leave the renders as they were
ADDED_FOR_WHITENED = dict(forearm_breadth=1.0)
# entries set from measurements of the fitting films, never searched: the markers' place (`--markers`; POSE holds
# record["markers"]["real"] rounded), the noise (`--noise`; record["noise"]["set"]), the films' aspect (`--aspect`;
# record["aspect"]["set"]) and the hand's place across the film (`--centre`; record["centre"]["set"])
MEASURED = ("marker_left", "marker_low", "detector_noise", "photons", "aspect", "centre_x")


def measured(record) -> dict:
    "POSE's measured entries as the JSON's `markers`, `noise`, `aspect` and `centre` records have them."
    if not all(key in record.get(part, {}) for part, key in (("markers", "real"), ("noise", "set"), ("aspect", "set"), ("centre", "set"))):
        raise SystemExit("phantom_pose_fit.py: the JSON lacks measured entries: run --markers, --aspect and --centre, and set noise.set")
    out = {k: round(record["markers"]["real"][k.removeprefix("marker_")], 2) for k in ("marker_left", "marker_low")}
    return {**out, **{k: tuple(v) for k, v in record["noise"]["set"].items()}, "aspect": tuple(record["aspect"]["set"]),
            "centre_x": tuple(record["centre"]["set"])}


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


def phantoms(n, size=256) -> np.ndarray:
    "`n` phantoms of the current POSE (seed 7, rendered at `size` px) squashed as rsna-lowres was."
    cfg = ph.RenderConfig(size=size)
    return np.stack([squash_like_lowres(ph.make_phantom(7, i, cfg)[0]) for i in range(n)])


def distance(real, n=300) -> float:
    "Standardised squared differences of the thumbnails' means and sds, plus the histograms' L1 distance."
    (mp, sp, hp), (mr, sr, hr) = moments(phantoms(n)), real
    var = 0.5 * (sp ** 2 + sr ** 2) + 25
    return float(np.mean((mp - mr) ** 2 / var) + np.mean((sp - sr) ** 2 / var) + np.abs(hp - hr).sum())


def critic_features(films) -> np.ndarray:
    "The critic's view of a film: the benchmark's features at 16 px (thumbnail / 255 and 16-bin histogram)."
    return fidelity.features(films, side=16)


def minus_critic_log_loss(real_features, n=400) -> float:
    """Minus the critic's cross-validated log-loss, phantom against real (lower = harder to tell apart). Not capped:
    a critic confidently wrong also scores high; a rerun should cap it at the class prior's log-loss."""
    X = np.vstack([critic_features(phantoms(n)), real_features])
    y = np.r_[np.zeros(n), np.ones(len(real_features))]
    critic = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    p = cross_val_predict(critic, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=42), method="predict_proba")
    return -float(log_loss(y, p[:, 1]))


def whitened_distance(real_features, n=400):
    """`objective()` of the whitened round: the squared Mahalanobis distance between the mean critic features
    (`critic_features`) of `n` phantoms and of the real films, under the real films' Ledoit-Wolf covariance."""
    from sklearn.covariance import LedoitWolf
    real_mean, precision = real_features.mean(0), LedoitWolf().fit(real_features).precision_
    def objective():
        d = critic_features(phantoms(n)).mean(0) - real_mean
        return float(d @ precision @ d)
    return objective


def logistic_accuracy(phantom_films, real_films) -> float:
    """Balanced 5-fold accuracy of the fidelity benchmark's logistic classifier, on its features, telling
    `phantom_films` from `real_films`: the `--check` view."""
    return _scores(fidelity.features(phantom_films), fidelity.features(real_films))["balanced_accuracy"]


def _thumbnails(films, side) -> np.ndarray:
    "The benchmark's thumbnail features alone (its features less the histogram)."
    return fidelity.features(films, side)[:, :side * side]


def _scores(X_phantom, X_real, classifier="logistic", mean_matched=False) -> dict:
    """5-fold balanced accuracy and ROC AUC of one of the benchmark's classifiers; `mean_matched`: on each training
    fold, the phantoms' mean is moved onto the real films' and the same shift applied to the held-out phantoms."""
    X, y = np.vstack([X_phantom, X_real]), np.r_[np.zeros(len(X_phantom)), np.ones(len(X_real))]
    accuracy, auc = [], []
    for train, test in StratifiedKFold(5, shuffle=True, random_state=42).split(X, y):
        shift = X[train][y[train] == 1].mean(0) - X[train][y[train] == 0].mean(0) if mean_matched else 0.0
        Xs = X + np.where(y[:, None] == 0, shift, 0.0)
        clf = fidelity.classifiers()[classifier].fit(Xs[train], y[train])
        accuracy.append(balanced_accuracy_score(y[test], clf.predict(Xs[test])))
        auc.append(roc_auc_score(y[test], clf.predict_proba(Xs[test])[:, 1]))
    return dict(balanced_accuracy=round(float(np.mean(accuracy)), 4), auc=round(float(np.mean(auc)), 4))


def where_it_separates(real_films, n=600) -> dict:
    """`--where`: what the benchmark's classifiers tell phantoms from the fitting films by. The logistic one on the
    histogram alone and on thumbnails alone at 4 to 32 px; then both, at 8 and 16 px, with the phantoms' mean
    thumbnail moved onto the real films' (the shift learnt on each training fold). A linear classifier sees only a
    difference of means, so matched it must fall to chance; boosting can also see differences of spread and shape
    of the films' distribution, and what it keeps after matching is what the mean film does not explain. Also the
    film-to-film sd of an 8-px cell (grey levels), averaged over the cells, of each."""
    films = phantoms(n)
    out = dict(histogram=_scores(grey_histograms(films), grey_histograms(real_films)))
    for side in (4, 8, 16, 32):
        Xp, Xr = _thumbnails(films, side), _thumbnails(real_films, side)
        out[f"thumbnail_{side}"] = _scores(Xp, Xr)
        if side in (8, 16):
            for name in ("logistic", "boosting"):
                out[f"thumbnail_{side}_mean_matched_{name}"] = _scores(Xp, Xr, name, mean_matched=True)
    spread = {k: round(float((_thumbnails(f, 8) * 255).std(0).mean()), 1) for k, f in (("phantom", films), ("real", real_films))}
    return dict(scores=out, thumbnail_8_sd=spread, phantoms=n, real_films=len(real_films))


def _small_saturated(film) -> tuple[np.ndarray, list, np.ndarray]:
    """(labels, ids of the small saturated pieces, centres): 8-connected pieces at or above the film's 99.5th
    percentile (and 200), of 4 to 120 px and at most 20 px across, as lead markers and burnt-in letters are."""
    level = max(200.0, float(np.percentile(film, 99.5)))
    n, labels, stats, centres = cv2.connectedComponentsWithStats((film >= level).astype(np.uint8), connectivity=8)
    keep = [i for i in range(1, n) if 4 <= stats[i, cv2.CC_STAT_AREA] <= 120
            and stats[i, cv2.CC_STAT_WIDTH] <= 20 and stats[i, cv2.CC_STAT_HEIGHT] <= 20]
    return labels, keep, centres


def side_blobs(film) -> np.ndarray:
    """Centres (x, y: fractions of the film's width and height) of the small saturated blobs (`_small_saturated`)
    in a film's outer thirds, where lead markers and burnt-in letters lie."""
    _, keep, centres = _small_saturated(film)
    xy = (centres[keep] / [film.shape[1], film.shape[0]]).reshape(-1, 2)
    return xy[(xy[:, 0] < 0.3) | (xy[:, 0] > 0.7)]


def marker_placement(films) -> dict:
    """`--markers`: the share of films with blobs at their sides (`side_blobs`); of those, the share with most of
    them on the left and the share with most in the lower part (below 0.45 of the height); and the 5th, 50th and
    95th percentiles of the blobs' x on the left, and of their y in the lower and the upper part."""
    blobs = [b for b in map(side_blobs, films) if len(b)]
    if not blobs: return dict(films=len(films), with_blobs=0.0)
    xy = np.concatenate(blobs)
    q = lambda v: np.percentile(v, [5, 50, 95]).round(2).tolist() if len(v) else None
    return dict(films=len(films), with_blobs=round(len(blobs) / len(films), 3),
                left=round(float(np.mean([np.mean(b[:, 0] < 0.5) > 0.5 for b in blobs])), 3),
                low=round(float(np.mean([np.mean(b[:, 1] > 0.45) > 0.5 for b in blobs])), 3),
                x_left=q(xy[xy[:, 0] < 0.5, 0]), y_low=q(xy[xy[:, 1] > 0.45, 1]), y_high=q(xy[xy[:, 1] <= 0.45, 1]))


def flat_noise(film) -> float:
    """A film's pixel noise: the mean absolute difference from its 3 x 3 median over its flattest 40 % (the
    gradient of the film smoothed by a 2-px Gaussian), 5 px from the edges, saturated and black pixels left out;
    nan with under 50 such pixels."""
    g = film.astype(np.float32)
    residual = g - cv2.medianBlur(film, 3).astype(np.float32)
    smooth = cv2.GaussianBlur(g, (0, 0), 2.0)
    gradient = np.hypot(cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1))
    keep = (gradient <= np.percentile(gradient, 40)) & (g > 3) & (g < 252)
    keep[:5] = keep[-5:] = keep[:, :5] = keep[:, -5:] = False
    return float(np.abs(residual[keep]).mean()) if keep.sum() >= 50 else float("nan")


def noise_levels(films) -> list:
    "`--noise`: the 10th, 25th, 50th, 75th and 90th percentiles of `flat_noise` over `films` (grey levels)."
    return np.nanpercentile([flat_noise(f) for f in films], [10, 25, 50, 75, 90]).round(2).tolist()


def _blobs_out(film) -> np.ndarray:
    "The film (float) with its small saturated blobs (`_small_saturated`: markers and letters) set to its 20th percentile."
    g = film.astype(float)
    labels, keep, _ = _small_saturated(film)
    g[np.isin(labels, keep)] = np.percentile(film, 20)
    return g


def _column_moments(films) -> tuple[np.ndarray, np.ndarray]:
    """Per film and tenth of the rows, the brightness-weighted mean and sd of the column (fractions of the width), over
    the brightness above the film's 20th percentile, markers and letters left out (`_blobs_out`)."""
    means, sds = [], []
    for f in films:
        x = np.clip(_blobs_out(f) - np.percentile(f, 20), 0, None)
        col = (np.arange(f.shape[1]) + 0.5) / f.shape[1]
        w = np.stack([b.sum(0) for b in np.array_split(x, 10)]) + 1e-9
        m = (w * col).sum(1) / w.sum(1)
        means.append(m); sds.append(np.sqrt((w * (col - m[:, None]) ** 2).sum(1) / w.sum(1)))
    return np.array(means), np.array(sds)


def row_centres(films) -> list:
    "Where the hand lies across the film: the median over films of each tenth of the rows' mean column (`_column_moments`)."
    return np.median(_column_moments(films)[0], 0).round(3).tolist()


def row_spreads(films) -> list:
    "How wide the hand lies across the film: the median over films of each tenth of the rows' column sd (`_column_moments`)."
    return np.median(_column_moments(films)[1], 0).round(4).tolist()


RENDERER_ASPECT = (0.72, 0.92)    # the films' width / height the renderer drew before `--aspect`


def phantoms_with(changes: dict, n) -> np.ndarray:
    "`phantoms(n)` rendered with `changes` to POSE, which is left as it was."
    old = dict(ph.POSE); ph.POSE.update(changes)
    try: return phantoms(n)
    finally: ph.POSE.clear(); ph.POSE.update(old)


def aspect_fit(real_films, n=600) -> dict:
    """`--aspect`: the films' width / height, fitted on the fitting films. rsna-lowres squashed every film to a square,
    which stretches a hand across it by 1 / aspect, so the real films' aspect shows in how wide their hands lie
    (`row_spreads`): phantoms rendered with the renderer's old range, their spread against the real films' (median
    ratio over the tenths of the rows), and `fitted`, the old range divided by that ratio. The same spread measures
    the hand's breadth and pose too, so `fitted` is judged with `--check` before POSE takes it (the record's `set`,
    with its `why`, is what POSE holds)."""
    phantom, real = row_spreads(phantoms_with(dict(aspect=RENDERER_ASPECT), n)), row_spreads(real_films)
    ratio = float(np.median(np.divide(real, phantom)))
    return dict(real=real, phantom=phantom, before=list(RENDERER_ASPECT), ratio=round(ratio, 3),
                fitted=[round(a / ratio, 2) for a in RENDERER_ASPECT])


def centre_shift(real_films, record, n=600) -> dict:
    """`--centre`: how far right of the real films' hands the phantoms' lie (`row_centres`, median over the tenths of
    the rows), rendered with the adopted round's centre_x and POSE's other entries; `set` is that range moved by it."""
    fitted = tuple(record[record["adopted"]]["fitted"]["centre_x"])
    phantom, real = row_centres(phantoms_with(dict(centre_x=fitted), n)), row_centres(real_films)
    shift = float(np.median(np.subtract(real, phantom)))
    return dict(real=real, phantom=phantom, fitted=list(fitted), shift=round(shift, 3), set=[round(x + shift, 3) for x in fitted])


def check(real_films, changes: dict, n=600) -> dict:
    """The `--check` view (accuracy and mean 4 x 4 grid of the phantoms) with POSE as it is and with `changes`, and
    the fitting films' grid: a hand edit is judged on the fitting films only."""
    unknown = set(changes) - set(ph.POSE)
    if unknown: raise SystemExit(f"--check: {', '.join(sorted(unknown))} not in POSE")
    def view(films):
        return dict(balanced_accuracy=round(logistic_accuracy(films, real_films), 4), grid=fidelity.mean_thumbnail(films),
                    row_centres=row_centres(films))
    before, after = view(phantoms(n)), view(phantoms_with(changes, n))
    return dict(changes=changes, before=before, after=after, real_grid=fidelity.mean_thumbnail(real_films),
                real_row_centres=row_centres(real_films), phantoms=n, real_films=len(real_films))


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


def search(start: dict, objective, steps_of=STEPS["critic"], keys=None) -> tuple[dict, list]:
    """Coordinate search from `start` over `keys` (all by default) that lowers `objective()` of the phantoms POSE
    renders; returns POSE and the steps."""
    ph.POSE.clear(); ph.POSE.update(start)
    best, steps = objective(), []
    steps.append(dict(step=0, key=None, value=None, objective=round(best, 4)))
    print(f"start: {best:.4f}", flush=True)
    for step in steps_of:
        for key in keys or list(ph.POSE):
            for value in candidates(key, ph.POSE[key], step):
                old, ph.POSE[key] = ph.POSE[key], value
                d = objective()
                if d < best - 1e-4:
                    best = d; steps.append(dict(step=step, key=key, value=value, objective=round(d, 4)))
                    print(f"step {step}: {key} = {value}, {d:.4f}", flush=True)
                else: ph.POSE[key] = old
    return dict(ph.POSE), steps


def round_pose(pose: dict, decimals=3) -> dict:
    "A fitted POSE as the library holds it: every number rounded to `decimals`."
    return {k: tuple(round(x, decimals) for x in v) if isinstance(v, (list, tuple)) else round(v, decimals)
            for k, v in pose.items()}


def round_start(objective, record) -> tuple[dict, int]:
    """(POSE a round starts from, phantoms per evaluation). moments: START; critic: the moments round's result; whitened:
    POSE as the library held it (the adopted moments round, the entries added since, the hand edits). Each with the
    entries added since at their earlier values, and the measured entries as the JSON has them now."""
    if objective == "moments": start, n = {**START, **ADDED_SINCE_MOMENTS}, 300
    elif objective == "critic": start, n = {**round_pose(record["moments"]["fitted"]), **ADDED_SINCE_MOMENTS}, 400
    else:
        start, n = {**round_pose(record["moments"]["fitted"]), **ADDED_SINCE_MOMENTS,
                    **{k: v["value"] for k, v in record["set_by_hand"].items()}, **ADDED_FOR_WHITENED}, 400
    start = {**start, **measured(record)}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in start.items()}, n


def search_keys(objective, start, record) -> list:
    "The entries a round moves: moments, START's; the others, every entry but the hand edits and the measured ones."
    if objective == "moments": return list(START)
    return [k for k in start if k not in record.get("set_by_hand", {}) and k not in MEASURED]


def _noise_record(real_films) -> dict:
    "`--noise`: the percentiles of `flat_noise` of the fitting films and of 300 phantoms rendered at 512 px."
    return dict(real=noise_levels(real_films), phantom=noise_levels(phantoms(300, size=512)), percentiles=[10, 25, 50, 75, 90])


MEASUREMENTS = {   # the options that measure instead of search: option and JSON key -> f(fitting films, JSON record)
    "markers": lambda real, record: dict(real=marker_placement(real), phantom=marker_placement(phantoms(600))),
    "noise": lambda real, record: _noise_record(real),
    "where": lambda real, record: where_it_separates(real),
    "aspect": lambda real, record: aspect_fit(real),
    "centre": centre_shift,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objective", choices=tuple(STEPS), help="the round to run (rewrites its record)")
    ap.add_argument("--check", nargs="+", metavar="KEY=VALUE", help="no search: the classifier's accuracy on the fitting "
                    "films with POSE as it is and with these entries changed (a JSON value each)")
    ap.add_argument("--record", metavar="NAME", help="with --check: keep its result in the JSON's `checks` under NAME")
    ap.add_argument("--where", action="store_true", help="no search: what the classifier tells the films apart by "
                    "(kept in the JSON's `where`)")
    ap.add_argument("--markers", action="store_true", help="no search: where markers and letters lie on the fitting "
                    "films and on phantoms of POSE as it is (kept in the JSON's `markers`)")
    ap.add_argument("--noise", action="store_true", help="no search: the pixel noise of the fitting films and of "
                    "300 phantoms of POSE as it is, rendered at 512 px as the pipeline's (kept in the JSON's `noise`)")
    ap.add_argument("--aspect", action="store_true", help="no search: the films' width / height, from how wide the "
                    "fitting films' hands lie against phantoms' (kept in the JSON's `aspect`; POSE's aspect is its `set`)")
    ap.add_argument("--centre", action="store_true", help="no search: how far the phantoms' hands lie right of the "
                    "fitting films' (kept in the JSON's `centre`; POSE's centre_x is its `set`)")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_suffix(".json"))
    args = ap.parse_args()
    shared = shared_data_dir(Path(__file__).parent)
    if shared is None: raise SystemExit("benchmarks/phantom_pose_fit.py: ../shared/data is not on this machine")
    measurement = next((m for m in MEASUREMENTS if getattr(args, m)), None)
    if not (args.objective or args.check or measurement):
        ap.error("give --objective (a search round), --check, --" + ", --".join(MEASUREMENTS))
    cv2.setNumThreads(1)
    real = fit_films(shared / "rsna-lowres")
    record = json.loads(args.out.read_text()) if args.out.exists() else {}
    if measurement:
        record.setdefault(measurement, {}).update(MEASUREMENTS[measurement](real, record), **fidelity.phantom_version())
        print(json.dumps(record[measurement]))
        args.out.write_text(json.dumps(record, indent=1) + "\n")
        return
    if args.check:
        changes = {k: (lambda v: tuple(v) if isinstance(v, list) else v)(json.loads(v)) for k, v in (c.split("=", 1) for c in args.check)}
        result = {**check(real, changes), **fidelity.phantom_version()}
        print(json.dumps(result))
        if args.record:
            record.setdefault("checks", {})[args.record] = result
            args.out.write_text(json.dumps(record, indent=1) + "\n")
        return
    start, n = round_start(args.objective, record)
    objective = {"moments": lambda: (lambda m=moments(real): distance(m)),
                 "critic": lambda: (lambda f=critic_features(real): minus_critic_log_loss(f)),
                 "whitened": lambda: whitened_distance(critic_features(real), n)}[args.objective]()
    fitted, steps = search(start, objective, STEPS[args.objective], search_keys(args.objective, start, record))
    if args.objective == "moments": fitted = {k: fitted[k] for k in START}
    print("fitted:", json.dumps(fitted))
    record[args.objective] = dict(start=start, fitted=fitted, steps=steps, real_films=len(real), phantoms=n,
                                  render_size=256, phantom_seed=7)
    args.out.write_text(json.dumps(record, indent=1) + "\n")

if __name__ == "__main__":
    main()

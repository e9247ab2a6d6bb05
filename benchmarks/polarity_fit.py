"""Fit the released film-polarity classifier (boneage/released/polarity.skops) and score it on val.

Fits `boneage.preprocess.fit_polarity_model` on the rsna-lowres `train` films and 2,000 phantom films of seed 7
(the pipeline's phantom uses seed 42), each film and its inversion, never on rsna-lowres val or test; prints and writes (benchmarks/polarity_fit.json) its val numbers at the released band:
the upper threshold of the band (the lowest of 0.8-0.97 with no val false alarm; so val's false alarms are 0
by construction, rsna-lowres test in benchmarks/preprocess_real.json is the held-out estimate), detection of the synthetically inverted val films, and how
many are left uncertain; and the same on 500 phantoms of seed 8 and the 93 rsna-hires films (never fitted on).
The model is deterministic: refitting writes the same file.
Run: python benchmarks/polarity_fit.py   (needs ../shared/data/rsna-lowres)
"""
import argparse, json, sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from boneage.core import save_skops, shared_data_dir
from boneage.phantom import RenderConfig, make_phantom
from boneage.preprocess import (POLARITY_BAND, POLARITY_MODEL, _small, film_polarity, fit_polarity_model, normalise,
                                polarity_features, robust_range)


def working_film(path) -> np.ndarray:
    "The film as `preprocess` decides its polarity: shrunk to the working side and robustly normalised."
    small = _small(cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.float32))[0]
    return normalise(small, robust_range(small))


def phantom_films(n=2000, seed=7, size=512) -> list:
    "Phantom films in normal polarity (the phantom's own inverted films turned back), normalised."
    out = []
    for i in tqdm(range(n), desc="phantom", mininterval=2):
        img, _, _, _, _, acq = make_phantom(seed, i, RenderConfig(size=size))   # rendered as the data stage renders them
        g = _small(img.astype(np.float32) / 255)[0]
        g = normalise(g, robust_range(g))
        out.append(1 - g if acq["inverted"] else g)
    return out


def choose_upper(model, films, grid=(0.8, 0.85, 0.9, 0.95, 0.97)) -> float:
    "On val only: the lowest upper threshold with no normal film called inverted (detection is reported beside it)."
    p = np.array([model.predict_proba(polarity_features(g)[None])[0, 1] for g in films])
    return next((hi for hi in grid if (p > hi).sum() == 0), grid[-1])


def score(model, films, band) -> dict:
    calls = [(film_polarity(g, model, band)[0], film_polarity(1 - g, model, band)[0]) for g in tqdm(films, desc="score", mininterval=2)]
    normal, inverted = zip(*calls)
    n = len(calls)
    return dict(n=n, false_alarms=sum(c == "inverted" for c in normal), normal_uncertain=sum(c == "uncertain" for c in normal),
                inverted_detected=sum(c == "inverted" for c in inverted), inverted_uncertain=sum(c == "uncertain" for c in inverted),
                false_alarm_rate=round(sum(c == "inverted" for c in normal) / n, 5),
                detection_rate=round(sum(c == "inverted" for c in inverted) / n, 5))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=POLARITY_MODEL)
    args = ap.parse_args()
    shared = shared_data_dir(Path(__file__).parent)
    if shared is None: sys.exit("benchmarks/polarity_fit.py: ../shared/data is not on this machine")
    d = shared / "rsna-lowres"
    lab = pd.read_csv(d / "labels.csv", dtype={"id": str})
    films = {s: [working_film(d / "images" / f"{i}.png") for i in tqdm(lab[lab.split == s].id, desc=s, mininterval=2)]
             for s in ("train", "val")}
    phantom = phantom_films()
    model = fit_polarity_model(films["train"] + phantom)
    save_skops(model, args.out)
    band = (POLARITY_BAND[0], choose_upper(model, films["val"]))
    if band != POLARITY_BAND: print(f"note: val chooses the band {band}; set boneage.preprocess.POLARITY_BAND to it")
    val = score(model, films["val"], band)
    hires = [working_film(p) for p in sorted((shared / "rsna-hires" / "images").glob("*.png"))]
    import sklearn
    result = dict(fitted_on=f"rsna-lowres train ({len(films['train'])} films) and {len(phantom)} phantom films (seed 7, 512 px), "
                            "each with its inversion", model=type(model).__name__, sklearn=sklearn.__version__,
                  band=list(band), features=int(model.n_features_in_), val=val,
                  phantom_seed8=score(model, phantom_films(500, seed=8), band), rsna_hires=score(model, hires, band))
    print(f"polarity model: {args.out}  val films {val['n']}: false alarms {val['false_alarms']} "
          f"({100 * val['false_alarm_rate']:.2f} %), {val['normal_uncertain']} uncertain; synthetic inversions detected "
          f"{val['inverted_detected']} ({100 * val['detection_rate']:.2f} %), {val['inverted_uncertain']} uncertain")
    Path(__file__).with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""The preprocessing on every real film of ../shared/data: inversion, crop size and whole-hand crops.

- rsna-lowres (12,611 films): how many films the stage inverts or leaves as `uncertain`, how many of their
  synthetic inversions (1 - film) it detects, by split (the polarity classifier was fitted on `train` films and
  its threshold chosen on `val`, so `test` is the held-out estimate), and how many crops are smaller than a
  third of the film's side.
- rsna-hires raw films (34): the crop must hold each manual hand box (the 14 shared boxes and our own boxes of
  the other 20, benchmarks/rsna_hires_boxes.csv) to within 1 % of the box's side on every side; a film where
  no hand was found (the whole film used) is counted apart. Our boxes are the films the fingertip growth was
  developed on: a development set, not a held-out one.
- figures/preprocess_inverted.png: every rsna-lowres film the stage inverts or leaves uncertain, every missed
  synthetic inversion and every small crop, film beside model input, to check by eye.
Writes benchmarks/preprocess_real.json. Run: python benchmarks/preprocess_real.py   (needs ../shared/data)
"""
import os
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"): os.environ[var] = "1"
import argparse, json, sys
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from boneage.core import shared_data_dir
from boneage.images import read_image
from boneage.preprocess import box_sides_cut, preprocess

ROOT = Path(__file__).parents[1]


def lowres_rows(d: Path) -> pd.DataFrame:
    lab = pd.read_csv(d / "labels.csv", dtype={"id": str})
    rows = []
    for r in tqdm(lab.itertuples(), total=len(lab), desc="rsna-lowres", mininterval=2):
        img = read_image(d / "images" / f"{r.id}.png")[0]
        p, q = preprocess(img, size=128), preprocess(1 - img, size=128)
        H, W = img.shape
        x0, y0, x1, y1 = p.box
        rows.append(dict(id=r.id, split=r.split, inverted=p.inverted, uncertain="polarity uncertain" in p.quality,
                         p_inverted=p.p_inverted, synthetic_detected=q.inverted,
                         synthetic_uncertain="polarity uncertain" in q.quality,
                         crop_side=max((x1 - x0) / W, (y1 - y0) / H), small_hand="small hand" in p.quality, quality=p.quality))
    return pd.DataFrame(rows)


def lowres_summary(df: pd.DataFrame) -> dict:
    def part(t):
        n = len(t)
        return dict(n=n, inverted=int(t.inverted.sum()), inverted_rate=round(t.inverted.mean(), 5), uncertain=int(t.uncertain.sum()),
                    synthetic_detected=int(t.synthetic_detected.sum()), synthetic_detection_rate=round(t.synthetic_detected.mean(), 5),
                    synthetic_uncertain=int(t.synthetic_uncertain.sum()), crops_under_third=int((t.crop_side < 1 / 3).sum()),
                    small_hand_widened=int(t.small_hand.sum()))
    out = dict(all=part(df), held_out=part(df[df.split != "train"]))
    out.update({s: part(df[df.split == s]) for s in ("train", "val", "test")})
    out["inverted_ids"] = sorted(df.id[df.inverted]); out["uncertain_ids"] = sorted(df.id[df.uncertain])
    out["synthetic_missed_ids"] = sorted(df.id[~df.synthetic_detected]); out["small_crop_ids"] = sorted(df.id[df.crop_side < 1 / 3])
    out["crop_side_p1"] = round(float(df.crop_side.quantile(0.01)), 3)
    return out


def hires_rows(d: Path) -> pd.DataFrame:
    shared = pd.read_csv(d / "hand_boxes.csv")
    shared = pd.DataFrame(dict(id=shared.id, x0=shared.x, y0=shared.y, x1=shared.x + shared.w, y1=shared.y + shared.h, boxes="shared"))
    own = pd.read_csv(ROOT / "benchmarks" / "rsna_hires_boxes.csv").assign(boxes="ours")
    rows = []
    for r in pd.concat([shared, own]).itertuples():
        p = preprocess(read_image(d / "images" / f"{r.id}.png")[0])
        cut = box_sides_cut(p.box, (r.x0, r.y0, r.x1, r.y1))
        rows.append(dict(id=int(r.id), boxes=r.boxes, worst_side=max(cut, key=cut.get), cut=round(max(cut.values()), 4),
                         whole_hand=max(cut.values()) <= 0.01, hand_found=p.quality.startswith("ok"), quality=p.quality))
    return pd.DataFrame(rows)


def figure(d: Path, df: pd.DataFrame, path: Path, cols=6):
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cases = [(i, False, "inverted by the stage") for i in df.id[df.inverted]]
    cases += [(i, False, "uncertain: left as read") for i in df.id[df.uncertain]]
    cases += [(i, True, "synthetic inversion missed") for i in df.id[~df.synthetic_detected]]
    cases += [(i, False, "crop < 1/3 of the film side") for i in df.id[df.crop_side < 1 / 3]]
    rows = max(1, int(np.ceil(len(cases) / cols)))
    fig, axes = plt.subplots(rows, 2 * cols, figsize=(2 * cols * 1.2, rows * 1.45 + 0.4), squeeze=False)
    for ax in axes.flat: ax.axis("off")
    for k, (i, synthetic, why) in enumerate(cases):
        img = read_image(d / "images" / f"{i}.png")[0]
        if synthetic: img = 1 - img
        p = preprocess(img, size=128)
        a, b = axes[k // cols, 2 * (k % cols)], axes[k // cols, 2 * (k % cols) + 1]
        a.imshow(img, cmap="gray", vmin=0, vmax=1); x0, y0, x1, y1 = p.box
        a.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color="lime", lw=0.8))
        a.set_title(f"{i}: {why}", fontsize=5); b.imshow(p.image, cmap="gray", vmin=0, vmax=1)
        b.set_title(f"P(inv) {p.p_inverted:.2f}", fontsize=5)
    if not cases: axes[0, 0].set_title("no film inverted, uncertain, missed or cropped small", fontsize=7)
    fig.suptitle(f"rsna-lowres ({len(df):,} films): every film the preprocessing inverts or leaves uncertain, every missed "
                 "synthetic inversion, every crop under a third of the film (film + crop, model input)", fontsize=7)
    fig.tight_layout(); fig.savefig(path, dpi=120); plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).with_suffix(".json"))
    args = ap.parse_args()
    shared = shared_data_dir(Path(__file__).parent)
    if shared is None: sys.exit("benchmarks/preprocess_real.py: ../shared/data is not on this machine")
    low = lowres_rows(shared / "rsna-lowres")
    summary = lowres_summary(low)
    hires = hires_rows(shared / "rsna-hires")
    figure(shared / "rsna-lowres", low, ROOT / "figures" / "preprocess_inverted.png")
    h = {b: dict(films=int((hires.boxes == b).sum()), whole_hand=int(hires.whole_hand[hires.boxes == b].sum()),
                 whole_hand_found=int((hires.whole_hand & hires.hand_found)[hires.boxes == b].sum())) for b in ("shared", "ours")}
    result = dict(rsna_lowres=summary, rsna_hires=dict(**h, worst_cut=float(hires.cut.max()), films=hires.to_dict("records")))
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'rsna-lowres':<12} {'films':>6} {'inverted':>9} {'uncertain':>9} {'synthetic detected':>19} {'crops < 1/3':>11}")
    for s in ("all", "train", "val", "test"):
        r = summary[s]
        print(f"{s:<12} {r['n']:>6} {r['inverted']:>4} {100 * r['inverted_rate']:>3.2f}% {r['uncertain']:>9} "
              f"{r['synthetic_detected']:>6} {100 * r['synthetic_detection_rate']:>6.2f} % {r['crops_under_third']:>11}")
    for b, v in h.items(): print(f"rsna-hires raw films, {b} boxes: whole hand in the crop on {v['whole_hand']} of {v['films']} "
                                 f"({v['whole_hand_found']} with the hand found, the rest by the whole-film fallback)")
    print("figure: figures/preprocess_inverted.png")


if __name__ == "__main__":
    main()

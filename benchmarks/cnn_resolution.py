"""How far the phantom's bone age is from its label-noise floor as the CNN's input grows: the cnn stage's
tunable CNN at several input sides, one seed each, trained until early stopping fires (longer schedule than the
2-core default profile, which must fit the 15-minute `dvc repro`).

Reads the phantom's preprocess cache and augmenter that `dvc repro` made (data/preprocess, models/augment), runs
`boneage.cnn.run_cnn` in a temporary folder and a fresh process per size and writes benchmarks/cnn_resolution.json: val and test MAE,
epochs, training minutes and the ratio to the floor (label noise alone). Nothing is chosen on test: the sizes
are a grid fixed in advance, and the table reports them all.
Run: python benchmarks/cnn_resolution.py [--sizes 48 96 128] [--epochs 80 --schedule 60]   (~30 min on 2 cores)
"""
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import argparse, json, subprocess, sys, tempfile
from pathlib import Path

from boneage.cnn import CnnConfig, run_cnn
from boneage.core import Paths
from cnn_speed import device_name          # benchmarks/ is on the path when this script runs

ROOT = Path(__file__).resolve().parents[1]


def one_size(size, epochs, schedule, patience) -> dict:
    "The stage's tunable CNN at `size` px, seed 42, in a scratch project that links this one's inputs."
    config = CnnConfig(archs=("tunable_cnn",), seeds=1, size=size, epochs=epochs, schedule_epochs=schedule,
                       min_epochs=schedule // 2, patience=patience, sex_ablation=False, n_boot=200)
    with tempfile.TemporaryDirectory() as d:
        for sub in ("data/data", "data/preprocess", "models/augment"):
            (Path(d) / sub).parent.mkdir(parents=True, exist_ok=True)
            (Path(d) / sub).symlink_to(ROOT / sub)
        details = run_cnn(config, Paths(d), progress=False)
    row, test = details["archs"]["tunable_cnn"], details["test"]
    return dict(size=size, params=row["params"], val_mae=row["val_mae"]["mean"], test_mae=row["test_mae"]["mean"],
                epochs_run=row["epochs_run"][0], best_epoch=row["best_epochs"][0],
                early_stopped=row["stopped_epochs"][0] is not None, train_minutes=round(row["train_minutes"]["mean"], 2),
                floor=test["floor"]["label_noise_mae"], mae_over_floor=test["floor"]["mae_over_floor"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[48, 96, 128])
    ap.add_argument("--epochs", type=int, default=80)
    ap.add_argument("--schedule", type=int, default=60)
    ap.add_argument("--patience", type=int, default=8)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_suffix(".json"))
    ap.add_argument("--one", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    manifest = ROOT / "data" / "data" / "manifest.csv"
    if not manifest.exists() or "skeletal_age" not in manifest.read_text().splitlines()[0]:
        sys.exit(f"cnn_resolution: {manifest} is not the phantom's (no skeletal_age column): run `dvc repro` on the default params first")
    if args.one:                                  # the child: one size, its row as JSON on the last line
        print(json.dumps(one_size(args.one, args.epochs, args.schedule, args.patience)))
        return
    rows = []
    for size in args.sizes:                       # each size in a fresh process: TensorFlow's op seeds depend on what
        cmd = [sys.executable, __file__, "--one", str(size), "--epochs", str(args.epochs),      # ran before in a process
               "--schedule", str(args.schedule), "--patience", str(args.patience)]
        rows.append(json.loads(subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"{size:>4} px  {r['params']:>9,} params  val MAE {r['val_mae']:5.1f}  test MAE {r['test_mae']:5.1f}  "
              f"{r['mae_over_floor']:.2f}x floor  epochs {r['epochs_run']} (best {r['best_epoch']}, "
              f"{'early stopping' if r['early_stopped'] else 'epoch limit'})  {r['train_minutes']} min", flush=True)
    args.out.write_text(json.dumps(dict(arch="tunable_cnn", seed=42, epochs=args.epochs, schedule_epochs=args.schedule,
                                        patience=args.patience, device=device_name(), rows=rows), indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Training and inference speed of every zoo architecture on this machine, through the project's training loop
and through a bare Keras `fit` of the same model (the difference is the loop's overhead: validation, early
stopping state, checkpoints, backups, CSV log).

Synthetic films (no data needed), batch 16, the stage's augmenter off so both paths see the same input.
Prints a table and writes benchmarks/cnn_speed.json. Run: python benchmarks/cnn_speed.py [--size 64] [--steps 20]
On a GPU machine add --size 256 for the full profile (mixed precision and XLA switch on there by themselves).
"""
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import argparse, json, tempfile, time
from pathlib import Path

import numpy as np

from boneage.core import import_keras
from boneage.train import TrainConfig, compile_regressor, fit_regressor, has_gpu, resolve_precision, dtype_policy
from boneage.zoo import ARCHS, build_model

keras = import_keras()


def synthetic(n, size, batch, seed=0):
    import tensorflow as tf
    rng = np.random.default_rng(seed)
    x = rng.random((n, size, size, 1), dtype=np.float32)
    male = rng.integers(0, 2, (n, 1)).astype("float32")
    y = rng.uniform(1, 228, n).astype("float32")
    return tf.data.Dataset.from_tensor_slices(({"image": x, "male": male}, y)).batch(batch).cache().prefetch(2)


def bare_fit_rate(arch, size, ds, n, epochs=2):
    "Images/s of model.fit alone (second epoch on: compile and tracing excluded)."
    cfg = TrainConfig(epochs=epochs, mixed_precision="auto", jit_compile="auto")
    with dtype_policy(resolve_precision("auto")): model = build_model(arch, size)
    compile_regressor(model, cfg, int(ds.cardinality()), jit_compile=has_gpu())
    model.fit(ds, epochs=1, verbose=0)
    t = time.perf_counter(); model.fit(ds, epochs=epochs, verbose=0)
    return n * epochs / (time.perf_counter() - t), model


def loop_rate(arch, size, ds, val, n, epochs=3):
    "Images/s of boneage.train.fit_regressor over its epochs after the first (which builds and traces)."
    with tempfile.TemporaryDirectory() as d:
        cfg = TrainConfig(epochs=epochs, patience=100)
        times = []
        class Clock(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None): times.append(time.perf_counter())
        fit_regressor(lambda: build_model(arch, size), ds, val, cfg, d, callbacks=[Clock()])
    return n * (epochs - 1) / (times[-1] - times[0])


def device_name() -> str:
    "What the benchmark ran on: the GPU's name, or the CPU's core count."
    if not has_gpu(): return f"CPU: {os.cpu_count()} cores"
    import tensorflow as tf
    return "GPU: " + tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0]).get("device_name", "?")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20, help="batches of 16 per epoch")
    ap.add_argument("--archs", nargs="*", default=list(ARCHS))
    ap.add_argument("--out", type=Path, default=Path(__file__).with_suffix(".json"))
    args = ap.parse_args()
    n = 16 * args.steps
    ds, val = synthetic(n, args.size, 16), synthetic(64, args.size, 16, seed=1)
    rows = []
    for arch in args.archs:
        if args.size < ARCHS[arch].min_size: continue
        bare, model = bare_fit_rate(arch, args.size, ds, n)
        model.predict(ds.take(1), verbose=0)   # trace first
        t = time.perf_counter(); model.predict(ds, verbose=0); infer = n / (time.perf_counter() - t)
        loop = loop_rate(arch, args.size, ds, val, n)
        rows.append(dict(arch=arch, params=int(model.count_params()), bare_fit_per_s=round(bare, 1), loop_per_s=round(loop, 1),
                         loop_overhead=round(bare / loop - 1, 3), inference_per_s=round(infer, 1)))
        print(f"{arch:<22} {rows[-1]['params']:>11,} params  fit {bare:7.1f} img/s  loop {loop:7.1f} img/s "
              f"(overhead {100 * rows[-1]['loop_overhead']:+.0f} %)  inference {infer:7.1f} img/s", flush=True)
    device = device_name()
    args.out.write_text(json.dumps(dict(size=args.size, batch=16, images_per_epoch=n, device=device,
                                        precision=resolve_precision("auto"), rows=rows), indent=2) + "\n")


if __name__ == "__main__":
    main()

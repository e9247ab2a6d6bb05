"""The training loop: a run killed after epoch 2 resumes to the same weights, metrics and curves as one never
interrupted; MirroredStrategy on two logical CPUs; the config read from params.yaml."""
import dataclasses, json, os, subprocess, sys, textwrap
from functools import partial

import numpy as np
import pytest
import yaml

import boneage.core
from boneage.core import import_keras, seed_everything

keras = import_keras()
import tensorflow as tf

from boneage.train import TrainConfig, fit_regressor
from boneage.zoo import build_model

tiny_cnn = partial(build_model, "tunable_cnn", 32, conv_blocks=3, filters=8, dropout=0.3, age_mean=110.0, age_sd=50.0)


def tiny_dataset(n, seed, shuffle=False):
    rng = np.random.default_rng(seed)
    x = {"image": rng.random((n, 32, 32, 1), "float32"), "male": rng.integers(0, 2, (n, 1)).astype("float32")}
    ds = tf.data.Dataset.from_tensor_slices((x, rng.uniform(20, 200, n).astype("float32")))
    if shuffle: ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    return ds.batch(4)


def datasets():
    "Fresh datasets, as a new process would make them: seeded, the training one reshuffled every epoch."
    seed_everything(42)
    return tiny_dataset(16, 0, shuffle=True), tiny_dataset(8, 1)


class Snapshots(keras.callbacks.Callback):
    "The weights after every epoch run (the last one before early stopping restores the best)."
    def __init__(self): super().__init__(); self.weights = []
    def on_epoch_end(self, epoch, logs=None): self.weights.append(self.model.get_weights())


class CrashAt(keras.callbacks.Callback):
    "Kills the run as epoch `epoch` (from 0) begins, after the earlier epochs were backed up."
    def __init__(self, epoch): super().__init__(); self.epoch = epoch
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch: raise RuntimeError("simulated crash")


def curve(live_dir, name):
    lines = (live_dir / "plots" / "metrics" / name).read_text().splitlines()
    return [line.split("\t") for line in lines[1:]]


def augmented_datasets():
    "`datasets()` with the train batches through the project's augmenter, whose random stream lives outside the model."
    from boneage.augment import build_augmenter
    train, val = datasets()
    aug = build_augmenter()
    return train.map(lambda f, y: ({"image": aug(f["image"], training=True), "male": f["male"]}, y)), val, aug


def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    "Shuffled, augmented, with dropout: the backup keeps every random stream (without the augmenter's the histories differ)."
    config = TrainConfig(loss="huber", lr=1e-2, warmup_epochs=1, epochs=5, patience=10)
    last_whole, last_resumed = Snapshots(), Snapshots()
    train, val, aug = augmented_datasets()
    whole = fit_regressor(tiny_cnn, train, val, config, tmp_path / "whole", live_dir=tmp_path / "live_whole",
                          callbacks=[last_whole], rng_layers=[aug])
    train, val, aug = augmented_datasets()
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit_regressor(tiny_cnn, train, val, config, tmp_path / "cut", live_dir=tmp_path / "live_cut",
                      callbacks=[CrashAt(2)], rng_layers=[aug])
    assert json.loads((tmp_path / "cut" / "backup" / "training_metadata.json").read_text())["epoch"] == 2
    train, val, aug = augmented_datasets()
    resumed = fit_regressor(tiny_cnn, train, val, config, tmp_path / "cut", live_dir=tmp_path / "live_cut",
                            callbacks=[last_resumed], rng_layers=[aug])
    assert whole.resumed_from == 0 and resumed.resumed_from == 2 and resumed.epochs_run == whole.epochs_run == 5
    for a, b in zip(last_whole.weights[-1], last_resumed.weights[-1]): np.testing.assert_array_equal(a, b)
    for a, b in zip(whole.model.get_weights(), resumed.model.get_weights()): np.testing.assert_array_equal(a, b)
    assert resumed.history == whole.history and len(set(whole.history["loss"])) == 5
    assert (resumed.best_epoch, resumed.best_val_mae) == (whole.best_epoch, whole.best_val_mae)
    assert not (tmp_path / "cut" / "backup").exists()
    for name in ("train/mae.tsv", "eval/mae.tsv"):   # dvclive curves: 5 steps, continued across the restart
        cut, uncut = curve(tmp_path / "live_cut", name), curve(tmp_path / "live_whole", name)
        assert cut == uncut and [row[0] for row in cut] == ["0", "1", "2", "3", "4"]
    assert json.loads((tmp_path / "cut" / "fit.json").read_text())["resumed_from"] == 2


def test_the_resume_test_has_shuffling_and_dropout():
    "The test above would be weak with a fixed order and no dropout: it has neither."
    a, b = datasets()[0], datasets()[0]
    passes = [[y.numpy().tolist() for _, y in a] for _ in range(2)]
    assert passes[0] != passes[1]                                 # the order changes from pass to pass
    iter(b)                                                       # opening a pass without reading it...
    assert [y.numpy().tolist() for _, y in b] == passes[1]        # ...moves the order on by one
    model = tiny_cnn()
    assert any(v.path.endswith("seed_generator_state") for v in model.variables)   # dropout has a random stream


def test_early_stopping_fires_and_restores_the_best_epoch(tmp_path):
    "Validation ages far from the training ages: the val MAE stops improving, training ends early."
    seed_everything(42)
    train_ds = tiny_dataset(16, 0).map(lambda x, y: (x, tf.fill(tf.shape(y), 30.0)))
    val_ds = tiny_dataset(8, 1).map(lambda x, y: (x, tf.fill(tf.shape(y), 200.0)))
    config = TrainConfig(loss="mae", lr=1e-2, warmup_epochs=0, epochs=20, patience=2)
    snaps = Snapshots()
    fit = fit_regressor(tiny_cnn, train_ds, val_ds, config, tmp_path / "run", callbacks=[snaps])
    assert fit.stopped_epoch == fit.best_epoch + config.patience == fit.epochs_run < config.epochs
    assert fit.best_val_mae == min(fit.history["val_mae"]) == fit.history["val_mae"][fit.best_epoch - 1]
    for a, b in zip(fit.model.get_weights(), snaps.weights[fit.best_epoch - 1]): np.testing.assert_array_equal(a, b)
    summary = json.loads((tmp_path / "run" / "fit.json").read_text())
    assert (summary["stopped_epoch"], summary["best_epoch"]) == (fit.stopped_epoch, fit.best_epoch)
    best = keras.saving.load_model(tmp_path / "run" / "best.keras", safe_mode=True)
    for a, b in zip(fit.model.get_weights(), best.get_weights()): np.testing.assert_array_equal(a, b)


MIRRORED = textwrap.dedent('''
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from boneage.train import TrainConfig, fit_regressor
    from boneage.zoo import build_model
    rng = np.random.default_rng(0)
    x = {"image": rng.random((4, 32, 32, 1), "float32"), "male": np.ones((4, 1), "float32")}
    ds = tf.data.Dataset.from_tensor_slices((x, np.full(4, 100.0, "float32"))).batch(4)   # one step of 2 per device
    build = lambda: build_model("tunable_cnn", 32, conv_blocks=3, filters=8)
    fit = fit_regressor(build, ds, ds, TrainConfig(epochs=1, warmup_epochs=0), out_dir=sys.argv[1] + "/builder")
    built = build()   # a model built outside the strategy's scope is cloned into it
    fit2 = fit_regressor(built, ds, ds, TrainConfig(epochs=1, warmup_epochs=0), out_dir=sys.argv[1] + "/built")
    print(json.dumps(dict(replicas=[fit.replicas, fit2.replicas], epochs=fit.epochs_run, loss=fit.history["loss"],
                          mirrored=[type(f.model.weights[0].value).__name__ for f in (fit, fit2)])))
''')


def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    r = subprocess.run([sys.executable, "-c", MIRRORED, str(tmp_path / "run")], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["replicas"] == [2, 2] and out["epochs"] == 1 and np.isfinite(out["loss"][0])
    assert out["mirrored"] == ["MirroredVariable", "MirroredVariable"]


def test_train_config_reads_from_params_yaml(tmp_path):
    load_config = getattr(boneage.core, "load_config", None)
    if load_config is None: pytest.skip("boneage.core has no load_config")
    values = {k: v for k, v in dataclasses.asdict(TrainConfig()).items() if k != "seed"}
    values.update(loss="msle", optimizer="adam", mixed_precision=False, epochs=3)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"seed": 7, "train": values}))
    cfg = load_config(TrainConfig, "train", tmp_path / "params.yaml")
    assert (cfg.seed, cfg.loss, cfg.optimizer, cfg.mixed_precision, cfg.epochs) == (7, "msle", "adam", "off", 3)

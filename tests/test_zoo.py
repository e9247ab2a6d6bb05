"""The model zoo: every architecture's output, parameter count and `.keras` round trip; published reference counts;
the keras-tuner search of the tunable CNN on tiny data."""
import numpy as np
import pytest

from boneage.core import import_keras

keras = import_keras()
import tensorflow as tf

from boneage.zoo import (ARCHS, TUNABLE_CNN_SPACE, build_model, densenet121_backbone, get_backbone,
                         inception_v4_backbone, resnet34_cbam_backbone, resnet50_backbone, tune_cnn)

SIZE = 75   # one input size for every architecture: the smallest the Inception stems accept
# measured at 75 px: every regressor with the common head (project 2's for the tunable CNN), 1 channel, sex fused
PARAMS = {"tunable_cnn": 411_481, "resnet50": 23_853_225, "inception_v4": 41_411_657, "densenet121": 7_171_945,
          "resnet34_cbam": 21_686_537, "inception_resnet_v2": 54_542_985, "efficientnetv2_b0": 6_092_793}
# keras.applications models without their top, inside the InceptionResNetV2 and EfficientNetV2-B0 backbones
APPLICATIONS = {"inception_resnet_v2": 54_336_736, "efficientnetv2_b0": 5_919_312}


def trainable(model): return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.fixture(autouse=True)
def fresh_session():
    keras.backend.clear_session()
    yield
    keras.backend.clear_session()


def test_every_architecture_is_covered():
    assert set(ARCHS) == set(PARAMS)


@pytest.mark.parametrize("arch", PARAMS)
def test_size_output_and_keras_round_trip(arch, tmp_path):
    keras.utils.set_random_seed(42)
    model = build_model(arch, SIZE)
    assert model.count_params() == PARAMS[arch]
    if arch in APPLICATIONS: assert get_backbone(model).count_params() == APPLICATIONS[arch]
    rng = np.random.default_rng(0)
    for w in model.get_layer("age_z").weights:   # the output starts at zero: give it weights that read the features
        w.assign(rng.normal(0, 0.5, w.shape).astype("float32"))
    batch = {"image": rng.random((3, SIZE, SIZE, 1), "float32"), "male": np.array([[0.0], [1.0], [1.0]], "float32")}
    before = keras.ops.convert_to_numpy(model(batch, training=False))
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    after = keras.ops.convert_to_numpy(again(batch, training=False))
    assert before.shape == (3, 1) and before.dtype == np.float32 and np.unique(before).size == 3
    np.testing.assert_array_equal(before, after)
    assert [i.name for i in again.inputs] == ["image", "male"] and get_backbone(again).name == f"{arch}_backbone"


@pytest.mark.parametrize("name, count_params, count", [
    ("keras.applications.ResNet50, no top", lambda: resnet50_backbone(64, channels=3).count_params(), 23_587_712),
    ("keras.applications.DenseNet121, no top", lambda: densenet121_backbone(64, channels=3).count_params(), 7_037_504),
    ("torchvision resnet34 (21,797,672) less its fc (513,000), trainable",
     lambda: trainable(resnet34_cbam_backbone(64, channels=3, attention=False)), 21_284_672),
    ("timm inception_v4 (42,679,816) less its classifier (1,537,000), trainable",
     lambda: trainable(inception_v4_backbone(75, channels=3)), 41_142_816),
])
def test_from_scratch_backbones_match_published_counts(name, count_params, count):
    assert count_params() == count, name


def test_project5_densenet_regressor_has_its_reported_size():
    model = build_model("densenet121", 64, activation="gelu", bias=True, dense_units=(32, 16), dropout=0.01)
    assert model.count_params() == 7_075_241 and trainable(model) == 6_991_593   # METHODS §5.2


def test_tunable_cnn_count_depends_on_input_size_through_its_flatten():
    assert build_model("tunable_cnn", 128).count_params() == 1_197_913


def test_sex_ablation_accepts_but_ignores_sex():
    model = build_model("resnet34_cbam", 64, use_sex=False, dense_units=(8,))
    for w in model.get_layer("age_z").weights: w.assign(np.ones(w.shape, "float32"))
    x = np.random.default_rng(1).random((2, 64, 64, 1), "float32")
    girl = model({"image": x, "male": np.zeros((2, 1), "float32")}, training=False)
    boy = model({"image": x, "male": np.ones((2, 1), "float32")}, training=False)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(girl), keras.ops.convert_to_numpy(boy))


def tiny(n, seed):
    rng = np.random.default_rng(seed)
    x = {"image": rng.random((n, 32, 32, 1), "float32"), "male": rng.integers(0, 2, (n, 1)).astype("float32")}
    return tf.data.Dataset.from_tensor_slices((x, rng.uniform(20, 200, n).astype("float32"))).batch(4)


def test_tune_cnn_searches_on_train_and_val_and_reuses_a_finished_search(tmp_path):
    space = dict(conv_blocks=(3,), filters=(8, 16))
    best, tuner = tune_cnn(tiny(8, 0), tiny(4, 1), max_trials=2, epochs=1, out_dir=tmp_path, space=space)
    assert set(best) == set(TUNABLE_CNN_SPACE) and best["conv_blocks"] == 3 and best["filters"] in (8, 16)
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 2 and all(t.status == "COMPLETED" for t in trials)
    assert all(np.isfinite(t.metrics.get_best_value("val_mae")) for t in trials)
    again, tuner2 = tune_cnn(tiny(8, 0), tiny(4, 1), max_trials=2, epochs=1, out_dir=tmp_path, space=space)
    assert again == best and len(tuner2.oracle.trials) == 2   # reloaded from out_dir, nothing run again

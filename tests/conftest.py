import os, shutil, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"   # no TensorFlow C++ log lines from the test processes (CI sets 2 for its own steps)


@pytest.fixture(scope="session")
def boneage_cmd():
    "The installed `boneage` console script (beside this Python), as a subprocess would call it."
    exe = Path(sys.executable).parent / "boneage"
    exe = str(exe) if exe.exists() else shutil.which("boneage")
    assert exe, "the boneage console script is not installed (pip install -e .)"
    return exe


@pytest.fixture(scope="session")
def shared_data():
    if not SHARED.is_dir(): pytest.skip("../shared/data is not on this machine")
    return SHARED


def quiet_env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    return env


# Smoke-sized configs of every stage: what the test of each stage runs, and what its upstream fixture runs.
def smoke_configs():
    from boneage.augment import AugmentConfig
    from boneage.cnn import CnnConfig
    from boneage.cvs import CvsConfig
    from boneage.data import DataConfig
    from boneage.kmeans import KMeansConfig
    from boneage.paper import PaperConfig
    from boneage.phantom import PhantomConfig
    from boneage.preprocess import PreprocessConfig
    from boneage.regressors import RegressorsConfig
    from boneage.release import ReleaseConfig
    from boneage.segment import SegmentConfig
    return dict(phantom=PhantomConfig(grid_size=128), data=DataConfig(n_images=48, size=160), preprocess=PreprocessConfig(size=64),
                augment=AugmentConfig(), kmeans=KMeansConfig(),
                segment=SegmentConfig(models=["unet_bce", "ddunet_dice_bootstrap"], seeds=2, size=32, n_train=30, epochs=2, min_epochs=0, batch_size=8,
                                      blocks=[2, 2], bottleneck=2),
                regressors=RegressorsConfig(folds=2, mlp_epochs=5, n_boot=100),
                cnn=CnnConfig(archs=("tunable_cnn",), seeds=2, size=32, epochs=3, schedule_epochs=2, patience=1, min_epochs=0, batch_size=8, n_boot=100),
                release=ReleaseConfig(alpha=0.5, min_band=3, gradcam_cases=2, n_boot=100),   # 50 %: finite on a few films
                cvs=CvsConfig(n_images=48, phantom_size=64, size=64, depth=3, filters=8, refine=True, refine_size=64, epochs=3, schedule_epochs=2, patience=1,
                              min_epochs=0, batch_size=8, n_boot=50),
                paper=PaperConfig(page_dpi=30))

UPSTREAM = {"phantom": [], "data": [], "preprocess": ["data"], "augment": ["data", "preprocess"], "kmeans": ["data", "preprocess"],
            "segment": ["data", "preprocess", "augment", "kmeans"], "regressors": ["data", "preprocess", "kmeans"],
            "cnn": ["data", "preprocess", "augment"], "release": ["data", "preprocess", "augment", "cnn"],
            "cvs": [],
            "readme": ["data", "preprocess", "augment", "kmeans", "segment", "regressors", "cnn", "release"]}
UPSTREAM["paper"] = UPSTREAM["readme"] + ["cvs"]


RESULTS = {}   # (smoke root, stage) -> what run_<stage> returned: each smoke stage trains once per session


def run_stage_function(stage, paths):
    "Call `run_<stage>` of its module with its smoke config (remembered for `stage_result`)."
    import importlib
    fn = getattr(importlib.import_module(f"boneage.{stage}"), f"run_{stage}")
    extra = dict(preprocess_config=smoke_configs()["preprocess"]) if stage == "release" else {}   # travels with the model
    RESULTS[(str(paths.root), stage)] = fn(smoke_configs()[stage], paths, progress=False, **extra)
    return RESULTS[(str(paths.root), stage)]


@pytest.fixture(scope="session")
def smoke_root(tmp_path_factory):
    from boneage.core import Paths
    return Paths(tmp_path_factory.mktemp("smoke"))


@pytest.fixture(scope="session")
def stage_result(upstream, smoke_root):
    "`stage_result(stage)`: (paths, details) of the stage's smoke run in the session's smoke root, run once."
    def get(stage):
        paths = upstream(stage)
        key = (str(paths.root), stage)
        if key not in RESULTS: run_stage_function(stage, paths)
        return paths, RESULTS[key]
    return get


@pytest.fixture(scope="session")
def upstream(smoke_root):
    "`upstream(stage)`: the session's smoke root, where every stage `stage` reads from has run (each once)."
    def make(stage):
        for s in UPSTREAM[stage]:
            if not smoke_root.metrics(s).exists(): run_stage_function(s, smoke_root)
        return smoke_root
    return make


def pytest_collection_modifyitems(config, items):
    """With pytest-xdist (`-n`, `--dist loadgroup` in pyproject.toml), the tests that read the session's smoke pipeline
    run in one worker, so it is built once; the team test (its own `dvc repro`) is a group of its own, so the other
    worker takes the rest beside it; a file with a module fixture stays in one worker (built once too); the other
    tests spread out one by one."""
    smoke = {"upstream", "stage_result", "smoke_root"}
    for item in items:
        if smoke & set(getattr(item, "fixturenames", ())): group = "smoke"
        elif item.name.startswith("test_a_team_shares"): group = "team"
        elif _uses_a_module_fixture(item): group = item.module.__name__
        else: continue
        item.add_marker(pytest.mark.xdist_group(group))


def _uses_a_module_fixture(item) -> bool:
    defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    return any(d and d[-1].scope == "module" for d in defs.values())

import os, shutil, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


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

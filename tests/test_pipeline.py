"The DVC pipeline as a whole: exact deps, declared outputs, typed params, quiet runs, and a team sharing through a remote."
import json, os, shutil, subprocess, sys
from pathlib import Path

import pytest
import yaml

from boneage.pipeline import stage_code
from conftest import ROOT, UPSTREAM, quiet_env

DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def _paths(entries):
    return {next(iter(e)) if isinstance(e, dict) else e for e in entries or []}


@pytest.mark.parametrize("stage", sorted(DVC))
def test_stage_deps_list_exactly_the_code_it_runs(stage):
    deps = _paths(DVC[stage]["deps"])
    code = set(stage_code(stage, ROOT)) | {"boneage/pipeline.py"}
    assert code <= deps, f"dvc.yaml stage {stage} misses {sorted(code - deps)}"
    listed_code = {d for d in deps if d.startswith(("boneage/", "nbs/"))}
    assert listed_code <= code, f"dvc.yaml stage {stage} lists code it does not run: {sorted(listed_code - code)}"


def test_deps_test_fails_when_a_module_is_missing(tmp_path):
    "The check above is not vacuous: the segment stage runs kmeans.py, and dropping it is caught."
    code = set(stage_code("segment", ROOT))
    assert {"boneage/kmeans.py", "boneage/evaluate.py", "boneage/augment.py", "boneage/core.py"} <= code
    deps = _paths(DVC["segment"]["deps"]) - {"boneage/kmeans.py"}
    assert not code <= deps


def test_every_params_section_loads_into_its_stage_config():
    from boneage.core import load_config
    from conftest import smoke_configs
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for stage, cfg in smoke_configs().items():
        loaded = load_config(type(cfg), stage, ROOT / "params.yaml")
        assert loaded.seed == params["seed"] == 42
        assert stage in DVC and stage in DVC[stage]["params"]


def test_everything_a_smoke_pipeline_writes_is_declared(upstream):
    "Run every stage on smoke data: each figure and metrics file it writes is a declared output of dvc.yaml."
    paths = upstream("readme")
    declared = set()
    for s in DVC.values():
        for key in ("outs", "metrics", "plots"): declared |= _paths(s.get(key))
    written = {str(p.relative_to(paths.root)) for d in ("figures", "metrics") for p in (paths.root / d).iterdir()}
    written |= {f"{d}/{s}" for d in ("data", "models", "dvclive") if (paths.root / d).exists() for s in os.listdir(paths.root / d)}
    assert written <= declared, sorted(written - declared)
    heads = [json.loads(paths.metrics(s).read_text()) for s in UPSTREAM["readme"]]
    # `dvc metrics show` has one column per distinct key: a few shared headline names keep it one screen wide
    assert len(set().union(*heads)) <= 12 and all(len(h) <= 4 for h in heads)


def test_a_stage_run_is_quiet_and_its_report_reproducible(tmp_path):
    "`python -m boneage.pipeline data` in a small project: one summary line, nothing on stderr, same report twice."
    (tmp_path / "nbs").mkdir()
    shutil.copy(ROOT / "nbs" / "03_data.ipynb", tmp_path / "nbs")
    (tmp_path / "params.yaml").write_text("seed: 42\ndata:\n  source: phantom\n  dir: ''\n  labels: ''\n  n_images: 12\n  size: 96\n"
                                          "  label_noise_sd: 6.0\n  image_format: png\n  val_fraction: 0.15\n  test_fraction: 0.15\n  strict: false\n")
    env = {k: v for k, v in quiet_env().items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "PYTHONWARNINGS")}
    reports = []
    for _ in range(2):
        r = subprocess.run([sys.executable, "-m", "boneage.pipeline", "data"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert r.stdout == "data: 12 rows, 12 valid, 0 problems -> train 8 / val 2 / test 2\n", r.stdout
        reports.append((tmp_path / "reports" / "03_data.ipynb").read_text())
    assert reports[0] == reports[1] and "\"papermill\": {" not in reports[0] and str(tmp_path) not in reports[0]


def test_importing_the_model_modules_prints_nothing():
    r = subprocess.run([sys.executable, "-c", "import boneage.segment, boneage.regressors, boneage.release, boneage.gradcam"], capture_output=True, text=True,
                       env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}, timeout=300)
    assert r.returncode == 0 and r.stderr == "", r.stderr


SMOKE_PARAMS = {"phantom": {"grid_size": 128}, "data": {"n_images": 40, "size": 128}, "preprocess": {"size": 64},
                "segment": {"models": ["ddunet_bce"], "size": 32, "n_train": 20, "epochs": 1, "min_epochs": 0, "blocks": [2, 2], "bottleneck": 2},
                "regressors": {"folds": 2, "mlp_epochs": 5, "n_boot": 50},
                "cnn": {"seeds": 1, "size": 32, "epochs": 2, "schedule_epochs": 1, "min_epochs": 0, "patience": 1, "n_boot": 50,
                        "sex_ablation": False},
                "release": {"n_boot": 50, "gradcam_cases": 2, "alpha": 0.5, "min_band": 3},
                "cvs": {"n_images": 40, "phantom_size": 64, "size": 64, "depth": 3, "refine_size": 64, "epochs": 2, "schedule_epochs": 1, "patience": 1,
                        "min_epochs": 0, "batch_size": 8, "n_boot": 50}}


def _sh(cmd, cwd, timeout=900, quiet=False):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)   # the pipeline must be quiet by itself
    r = subprocess.run(cmd, cwd=cwd, shell=True, capture_output=True, text=True, env=env, timeout=timeout)
    assert r.returncode == 0, f"{cmd}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    if quiet: assert r.stderr == "", f"{cmd} wrote to stderr:\n{r.stderr[-3000:]}"
    return r.stdout


def _project_copy(dest: Path):
    "The project as a fresh clone would be: tracked and unignored files of this working tree, in a new git repository."
    files = _sh("git ls-files --cached --others --exclude-standard", ROOT).split("\n")
    for f in filter(None, files):
        if (ROOT / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(ROOT / f, dest / f)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    for section, values in SMOKE_PARAMS.items(): params[section].update(values)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _sh("git init -q && git add -A && git commit -qm copy", dest)


def test_a_team_shares_the_pipeline_outputs_through_a_dvc_remote(tmp_path):
    "dvc push from one clone, dvc pull in another: data, models and metrics come back and `dvc repro` has nothing to do."
    a, b, remote = tmp_path / "a", tmp_path / "b", tmp_path / "remote"
    a.mkdir(); remote.mkdir()
    _project_copy(a)
    _sh("dvc repro", a, quiet=True)   # every stage, nothing on stderr
    _sh(f"dvc remote add -d team {remote} && dvc push -q && git add -A && git commit -qm run", a)
    _sh(f"git clone -q {a} {b}", tmp_path)
    assert not (b / "data").exists() and not (b / "models").exists()
    _sh("dvc pull -q", b)
    assert (b / "data" / "preprocess" / "images.npy").exists() and (b / "models" / "segment" / "ddunet_bce_seed42.keras").exists()
    assert "up to date" in _sh("dvc status", b)
    assert "Running stage" not in _sh("dvc repro", b)
    assert _sh("git status --porcelain", b) == ""
    assert (a / "metrics" / "regressors.json").read_text() == (b / "metrics" / "regressors.json").read_text()
    # an experiment in the workspace, then the README's way back
    before = (b / "metrics" / "preprocess.json").read_text()
    _sh("dvc exp run -q -S preprocess.size=48 preprocess", b)
    assert json.loads((b / "metrics" / "preprocess.json").read_text()) != json.loads(before) or \
        json.loads((b / "metrics" / "preprocess_details.json").read_text())["size"] == 48
    _sh("git checkout -- . && dvc repro -q", b)
    assert _sh("git status --porcelain", b) == "" and (b / "metrics" / "preprocess.json").read_text() == before


def test_dvc_lock_matches_the_committed_code():
    "dvc.lock records the code each stage last ran with: it must be the code in the tree (else `dvc repro` reruns stages)."
    import hashlib
    lock = yaml.safe_load((ROOT / "dvc.lock").read_text())["stages"]
    for stage, entry in lock.items():
        for dep in entry["deps"]:
            if dep["path"].startswith(("boneage/", "nbs/")):
                assert hashlib.md5((ROOT / dep["path"]).read_bytes()).hexdigest() == dep["md5"], f"{stage}: {dep['path']} changed since dvc.lock"

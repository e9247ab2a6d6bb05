"The README's commands are the ones CI and newcomers run; its tables render from what the stage functions write."
import shutil

from conftest import ROOT

TEST_COMMAND = ". .venv/bin/activate && nbdev-test && pytest"
SETUP_COMMAND = 'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[dev]" && dvc repro'


def test_ci_runs_the_readme_test_command():
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci" / "run").read_text()
    assert TEST_COMMAND in readme and TEST_COMMAND in ci
    assert SETUP_COMMAND in readme


def test_every_renderer_reads_what_the_stages_write(upstream, tmp_path):
    """Run the whole pipeline on smoke data, then the readme stage on a copy of the README in a copy of the smoke
    project (the committed JSONs copied in must not reach the other tests' smoke project): every stage block renders."""
    from boneage.core import Paths
    from boneage.readme import RENDERERS, run_readme
    shutil.copytree(upstream("readme").root, tmp_path / "smoke")
    paths = Paths(tmp_path / "smoke")
    shutil.copy(ROOT / "README.md", paths.root / "README.md")
    for f in ("benchmarks", "metrics"):
        (paths.root / f).mkdir(exist_ok=True)
    for name, (f, _) in RENDERERS.items():   # the committed benchmark JSONs and documented-experiment JSONs
        if f.startswith("benchmarks/") or not (paths.root / f).exists():
            (paths.root / f).parent.mkdir(parents=True, exist_ok=True); shutil.copy(ROOT / f, paths.root / f)
    result = run_readme(paths)
    assert result["blocks"] == sorted(RENDERERS)
    text = (paths.root / "README.md").read_text()
    import json
    d = json.loads(paths.details("data").read_text())
    assert f"| train | {d['train']['n']} |" in text
    seg = json.loads(paths.details("segment").read_text())
    assert f"({seg['best_network']}) " in text and "(chosen on validation)" in text
    reg = json.loads(paths.details("regressors").read_text())
    assert f"| {reg['best_by_val']} (best on val) |" in text

"The README's two commands are the ones CI and newcomers run."
from conftest import ROOT

TEST_COMMAND = ". .venv/bin/activate && nbdev-test && pytest"
SETUP_COMMAND = 'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[dev]" && dvc repro'


def test_ci_runs_the_readme_test_command():
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci" / "run").read_text()
    assert TEST_COMMAND in readme and TEST_COMMAND in ci
    assert SETUP_COMMAND in readme

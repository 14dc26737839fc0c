"""The project's own promises: the README's test command is what CI runs; the package installs its console script."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    ci_command = [line for line in ci.splitlines() if line.startswith("python -m pip install")]
    assert len(ci_command) == 1, ".ci/run must hold exactly one install-and-test command"
    assert ci_command[0] in readme.splitlines(), "the README's test command and .ci/run differ"


def test_console_script_help():
    result = subprocess.run([sys.executable, "-m", "vlt_mini.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("data", "run", "evaluate", "demo"):
        assert re.search(rf"\b{command}\b", result.stdout)


def test_every_notebook_is_listed_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert notebook.name in readme, f"{notebook.name} is missing from the README's notebook index"

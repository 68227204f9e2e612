"""ruff, pinned in requirements.txt, with the rule set stated in pyproject.toml ([tool.ruff])."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUFF = [sys.executable, "-m", "ruff"]


def ruff(*args):
    return subprocess.run([*RUFF, *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_check_passes():
    result = ruff("check", "--output-format", "concise", ".")
    assert result.returncode == 0, f"ruff check found problems (fix them, or `ruff check --fix`):\n{result.stdout}"


def test_ruff_format_leaves_the_tree_unchanged():
    result = ruff("format", "--check", ".")
    assert result.returncode == 0, f"run `.venv/bin/ruff format .` on:\n{result.stdout}"


def test_the_rule_set_catches_what_it_claims(tmp_path):
    """The configured rules do fire: an unused import, an undefined name and a 121-character line."""
    sample = tmp_path / "sample.py"
    sample.write_text("import os\n\nprint(undefined_name)\nx = '" + "a" * 115 + "'\n")
    result = ruff("check", "--output-format", "concise", "--config", str(ROOT / "pyproject.toml"), str(sample))
    assert {"F401", "F821", "E501"} <= {
        word for word in result.stdout.split() if word[:1] in "FE" and word[1:].isdigit()
    }

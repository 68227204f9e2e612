"""Write environment.yml (conda, Binder) from requirements.txt, the one pinned list.

Run `make environment.yml` after editing requirements.txt; tests/test_environment.py
fails while the two disagree.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON_VERSION = "3.11"
HEADER = "# Generated from requirements.txt by `make environment.yml`; edit requirements.txt instead.\n"


def pinned_requirements(text):
    """The `name==version` lines of a requirements file, in order, without comments."""
    pins = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            if "==" not in line:
                raise ValueError(f"requirements.txt must pin exact versions, found {line!r}")
            pins.append(line)
    return pins


def render_environment_yml(requirements_text):
    lines = [
        HEADER.rstrip("\n"),
        "# After creating it, run `bash postBuild` to install the helper package and the course's kernel.",
        "name: deadrelu",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={PYTHON_VERSION}",
        "  - pip",
        "  - pip:",
    ]
    lines += [f"      - {pin}" for pin in pinned_requirements(requirements_text)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    text = (ROOT / "requirements.txt").read_text()
    (ROOT / "environment.yml").write_text(render_environment_yml(text))
    print("wrote environment.yml")

"""Results of sweeps too large for a notebook's 60 s, stored in the package and shown by the notebooks.

A sweep is a script, `scripts/sweeps/<name>.py`, that runs many seeds or settings and
writes `deadrelu/sweep_results/<name>.json` with `save_sweep`. A notebook shows the stored
result with `load_sweep(name)` and prints the command that regenerates it, so a reader can
re-run the evidence instead of trusting it. The file records the command, the date and the
library versions it was made with.
"""

import json
import platform
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "sweep_results"


def save_sweep(name, results, description):
    """Write `results` (anything JSON can hold) as sweep `name`, with how to regenerate it."""
    import torch

    record = {
        "name": name,
        "description": description,
        "command": f"python scripts/sweeps/{name}.py",
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": {"python": platform.python_version(), "torch": torch.__version__},
        "results": results,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


def load_sweep(name):
    """The stored record of sweep `name` (keys: description, command, created, versions, results)."""
    path = RESULTS / f"{name}.json"
    if not path.exists():
        available = sorted(p.stem for p in RESULTS.glob("*.json"))
        raise FileNotFoundError(
            f"no stored sweep {name!r} in {RESULTS}; stored sweeps: {available}. "
            f"Run `python scripts/sweeps/{name}.py` from the repository root to make it."
        )
    return json.loads(path.read_text())

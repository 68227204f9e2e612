"""deadrelu: the helper package of the Dead ReLU Units course.

The toolkit (monitor, tracking, training, models, initialization, recycling, pruning, ...)
works on any PyTorch model; `deadrelu.lessons.<notebook>` holds one notebook's explorers and
plots, `deadrelu.checks.<notebook>` its exercises' public checks. The README's "Repository
layout" is the map of every module (tests/test_repository_map.py keeps it complete).

Importing the package changes no global state: no seeding, no matplotlib settings.
"""

from .monitor import DeadUnitMonitor, LayerStats, Report, scan

__version__ = "0.1.0"
__all__ = ["DeadUnitMonitor", "Report", "LayerStats", "scan"]

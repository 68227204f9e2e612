"""deadrelu: the helper package of the Dead ReLU Units course.

One idea per module:
    activations      the ReLU family, their parameters and autograd gradients   (notebook 01)
    data             digits and synthetic data sets, seeded, with a held-out split
    models           make_mlp, make_cnn
    initialization   init schemes, LSUV, RAI                                    (notebook 05)
    init_plots       signal scale and dead units through depth at init, plotted (notebook 05)
    init_explorer    init scheme x depth explorer                                (notebook 05)
    monitor          DeadUnitMonitor, scan: dead and τ-dormant units            (notebook 03)
    tracking         DeadUnitTracker: dead units over training steps
    tracking_plots   plots of that tracking
    monitor_dashboard  one layer's dormant scores: plot and dashboard explorer  (notebook 03)
    training         train(): the seeded training loop, steps_per_epoch (full batches only by default)
    claims           claim, claim_difference: every result the prose states, checked when it runs
    sweeps           save_sweep, load_sweep: stored results of sweeps too big for a notebook
    recycling        recycle_dormant and the ReDo training callback             (notebook 07)
    pruning          prune_dead                                                  (notebook 07)
    continual_backprop, recycling_explorer   continual backprop; the recycling explorer (notebook 07)
    experiments, baseline   seeded runs over several seeds; the failing baseline (notebooks 02, 04-07)
    learning_rate_lesson  notebook 04's measurements, verdict tables and plots
    born_dead        Monte Carlo of nets dead at initialisation                  (notebook 02)
    capstone, capstone_explorer   the capstone's configuration and explorer     (notebook 08)
    quiz             the self-check quiz widget                                  (notebook 09)
    architecture_plots, architecture_explorer   depth, normalisation, residuals  (notebook 06)
    plots, widgets   plot functions (ax=None, return the figure) and explorers
    seeding          seed_everything(seed) -> torch.Generator
    checks           the public checks of the graded exercises, one module per notebook

Importing the package changes no global state: no seeding, no matplotlib settings.
"""

from .monitor import DeadUnitMonitor, Report, LayerStats, scan

__version__ = "0.1.0"
__all__ = ["DeadUnitMonitor", "Report", "LayerStats", "scan"]

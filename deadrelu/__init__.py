"""deadrelu: the helper package of the Dead ReLU Units course.

One idea per module:
    activations  the ReLU family, their parameters and autograd gradients   (notebook 01)
    plots        plot functions; each takes ax=None and returns the figure
    widgets      explorer widgets, thin wrappers over the plots
    seeding      seed_everything(seed) -> torch.Generator
    checks       the public checks of the graded exercises, one module per notebook

Importing the package changes no global state: no seeding, no matplotlib settings.
"""

__version__ = "0.1.0"

"""One module per notebook: its explorers, plots and lesson-specific measurements.

`deadrelu.lessons.<name>` belongs to notebook `NN_<name>`, like `deadrelu.checks.<name>`.
What any model can use lives in the toolkit modules one level up.
"""

"""Public checks of the graded exercises, one module per notebook (e.g. `checks.relu_math`).

Students run them for instant feedback; the autograder runs them again, together with
hidden tests that live only in the solution notebooks.
"""

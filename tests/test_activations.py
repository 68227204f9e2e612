"""The ReLU family's table of negative-side gradients says which units can recover, and how."""

import pytest

from deadrelu.activations import negative_side_table


def test_negative_side_table_separates_no_recovery_constant_fading_and_negative_slopes():
    verdicts = {row["activation"]: row["for x < 0"] for row in negative_side_table()}
    assert verdicts["ReLU"] == "exactly 0: no recovery"
    assert verdicts["LeakyReLU"] == verdicts["PReLU"] == "constant slope"
    assert verdicts["ELU"] == verdicts["SELU"] == verdicts["Softplus"] == "positive, shrinks toward 0"
    # GELU and SiLU are not monotonic: left of their minimum the gradient is negative
    assert verdicts["GELU"] == verdicts["SiLU"] == "negative below its minimum, then fades to 0"


def test_negative_side_table_wants_negative_points():
    with pytest.raises(ValueError, match="must all be negative"):
        negative_side_table(points=(-1.0, 0.5))

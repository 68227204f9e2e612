"""Checked claims: a stated result is printed with its measurement, and a measurement outside
the stated range fails with the claim's own words."""

import pytest

from deadrelu.claims import ClaimNotSupported, claim, claim_difference, compare


def test_a_claim_inside_its_range_prints_the_statement_and_the_measurement(capsys):
    assert claim("lr 0.8 kills 25-65 % of the first layer", 43.42, between=(25, 65), unit="%") == 43.42
    assert capsys.readouterr().out.strip() == "✔ lr 0.8 kills 25-65 % of the first layer · measured 43.4 %"


@pytest.mark.parametrize("measured", [12.0, 70.0, float("nan"), float("inf")])
def test_a_claim_outside_its_range_fails_with_its_own_words(measured):
    with pytest.raises(ClaimNotSupported) as failure:
        claim("lr 0.8 kills 25-65 % of the first layer", measured, between=(25, 65), unit="%")
    message = str(failure.value)
    assert "lr 0.8 kills 25-65 % of the first layer" in message and "between 25 % and 65 %" in message
    assert isinstance(failure.value, AssertionError)  # a failed claim reads as a failed check


def test_open_ended_ranges():
    claim("at least 1e-2", 0.5, between=(1e-2, None))
    with pytest.raises(ClaimNotSupported, match=r"needs at most 3\)"):
        claim("at most three", 3.5, between=(None, 3))
    with pytest.raises(ClaimNotSupported, match="at least 0.01\\b"):
        claim("at least 1e-2", 0.001, between=(1e-2, None))


def test_a_claim_needs_a_number():
    with pytest.raises(TypeError, match="must be a number"):
        claim("anything", "43 %", between=(0, 100))


def test_difference_beyond_the_spread_counts():
    comparison = compare([5, 6, 4, 5, 6], [40, 20, 60, 45, 30])
    assert comparison.verdict == "lower" and comparison.seeds_lower == 5
    assert compare([40, 20, 60, 45, 30], [5, 6, 4, 5, 6]).verdict == "higher"


def test_a_difference_inside_the_spread_on_mixed_seeds_does_not_count():
    assert compare([10, 30, 20, 50, 25], [20, 25, 30, 40, 30]).verdict == "no clear difference"


def test_a_small_difference_on_every_seed_counts_when_paired():
    base = [10, 30, 20, 50, 25]
    assert compare([b - 1 for b in base], base).verdict == "lower"  # inside the spread, but every seed is lower
    assert compare([b - 1 for b in base[:3]], base[:3]).verdict == "no clear difference"  # 3 seeds are too few to pair


def test_claim_difference_prints_both_sides_or_fails_with_the_statement(capsys):
    claim_difference("lr 0.2 keeps more units than lr 0.8", [5, 6, 4, 5, 6], [40, 20, 60, 45, 30], "lower", unit="%")
    out = capsys.readouterr().out
    assert out.startswith("✔ lr 0.2 keeps more units than lr 0.8 · measured 5.2 % ± 0.837 % vs 39 % ± 15.2 %")
    assert "lower on 5/5 seeds" in out
    with pytest.raises(ClaimNotSupported, match="warmup keeps more units.*'no clear difference', not 'lower'"):
        claim_difference("warmup keeps more units", [10, 30, 20, 50, 25], [20, 25, 30, 40, 30], "lower")
    with pytest.raises(ValueError, match="same seeds"):
        compare([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="expected must be"):
        claim_difference("x", [1], [2], "smaller")


@pytest.mark.slow
def test_a_claim_that_stops_holding_fails_the_notebook_run_with_its_words(tmp_path):
    import nbformat
    from nbclient.exceptions import CellExecutionError

    from course_tools import execute_notebook

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "deadrelu", "display_name": "Python 3 (deadrelu)", "language": "python"}
    notebook.cells = [
        nbformat.v4.new_markdown_cell("The first layer loses between 25 and 65 % of its units."),
        nbformat.v4.new_code_cell(
            "from deadrelu.claims import claim\n"
            "claim('the first layer loses between 25 and 65 % of its units', 12.0, between=(25, 65), unit='%')"
        ),
        nbformat.v4.new_code_cell("print('never reached')"),
    ]
    path = tmp_path / "drifted.ipynb"
    nbformat.write(notebook, path)
    with pytest.raises(CellExecutionError) as failure:
        execute_notebook(path)
    message = str(failure.value)
    assert "ClaimNotSupported" in message and "the first layer loses between 25 and 65 % of its units" in message
    assert "measured 12 %" in message

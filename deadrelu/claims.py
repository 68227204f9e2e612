"""Checked claims: every result the prose states is printed beside the measurement behind it.

A notebook that says "the first layer loses between 25 and 65 % of its units" states a
range, measures, and shows both. When a later change (a library version, a new default, a
bug) moves the measurement out of the range, the cell fails with the claim's own words,
so the notebook run in the test suite fails instead of the prose quietly going stale.

    claim("lr 0.8 kills 25-65 % of the first layer (mean of 5 seeds)", 43.4, between=(25, 65), unit="%")

prints

    ✔ lr 0.8 kills 25-65 % of the first layer (mean of 5 seeds) · measured 43.4 %

Comparisons between remedies use `claim_difference`, which follows one rule for the whole
course (see `compare`): a difference counts only when it is larger than the seed-to-seed
spread, or when the same seeds, paired, all move the same way.

Introduced in notebook 02_how_units_die; used by every notebook after it.
"""

import math
import statistics
from dataclasses import dataclass


class ClaimNotSupported(AssertionError):
    """A measurement left the range the notebook's prose claims for it."""


def _number(value, unit):
    """Whole numbers without decimals (895), 10 and over with one (43.3), under 10 with three
    significant digits (1.28, 0.0274), very small or large in scientific notation."""
    magnitude = abs(value)
    if not math.isfinite(value):
        text = str(value)
    elif value == int(value) and magnitude < 1e6:
        text = f"{int(value)}"
    elif magnitude < 0.01 or magnitude >= 1e6:
        text = f"{value:.3g}"
    elif magnitude >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return text + (f" {unit}" if unit else "")


def claim(statement, measured, between=(None, None), unit=""):
    """Print `statement` with the `measured` value; raise ClaimNotSupported when the value is
    outside `between` = (low, high) (either end None: open). Returns the measured value."""
    low, high = between
    try:
        value = float(measured)
    except (TypeError, ValueError) as error:
        raise TypeError(f"claim {statement!r}: the measurement must be a number, got {measured!r}") from error
    holds = math.isfinite(value) and (low is None or value >= low) and (high is None or value <= high)
    if not holds:
        expected = (
            f"between {_number(low, unit)} and {_number(high, unit)}"
            if low is not None and high is not None
            else f"at least {_number(low, unit)}"
            if low is not None
            else f"at most {_number(high, unit)}"
        )
        raise ClaimNotSupported(
            f"the notebook claims: {statement!r}, but this run measured {_number(value, unit)} (the claim needs "
            f"{expected})"
        )
    print(f"✔ {statement} · measured {_number(value, unit)}")
    return value


@dataclass
class Comparison:
    """Two configurations measured on the same seeds (per-seed values, paired by position)."""

    a: list
    b: list

    @property
    def mean_a(self):
        return statistics.fmean(self.a)

    @property
    def mean_b(self):
        return statistics.fmean(self.b)

    @property
    def spread_a(self):
        return statistics.stdev(self.a) if len(self.a) > 1 else 0.0

    @property
    def spread_b(self):
        return statistics.stdev(self.b) if len(self.b) > 1 else 0.0

    @property
    def seeds_lower(self):
        """On how many seeds a < b."""
        return sum(x < y for x, y in zip(self.a, self.b))

    @property
    def seeds_higher(self):
        return sum(x > y for x, y in zip(self.a, self.b))

    @property
    def verdict(self):
        """ "lower" or "higher" (a compared with b) or "no clear difference".

        The course's rule: a difference counts when the means differ by more than the larger
        of the two spreads (sample std over seeds), or when a is on the same side of b on
        every seed (at least 5 seeds: a sign test's one-sided p = 1/32)."""
        gap = self.mean_a - self.mean_b
        beyond_spread = abs(gap) > max(self.spread_a, self.spread_b) and gap != 0
        n = len(self.a)
        if (beyond_spread and gap < 0) or (n >= 5 and self.seeds_lower == n):
            return "lower"
        if (beyond_spread and gap > 0) or (n >= 5 and self.seeds_higher == n):
            return "higher"
        return "no clear difference"

    def describe(self, unit=""):
        n = len(self.a)
        return (
            f"{_number(self.mean_a, unit)} ± {_number(self.spread_a, unit)} vs {_number(self.mean_b, unit)} ± "
            f"{_number(self.spread_b, unit)}; lower on {self.seeds_lower}/{n} seeds, higher on {self.seeds_higher}/{n}"
        )


def compare(a, b):
    """A `Comparison` of per-seed values `a` and `b` (same seeds, same order)."""
    a, b = [float(v) for v in a], [float(v) for v in b]
    if len(a) != len(b) or not a:
        raise ValueError(f"compare needs the same seeds on both sides: got {len(a)} and {len(b)} values")
    return Comparison(a, b)


def claim_difference(statement, a, b, expected, unit=""):
    """Claim that per-seed values `a` are "lower" than, "higher" than, or show "no clear
    difference" from `b` (same seeds) under `Comparison.verdict`'s rule. Prints the
    statement with both means, spreads and the per-seed count; raises ClaimNotSupported with
    the statement's words when the verdict differs. Returns the Comparison."""
    if expected not in ("lower", "higher", "no clear difference"):
        raise ValueError(f'expected must be "lower", "higher" or "no clear difference", got {expected!r}')
    comparison = compare(a, b)
    if comparison.verdict != expected:
        raise ClaimNotSupported(
            f"the notebook claims: {statement!r}, but this run measured {comparison.describe(unit)}, "
            f"which is {comparison.verdict!r}, not {expected!r}"
        )
    print(f"✔ {statement} · measured {comparison.describe(unit)}")
    return comparison

"""Descriptive statistics shared by the prompt-set statistics and the profile stage."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def percentile(sorted_values: Sequence[float] | np.ndarray, pct: float) -> float:
    """The pct-th percentile (0 to 100) of ascending values, interpolated linearly between the two
    nearest ranks; 0.0 for no values.

    The arithmetic is numpy's `percentile(method="linear")` step for step (the rank as (n - 1) times
    pct / 100, and the interpolation from the upper neighbour when the fraction is at least a half), so
    the result is bit for bit what numpy gives: stored statistics do not move with the implementation.
    """
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be between 0 and 100, not {pct!r}")
    n = len(sorted_values)
    if n == 0:
        return 0.0
    rank = (n - 1) * (pct / 100)
    if rank >= n - 1:
        return float(sorted_values[n - 1])
    lo = math.floor(rank)
    frac = rank - lo
    a, b = sorted_values[lo], sorted_values[lo + 1]
    step = b - a
    return float(b - step * (1 - frac)) if frac >= 0.5 else float(a + step * frac)

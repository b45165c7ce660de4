"""backend.core.stats.percentile: numpy's linear method, bit for bit, on lists and arrays."""

from __future__ import annotations

import numpy as np
import pytest

from backend.core.stats import percentile

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down

PCTS = [0, 0.1, 1, 5, 12.5, 25, 33.3, 50, 66.7, 90, 95, 99, 99.9, 100]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 101, 1000, 4097])
def test_matches_numpy_exactly_on_ints_and_floats(n):
    rng = np.random.default_rng(n)
    for values in (np.sort(rng.integers(0, 10**6, n)), np.sort(rng.random(n) * 1000)):
        for p in PCTS:
            want = float(np.percentile(values, p, method="linear"))
            assert percentile(values, p) == want
            assert percentile(values.tolist(), p) == want


def test_median_of_one_to_ten_and_no_values():
    assert percentile(list(range(1, 11)), 50) == 5.5
    assert percentile([], 90) == 0.0


@pytest.mark.parametrize("pct", [-1, 100.5])
def test_a_percentile_outside_0_to_100_is_refused(pct):
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1, 2, 3], pct)

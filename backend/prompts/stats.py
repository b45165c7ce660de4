"""The statistics stored with a prompt set version: count, spread and histogram of prompt lengths."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from backend.core.stats import percentile


def length_stats(
    lengths: Sequence[float] | np.ndarray, percentiles: Sequence[float] = (50, 90, 95, 99), bins: int = 20
) -> dict[str, Any]:
    """Count, min, max, mean, percentiles (numpy's linear method, keyed like 'p50') and a histogram.

    JSON-ready: plain ints and floats; mean, percentiles and bin edges rounded to 2 decimals; the
    histogram has `bins` counts and bins + 1 edges.
    """
    a = np.asarray(lengths)
    if a.size == 0:
        return {
            "count": 0,
            "min": 0,
            "max": 0,
            "mean": 0.0,
            "percentiles": {},
            "histogram": {"edges": [], "counts": []},
        }
    a = np.sort(a.astype(np.int64) if np.issubdtype(a.dtype, np.integer) else a.astype(np.float64))
    counts, edges = np.histogram(a, bins=bins)
    return {
        "count": int(a.size),
        "min": a[0].item(),
        "max": a[-1].item(),
        "mean": round(float(a.mean()), 2),
        "percentiles": {f"p{p:g}": round(percentile(a, p), 2) for p in percentiles},
        "histogram": {"edges": [round(float(e), 2) for e in edges], "counts": counts.tolist()},
    }

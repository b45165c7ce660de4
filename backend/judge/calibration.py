"""How far a judge version agrees with human labels, and the thresholds that reach a target precision.

scikit-learn computes the confusion table and Cohen's kappa; the bootstrap resamples the label set
(seeded, so a report is reproducible) for 95% intervals of precision and recall of "accept".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_LABELS = 30  # below this, thresholds would be guesses
MIN_SUPPORT = 5  # labels a threshold's side must hold before its precision counts
BOOTSTRAP = 1000


@dataclass(frozen=True)
class Pair:
    score: float | None  # None: the judge's reply had no score (counts as not accepted)
    human: bool


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)


def _interval(values: np.ndarray) -> list[float] | None:
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None
    return [round(float(np.percentile(values, 2.5)), 4), round(float(np.percentile(values, 97.5)), 4)]


def agreement(pairs: list[Pair], threshold: float, *, seed: int = 0) -> dict:
    """Accuracy, kappa, confusion, precision and recall of accept (with bootstrap 95% intervals) for
    'accept at or above threshold'."""
    from sklearn.metrics import cohen_kappa_score, confusion_matrix

    y = np.array([p.human for p in pairs], dtype=bool)
    pred = np.array([p.score is not None and p.score >= threshold for p in pairs], dtype=bool)
    n = len(pairs)
    if n == 0:
        return {
            "threshold": threshold,
            "labels": 0,
            "accuracy": None,
            "kappa": None,
            "precision": None,
            "precision_ci95": None,
            "recall": None,
            "recall_ci95": None,
            "confusion": {"true_accept": 0, "false_accept": 0, "false_reject": 0, "true_reject": 0},
        }
    (tn, fp), (fn, tp) = confusion_matrix(y, pred, labels=[False, True]).tolist()
    kappa = float(cohen_kappa_score(y, pred)) if n and len(set(y) | set(pred)) > 1 else None
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(BOOTSTRAP, n))
    yb, pb = y[idx], pred[idx]
    tpb = (yb & pb).sum(axis=1)
    prec_b, rec_b = _ratio(tpb, pb.sum(axis=1)), _ratio(tpb, yb.sum(axis=1))
    return {
        "threshold": threshold,
        "labels": n,
        "accuracy": round((tp + tn) / n, 4) if n else None,
        "kappa": None if kappa is None or np.isnan(kappa) else round(kappa, 4),
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "precision_ci95": _interval(prec_b),
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
        "recall_ci95": _interval(rec_b),
        "confusion": {"true_accept": tp, "false_accept": fp, "false_reject": fn, "true_reject": tn},
    }


def choose_thresholds(pairs: list[Pair], target: float) -> tuple[float | None, float | None]:
    """The lowest score whose 'accept at or above' reaches the target precision, and the highest whose
    'reject below' is right as often; None where no score does."""
    scored = [(p.score, p.human) for p in pairs if p.score is not None]
    cuts = sorted({score for score, _ in scored})
    accept: float | None = None
    reject: float | None = None
    for t in cuts:
        above = [human for score, human in scored if score >= t]
        if len(above) >= MIN_SUPPORT and sum(above) / len(above) >= target:
            accept = t
            break
    for t in reversed([*cuts, np.inf]):
        below = [not p.human for p in pairs if p.score is None or p.score < t]
        if len(below) >= MIN_SUPPORT and sum(below) / len(below) >= target:
            reject = float(t) if np.isfinite(t) else None
            break
    if accept is not None and reject is not None and reject > accept:
        reject = accept
    return accept, reject


def curve(pairs: list[Pair]) -> list[dict]:
    """For every distinct judge score t: precision and recall of 'accept at or above t' and its coverage
    (the share of labelled attempts accepted there), lowest t first; what the dashboard plots."""
    scored = sorted((p.score, p.human) for p in pairs if p.score is not None)
    if not scored:
        return []
    n, positives = len(pairs), sum(p.human for p in pairs)
    scores = np.array([s for s, _ in scored], dtype=float)
    human = np.array([h for _, h in scored], dtype=bool)
    # suffix sums: attempts and right accepts at or above each position
    above = np.arange(len(scores), 0, -1)
    tp = np.cumsum(human[::-1])[::-1]
    points = []
    for t in np.unique(scores):
        i = int(np.searchsorted(scores, t, side="left"))
        points.append(
            {
                "threshold": float(t),
                "accepted": int(above[i]),
                "precision": round(float(tp[i] / above[i]), 4),
                "recall": round(float(tp[i] / positives), 4) if positives else None,
                "coverage": round(float(above[i] / n), 4),
            }
        )
    return points


def calibrate(pairs: list[Pair], *, pass_score: float, target: float = 0.95, seed: int = 0) -> dict:
    """The report for one judge version against the project's human labels."""
    report: dict = {"target_precision": target, "labels": len(pairs), "min_labels": MIN_LABELS}
    report["curve"] = curve(pairs)
    report["at_pass_score"] = agreement(pairs, pass_score, seed=seed)
    if len(pairs) < MIN_LABELS:
        return {
            **report,
            "status": "too_few_labels",
            "thresholds": None,
            "coverage": None,
            "message": f"{len(pairs)} random human labels (the review's audit sample, imports); "
            f"calibration needs {MIN_LABELS}: {MIN_LABELS - len(pairs)} more. Until then the audit draws "
            "its larger share (review.audit.uncalibrated_share)",
        }
    accept, reject = choose_thresholds(pairs, target)
    if accept is None:
        return {
            **report,
            "status": "target_unreachable",
            "thresholds": None,
            "coverage": None,
            "message": f"no score reaches precision {target} on these labels: more go to review",
        }
    reject = reject if reject is not None else accept
    decided = [p for p in pairs if p.score is not None and (p.score >= accept or p.score < reject)]
    return {
        **report,
        "status": "calibrated",
        "thresholds": {"accept": accept, "reject": reject},
        "at_accept_threshold": agreement(pairs, accept, seed=seed),
        "coverage": round(len(decided) / len(pairs), 4),
        "message": "",
    }

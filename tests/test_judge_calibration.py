"""The judge's reply parsing and rubric rendering, calibration against hand-computed values, and
reviewer agreement (kappa, Krippendorff's alpha) against values worked out by hand."""

from __future__ import annotations

import pytest

from backend.judge.calibration import Pair, agreement, calibrate, choose_thresholds
from backend.judge.prompt import read_reply, render
from backend.reviews.agreement import alpha

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down


@pytest.mark.parametrize(
    ("reply", "score", "how"),
    [
        ('{"score": 4, "rationale": "mostly right"}', 4.0, "json"),
        ('Here you go:\n```json\n{"score": 2, "rationale": "no"}\n```', 2.0, "fenced_json"),
        ('I think {"rating": "5"} fits.', 5.0, "embedded_json"),
        ("Reasoning... Score: 3", 3.0, "labelled"),
        ("**Score:** 1.5 because", 1.5, "labelled"),
        ("I cannot judge this.", None, "none"),
        ('{"score": 9}', None, "json"),  # off the 1..5 scale: no score, never a pass
        ("", None, "none"),
    ],
)
def test_read_reply_scores(reply, score, how):
    r = read_reply(reply, scale="score", lo=1, hi=5)
    assert (r.score, r.how) == (score, how)


def test_read_reply_pass_fail_and_rationale():
    assert read_reply('{"verdict": "pass", "rationale": "ok"}', scale="pass_fail", lo=0, hi=1).score == 1.0
    assert read_reply("Verdict: FAIL", scale="pass_fail", lo=0, hi=1).score == 0.0
    assert read_reply('{"score": 4, "rationale": "why"}', scale="score", lo=1, hi=5).rationale == "why"


def test_render_fills_known_placeholders_only():
    t = 'Q: {question}\nRef: {reference}\nA: {answer}\nReply {"score": <1-5>} {other}'
    out = render(t, question="2+2?", reference=None, reasoning="r", answer="4")
    assert out == 'Q: 2+2?\nRef: (none)\nA: 4\nReply {"score": <1-5>} {other}'


def _pairs() -> list[Pair]:
    # 20 scored 5 (19 right), 10 scored 3 (5 right), 10 scored 1 (none right)
    return (
        [Pair(5, True)] * 19
        + [Pair(5, False)]
        + [Pair(3, True)] * 5
        + [Pair(3, False)] * 5
        + [Pair(1, False)] * 10
    )


def test_agreement_matches_hand_computed_values():
    a = agreement(_pairs(), 5)
    # tp 19, fp 1, fn 5, tn 15; kappa: po .85, pe .6*.5 + .4*.5 = .5 -> (.85-.5)/.5 = .7
    assert a["confusion"] == {"true_accept": 19, "false_accept": 1, "false_reject": 5, "true_reject": 15}
    assert a["accuracy"] == 0.85 and a["precision"] == 0.95 and a["recall"] == round(19 / 24, 4)
    assert a["kappa"] == pytest.approx(0.7)
    lo, hi = a["precision_ci95"]
    assert 0 <= lo <= 0.95 <= hi <= 1
    lo, hi = a["recall_ci95"]
    assert 0 <= lo <= 19 / 24 <= hi <= 1
    assert agreement(_pairs(), 5, seed=3) == agreement(_pairs(), 5, seed=3)  # seeded bootstrap


def test_thresholds_and_coverage_at_target_precision():
    # accept: precision of >=5 is 19/20 = .95; >=3 is 24/30 = .8. reject: all below 3 are wrong (10/10),
    # below 5 only 15/20. Covered: the 30 attempts at 5 or 1; the 3s are the unsure band.
    assert choose_thresholds(_pairs(), 0.95) == (5, 3)
    report = calibrate(_pairs(), pass_score=5, target=0.95)
    assert report["status"] == "calibrated"
    assert report["thresholds"] == {"accept": 5, "reject": 3}
    assert report["coverage"] == 0.75
    assert calibrate(_pairs(), pass_score=5, target=0.99)["status"] == "target_unreachable"


def test_too_few_labels_says_so():
    report = calibrate(_pairs()[:10], pass_score=5)
    assert report["status"] == "too_few_labels" and report["thresholds"] is None
    assert (
        "10 random human labels" in report["message"] and "calibration needs 30: 20 more" in report["message"]
    )


def test_krippendorff_alpha_and_kappa_by_hand():
    # A: 1 1 0 0, B: 1 0 0 0. Coincidences o11=2, o00=4, o01=o10=1; n1=3, n0=5, n=8.
    # alpha = 1 - (2/8) / (2*3*5 / (8*7)) = 1 - 112/240
    overlap = {
        1: {10: True, 20: True},
        2: {10: True, 20: False},
        3: {10: False, 20: False},
        4: {10: False, 20: False},
    }
    assert alpha(overlap, [10, 20]) == pytest.approx(1 - 112 / 240, abs=1e-4)
    from sklearn.metrics import cohen_kappa_score

    assert cohen_kappa_score([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(0.5)  # po .75, pe .5


def test_curve_per_threshold_by_hand():
    from backend.judge.calibration import curve

    # n 40, 24 right. >=1: all 40 (24 right); >=3: 30 (24 right); >=5: 20 (19 right)
    assert curve(_pairs()) == [
        {"threshold": 1.0, "accepted": 40, "precision": 0.6, "recall": 1.0, "coverage": 1.0},
        {"threshold": 3.0, "accepted": 30, "precision": 0.8, "recall": 1.0, "coverage": 0.75},
        {"threshold": 5.0, "accepted": 20, "precision": 0.95, "recall": round(19 / 24, 4), "coverage": 0.5},
    ]
    # an attempt with no score is never accepted: it counts in coverage's and recall's denominators only
    points = curve([Pair(None, True), Pair(2, True), Pair(2, False)])
    assert points == [{"threshold": 2.0, "accepted": 2, "precision": 0.5, "recall": 0.5, "coverage": 0.6667}]
    assert curve([]) == [] and calibrate(_pairs()[:10], pass_score=5)["curve"][-1]["threshold"] == 5.0


def test_the_basis_in_words_counts_random_labels_and_names_the_picked_ones():
    from backend.judge.labels import basis_text, is_random

    assert is_random("audit") and is_random("import") and not is_random("disagreement")
    assert not is_random("sampled_accept")  # the accepted-only sample of older runs: not uniform
    assert basis_text({"audit": 1}) == "figures rest on 1 label from a random audit sample"
    assert basis_text({"import": 12, "judge_unsure": 3, "disagreement": 1}) == (
        "figures rest on 12 labels imported; 1 label from disagreements, 3 labels from an unsure judge "
        "are not counted because they were picked"
    )
    assert basis_text({}) == "figures rest on 0 labels from a random audit sample"
    assert basis_text({"judge_rejected": 1}) == (
        "figures rest on 0 labels from a random audit sample; 1 label from judge rejects is not counted "
        "because it was picked"
    )

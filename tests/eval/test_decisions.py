"""Decisions against the base, checked on samples from known distributions: the intervals
cover the true difference as often as they claim, the test rejects a true null about as often
as alpha and Holm keeps the family-wise error at alpha, and known cases give known answers."""

import math

import numpy as np
import pytest
from scipy.stats import t

from gan.eval.decisions import decide, holm, welch_interval, welch_p


def test_holm_on_known_p_values():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> monotone
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_welch_interval_equals_the_textbook_formula():
    a, b = [3.0, 5.0, 4.0, 6.0], [1.0, 2.0, 2.5, 1.5, 2.0]
    va, vb = np.var(a, ddof=1) / 4, np.var(b, ddof=1) / 5
    df = (va + vb) ** 2 / (va ** 2 / 3 + vb ** 2 / 4)
    half = t.ppf(0.975, df) * math.sqrt(va + vb)
    low, high = welch_interval(a, b)
    assert (low, high) == pytest.approx((2.7 - half, 2.7 + half))  # means 4.5 and 1.8
    assert welch_interval([1.0], b) == (None, None)


def test_welch_p_equals_the_t_distribution_tail_of_the_welch_statistic():
    a, b = [3.0, 5.0, 4.0, 6.0], [1.0, 2.0, 2.5, 1.5, 2.0]
    va, vb = np.var(a, ddof=1) / 4, np.var(b, ddof=1) / 5
    df = (va + vb) ** 2 / (va ** 2 / 3 + vb ** 2 / 4)
    stat = 2.7 / math.sqrt(va + vb)
    assert welch_p(a, b) == pytest.approx(2 * t.sf(stat, df))


def test_constant_seeds_give_a_point_interval():
    d = decide({"base": [3.0] * 5, "x": [10.0] * 5}, "base", higher_is_better=True)["x"]
    assert (d.low, d.high, d.diff) == (7.0, 7.0, 7.0)
    assert d.p == 0.0 and d.verdict == "better"
    same = decide({"base": [3.0] * 5, "x": [3.0] * 5}, "base", True)["x"]
    assert same.p == 1.0 and same.verdict == "undecided"


def test_direction_follows_which_way_is_better():
    values = {"base": [1.0, 1.1, 0.9, 1.0, 1.05], "x": [2.0, 2.1, 1.9, 2.0, 2.05]}
    assert decide(values, "base", higher_is_better=True)["x"].verdict == "better"
    assert decide(values, "base", higher_is_better=False)["x"].verdict == "worse"


def test_intervals_cover_the_true_difference_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    n_sims, hits = 2000, 0
    for _ in range(n_sims):
        a, b = rng.normal(1.0, 1.0, 5), rng.normal(0.0, 2.0, 5)  # true difference 1
        low, high = welch_interval(list(a), list(b))
        hits += low <= 1.0 <= high
    assert 0.93 <= hits / n_sims <= 0.97


def test_welch_rejects_a_true_null_about_alpha_and_finds_a_large_effect():
    rng = np.random.default_rng(1)
    null = [welch_p(list(rng.normal(0, 1, 5)), list(rng.normal(0, 2, 5))) for _ in range(2000)]
    assert 0.03 <= np.mean(np.array(null) < 0.05) <= 0.065
    power = [welch_p(list(rng.normal(3, 1, 5)), list(rng.normal(0, 1, 5))) for _ in range(300)]
    assert np.mean(np.array(power) < 0.05) >= 0.9


def test_holm_keeps_the_family_wise_error_at_alpha():
    rng = np.random.default_rng(2)
    any_false = 0
    for _ in range(300):
        values = {f"v{i}": list(rng.normal(0, 1, 5)) for i in range(6)} | {
            "base": list(rng.normal(0, 1, 5))}
        decisions = decide(values, "base", higher_is_better=True)
        any_false += any(d.verdict != "undecided" for d in decisions.values())
    assert any_false / 300 <= 0.07

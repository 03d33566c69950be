"""Aggregation over seeds, on synthetic per-seed metrics whose mean and std are known, and
the ranking table."""

import pytest

from gan.eval.tables import Stat, aggregate, ranked, ranking_table, versus_base
from tests.seed_metrics import RUNS, run_metrics


def test_mean_and_sample_std_over_seeds():
    agg = aggregate(RUNS, min_share=0.02)
    assert agg["fid"] == Stat(12.0, 2.0, 3)  # (10, 12, 14): mean 12, sample std 2
    assert agg["classes_covered"].mean == pytest.approx(29 / 3)
    bag = agg["class_share"]["bag"]
    assert bag.mean == pytest.approx(0.07)
    assert bag.std == pytest.approx(((0.07 ** 2 + 0.06 ** 2 + 0.13 ** 2) / 2) ** 0.5)
    assert agg["class_share_corrected"]["bag"].mean == pytest.approx(0.035)
    assert agg["seeds"] == [0, 1, 2]
    assert "seed" not in agg and "epoch" not in agg


def test_dropped_counts_the_seeds_below_the_coverage_threshold():
    agg = aggregate(RUNS, min_share=0.02)
    assert agg["dropped_in"]["bag"] == 2  # 0.0 and 0.01 are below 0.02, 0.2 is not
    assert agg["dropped_in"]["trouser"] == 0
    assert aggregate(RUNS, min_share=0.005)["dropped_in"]["bag"] == 1


def test_one_seed_has_no_spread_and_missing_metrics_are_left_out():
    agg = aggregate([run_metrics(0, 10.0, 0.1, label_accuracy=0.8)], min_share=0.02)
    assert agg["fid"] == Stat(10.0, None, 1)
    assert str(agg["fid"]) == "10.000"
    mixed = aggregate([run_metrics(0, 10.0, 0.1, 0.8), run_metrics(1, 11.0, 0.1)], 0.02)
    assert "label_accuracy" not in mixed  # not measured in every seed: not averaged
    with pytest.raises(ValueError, match="at least one run"):
        aggregate([], 0.02)


def test_ranking_orders_by_coverage_then_kl_and_puts_missing_figures_last():
    rows = {"real data": {"modes_covered": 1000, "modes_kl": 0.0},
            "a": {"modes_covered": Stat(300.0, 10.0, 3), "modes_kl": Stat(2.0, 0.1, 3)},
            "b": {"modes_covered": Stat(300.0, 50.0, 3), "modes_kl": Stat(1.5, 0.1, 3)},
            "c": {"modes_covered": Stat(800.0, 5.0, 3), "modes_kl": Stat(3.0, 0.1, 3)},
            "d": {"modes_covered": Stat(900.0, 5.0, 3)}}  # KL not measured in every seed
    assert ranked(rows, stacked=True) == ["d", "c", "b", "a"]
    rows["e"] = {"modes_kl": Stat(0.1, 0.0, 3)}
    assert ranked(rows, stacked=True)[-1] == "e"
    table = ranking_table(rows, {"c": "pack=2"}, stacked=True)
    body = [line for line in table if line.startswith("| ")][1:]
    assert [line.split(" | ")[1] for line in body] == ["d", "c", "b", "a", "e", "real data"]
    assert "| 2 | c | pack=2 | 800.000 ± 5.000 | 3.000 ± 0.100 | - | - |" in table


def test_ranking_says_better_worse_or_undecided_against_the_base():
    def seeds(covered: list[int], kl: list[float]) -> list[dict]:
        return [{"classes_covered": c, "kl_to_uniform": k} for c, k in
                zip(covered, kl, strict=True)]

    runs = {"dcgan": seeds([4, 5, 4, 5, 4], [1.0, 1.1, 0.9, 1.0, 1.05]),
            "good": seeds([10, 10, 10, 10, 10], [0.1, 0.12, 0.09, 0.11, 0.1]),
            "bad": seeds([2, 2, 1, 2, 2], [1.9, 2.0, 2.1, 2.0, 1.95]),
            "same": seeds([5, 4, 4, 5, 5], [1.1, 0.9, 1.0, 1.0, 1.05])}
    decisions = versus_base(runs, "dcgan", stacked=False)
    verdicts = {n: (cov.verdict, kl.verdict) for n, (cov, kl) in decisions.items()}
    assert verdicts == {"good": ("better", "better"), "bad": ("worse", "worse"),
                        "same": ("undecided", "undecided")}
    assert decisions["good"][0].diff == pytest.approx(10 - 4.4)
    assert decisions["good"][0].low < 5.6 < decisions["good"][0].high
    rows = {n: {"classes_covered": Stat.of(
        [float(s["classes_covered"]) for s in r]), "kl_to_uniform": Stat.of(
        [s["kl_to_uniform"] for s in r])} for n, r in runs.items()}
    table = ranking_table(rows, {}, stacked=False, versus_base=decisions)
    assert table[0].endswith("| classes_covered vs base | kl_to_uniform vs base |")
    good = next(line for line in table if line.startswith("| 1 | good |"))
    assert "| better (+5.6 [" in good and "| base | base |" in next(
        line for line in table if "| dcgan |" in line)
    assert versus_base({"dcgan": runs["dcgan"][:1], "x": runs["good"][:1]}, "dcgan",
                       stacked=False) == {}  # one seed: nothing to decide on

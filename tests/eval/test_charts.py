"""The report's charts: the class shares read back from a run's coverage CSV, and each chart
drawn as a PNG of a readable size."""

import pytest
from PIL import Image

from gan import CLASS_NAMES
from gan.eval.charts import (
    bar_chart,
    convergence_chart,
    coverage_chart,
    fid_kl_chart,
    line_style,
    read_curve,
    read_shares,
    share_heatmap,
)
from gan.eval.tables import Stat, aggregate
from gan.stages.evaluate import coverage_csv
from tests.seed_metrics import RUNS, run_metrics


def coverage_file(path, bags: list[tuple[int, float]], steps_per_epoch: int | None = None):
    """A run's coverage CSV: one snapshot per (epoch, share of bags), at epoch times
    STEPS_PER_EPOCH training steps (None: no step recorded)."""
    rows = [(epoch, run_metrics(0, 10.0, bag) | {"fid_snapshot": 10.0, "mean_confidence": 0.9,
                                                  "step": steps_per_epoch and epoch *
                                                  steps_per_epoch})
            for epoch, bag in bags]
    path.write_text(coverage_csv(rows))
    return path


def test_read_shares_gives_each_snapshot_epoch_and_its_class_shares(tmp_path):
    epochs, shares = read_shares(coverage_file(tmp_path / "seed0.csv", [(1, 0.0), (5, 0.2)]))
    assert epochs == [1, 5]
    bag = CLASS_NAMES.index("bag")
    assert [s[bag] for s in shares] == pytest.approx([0.0, 0.2])
    assert [sum(s) for s in shares] == pytest.approx([1.0, 1.0], abs=1e-4)


def test_every_chart_is_drawn(tmp_path):
    agg = aggregate(RUNS, min_share=0.02)
    rows = {"real data": {"fid": 0.5, "classes_covered": 10, "kl_to_uniform": 0.0,
                          "class_share": {c: 0.1 for c in CLASS_NAMES}},
            "dcgan": agg, "pac2": agg | {"fid": Stat(20.0, 1.0, 3)}}
    runs = {v: {s: coverage_file(tmp_path / f"{v}-{s}.csv", [(1, 0.0), (2, 0.1 * s)], 78)
                for s in (0, 1)} for v in ("dcgan", "pac2")}
    bar_chart(rows, 0.02, tmp_path / "class_share.png")
    coverage_chart(rows, tmp_path / "coverage.png")
    fid_kl_chart(rows, False, tmp_path / "fid_kl.png")
    share_heatmap(runs, tmp_path / "share_heatmap.png")
    convergence_chart(runs, False, tmp_path / "convergence.png")
    for name in ("class_share", "coverage", "fid_kl", "share_heatmap", "convergence"):
        assert min(Image.open(tmp_path / f"{name}.png").size) > 300, name


def test_convergence_curves_read_the_step_of_each_snapshot(tmp_path):
    path = coverage_file(tmp_path / "seed0.csv", [(1, 0.0), (2, 0.2), (3, 0.2)], 78)
    steps, values = read_curve(path, ("classes_covered", "kl_to_uniform"))
    assert steps == [78, 156, 234]
    assert [v for row in values for v in row] == pytest.approx([9.0, 0.5, 10.0, 0.3, 10.0, 0.3])
    no_steps = coverage_file(tmp_path / "old.csv", [(1, 0.0)])  # written before steps
    assert read_curve(no_steps, ("classes_covered",)) == ([], [])


def test_every_study_variant_gets_its_own_line_style():
    # the remedies study draws 17 variants in one convergence chart; matplotlib's 10 colours
    # alone would give two variants the same line
    styles = [tuple(line_style(k).values()) for k in range(17)]
    assert len(set(styles)) == 17
    assert line_style(0) == {"color": "C0", "linestyle": "-"}
    assert line_style(12) == {"color": "C2", "linestyle": "--"}

"""The grid's table from per-seed figures: one row per point and variant, mean ± std over
seeds, overrides as columns, ranked as the report ranks; markdown and CSV agree."""

from __future__ import annotations

import csv
import io

import pytest

from gan.grid_table import Grid, csv_text, markdown, rows

GRID = Grid("queue-20261203-090000", [["lr_d=1e-4", "seeds=[0,1]"], ["lr_d=2e-4", "seeds=[0,1]"],
                                      ["lr_d=1e30", "seeds=[0,1]"]])


def figures(covered: float, kl: float, seed: int, variant: str = "dcgan") -> dict:
    return {"variant": variant, "seed": str(seed), "classes_covered": covered,
            "kl_to_uniform": kl, "fid": 50.0 + seed}


def test_rows_rank_points_by_coverage_then_kl_and_mark_points_without_figures():
    found = {0: [figures(6, 0.5, 0), figures(8, 0.3, 1), figures(10, 0.1, 0, "cgan"),
                 figures(10, 0.1, 1, "cgan")],
             1: [figures(7, 0.2, 0), figures(7, 0.4, 1)]}
    keys, table = rows(GRID, found)
    assert keys == ["lr_d", "seeds"]
    order = [(r["lr_d"], r["variant"]) for r in table]
    # dcgan ties on classes at both rates: less KL (2e-4) first
    assert order == [("1e-4", "cgan"), ("2e-4", "dcgan"), ("1e-4", "dcgan"), ("1e30", "-")]
    dcgan = table[2]
    assert dcgan["n_seeds"] == 2 and dcgan["classes_covered"].mean == 7
    assert dcgan["classes_covered"].std == pytest.approx(2 ** 0.5)
    assert table[1]["classes_covered"].mean == 7
    assert table[1]["kl_to_uniform"].mean == pytest.approx(0.3)
    assert table[3]["note"] == "no finished evaluation"

    md = markdown(GRID, keys, table)
    assert "| rank | lr_d | seeds | variant | n_seeds | classes_covered | kl_to_uniform | fid " \
           "| experiment |" in md
    assert "| 3 | 1e-4 | [0,1] | dcgan | 2 | 7.000 ± 1.414 | 0.400 ± 0.141 | 50.500 ± 0.707 " \
           "| queue-20261203-090000-0 |" in md
    assert "| no finished evaluation |" in md
    parsed = list(csv.DictReader(io.StringIO(csv_text(keys, table))))
    assert [r["variant"] for r in parsed] == ["cgan", "dcgan", "dcgan", "-"]
    assert float(parsed[2]["classes_covered_mean"]) == 7
    assert float(parsed[2]["classes_covered_std"]) == pytest.approx(2 ** 0.5)
    assert parsed[0]["classes_covered_std"] == "0.0" and parsed[3]["fid_mean"] == ""

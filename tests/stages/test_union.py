"""`gan union`: a study split over two experiments ranks as the same study run as one; the
experiments must be one study (params, reference, shared variants' evaluations), and a failed
union leaves nothing behind."""

import json
import shutil

import pytest
import yaml

from gan.errors import PipelineError
from gan.stages import report, union
from tests.stages.test_report import write_study

SEEDS = [0, 1, 2]


def rename_variant(root, old, new, fid_shift):
    """In the study at ROOT, variant OLD becomes NEW with FIDs FID_SHIFT higher."""
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["variants"] = {(new if k == old else k): v for k, v in params["variants"].items()}
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for kind in ("eval", "coverage"):
        (root / "metrics" / kind / old).rename(root / "metrics" / kind / new)
    for path in (root / "metrics" / "eval" / new).glob("*.json"):
        run = json.loads(path.read_text())
        path.write_text(json.dumps(run | {"variant": new, "fid": run["fid"] + fid_shift}))


@pytest.fixture
def halves(tmp_path):
    """Two experiments of one study: the base and cgan in A, the base and cgan2 in B."""
    a, b = tmp_path / "a", tmp_path / "b"
    for root in (a, b):
        root.mkdir()
        write_study(root, SEEDS)
    rename_variant(b, "cgan", "cgan2", 5.0)
    return a, b


def test_union_ranks_as_the_whole_study_run_as_one(halves, tmp_path):
    a, b = halves
    whole = tmp_path / "whole"
    shutil.copytree(a, whole)
    params = yaml.safe_load((whole / "params.yaml").read_text())
    params["variants"]["cgan2"] = yaml.safe_load((b / "params.yaml").read_text())[
        "variants"]["cgan2"]
    (whole / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for kind in ("eval", "coverage"):
        shutil.copytree(b / "metrics" / kind / "cgan2", whole / "metrics" / kind / "cgan2")
    report.run(whole / "metrics", whole / "report", whole / "params.yaml", track=False)

    out = tmp_path / "union"
    union.run([a, b], out)
    md = (out / "report" / "report.md").read_text()
    assert md == (whole / "report" / "report.md").read_text()
    assert "| cgan2 | 26.000 ± 1.732 |" in md
    in_a = list(yaml.safe_load((a / "params.yaml").read_text())["variants"])
    assert list(yaml.safe_load((out / "params.yaml").read_text())["variants"]) == [
        *in_a, "cgan2"]  # A's variants, then B's new ones
    assert json.loads((out / union.MARKER).read_text())["seeds"] == SEEDS
    union.run([a, b], out)  # a union's output is replaced by the next one
    assert (out / "report" / "report.md").read_text() == md


def test_a_model_id_may_differ_between_the_experiments(halves, tmp_path):
    a, b = halves
    path = b / "metrics" / "eval" / "dcgan" / "seed1.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {"model_id": "m-other"}))
    union.run([a, b], tmp_path / "union")
    assert (tmp_path / "union" / "report" / "report.md").is_file()


@pytest.mark.parametrize(("break_b", "message"), [
    (lambda b: edit_params(b, lambda p: p.update(seeds=[0, 1])),
     r"params.yaml: `seeds` differs from .*a/params.yaml"),
    (lambda b: edit_params(b, lambda p: p["data"].update(stack=3)),
     r"`data.stack` differs"),
    (lambda b: edit_params(b, lambda p: p["variants"]["dcgan"].update(width=16)),
     r"variant dcgan has another `width` than in an earlier experiment"),
    (lambda b: edit_eval(b, "dcgan", 1, fid=99.0),
     r"dcgan/seed1.json: differs from .*'s evaluation of dcgan seed 1"),
    (lambda b: (b / "metrics" / "eval" / "cgan2" / "seed2.json").unlink(),
     r"cgan2/seed2.json: not found; run `dvc repro evaluate@cgan2-2`"),
    (lambda b: (b / "metrics" / "reference.json").write_text("{}"),
     r"b/metrics/reference.json: differs from .*a/metrics/reference.json"),
])
def test_experiments_that_are_not_one_study_are_refused_and_nothing_is_written(
        halves, tmp_path, break_b, message):
    a, b = halves
    break_b(b)
    with pytest.raises(PipelineError, match=message):
        union.run([a, b], tmp_path / "union")
    assert not (tmp_path / "union").exists()
    assert not list(tmp_path.glob(".union.*"))  # no temporary directory left


def test_an_existing_directory_that_is_not_a_union_is_kept(halves, tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(PipelineError, match="results: exists and is not a union's output"):
        union.run(list(halves), out)
    assert (out / "notes.txt").read_text() == "mine"
    with pytest.raises(PipelineError, match="two or more experiments"):
        union.run([halves[0]], tmp_path / "union")


def edit_params(root, change):
    params = yaml.safe_load((root / "params.yaml").read_text())
    change(params)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def edit_eval(root, variant, seed, **values):
    path = root / "metrics" / "eval" / variant / f"seed{seed}.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | values))

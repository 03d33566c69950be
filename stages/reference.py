"""DVC stage `reference`: test-set statistics in the classifier's feature space, computed once."""

from gan.eval_run import run_reference
from gan.runtime import run_stage

if __name__ == "__main__":
    run_stage(run_reference)

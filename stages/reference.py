"""DVC stage `reference`: test-set statistics in the classifier's feature space, computed once."""

from gan.runtime import run_stage
from gan.stages.reference import run

if __name__ == "__main__":
    run_stage(run)

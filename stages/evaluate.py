"""DVC stage `evaluate@<variant>`: FID, class coverage and PRDC of one variant."""

from gan.eval_run import run_evaluate
from gan.runtime import run_stage

if __name__ == "__main__":
    run_stage(run_evaluate)

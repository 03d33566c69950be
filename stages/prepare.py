"""DVC stage `prepare`: parse IDX, split train/validation/test, write one artifact."""

from gan.runtime import run_stage
from gan.stages.prepare import run

if __name__ == "__main__":
    run_stage(run)

"""DVC stage `prepare`: parse IDX, split train/validation/test, write one artifact."""

from gan.data import run_prepare
from gan.runtime import run_stage

if __name__ == "__main__":
    run_stage(run_prepare)

"""DVC stage `sample@<variant>`: fixed-noise grid and training animation of one variant."""

from gan.runtime import run_stage
from gan.sample import run_sample

if __name__ == "__main__":
    run_stage(run_sample)

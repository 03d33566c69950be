"""DVC stage `sample@<variant>`: fixed-noise grid and training animation of one variant."""

from gan.runtime import run_stage
from gan.stages.sample import run

if __name__ == "__main__":
    run_stage(run)

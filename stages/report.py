"""DVC stage `report`: the mode-dropping comparison across variants."""

from gan.runtime import run_stage
from gan.stages.report import run

if __name__ == "__main__":
    run_stage(run)

"""DVC stage `report`: the mode-dropping comparison across variants."""

from gan.report import run_report
from gan.runtime import run_stage

if __name__ == "__main__":
    run_stage(run_report)

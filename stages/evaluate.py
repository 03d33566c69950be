"""DVC stage `evaluate@<variant>`: score one variant's final generator and its snapshots."""

from gan.runtime import run_stage
from gan.stages.evaluate import run

if __name__ == "__main__":
    run_stage(run)

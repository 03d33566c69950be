"""DVC stage `train_classifier`: the CNN through which FID and coverage are measured."""

from gan.runtime import run_stage
from gan.stages.train_classifier import run

if __name__ == "__main__":
    run_stage(run)

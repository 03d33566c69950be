"""DVC stage `train_classifier`: the CNN through which FID and coverage are measured."""

from gan.classify import run_train_classifier
from gan.runtime import run_stage

if __name__ == "__main__":
    run_stage(run_train_classifier)

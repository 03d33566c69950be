"""DVC stage `download`: fetch the four Fashion-MNIST files, MD5-verified."""

from gan.runtime import run_stage
from gan.stages.download import run

if __name__ == "__main__":
    run_stage(run)

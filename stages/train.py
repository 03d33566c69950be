"""DVC stage `train@<variant>`: train one GAN variant (resumes after an interruption)."""

from gan.runtime import run_stage
from gan.stages.train import run

if __name__ == "__main__":
    run_stage(run)

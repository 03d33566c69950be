"""DVC stage `train@<variant>`: train one GAN variant (resumes after an interruption)."""

from gan.runtime import run_stage
from gan.train_run import run_train_gan

if __name__ == "__main__":
    run_stage(run_train_gan)

"""DVC stage `download`: fetch the four Fashion-MNIST files, MD5-verified."""

from gan.download import run_download
from gan.runtime import run_stage

if __name__ == "__main__":
    run_stage(run_download)

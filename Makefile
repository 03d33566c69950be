# Two commands on a fresh machine: `make run` (the pipeline) and `make test` (the test suite).
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)

# A quick CPU run of the whole pipeline (under 15 minutes on 2 cores), as a DVC experiment.
QUICK_PARAMS := -S data.train_size=10000 -S data.test_size=5000 -S classifier.epochs=3 \
	-S epochs=5 -S gan.grid_every=1 -S 'seeds=[0,1]'
QUICK_DEVICE ?= auto
# The same on Stacked Fashion-MNIST (three images as channels, 1,000 modes), over three seeds:
# the smallest study whose mean ± std means something (README: results on 1,000 modes).
QUICK_STACKED_PARAMS := $(QUICK_PARAMS) -S data.stack=3 -S 'seeds=[0,1,2]'
# The remedies study at what this 2-core CPU allows (README: results of the remedies study):
# 16 variants x 3 seeds, 2 epochs of 10,000 images, FID and recall over 2,000 samples, modes
# over 10,000.
QUICK_REMEDIES_PARAMS := -S data.train_size=10000 -S data.test_size=5000 -S classifier.epochs=3 \
	-S epochs=2 -S 'seeds=[0,1,2]' -S eval.n_samples=2000 -S eval.snapshot_n_samples=1000 \
	-S eval.mode_n_samples=10000
# The remedies study at a budget where training has settled (README: where training settles):
# networks 16 wide (a quarter of the default 64, so a run takes minutes on this CPU), batches
# of 64, five seeds; FID over 2,000 samples, modes over 10,000. 10 classes: 12 epochs of
# 20,000 images = 3,744 steps (the pilot's coverage stops rising by about 3,500), a snapshot
# every 2 epochs for the convergence curves. 1,000 modes: 8 epochs = 2,496 steps (the pilot's
# curves flatten by about 1,900), the final evaluation only (a snapshot's mode count over
# 10,000 stacked samples doubles a training's time). Hours on 2 cores.
SETTLE_REMEDIES_PARAMS := --width 16 --set data.train_size=20000 --set data.test_size=5000 \
	--set classifier.epochs=3 --set batch_size=64 --set 'seeds=[0,1,2,3,4]' \
	--set eval.n_samples=2000 --set eval.snapshot_n_samples=1000 --set eval.mode_n_samples=10000
SETTLE_10_CLASSES := --stack 1 --set epochs=12 --set eval.eval_every=2
SETTLE_1000_MODES := --stack 3 --set epochs=8 --set eval.eval_every=0

# The write-ups' schedule as a preset (README: the study): each variant for as many epochs as
# its write-up trained (MLP GAN 50, DCGAN with and without BN in D 100, conditional 400), the
# conditional ones with D at 1e-3 for 100 epochs, then 1e-4. Run with `make writeups`.
CGAN_RECIPE = -S variants.$(1).epochs=400 -S variants.$(1).lr_d=1e-3 \
	-S 'variants.$(1).lr_d_milestones={100: 1e-4}'
WRITEUPS_PARAMS := -S variants.gan.epochs=50 -S variants.dcgan.epochs=100 \
	-S variants.dcgan_bn.epochs=100 $(call CGAN_RECIPE,cgan) $(call CGAN_RECIPE,cgan_proj)

# A local MLflow tracking server for several machines (see README: running many experiments).
MLFLOW_HOST ?= 127.0.0.1
MLFLOW_PORT ?= 5000
MLFLOW_BACKEND ?= sqlite:///$(CURDIR)/mlflow-server/mlflow.db
MLFLOW_ARTIFACTS ?= $(CURDIR)/mlflow-server/artifacts

.PHONY: venv run quick quick-stacked writeups remedies quick-remedies settle-remedies test lint gpu-check \
	mlflow-server

$(VENV)/.installed: requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

venv: $(VENV)/.installed

run: venv
	dvc repro

quick: venv
	dvc exp run --name quick-$(QUICK_DEVICE)-$$(date +%s) $(QUICK_PARAMS) -S device=$(QUICK_DEVICE)

quick-stacked: venv
	dvc exp run --name quick-stacked-$(QUICK_DEVICE)-$$(date +%s) $(QUICK_STACKED_PARAMS) \
		-S device=$(QUICK_DEVICE)

writeups: venv
	dvc exp run --name writeups-$$(date +%s) $(WRITEUPS_PARAMS)

# The remedies study (README: remedies): the dcgan base and one variant per remedy, over the
# seeds, on 10 classes and on Stacked Fashion-MNIST; quick-remedies at the CPU budget.
remedies: venv
	gan remedies
quick-remedies: venv
	gan remedies $(QUICK_REMEDIES_PARAMS)
settle-remedies: venv
	gan remedies $(SETTLE_10_CLASSES) $(SETTLE_REMEDIES_PARAMS)
	gan remedies $(SETTLE_1000_MODES) $(SETTLE_REMEDIES_PARAMS)

# Two workers, one file each at a time (module fixtures stay in one process); `pytest` alone
# runs the same suite in one process.
test: venv
	pytest -n 2 --dist loadfile

# The first command on a CUDA machine: device tests (kill -9 and resume equal to an
# uninterrupted run, checkpoints loaded across devices) on CPU and CUDA, then the quick pipeline
# on CUDA.
gpu-check: venv
	@python -c "import sys, torch; torch.cuda.is_available() or sys.exit('gpu-check: torch \
	sees no CUDA GPU (torch.cuda.is_available() is False); check the driver and CUDA_VISIBLE_DEVICES')"
	pytest -m device -rs
	$(MAKE) quick QUICK_DEVICE=cuda

mlflow-server: venv
	mkdir -p $(CURDIR)/mlflow-server
	mlflow server --backend-store-uri $(MLFLOW_BACKEND) \
		--artifacts-destination $(MLFLOW_ARTIFACTS) --host $(MLFLOW_HOST) --port $(MLFLOW_PORT)

lint: venv
	ruff check src stages tests benchmarks

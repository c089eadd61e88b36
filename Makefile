# make install   torch first (the CPU wheel here; your CUDA wheel on a GPU box), then sftlab editable
# make test      the fast tier (what CI runs); make test-slow / test-gpu for the heavier tiers
PYTHON ?= python
TORCH_VERSION ?= 2.13.0
PYTEST = $(PYTHON) -m pytest
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1

.PHONY: install test test-slow test-gpu gpu-check test-all train sweep report ui lint format clean bench-eval bench estimate screenshots

install:
	$(PYTHON) scripts/install_torch.py "$(TORCH_VERSION)"  # says which build; refuses a CPU torch on a GPU box and vice versa
	$(PYTHON) -m pip install -e ".[dev]"

test:  # --durations: the slowest tests in every log (CI included), to see where the fast tier's time goes
	$(PYTEST) -m "not slow and not gpu" --durations=25

test-slow:
	$(PYTEST) -m "slow and not gpu"

test-gpu:
	$(PYTEST) -m gpu

# The CUDA path in one table (gpu tests, 4-bit training, eval, contrastive search, reload); exits 2 without CUDA
gpu-check:
	$(PYTHON) scripts/gpu_check.py $(ARGS)

test-all:
	$(PYTEST)

# The embedded default: tiny LLaMA, bundled Spanish data, NF4 QLoRA, ./mlflow.db
train:
	$(PYTHON) train.py $(ARGS)

# A sweep (-m): one MLflow parent run, a child per job; e.g. make sweep ARGS="experiment=study_tiny"
sweep:
	$(PYTHON) train.py -m $(ARGS)

# Tables + plots of the latest sweep of an experiment: make report EXPERIMENT=study_tiny
EXPERIMENT ?= sftlab
report:
	$(PYTHON) -m sftlab report logger.experiment_name=$(EXPERIMENT) sweep=latest

# Evaluation throughput (questions/s) of the eval stage vs the lm_eval command line, and the batching speed-up
bench-eval:
	$(PYTHON) benchmarks/eval_throughput.py $(ARGS)

# sftlab vs plain TRL (framework overhead) and packing on vs off; ARGS="bench.cuda=true" on a GPU
bench:
	$(PYTHON) -m sftlab bench $(ARGS)

# Peak-memory breakdown without loading weights; e.g. ARGS="model=llama2_7b_chat,mistral_7b,falcon_7b preflight.device=cuda preflight.device_memory_gb=16"
estimate:
	$(PYTHON) -m sftlab estimate $(ARGS)

ui:
	$(PYTHON) -m mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db --host 127.0.0.1 --port 5000

screenshots:  # docs/ui/*.png from a fresh store (needs the docs extra and a Chromium)
	$(PYTHON) docs/make_screenshots.py

lint:
	$(PYTHON) -m ruff check src tests benchmarks scripts *.py
	$(PYTHON) -m ruff format --check src tests benchmarks scripts *.py
	lint-imports

format:
	$(PYTHON) -m ruff check --fix src tests benchmarks *.py
	$(PYTHON) -m ruff format src tests benchmarks *.py

clean:
	rm -rf outputs multirun reports mlruns mlartifacts .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

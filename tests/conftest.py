"""Shared test fixtures: offline mode, one tiny-model cache and one MLflow store per session.

Nothing here downloads: the hub is forced offline, tiny models are built from the shipped
configs into a session cache, and MLflow uses a real SQLite store (created once, because a
fresh store spends seconds on migrations).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "conf"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collection_modifyitems(config, items):
    """Skip ``gpu`` tests on machines without CUDA."""
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """Session cache for tiny models (also exported as SFTLAB_CACHE for subprocesses)."""
    path = tmp_path_factory.mktemp("sftlab-cache")
    os.environ["SFTLAB_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def mlflow_uri(tmp_path_factory) -> str:
    """A real SQLite MLflow store shared by the whole session."""
    db = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    return f"sqlite:///{db}"


@pytest.fixture
def compose(cache_dir, tmp_path):
    """Compose ``conf/train.yaml`` with overrides, as ``python train.py`` would (no Hydra run)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from sftlab.config.registry import register_configs

    register_configs()

    def _compose(*overrides: str):
        base = [
            f"paths.cache_dir={cache_dir}",
            f"paths.output_dir={tmp_path / 'out'}",
            f"logger.tracking_uri=sqlite:///{tmp_path / 'unused-mlflow.db'}",
        ]
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return hydra_compose(config_name="train", overrides=base + list(overrides))

    return _compose


@pytest.fixture
def train_cli(cache_dir, mlflow_uri, tmp_path):
    """Run ``python train.py`` in a subprocess against the session store; returns the result."""

    def _run(*overrides: str, timeout: int = 600, tracking_uri: str | None = None, extra_env=None):
        cmd = [
            sys.executable,
            str(ROOT / "train.py"),
            f"logger.tracking_uri={tracking_uri or mlflow_uri}",
            f"paths.cache_dir={cache_dir}",
            f"hydra.run.dir={tmp_path / 'run'}",
            *overrides,
        ]
        env = {**os.environ, **(extra_env or {})}
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)

    return _run


@pytest.fixture
def mlflow_client(mlflow_uri):
    """An MlflowClient on the session store."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=mlflow_uri)


@pytest.fixture
def runs_of(mlflow_client):
    """``runs_of(experiment_name)``: all runs of an experiment in the session store, newest first."""

    def _runs(experiment_name: str):
        exp = mlflow_client.get_experiment_by_name(experiment_name)
        if exp is None:
            return []
        return mlflow_client.search_runs(
            [exp.experiment_id], order_by=["attributes.start_time DESC"], max_results=1000
        )

    return _runs


# ---- one trained tiny run, shared by every test that reads a finished training run ----
#
# Each `python train.py` pays ~30 s of imports before it trains, so the tests that only read what a
# finished run recorded (the MLflow record, the UI view, the data-mix metrics, the model card,
# chat/merge/export/registry) share this one run instead of training their own. The overrides are
# what those tests need between them: the two-source mix (data metrics), a bf16 request on a CPU
# without it (the fallback note), a registered model, short generations for chat.
SHARED_EXPERIMENT = "shared-run"
SHARED_REGISTERED = "sftlab-tiny-es"
SHARED_MAX_NEW_TOKENS = 12
SHARED_OVERRIDES = (
    "dataset=alpaca_dolly_es_sample",
    "lora.r=4",
    "training.max_steps=6",
    "training.logging_steps=2",
    "training.bf16=true",
    "eval.limit=8",
    "eval.every_n_steps=2",  # Belebele scored at steps 2 and 4 too (tests/evaluation/test_during_training.py)
    f"generation.max_new_tokens={SHARED_MAX_NEW_TOKENS}",
    f"logger.register_model={SHARED_REGISTERED}",
)


@pytest.fixture(scope="session")
def trained_tiny(cache_dir, tmp_path_factory):
    """One real ``python train.py`` (tiny LLaMA, NF4, 6 steps) in a store of its own.

    Returns a namespace: ``store`` (tracking URI), ``client``, ``run`` (the training run as it was
    when training ended), ``stdout``, ``adapter`` (the adapter folder), ``experiment``, ``overrides``.
    Tests must not assume they are alone in the experiment: filter on ``sftlab.stage``.
    """
    from types import SimpleNamespace

    from mlflow.tracking import MlflowClient

    store = f"sqlite:///{tmp_path_factory.mktemp('mlflow-shared') / 'mlflow.db'}"
    run_dir = tmp_path_factory.mktemp("shared-run")
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        f"logger.tracking_uri={store}",
        f"logger.experiment_name={SHARED_EXPERIMENT}",
        f"paths.cache_dir={cache_dir}",
        f"hydra.run.dir={run_dir}",
        *SHARED_OVERRIDES,
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = MlflowClient(tracking_uri=store)
    exp = client.get_experiment_by_name(SHARED_EXPERIMENT)
    (run,) = client.search_runs([exp.experiment_id], filter_string="tags.`sftlab.stage` = 'train'")
    return SimpleNamespace(
        store=store,
        client=client,
        run=run,
        stdout=proc.stdout,
        adapter=run_dir / "adapter",
        experiment=SHARED_EXPERIMENT,
        overrides=SHARED_OVERRIDES,
    )

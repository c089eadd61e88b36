"""After training, end to end through the real commands, on the session's one trained tiny adapter
(tests/conftest.py: trained_tiny): ``python train.py logger.register_model=...`` writes a model card that names its run and registers a
version that MLflow loads; a one-shot ``sftlab chat`` answers exactly what ``generate`` answers;
``sftlab merge`` writes a model within the stated tolerance; ``sftlab export`` prints the vLLM
command and fails in one line offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHARED_EXPERIMENT as EXP
from conftest import SHARED_MAX_NEW_TOKENS as MAX_NEW
from conftest import SHARED_REGISTERED as REGISTERED

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "¿Cuál es la capital de Ecuador?"


def _sftlab(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sftlab", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env=dict(os.environ),
    )  # fmt: skip


@pytest.fixture(scope="module")
def store(trained_tiny) -> str:
    """The shared run's own store (its registry holds that run's version only)."""
    return trained_tiny.store


@pytest.fixture(scope="module")
def trained(trained_tiny):
    """The session's shared `python train.py` (NF4, r=4, registered as REGISTERED); (run id, adapter)."""
    assert f"registered: models:/{REGISTERED}/1" in trained_tiny.stdout, trained_tiny.stdout[-2000:]
    return trained_tiny.run.info.run_id, trained_tiny.adapter


@pytest.fixture(scope="module")
def generated(cache_dir, trained):
    """What the generation code answers (generate_answers, the judge's path) for PROMPT."""
    from omegaconf import OmegaConf

    from sftlab.config.compose import compose
    from sftlab.generate.methods import generate_answers
    from sftlab.generate.suites import SuitePrompt
    from sftlab.model.pretrained import load_for_inference

    _, adapter = trained
    cfg = compose(
        "chat",
        [f"paths.cache_dir={cache_dir}", "paths.output_dir=unused", f"generation.max_new_tokens={MAX_NEW}"],
    )
    model, tok = load_for_inference(cfg.model, cfg.quantization, str(adapter))
    gen = OmegaConf.merge(cfg.generation, {"num_attempts": 1})
    (row,) = generate_answers(model, tok, [SuitePrompt("s", "p", "c", [PROMPT], [None])], gen, cfg.model)
    assert row["new_tokens"] > 0
    return row["answer"]


def test_model_card_names_the_run_and_has_no_placeholder(trained, store):
    from huggingface_hub import ModelCard
    from mlflow.tracking import MlflowClient

    run_id, adapter = trained
    text = (adapter / "README.md").read_text()
    card = ModelCard(text)
    assert card.data.library_name == "peft" and card.data.language == ["es"] and "qlora" in card.data.tags
    assert run_id in text and f"experiment `{EXP}`" in text
    assert "| acc | 0.250 |" in text or "| acc |" in text  # Belebele with and without the adapter
    assert "Data hash:" in text and "vllm serve" in text and "--max-lora-rank 8" in text
    assert "[More Information Needed]" not in text and "{{" not in text
    assert json.loads((adapter / "sftlab_model.json").read_text())["run_id"] == run_id
    client = MlflowClient(tracking_uri=store)
    logged = Path(client.download_artifacts(run_id, "adapter/README.md", str(adapter.parent / "dl")))
    assert logged.read_text() == text  # the run's adapter artifact carries the card, not peft's template


def test_registry_holds_a_version_linked_to_the_run(trained, store):
    import mlflow
    from mlflow.tracking import MlflowClient

    run_id, _ = trained
    client = MlflowClient(tracking_uri=store)
    (version,) = client.search_model_versions(f"name='{REGISTERED}'")
    assert str(version.version) == "1" and version.run_id == run_id and version.status == "READY"
    assert version.tags["sftlab.training_run_id"] == run_id and run_id in version.description
    assert client.get_run(run_id).data.tags["sftlab.registered_model"] == f"models:/{REGISTERED}/1"
    mlflow.set_tracking_uri(store)
    info = mlflow.models.get_model_info(f"models:/{REGISTERED}/1")
    assert info.signature.inputs.input_names() == ["prompt"] and info.signature.outputs.input_names() == [
        "answer"
    ]
    assert info.signature.params.params[0].name == "max_new_tokens"
    assert info.saved_input_example_info is not None and "python_function" in info.flavors


def test_one_shot_chat_equals_generate(trained, store, cache_dir, generated, tmp_path):
    """`sftlab chat adapter=<run id> chat.prompt=...`: stdout is exactly generate's answer."""
    run_id, _ = trained
    proc = _sftlab(
        "chat", f"adapter={run_id}", f"chat.prompt={PROMPT}", f"generation.max_new_tokens={MAX_NEW}",
        f"logger.tracking_uri={store}", f"paths.cache_dir={cache_dir}", f"hydra.run.dir={tmp_path}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == generated + "\n"
    (turn,) = [json.loads(x) for x in (tmp_path / "transcript.jsonl").read_text().splitlines()]
    assert turn["answer"] == generated and turn["prompt"] == f"[INST] {PROMPT} [/INST]"


def test_registered_model_loads_and_answers_like_chat(trained, store, generated):
    """What `mlflow models serve` loads: the pyfunc model from the registry, same answer."""
    import mlflow
    import pandas as pd

    mlflow.set_tracking_uri(store)
    model = mlflow.pyfunc.load_model(f"models:/{REGISTERED}/1")
    out = model.predict(pd.DataFrame({"prompt": [PROMPT]}), params={"max_new_tokens": MAX_NEW})
    assert out["answer"].tolist() == [generated]


def test_merge_of_the_4bit_trained_adapter_is_within_tolerance(trained, store, cache_dir, tmp_path, capsys):
    from mlflow.tracking import MlflowClient

    from sftlab.config.compose import compose
    from sftlab.generate.handoff import merge_main

    run_id, adapter = trained
    out = tmp_path / "merged"
    cfg = compose("merge", [
        f"adapter={adapter}", f"out={out}", f"logger.tracking_uri={store}", f"logger.experiment_name={EXP}",
        f"paths.cache_dir={cache_dir}", f"paths.output_dir={tmp_path / 'job'}",
    ])  # fmt: skip
    assert merge_main(cfg) == str(out)
    record = json.loads((out / "sftlab_merge.json").read_text())
    check = record["check"]
    assert record["trained_quantization"] == "nf4" and check["dtype"] == "float32"
    assert check["max_abs_logit_diff"] <= check["tolerance"] == 1e-3
    assert f"max |logit diff| {check['max_abs_logit_diff']:.3g}" in capsys.readouterr().out
    card = (out / "README.md").read_text()
    assert run_id in card and "## Merge" in card and "library_name: transformers" in card
    client = MlflowClient(tracking_uri=store)
    (merge_run,) = client.search_runs(
        [client.get_experiment_by_name(EXP).experiment_id], filter_string="tags.`sftlab.stage` = 'merge'"
    )
    assert merge_run.data.tags["sftlab.adapter_run_id"] == run_id and merge_run.info.status == "FINISHED"
    assert merge_run.data.metrics["merge/max_abs_logit_diff"] == pytest.approx(check["max_abs_logit_diff"])


def test_export_prints_the_vllm_command_and_fails_offline_in_one_line(trained, cache_dir, tmp_path, capsys):
    from sftlab.config.compose import compose
    from sftlab.config.errors import ConfigError
    from sftlab.track.export import main

    run_id, adapter = trained
    elsewhere = tmp_path / "mlflow.db"  # the command's default store is not the training's:
    cfg = compose("export", [  # the run is found through the store the adapter folder recorded
        f"adapter={adapter}", "hub.repo_id=someone/tiny-es", f"logger.tracking_uri=sqlite:///{elsewhere}",
        f"paths.cache_dir={cache_dir}", f"paths.output_dir={tmp_path}",
    ])  # fmt: skip
    with pytest.raises(ConfigError, match=r"^hub.repo_id: offline \(HF_HUB_OFFLINE=1\), cannot push") as err:
        main(cfg)
    assert "\n" not in str(err.value)
    summary = capsys.readouterr().out
    assert f"MLflow run: {run_id}" in summary and not elsewhere.exists()  # no empty store left behind
    assert (
        "vllm serve " in summary
        and "--enable-lora --lora-modules tiny-es=someone/tiny-es --max-lora-rank 8" in summary
    )


@pytest.mark.slow
def test_mlflow_models_serve_answers_over_http(trained, store, generated):
    """`mlflow models serve -m models:/<name>/1 --env-manager local` serves the registered version."""
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{REGISTERED}/1",
           "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]  # fmt: skip
    env = {**os.environ, "MLFLOW_TRACKING_URI": store}
    # Its own process group: the server's workers are stopped with it.
    server = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(1)
        body = {
            "dataframe_split": {"columns": ["prompt"], "data": [[PROMPT]]},
            "params": {"max_new_tokens": MAX_NEW},
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            json.dumps(body).encode(),
            {"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as r:
            assert json.loads(r.read())["predictions"] == [{"answer": generated}]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

"""Every bad input gives a clear error naming what to fix, a non-zero exit, and no RUNNING run."""

from __future__ import annotations

import socket

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _assert_no_running(runs_of, exp):
    assert all(r.info.status != "RUNNING" for r in runs_of(exp))


@pytest.mark.parametrize(
    "overrides, expected",
    [
        # Schema (compose time): unknown key, wrong type, unknown group option.
        (["lora.rank=8"], "lora.rank"),
        (["lora.r=eight"], "lora.r"),
        (["model=gpt5"], "model=gpt5: no such option"),
    ],
)
def test_schema_errors(train_cli, overrides, expected):
    proc = train_cli(*overrides)
    assert proc.returncode == 2  # a user error, caught before Hydra starts (was Hydra's exit 1)
    assert expected in proc.stderr


@pytest.mark.parametrize(
    "overrides, expected",
    [
        (
            ["lora.target_modules=[query_key_value,dense]"],
            "error: lora.target_modules: ['query_key_value', 'dense'] not in tiny_llama",
        ),
    ],
)
def test_validation_errors_are_one_line(train_cli, runs_of, overrides, expected):
    exp = "bad-inputs"
    proc = train_cli(f"logger.experiment_name={exp}", *overrides)
    assert proc.returncode == 2, proc.stderr[-2000:]
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and error_lines[0].startswith(expected), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    failed = [r for r in runs_of(exp) if r.info.status == "FAILED"]
    assert failed and failed[0].data.tags["error"]
    _assert_no_running(runs_of, exp)


def test_missing_data_file_opens_no_run(train_cli, runs_of):
    """A local data file is checked before Hydra starts: one line, exit 2, no FAILED run."""
    exp = "bad-data-file"
    proc = train_cli(f"logger.experiment_name={exp}", "dataset.sources.0.path=/nonexistent/data.jsonl")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().startswith("error: dataset file not found: /nonexistent/data.jsonl")
    assert runs_of(exp) == []


def test_value_errors_open_no_run(train_cli, runs_of):
    """A value knowable from the config fails before any MLflow run opens (no FAILED run per typo)."""
    exp = "bad-values"
    proc = train_cli(f"logger.experiment_name={exp}", "quantization=int8", "quantization.load_in_4bit=true")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip() == (
        "error: quantization: load_in_4bit and load_in_8bit are both true; "
        "choose one (quantization=nf4 or quantization=int8)"
    )  # printed once
    assert runs_of(exp) == []


def test_lora_error_lists_the_available_modules(train_cli):
    proc = train_cli("model=tiny_falcon", "lora.target_modules=[q_proj]", "logger=none")
    assert proc.returncode == 2
    assert "query_key_value" in proc.stderr and "dense_h_to_4h" in proc.stderr


@pytest.mark.parametrize(
    "content, expected",
    [
        ("", "no usable records"),
        ('{"instruction": "hola", "input": "", "output": "adiós"}\n{not json\n', ":2: not valid JSON"),
        ('{"question": "hola", "answer": "adiós"}\n', "lack field(s) ['instruction', 'output']"),
    ],
)
def test_bad_data_files(train_cli, runs_of, tmp_path, content, expected):
    exp = "bad-data"
    path = tmp_path / "data.jsonl"
    path.write_text(content, encoding="utf-8")
    proc = train_cli(f"logger.experiment_name={exp}", f"dataset.sources.0.path={path}")
    assert proc.returncode == 2
    assert expected in proc.stderr and str(path) in proc.stderr, proc.stderr[-2000:]
    _assert_no_running(runs_of, exp)


def test_unreachable_tracking_server_fails_fast(train_cli):
    uri = f"http://127.0.0.1:{_free_port()}"
    proc = train_cli(tracking_uri=uri)
    assert proc.returncode == 2
    assert f"error: logger.tracking_uri: MLflow server {uri} not reachable" in proc.stderr
    assert "Loading tiny_llama" not in proc.stdout + proc.stderr  # nothing was loaded

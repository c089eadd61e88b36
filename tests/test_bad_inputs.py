"""Every bad input gives a clear error naming what to fix, a non-zero exit, and no RUNNING run.

Errors caught before Hydra starts run in-process through ``sftlab.cli.main`` (the code path of
``python train.py``; a subprocess would spend its seconds on imports). The in-job path, where the
run is opened and then marked FAILED, keeps one real ``python train.py`` below.
"""

from __future__ import annotations

import socket
import sys

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _assert_no_running(runs_of, exp):
    assert all(r.info.status != "RUNNING" for r in runs_of(exp))


@pytest.fixture
def train_in_process(cache_dir, mlflow_uri, monkeypatch, tmp_path, capsys):
    """``python train.py <overrides>`` in this process against the session store; (code, stderr).

    The training job is replaced by one that fails the test: these inputs must stop before it.
    """
    from sftlab import cli

    def _missed(cfg):
        raise AssertionError("a bad input reached the training job")

    monkeypatch.setitem(cli._TASKS, "train", _missed)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.chdir(tmp_path)

    def _run(*overrides: str, tracking_uri: str | None = None):
        args = [f"logger.tracking_uri={tracking_uri or mlflow_uri}", f"paths.cache_dir={cache_dir}"]
        try:
            code = cli.main(["train", *args, *overrides])
        except SystemExit as e:
            code = e.code
        return code, capsys.readouterr().err

    return _run


@pytest.mark.parametrize(
    "overrides, expected",
    [
        # Schema (compose time): unknown key, wrong type, unknown group option.
        (["lora.rank=8"], "lora.rank"),
        (["lora.r=eight"], "lora.r"),
        (["model=gpt5"], "model=gpt5: no such option"),
    ],
)
def test_schema_errors(train_in_process, overrides, expected):
    code, stderr = train_in_process(*overrides)
    assert code == 2  # a user error, caught before Hydra starts (was Hydra's exit 1)
    assert expected in stderr


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


def test_missing_data_file_opens_no_run(train_in_process, runs_of):
    """A local data file is checked before Hydra starts: one line, exit 2, no FAILED run."""
    exp = "bad-data-file"
    code, stderr = train_in_process(
        f"logger.experiment_name={exp}", "dataset.sources.0.path=/nonexistent/data.jsonl"
    )
    assert code == 2, stderr[-2000:]
    assert stderr.strip().startswith("error: dataset file not found: /nonexistent/data.jsonl")
    assert runs_of(exp) == []


def test_value_errors_open_no_run(train_in_process, runs_of):
    """A value knowable from the config fails before any MLflow run opens (no FAILED run per typo)."""
    exp = "bad-values"
    code, stderr = train_in_process(
        f"logger.experiment_name={exp}", "quantization=int8", "quantization.load_in_4bit=true"
    )
    assert code == 2, stderr[-2000:]
    assert stderr.strip() == (
        "error: quantization: load_in_4bit and load_in_8bit are both true; "
        "choose one (quantization=nf4 or quantization=int8)"
    )  # printed once
    assert runs_of(exp) == []


def test_lora_error_lists_the_available_modules(compose):
    """The job's check (validation.validate, run before weights load; its exit path is tested above)."""
    from sftlab.config.errors import ConfigError
    from sftlab.validation import validate

    with pytest.raises(ConfigError) as err:
        validate(compose("model=tiny_falcon", "lora.target_modules=[q_proj]", "logger=none"))
    assert "query_key_value" in str(err.value) and "dense_h_to_4h" in str(err.value)


@pytest.mark.parametrize(
    "content, expected",
    [
        ("", "no usable records"),
        ('{"instruction": "hola", "input": "", "output": "adiós"}\n{not json\n', ":2: not valid JSON"),
        ('{"question": "hola", "answer": "adiós"}\n', "lack field(s) ['instruction', 'output']"),
    ],
)
def test_bad_data_files(train_in_process, runs_of, tmp_path, content, expected):
    exp = "bad-data"
    path = tmp_path / "data.jsonl"
    path.write_text(content, encoding="utf-8")
    code, stderr = train_in_process(f"logger.experiment_name={exp}", f"dataset.sources.0.path={path}")
    assert code == 2
    assert expected in stderr and str(path) in stderr, stderr[-2000:]
    _assert_no_running(runs_of, exp)


def test_unreachable_tracking_server_fails_fast(train_in_process):
    uri = f"http://127.0.0.1:{_free_port()}"
    code, stderr = train_in_process(tracking_uri=uri)
    assert code == 2  # and nothing was loaded: the job would have failed the test
    assert f"error: logger.tracking_uri: MLflow server {uri} not reachable" in stderr

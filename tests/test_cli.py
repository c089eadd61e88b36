"""The ``sftlab`` command: one line per subcommand, help written from each command's YAML, the
same override syntax everywhere, and errors as one line with exit code 2."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUBCOMMANDS = [
    "train", "eval", "judge", "data build", "data review", "data check-leaks",
    "scores import", "scores agree", "report", "estimate", "bench", "chat", "merge", "export",
]  # fmt: skip


def _sftlab(*args: str, cwd=None, timeout=120) -> subprocess.CompletedProcess:
    exe = shutil.which("sftlab") or str(Path(sys.executable).parent / "sftlab")
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_top_level_help_lists_every_subcommand(tmp_path):
    started = time.perf_counter()
    proc = _sftlab("--help", cwd=tmp_path)
    print(f"sftlab --help: {time.perf_counter() - started:.2f} s")
    assert proc.returncode == 0, proc.stderr
    for words in SUBCOMMANDS:
        assert f"  {words} " in proc.stdout, words
    assert _sftlab(cwd=tmp_path).stdout == proc.stdout  # no command: the same overview


@pytest.mark.parametrize("words", SUBCOMMANDS)
def test_each_subcommand_help_opens_with_examples_then_its_groups(words, tmp_path):
    proc = _sftlab(*words.split(), "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"sftlab {words}: ")
    examples = [ln for ln in lines[1:] if f"sftlab {words} " in ln or ln.strip() == f"sftlab {words}"]
    assert len(examples) >= 2, proc.stdout
    assert len(lines) < 60  # a description and examples, not a dump of the resolved config


def test_train_help_is_the_same_through_train_py(tmp_path):
    via_script = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert via_script.returncode == 0
    assert via_script.stdout == _sftlab("train", "--help", cwd=tmp_path).stdout
    assert "model  " in via_script.stdout and "tiny_llama*" in via_script.stdout


def test_python_dash_m_sftlab_is_the_same_command(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sftlab", "--help"], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0 and "data check-leaks" in proc.stdout


def test_unknown_command_is_one_line_exit_2(tmp_path):
    proc = _sftlab("trian", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: unknown command 'trian'; see `sftlab --help`"


def test_estimate_runs_from_any_folder_with_the_shared_override_syntax(tmp_path):
    """`sftlab estimate` composes conf/ from the package, whatever the working directory."""
    proc = _sftlab(
        "estimate", "model=llama2_7b_chat,falcon_7b", "preflight.device=cuda", "preflight.device_memory_gb=16",
        cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("memory estimate for") == 2
    assert not list(tmp_path.iterdir())  # a read-only command leaves no run folder behind


def test_a_bad_key_in_a_composed_command_is_one_line(tmp_path):
    proc = _sftlab("report", "logger.experiment=x", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "experiment" in proc.stderr

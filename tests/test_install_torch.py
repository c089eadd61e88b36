"""``make install``'s torch step says which build it installs and refuses the wrong one."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "install_torch.py"


@pytest.fixture
def it(monkeypatch):
    spec = importlib.util.spec_from_file_location("install_torch", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    calls = []
    monkeypatch.setattr(mod, "installed_torch", lambda: None)
    monkeypatch.setattr(
        mod.subprocess, "run", lambda cmd, **kw: calls.append(cmd) or subprocess.CompletedProcess(cmd, 0)
    )
    mod.calls = calls
    monkeypatch.delenv("TORCH_BUILD", raising=False)
    return mod


@pytest.mark.parametrize(
    "gpu, plan, code, says",
    [
        (None, "cpu", 0, "installing torch 2.13.0 (CPU build)"),
        ("NVIDIA H200", "cuda", 0, "installing torch 2.13.0 (CUDA build)"),
        ("NVIDIA T4", "cpu", 2, "pip would install a CPU build"),
        (None, "cuda", 2, "CUDA build (several GB)"),
        (None, None, 0, "build not determined"),
    ],
)
def test_build_matches_the_machine_or_stops(it, monkeypatch, capsys, gpu, plan, code, says):
    monkeypatch.setattr(it, "gpu_name", lambda: gpu)
    monkeypatch.setattr(it, "planned_build", lambda version: plan)
    assert it.main("2.13.0") == code
    out = capsys.readouterr()
    assert says in (out.out + out.err)
    assert bool(it.calls) == (code == 0)  # pip runs only when the build fits the machine
    if code:
        assert "--index-url" in out.err and "\n" not in out.err.strip()


def test_torch_build_any_installs_anyway(it, monkeypatch):
    monkeypatch.setattr(it, "gpu_name", lambda: None)
    monkeypatch.setattr(it, "planned_build", lambda version: "cuda")
    monkeypatch.setenv("TORCH_BUILD", "any")
    assert it.main("2.13.0") == 0 and it.calls == [
        [it.sys.executable, "-m", "pip", "install", "torch==2.13.0"]
    ]


def test_an_installed_torch_is_kept(it, monkeypatch, capsys):
    monkeypatch.setattr(it, "installed_torch", lambda: "2.13.0+cpu (CPU build)")
    assert it.main("2.13.0") == 0 and it.calls == []
    assert "already installed; kept" in capsys.readouterr().out

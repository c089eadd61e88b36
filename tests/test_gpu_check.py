"""``make gpu-check`` on a machine without CUDA says so and exits 2, measuring nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_refuses_without_cuda():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: make gpu-check measures for real")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gpu_check.py")], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert "no CUDA device on this machine" in proc.stderr and "nothing was measured" in proc.stderr
    assert "ms/step" not in proc.stdout  # no figures invented

"""``make install``'s first step: install torch, saying which build, and never the wrong one silently.

PyPI's Linux torch wheel is the CUDA build (several GB of ``nvidia-*`` packages); a machine may
also carry a local CPU wheel that pip prefers. So before installing, ask pip what it *would*
install (``pip install --dry-run --report``, metadata only) and compare with the machine:

* torch already importable: keep it (its build is the user's choice), say which it is;
* a GPU (``nvidia-smi`` answers) but pip would install a CPU build: stop, with the command that
  installs a CUDA build;
* no GPU but pip would install a CUDA build: stop, with the command for the CPU build;
* otherwise install and say which build it is. ``TORCH_BUILD=any`` skips the comparison.

Standard library only: it runs before anything else is installed.
Usage: ``python scripts/install_torch.py <version>``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CUDA_INDEX = "https://download.pytorch.org/whl/cu128"


def installed_torch() -> str | None:
    """``"<version> (<build>)"`` of an importable torch, or None."""
    code = "import torch; print(torch.__version__, torch.version.cuda or 'cpu')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    version, build = proc.stdout.split()
    return f"{version} ({'CPU build' if build == 'cpu' else 'CUDA ' + build + ' build'})"


def gpu_name() -> str | None:
    """The first NVIDIA GPU's name, or None when ``nvidia-smi`` is absent or finds none."""
    try:
        proc = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [line for line in proc.stdout.splitlines() if line.startswith("GPU")]
    return lines[0].split(":", 1)[1].split("(")[0].strip() if proc.returncode == 0 and lines else None


def planned_build(version: str) -> str | None:
    """``"cuda"`` or ``"cpu"``: what ``pip install torch==<version>`` would bring; None if unknown."""
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--report", report]
        proc = subprocess.run([*cmd, f"torch=={version}"], capture_output=True, text=True)
        if proc.returncode != 0 or not os.path.exists(report):
            return None
        with open(report, encoding="utf-8") as f:
            items = json.load(f).get("install", [])
    names = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in items}
    if any(n.startswith("nvidia-") for n in names) or "+cu" in names.get("torch", ""):
        return "cuda"
    return "cpu"


def main(version: str) -> int:
    """Install ``torch==version`` after the checks above; returns the exit code."""
    have = installed_torch()
    if have:
        print(f"install: torch {have} is already installed; kept (uninstall it to change the build)")
        return 0
    gpu = gpu_name()
    plan = planned_build(version)
    where = f"an NVIDIA GPU ({gpu})" if gpu else "no NVIDIA GPU"
    if os.environ.get("TORCH_BUILD") != "any" and plan is not None:
        if gpu and plan == "cpu":
            print(
                f"error: this machine has {where}, but pip would install a CPU build of torch {version}; "
                f"install a CUDA build first: pip install torch=={version} --index-url {CUDA_INDEX} "
                "(or pick your CUDA version), then make install again; TORCH_BUILD=any installs it anyway",
                file=sys.stderr,
            )
            return 2
        if not gpu and plan == "cuda":
            print(
                f"error: this machine has {where}, but pip would install torch {version}'s CUDA build "
                f"(several GB); install the CPU build first: pip install torch=={version} --index-url "
                f"{CPU_INDEX}, then make install again; TORCH_BUILD=any installs the CUDA build anyway",
                file=sys.stderr,
            )
            return 2
    build = {"cuda": "CUDA build", "cpu": "CPU build"}.get(plan, "build not determined")
    print(f"install: {where}; installing torch {version} ({build})", flush=True)
    return subprocess.run([sys.executable, "-m", "pip", "install", f"torch=={version}"]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "2.13.0"))

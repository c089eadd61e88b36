"""The package's shape: imports run one way (import-linter contracts), modules stay small, and
``import sftlab`` is light enough for a fast command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "sftlab"


def _lint_imports(cwd: Path, env=None) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    return subprocess.run([exe, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def test_import_contracts_hold():
    """pyproject.toml's layers and acyclic-siblings contracts (what `make lint` runs too)."""
    proc = _lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "0 broken" in proc.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The contract is not vacuous: a copy of the package where the config layer imports the
    pipeline fails the check, and names the offending import."""
    import os

    copy = tmp_path / "src"
    shutil.copytree(PACKAGE, copy / "sftlab", ignore=shutil.ignore_patterns("assets", "conf", "__pycache__"))
    errors = copy / "sftlab" / "config" / "errors.py"
    errors.write_text(
        errors.read_text() + "\n\ndef _upward():\n    from sftlab.pipeline import run\n\n    return run\n"
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(copy)}
    proc = _lint_imports(tmp_path, env)
    assert proc.returncode != 0
    assert "sftlab.config.errors -> sftlab.pipeline" in proc.stdout, proc.stdout[-4000:]


def test_no_module_over_400_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if "assets" not in p.parts and (n := len(p.read_text().splitlines())) > 420
    }
    assert not long, f"split these modules (one concern each): {long}"


def test_every_subpackage_says_what_it_owns_and_may_import():
    for init in PACKAGE.glob("*/__init__.py"):
        if init.parent.name == "assets":
            continue
        doc = init.read_text()
        assert doc.startswith('"""') and "Imports:" in doc, f"{init}: docstring with an 'Imports:' line"


def test_importing_sftlab_and_its_cli_imports_no_torch():
    code = "import sys, sftlab, sftlab.cli; print(sorted(m for m in ('torch', 'transformers', 'mlflow', 'hydra') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"

"""Faults a user meets end in one line (issue 17): Ctrl-C, a full disk, a read-only folder."""

from __future__ import annotations

import errno

import pytest
from omegaconf import OmegaConf

from sftlab import cli
from sftlab.config.errors import storage_error_line


def test_storage_error_names_the_folder_and_free_space(tmp_path):
    err = OSError(
        errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "adapter.partial" / "x.bin")
    )
    line = storage_error_line(err)
    assert line.startswith(f"error: cannot write to {tmp_path / 'run' / 'adapter.partial'}: No space left")
    assert "GiB free there" in line and "\n" not in line
    assert storage_error_line(FileNotFoundError(errno.ENOENT, "nope", "x")) is None  # not a storage fault


def test_a_full_disk_in_a_job_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    def fails(cfg):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "ckpt" / "optimizer.pt"))

    monkeypatch.setattr(cli, "_function", lambda target: fails)
    cfg = OmegaConf.create({"paths": {"output_dir": str(tmp_path)}})
    with pytest.raises(SystemExit) as exit_:
        cli._run_target("x:y", cfg)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: cannot write to {tmp_path / 'ckpt'}")


def test_output_folder_check_stops_before_hydra_writes(tmp_path):
    from sftlab.config.storage import storage_problem

    assert storage_problem(tmp_path / "new" / "run", min_free_mb=1) is None
    line = storage_problem(tmp_path / "new" / "run", min_free_mb=1e12)  # no disk is that large
    assert line.startswith(f"error: cannot write to {tmp_path / 'new' / 'run'}: No space left")


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted(cmd, args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_run_compose", interrupted)
    assert cli.main(["report"]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["interrupted (Ctrl-C): sftlab report stopped; any open MLflow run is KILLED"]


def test_a_library_reporting_a_full_disk_as_text_is_one_line_too(tmp_path):
    class SafetensorError(Exception):  # what safetensors raises when a checkpoint hits ENOSPC
        pass

    err = SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
    line = storage_error_line(err, tmp_path)
    assert line.startswith(f"error: cannot write to {tmp_path}: No space left on device (")
    assert storage_error_line(ValueError("shape mismatch (os error 2)"), tmp_path) is None

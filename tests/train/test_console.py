"""Training's console output: readable lines without a terminal, no raw dicts."""

from __future__ import annotations

import io
from types import SimpleNamespace


def _state(step, max_steps=12, tokens=0):
    return SimpleNamespace(global_step=step, max_steps=max_steps, is_world_process_zero=True,
                           num_input_tokens_seen=tokens)  # fmt: skip


def test_without_a_terminal_each_log_is_one_readable_line():
    from sftlab.train.console import console_progress

    out = io.StringIO()  # not a TTY, like CI or a SLURM log
    cb = console_progress(out)
    cb.on_train_begin(None, _state(0), None)
    cb.on_log(
        None, _state(5, tokens=4000), None, logs={"loss": 8.16312, "learning_rate": 0.0041, "grad_norm": 3.3}
    )
    cb.on_log(None, _state(12), None, logs={"eval_loss": 7.994, "eval_runtime": 1.4})
    cb.on_log(None, _state(12), None, logs={"train_runtime": 13.09, "train_loss": 8.15})  # summary: not shown
    cb.on_train_end(None, _state(12), None)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("step 5/12  loss 8.1631  lr 4.10e-03  tok/s ")
    assert lines[1] == "step 12/12  eval loss 7.9940"
    assert len(lines) == 2 and "{" not in out.getvalue() and "'" not in out.getvalue()

"""What training prints: loss, learning rate and tokens/s in the progress bar, or one line per log.

transformers' own ProgressCallback breaks its bar every ``logging_steps`` with a raw dict of
numbers as quoted strings. This callback replaces it: on a terminal the numbers sit in the bar's
postfix; when stdout is not a terminal (CI, SLURM logs, a pipe) there is no bar, and each logging
step is one readable line.
"""

from __future__ import annotations

import sys
import time


def _fmt(logs: dict, state, started: float) -> dict[str, str]:
    out = {}
    if "loss" in logs:
        out["loss"] = f"{float(logs['loss']):.4f}"
    if "learning_rate" in logs:
        out["lr"] = f"{float(logs['learning_rate']):.2e}"
    tokens = getattr(state, "num_input_tokens_seen", 0) or 0
    elapsed = time.perf_counter() - started
    if tokens and elapsed > 0:
        out["tok/s"] = f"{tokens / elapsed:.0f}"
    return out


def console_progress(stream=None):
    """A TrainerCallback standing in for transformers' ProgressCallback (see the module doc)."""
    from tqdm.auto import tqdm
    from transformers import TrainerCallback

    stream = stream or sys.stdout

    class _ConsoleProgress(TrainerCallback):
        def __init__(self):
            self.bar = None
            self.started = time.perf_counter()
            self.tty = stream.isatty()

        def on_train_begin(self, args, state, control, **kwargs):
            self.started = time.perf_counter()
            if state.is_world_process_zero and self.tty:
                self.bar = tqdm(total=state.max_steps, desc="training", dynamic_ncols=True, file=stream)

        def on_step_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs:
                return
            if "eval_loss" in logs:
                line = f"step {state.global_step}/{state.max_steps}  eval loss {float(logs['eval_loss']):.4f}"
                (self.bar.write if self.bar is not None else lambda t: print(t, file=stream, flush=True))(
                    line
                )
                return
            shown = _fmt(logs, state, self.started)
            if "loss" not in shown:
                return  # the end-of-training summary dict: the pipeline prints its own summary
            if self.bar is not None:
                self.bar.set_postfix(shown, refresh=True)
            else:
                parts = "  ".join(f"{k} {v}" for k, v in shown.items())
                print(f"step {state.global_step}/{state.max_steps}  {parts}", file=stream, flush=True)

        def on_train_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    return _ConsoleProgress()

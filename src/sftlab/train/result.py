"""What a finished training job hands to the stages after it, the sweep bookkeeping and the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunResult:
    """What a finished job produced."""

    final_loss: float
    run_id: str | None
    adapter_dir: str
    output_dir: str
    metrics: dict
    # The trained PeftModel and its tokenizer, for stages that run in the same process
    # (evaluation, generation) so the model is not loaded a second time.
    model: Any = field(default=None, repr=False)
    tokenizer: Any = field(default=None, repr=False)
    global_step: int = (
        0  # optimizer steps taken (the step the evaluation stage logs at, see eval.every_n_steps)
    )

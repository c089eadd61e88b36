"""Score an in-memory model on an lm-eval task with lm-eval's own machinery.

The model object the run already holds (a quantized base with its PeftModel adapter) is wrapped
in lm-eval's ``HFLM`` rather than loaded a second time from strings: lm-eval's
``load_in_4bit`` model_args break on transformers 5, and a second load would double memory.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class EvalOutcome:
    """What one lm-eval pass over a task produced."""

    metrics: dict[str, float]  # e.g. {"acc": .., "acc_stderr": .., "acc_norm": .., "acc_norm_stderr": ..}
    n_questions: int
    seconds: float
    results: dict  # lm-eval's results, JSON-safe, without the per-sample records
    samples: list[dict] = field(default_factory=list)  # one row per question (see sample_rows)

    @property
    def questions_per_s(self) -> float:
        """Throughput of the evaluation (questions per second)."""
        return self.n_questions / self.seconds if self.seconds > 0 else float("nan")


def metric_name(key: str) -> str | None:
    """lm-eval's ``"acc,none"`` -> ``"acc"``, ``"acc_stderr,none"`` -> ``"acc_stderr"``,
    ``"exact_match,strict-match"`` -> ``"exact_match_strict-match"``; None for non-metric keys."""
    if "," not in key:
        return None
    metric, filt = key.split(",", 1)
    return metric if filt == "none" else f"{metric}_{filt}"


def task_metrics(task_results: dict) -> dict[str, float]:
    """The numeric metrics of one task's results, with MLflow-friendly names."""
    out = {}
    for key, value in task_results.items():
        name = metric_name(key)
        if name and isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
    return out


def _question_id(doc: dict, doc_id: int) -> str:
    if "link" in doc and "question_number" in doc:  # Belebele: passage link + question number
        return f"{doc['link']}#{doc['question_number']}"
    return str(doc.get("id", doc_id))


def sample_rows(samples: list[dict]) -> list[dict]:
    """Per-question rows: id, question and passage text (when the task has them), chosen and
    correct answer, whether right, log-likelihood per choice."""
    rows = []
    for s in sorted(samples, key=lambda s: s["doc_id"]):
        doc = s.get("doc", {})
        row = {"doc_id": int(s["doc_id"]), "question_id": _question_id(doc, s["doc_id"])}
        for field_name, keys in (
            ("question", ("question", "query")),
            ("passage", ("flores_passage", "passage")),
        ):
            text = next((doc[k] for k in keys if isinstance(doc.get(k), str)), None)
            if text is not None:  # what a person reads to judge the answer (Belebele: both)
                row[field_name] = text
        choices = [arg[1].strip() for arg in s.get("arguments", [])]
        target = s.get("target")
        lls = [float(r[0]) for r in s.get("filtered_resps", []) if isinstance(r, (list, tuple))]
        if choices and len(lls) == len(choices):  # multiple choice
            best = max(range(len(lls)), key=lls.__getitem__)
            row["chosen"] = choices[best]
            row["correct"] = (
                choices[target] if isinstance(target, int) and 0 <= target < len(choices) else str(target)
            )
            row["is_correct"] = row["chosen"] == row["correct"]
            row["loglikelihoods"] = json.dumps({c: round(ll, 6) for c, ll in zip(choices, lls, strict=True)})
        else:
            row["chosen"] = str(s.get("filtered_resps"))
            row["correct"] = str(target)
        for metric in ("acc", "acc_norm", "exact_match"):
            if metric in s:
                row[metric] = float(s[metric])
        rows.append(row)
    return rows


def json_safe(obj):
    """lm-eval results as plain JSON (its own serializer for numpy values, functions, ...)."""
    from lm_eval.utils import handle_non_serializable

    return json.loads(json.dumps(obj, default=handle_non_serializable))


def make_lm(model, tokenizer, batch_size: int):
    """Wrap the in-memory model (PeftModel or plain) in lm-eval's HFLM; no second load."""
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size)


def run_task(lm, spec, eval_cfg, task_manager, log_samples: bool = True, chat: bool = False) -> EvalOutcome:
    """Evaluate ``lm`` on ``spec``'s task with the configured few-shot and limit; ``chat``: each
    prompt rendered through the tokenizer's chat template (lm-eval's ``apply_chat_template``)."""
    from lm_eval import simple_evaluate

    started = time.perf_counter()
    out = simple_evaluate(
        model=lm,
        tasks=[spec.run_name],
        task_manager=task_manager,
        num_fewshot=eval_cfg.num_fewshot,
        limit=eval_cfg.limit,
        batch_size=eval_cfg.batch_size,
        log_samples=log_samples,
        apply_chat_template=chat,
    )
    seconds = time.perf_counter() - started
    samples = (out.get("samples") or {}).get(spec.run_name, [])
    n = (out.get("n-samples") or {}).get(spec.run_name, {}).get("effective") or len(samples)
    results = json_safe({k: v for k, v in out.items() if k != "samples"})
    metrics = task_metrics(out["results"][spec.run_name])
    return EvalOutcome(metrics, int(n), seconds, results, sample_rows(samples) if log_samples else [])

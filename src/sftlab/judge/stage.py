"""Generate answers for the prompt suites, grade them, and record everything in MLflow.

Used three ways: as the post-training stage of ``sftlab train`` (:func:`judge_stage`, on the
in-memory trained model), by ``sftlab judge`` (a base model or a saved adapter), and by
``sftlab scores import`` (people's scores into an existing run, ``judge.human_import``).

What a run gets (under ``judge/``): ``attempts.json`` (an MLflow table: every prompt, attempt,
answer, score, reason, judge error, rubric version and hash), ``attempts.jsonl`` (the same rows,
the file the human import reads back), ``scores.md`` (tables laid out like the study's Tables 4
and 6, plus judge agreement), ``rubric.md`` (the rubric and the judge prompt) and
``human_scores_template.<csv|jsonl>`` for people, with the study's Table 3 as their sheet
(``human_grading_scale.md``). Metrics: ``judge/<suite>/<category>``,
``judge/<suite>/mean``, and after a human import ``human/<suite>/<category>`` and
``agreement/<judge>_vs_human/{exact,mean_abs_diff,n}``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from pathlib import Path

from sftlab.config.errors import DataError
from sftlab.judge.scoring import (
    agreement,
    agreement_markdown,
    generation_stats,
    markdown_tables,
    summarize,
    summary_metrics,
)

log = logging.getLogger(__name__)

ARTIFACT_DIR = "judge"
_LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"  # what mlflow.log_table sets so the UI shows a table


class RunLog:
    """Where results go: the job's open tracker (stage, sftlab judge) or an existing run (import)."""

    def __init__(self, tracker=None, client=None, run_id: str | None = None):
        """Give either a tracker (``sftlab.track.tracker``) or an MlflowClient with a run id."""
        self.tracker, self.client = tracker, client
        self.run_id = run_id if client is not None else getattr(tracker, "run_id", None)

    def metrics(self, metrics: dict[str, float]) -> None:
        """Log numeric metrics."""
        if self.client is not None:
            for key, value in metrics.items():
                self.client.log_metric(self.run_id, key, value)
        elif self.tracker is not None:
            self.tracker.log_metrics(metrics)

    def tags(self, tags: dict[str, str]) -> None:
        """Set tags."""
        if self.client is not None:
            for key, value in tags.items():
                self.client.set_tag(self.run_id, key, value)
        elif self.tracker is not None:
            self.tracker.set_tags(tags)

    def file(self, path: Path, artifact_path: str = ARTIFACT_DIR) -> None:
        """Upload a file (replacing one of the same name)."""
        if self.client is not None:
            self.client.log_artifact(self.run_id, str(path), artifact_path)
        elif self.tracker is not None:
            self.tracker.log_artifact(path, artifact_path=artifact_path)

    def table(self, rows: list[dict], name: str) -> None:
        """An MLflow table (JSON, ``split`` orient, as ``mlflow.log_table`` writes it) that a re-log
        replaces instead of appending to, so re-importing human scores never duplicates rows."""
        if self.run_id is None:
            return
        import pandas as pd
        from mlflow.tracking import MlflowClient

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            pd.DataFrame(rows).to_json(path, orient="split", index=False, force_ascii=False)
            self.file(path)
        client = self.client or MlflowClient()
        entry = {"path": f"{ARTIFACT_DIR}/{name}", "type": "table"}
        current = json.loads(client.get_run(self.run_id).data.tags.get(_LOGGED_ARTIFACTS_TAG, "[]"))
        if entry not in current:
            self.tags({_LOGGED_ARTIFACTS_TAG: json.dumps(current + [entry])})


def _write(path: Path, text: str) -> Path:
    """Write ``text`` aside and rename it into place (never a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def model_label(model_cfg, adapter: str | None) -> str:
    """Row label of the score tables: the base model, and whether an adapter was on."""
    return f"{model_cfg.name} + adapter" if adapter else f"{model_cfg.name} (base)"


def rubric_markdown(rubric_cfg, fingerprint: str) -> str:
    """The rubric and judge prompt as logged next to the scores."""
    return (
        f"# Rubric {rubric_cfg.version} (hash {fingerprint})\n\n## Rubric\n\n{rubric_cfg.text}\n\n"
        f"## Judge system prompt\n\n```\n{rubric_cfg.system_prompt}\n```\n\n"
        f"## Judge prompt template\n\n```\n{rubric_cfg.prompt_template}\n```\n"
    )


def report(rows: list[dict], meta: dict) -> tuple[str, dict[str, float]]:
    """The markdown score report and the metrics of ``rows`` (judge and, if present, human)."""
    results: dict[str, dict] = {}
    metrics: dict[str, float] = {}
    has_judge = any(r.get("score") is not None for r in rows) or meta["kind"] not in ("human", "none")
    if has_judge:
        judge_summary = summarize(rows, "score")
        results[f"{meta['label']} ({meta['judge']})"] = judge_summary
        metrics.update(summary_metrics(judge_summary, "judge"))
        metrics["judge/missing_attempts"] = float(sum(r.get("score") is None for r in rows))
    has_human = any("human_score" in r for r in rows)
    if has_human:
        human_summary = summarize(rows, "human_score")
        results[f"{meta['label']} (human)"] = human_summary
        metrics.update(summary_metrics(human_summary, "human"))
        metrics["human/graded_attempts"] = float(sum(r.get("human_score") is not None for r in rows))
    metrics.update(generation_stats(rows))  # EOS vs cut off at max_new_tokens, answer lengths
    n = meta.get("num_attempts", "N")
    text = markdown_tables(
        results, f"Rubric scores (1–5), best of {n} attempts — rubric {meta['rubric_version']}"
    )
    if has_judge and has_human:
        stats = agreement(rows, "score", "human_score")
        text += "\n" + agreement_markdown(stats, meta["judge"], "human")
        prefix = f"agreement/{meta['judge']}_vs_human"
        metrics[f"{prefix}/n"] = float(stats["n"])
        if stats["n"]:
            metrics[f"{prefix}/exact"] = stats["exact"]
            metrics[f"{prefix}/mean_abs_diff"] = stats["mean_abs_diff"]
        from sftlab.judge.statistics import agreement_stats

        ranked = agreement_stats(rows, "score", "human_score")  # NaN entries are dropped below
        metrics.update({f"{prefix}/{k}": float(v) for k, v in ranked.items() if k != "n"})
        if ranked["n"] >= 2:
            text += (
                f"\nQuadratic-weighted kappa {ranked['kappa_quadratic']:.2f} "
                f"[{ranked['kappa_ci_low']:.2f}, {ranked['kappa_ci_high']:.2f}], Spearman "
                f"{ranked['spearman']:.2f} [{ranked['spearman_ci_low']:.2f}, {ranked['spearman_ci_high']:.2f}] "
                "(95 % paired bootstrap over attempts).\n"
            )
    if not results:
        text += "\nNo scores yet: fill in the human scores template and run: sftlab scores import file=<filled.csv> run_id=<this run>.\n"
    return text, {k: v for k, v in metrics.items() if not math.isnan(v)}


def record(
    sink: RunLog, rows: list[dict], meta: dict, out_dir: Path, rubric_cfg=None, export_format=None
) -> str:
    """Write the judging files to ``out_dir`` and log files, table, metrics and tags to the run."""
    out_dir = Path(out_dir)
    text, metrics = report(rows, meta)
    files = [
        _write(out_dir / "attempts.jsonl", _jsonl(rows)),
        _write(out_dir / "meta.json", json.dumps(meta, indent=2, ensure_ascii=False)),
        _write(out_dir / "scores.md", text),
    ]
    if rubric_cfg is not None:
        files.append(_write(out_dir / "rubric.md", rubric_markdown(rubric_cfg, meta["rubric_hash"])))
    if export_format:
        from sftlab.judge.grading_sheet import grading_sheet_markdown
        from sftlab.judge.human_scores import export_for_people

        files.append(
            export_for_people(rows, out_dir / f"human_scores_template.{export_format}", export_format)
        )
        files.append(_write(out_dir / "human_grading_scale.md", grading_sheet_markdown()))  # Table 3
    for path in files:
        sink.file(path)
    sink.table(rows, "attempts.json")
    if metrics:
        sink.metrics(metrics)
    sink.tags(
        {
            "judge.name": meta["judge"],
            "judge.kind": meta["kind"],
            "judge.rubric_version": meta["rubric_version"],
            "judge.rubric_hash": meta["rubric_hash"],
        }
    )
    return text


def _load_prompts(judge_cfg) -> list:
    from sftlab.generate.suites import load_suite

    prompts, seen = [], {}
    for suite in judge_cfg.suites:
        loaded = load_suite(suite, judge_cfg.max_items_per_category)
        name = loaded[0].suite
        if name in seen:
            raise DataError(f"judge.suites: two suites are named '{name}' ({seen[name]}, {suite})")
        seen[name] = suite
        prompts += loaded
    return prompts


def preflight(cfg) -> None:
    """Checks of the generation/judge settings that need no model: values, suites, URL and key."""
    from sftlab.generate.methods import check_generation
    from sftlab.judge.judges import OpenAICompatibleJudge, check_judge

    check_judge(cfg.judge)
    check_generation(cfg.generation)
    _load_prompts(cfg.judge)
    if cfg.judge.kind == "openai_compatible":
        judge = OpenAICompatibleJudge(cfg.judge)  # URL, model and key variable present
        try:
            judge.client.probe()  # the server answers as an API, before any answer is generated
        finally:
            judge.close()


def run_judging(cfg, model, tokenizer, tracker, out_dir, label: str, release=None) -> tuple[list[dict], str]:
    """Generate N attempts per prompt of ``judge.suites``, grade them with ``judge``, record.

    Returns the rows and the markdown report. Configuration problems (unknown suite, unset API
    key) surface before the first answer is generated. ``release``: a callable that drops the
    caller's references to ``model``; with ``judge=hf_local`` it is called once the answers
    exist, so the generator's memory is free before the judge model loads.
    """
    from sftlab.generate.methods import check_generation, generate_answers
    from sftlab.judge.judges import build_judge, check_judge, grade_rows
    from sftlab.judge.rubric import rubric_fingerprint

    jc = cfg.judge
    check_judge(jc)
    check_generation(cfg.generation)
    prompts = _load_prompts(jc)
    # A server judge is built first: a missing key or URL fails before minutes of generation.
    judge = build_judge(jc) if jc.kind == "openai_compatible" else None
    fingerprint = rubric_fingerprint(jc.rubric)
    meta = {
        "label": label,
        "judge": jc.name,
        "kind": jc.kind,
        "judge_model": jc.model if jc.kind in ("openai_compatible", "hf_local") else "",
        "rubric_version": jc.rubric.version,
        "rubric_hash": fingerprint,
        "num_attempts": cfg.generation.num_attempts,
        "method": cfg.generation.method,
    }
    log.info(
        "Generating %d prompt(s) x %d attempt(s) with %s",
        len(prompts),
        cfg.generation.num_attempts,
        cfg.generation.method,
    )
    rows = generate_answers(model, tokenizer, prompts, cfg.generation, cfg.model)
    for row in rows:
        row.update(judge=jc.name, rubric_version=jc.rubric.version, rubric_hash=fingerprint)
    if jc.kind == "hf_local":
        del model  # this frame's reference; release() drops the caller's
        free_generator(release)
        judge = build_judge(jc)
    people_only = set(jc.get("people_only_suites") or [])
    if judge is not None:
        to_grade = [r for r in rows if r["suite"] not in people_only]
        try:
            verdicts = grade_rows(judge, jc.rubric, to_grade, jc.concurrency)
        finally:
            judge.close()
        for row, verdict in zip(to_grade, verdicts, strict=True):
            row.update(verdict)
        for row in rows:
            if row["suite"] in people_only:  # the study had people, not an LLM, grade these
                row.update(
                    score=None,
                    reason="",
                    judge_error="people only (judge.people_only_suites)",
                    judge_asks=0,
                    judge_seconds=0.0,
                )
        missing = sum(r["score"] is None for r in rows)
        if missing:
            log.warning(
                "judge: %d of %d attempt(s) have no score (see judge_error in judge/attempts.json)",
                missing,
                len(rows),
            )
    else:
        for row in rows:
            row.update(score=None, reason="", judge_error="", judge_asks=0, judge_seconds=0.0)
    text = record(RunLog(tracker), rows, meta, Path(out_dir), jc.rubric, jc.export_format)
    return rows, text


def free_generator(release) -> bool:
    """Drop the generator (``release()``), collect it, and return its GPU memory to the driver.

    Returns whether a release was given. Without one the generator stays resident next to the
    judge (the caller still needs it).
    """
    import gc

    import torch

    if release is None:
        return False
    release()
    gc.collect()  # the trainer and peft wrappers hold reference cycles
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return True


def judge_stage(cfg, tracker, result) -> None:
    """Post-training stage: judge the trained in-memory model when ``judge`` is not ``none``."""
    if cfg.judge.kind == "none" or not cfg.judge.stage_enabled:
        return
    out_dir = Path(result.output_dir) / ARTIFACT_DIR
    # The judge is the last stage that needs the trained model in memory (the handoff reloads it
    # from the saved adapter if it registers a model), so an hf_local judge may take its place.
    _, text = run_judging(
        cfg,
        result.model,
        result.tokenizer,
        tracker,
        out_dir,
        model_label(cfg.model, result.adapter_dir),
        release=lambda: setattr(result, "model", None),
    )
    print(text, flush=True)

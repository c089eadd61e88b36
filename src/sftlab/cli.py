"""The ``sftlab`` command: a table of subcommands, each mapped to one function.

``sftlab train ...`` (and ``python train.py ...``) runs a Hydra app: a run folder, ``-m``
sweeps, launchers and sweepers. Commands that only read or print (report, estimate, ...)
compose the same configs with the same override syntax but write no run folder. Every
command's help comes from its YAML in ``conf/`` (the header comment, the groups it composes
and its own keys), so the examples live next to the defaults they use.

This module imports neither torch nor Hydra at start-up: ``sftlab --help`` answers at once,
and each command imports what it needs when it runs.
"""

from __future__ import annotations

import importlib
import logging
import re
import sys
from dataclasses import dataclass

from sftlab.config.errors import SftlabError, storage_error_line
from sftlab.config.paths import CONF_DIR
from sftlab.config.runtime import in_multirun

log = logging.getLogger("sftlab")


@dataclass(frozen=True)
class Command:
    """One subcommand: its words, a summary line, its YAML and the function that does the work.

    ``kind`` is ``app`` (a Hydra app: run folder, ``-m``) or ``compose`` (the function gets the
    override list and composes itself; nothing is written unless it says so). ``action`` names
    the key that a bare first word fills, e.g. ``sftlab data review export ...``.
    """

    words: str
    summary: str
    config: str
    target: str
    kind: str = "app"
    action: str | None = None


COMMANDS: tuple[Command, ...] = (
    Command("train", "train a QLoRA adapter, evaluate it, record the run in MLflow (-m: a sweep)",
            "train", "sftlab.pipeline:main"),
    Command("eval", "score a saved adapter (folder, runs:/<id> or run id) or a base model on an lm-eval task",
            "eval_run", "sftlab.evaluation.adapter_eval:main"),
    Command("judge", "answer the prompt suites with a model or adapter and grade the answers",
            "judge_run", "sftlab.judge.job:main"),
    Command("data build", "build question/answer pairs from documents with a generator LLM",
            "data_build", "sftlab.data.builder.build:main"),
    Command("data review", "export pairs to a CSV for people (export), read the decisions back (import)",
            "data_review", "sftlab.data.builder.review:main", kind="compose", action="action"),
    Command("data check-leaks", "find evaluation questions inside a training file",
            "data_check_leaks", "sftlab.data.leak_check:main", kind="compose"),
    Command("scores import", "bring people's filled-in judge scores back into their MLflow run",
            "scores_import", "sftlab.judge.human_import:main", kind="compose"),
    Command("scores agree", "agreement of two judge runs on the attempts both graded (kappa, Spearman, CIs)",
            "scores_agree", "sftlab.judge.judge_agreement:main", kind="compose"),
    Command("report", "tables and figures of an experiment or a sweep, from MLflow",
            "report", "sftlab.report.command:main", kind="compose"),
    Command("estimate", "peak-memory estimate of one or more configs, without loading a weight",
            "estimate", "sftlab.memory.estimate_cli:main", kind="compose"),
    Command("bench", "training throughput and peak memory: sftlab vs plain TRL, packing on vs off",
            "bench", "sftlab.memory.benchmark:main", kind="compose"),
    Command("chat", "talk to a trained adapter (or a base model), answers streamed as they come",
            "chat", "sftlab.generate.chat:main"),
    Command("merge", "merge an adapter into its base: safetensors shards, logits check, model card",
            "merge", "sftlab.generate.handoff:merge_main"),
    Command("export", "model card, vLLM serve command, push to the Hugging Face Hub",
            "export", "sftlab.track.export:main"),
    Command("runs reap", "mark runs left RUNNING by a dead process KILLED (every command does it too)",
            "runs", "sftlab.track.reap_cli:main", kind="compose", action="action"),
)  # fmt: skip

_BY_WORDS = {c.words: c for c in COMMANDS}


def report_user_error(err: SftlabError) -> None:
    """Print ``error: <message>`` on one line; exit 2 in a single run, re-raise in a sweep."""
    from sftlab.config.secrets import redact_text

    message = redact_text(f"error: {err}")  # a key typed into a URL or an override stays out
    if in_multirun():  # the sweep records the job as FAILED and the other jobs carry on
        log.error(message)
        raise err
    print(message, file=sys.stderr, flush=True)
    sys.exit(2)


def _function(target: str):
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def _run_target(target: str, cfg):
    """Call a command's function inside its Hydra job; user errors become one line and exit 2."""
    from sftlab.config.secrets import protect_job

    protect_job()  # Hydra saved the overrides as typed and set up logging: mask secrets in both
    try:
        return _function(target)(cfg)
    except SftlabError as err:
        report_user_error(err)
        raise
    except Exception as err:  # a full disk or a read-only folder: one line, not a traceback
        line = storage_error_line(err, cfg.get("paths", {}).get("output_dir"))
        if line is None or in_multirun():
            raise
        _close_progress_bars()
        print(line, file=sys.stderr, flush=True)
        sys.exit(2)


# One module-level task function per Hydra app: launchers (joblib, submitit) pickle it by name.
def _train_task(cfg):
    return _run_target(_BY_WORDS["train"].target, cfg)


def _eval_task(cfg):
    return _run_target(_BY_WORDS["eval"].target, cfg)


def _judge_task(cfg):
    return _run_target(_BY_WORDS["judge"].target, cfg)


def _data_build_task(cfg):
    return _run_target(_BY_WORDS["data build"].target, cfg)


def _chat_task(cfg):
    return _run_target(_BY_WORDS["chat"].target, cfg)


def _merge_task(cfg):
    return _run_target(_BY_WORDS["merge"].target, cfg)


def _export_task(cfg):
    return _run_target(_BY_WORDS["export"].target, cfg)


_TASKS = {"train": _train_task, "eval": _eval_task, "judge": _judge_task, "data build": _data_build_task}
_TASKS.update(chat=_chat_task, merge=_merge_task, export=_export_task)


# Keys whose value is free text (a chat prompt): quoted for Hydra's override grammar, so that
# `sftlab chat chat.prompt="¿Qué es el RUC?"` works as typed (the shell drops the quotes).
_FREE_TEXT_KEYS = ("chat.prompt=",)


def _quote_free_text(arg: str) -> str:
    key = next((k for k in _FREE_TEXT_KEYS if arg.startswith(k)), None)
    value = arg[len(key) :] if key else ""
    if not key or (len(value) >= 2 and value[0] == value[-1] and value[0] in "'\""):
        return arg  # not free text, or quoted by the user already
    value = value.replace("${", "\\${")  # literal text, not an OmegaConf interpolation
    value = re.sub(r"(\\*)('|$)", lambda m: m.group(1) * 2 + ("\\'" if m.group(2) else ""), value)
    return f"{key}'{value}'"


def _run_app(cmd: Command, args: list[str]) -> int:
    import hydra

    from sftlab.config.registry import register_configs

    register_configs()
    if cmd.words == "train":  # keys and values first: one line and exit 2, no run folder, no MLflow run
        from sftlab.validation import check_command_line

        try:
            check_command_line(args)
        except SftlabError as err:
            print(f"error: {err}", file=sys.stderr, flush=True)
            return 2
    # Hydra reads the overrides from sys.argv; argv[0] names the command in its own messages.
    sys.argv = [f"sftlab {cmd.words}", *map(_quote_free_text, args)]
    hydra.main(config_path=str(CONF_DIR), config_name=cmd.config, version_base="1.3")(_TASKS[cmd.words])()
    return 0


def _run_compose(cmd: Command, args: list[str]) -> int:
    if cmd.action and args and "=" not in args[0] and not args[0].startswith("-"):
        args = [f"{cmd.action}={args[0]}", *args[1:]]
    from sftlab.config.secrets import install_log_filter, redact_text

    install_log_filter()
    try:
        return int(_function(cmd.target)(args) or 0)
    except SftlabError as err:
        print(redact_text(f"error: {err}"), file=sys.stderr, flush=True)
        return 2
    except Exception as err:  # a full disk or a read-only output folder
        line = storage_error_line(err)
        if line is None:
            raise
        print(line, file=sys.stderr, flush=True)
        return 2


def _match(argv: list[str]) -> tuple[Command | None, list[str]]:
    for n in (2, 1):
        if len(argv) >= n and " ".join(argv[:n]) in _BY_WORDS:
            return _BY_WORDS[" ".join(argv[:n])], argv[n:]
    return None, argv


def overview(prefix: str = "") -> str:
    """``sftlab --help``: one line per subcommand (those under ``prefix`` when given)."""
    rows = [c for c in COMMANDS if c.words.startswith(prefix)]
    width = max(len(c.words) for c in rows)
    lines = [
        "sftlab: reproducible, tracked QLoRA fine-tuning experiments (Hydra configs, TRL, lm-eval, MLflow).",
        "",
        "usage: sftlab <command> [key=value ...] [group=option ...]     (sftlab <command> --help for more)",
        "",
        "commands:",
        *(f"  {c.words:<{width}}  {c.summary}" for c in rows),
        "",
        "Every command takes Hydra overrides: model=tiny_falcon lora.r=16 logger.tracking_uri=http://host:5000",
        f"Configs: {CONF_DIR}",
    ]
    return "\n".join(lines)


def _close_progress_bars() -> None:
    """Close open tqdm bars now, so their redraw at exit does not follow the last line."""
    std = sys.modules.get("tqdm.std")
    for bar in list(getattr(getattr(std, "tqdm", None), "_instances", ()) or ()):
        try:
            bar.close()
        except Exception:  # a bar that cannot close is only cosmetic
            pass


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sftlab`` console script and ``python -m sftlab``."""
    try:
        return _main(argv)
    except BrokenPipeError:  # `sftlab --help | head`: the reader left; no traceback for that
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit flush must not fail again
        return 1


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from sftlab.config.secrets import install_record_redaction

    install_record_redaction()  # no log line of any library stores a key typed into an override
    cmd, rest = _match(argv)
    if cmd is None:
        group = argv[0] if argv and any(c.words.startswith(argv[0] + " ") for c in COMMANDS) else ""
        if argv and argv[0] not in ("-h", "--help", "help") and not group:
            print(f"error: unknown command '{argv[0]}'; see `sftlab --help`", file=sys.stderr)
            return 2
        print(overview(f"{group} " if group else ""))
        return 0
    if any(a in ("-h", "--help") for a in rest):
        from sftlab.config.help import command_help

        print(command_help(cmd.words, cmd.summary, cmd.config, sweeps=cmd.kind == "app"))
        return 0
    try:
        return _run_app(cmd, rest) if cmd.kind == "app" else _run_compose(cmd, rest)
    except KeyboardInterrupt:  # the open run was closed KILLED on the way out (closes_run)
        _close_progress_bars()
        print(
            f"interrupted (Ctrl-C): sftlab {cmd.words} stopped; any open MLflow run is KILLED",
            file=sys.stderr,
        )
        return 130

"""From normalized sources to the records a run trains on: mix, dedup, length filter, split.

``prepare_records`` is the data path of a run after loading (``data_loading``):

1. mix the sources: ``concat`` (source order), or ``interleave``, which draws the next record
   from a source chosen at random with probability proportional to ``sources.N.weight``
   (seeded by ``dataset.mix_seed``) and stops when the chosen source runs out, so the mix
   keeps the configured proportions;
2. drop duplicates (``dataset.dedup``): a record whose instruction + input, normalized,
   repeats an earlier one;
3. drop records outside ``[dataset.min_tokens, dataset.max_tokens]`` tokens (prompt in the
   model's format + answer, counted with the model's tokenizer);
4. shuffle, cap and hold out ``eval_fraction`` (``data_loading.split_records``);
5. check the training split against the evaluation suites (``dataset.leak_check``).

With the defaults (concat, no dedup, no length bounds, no suites) the records are exactly
those of ``load_records`` + ``split_records``. The statistics (records per source, duplicates
and length drops, token-length percentiles) and the SHA-256 of the training split, in the
order it is trained on, are logged to the run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections import Counter
from dataclasses import dataclass, field

from sftlab.config.errors import ConfigError, DataError
from sftlab.data.text_similarity import normalize_text

log = logging.getLogger(__name__)

MIX_STRATEGIES = ("concat", "interleave")
RECORD_KEYS = ("instruction", "input", "output")


@dataclass
class PreparedData:
    """The records of a run and what happened to them on the way."""

    train: list[dict]
    held_out: list[dict]
    stats: dict = field(default_factory=dict)
    leak_report: dict | None = None


def mix_sources(
    parts: list[tuple[str, list[dict]]], strategy: str, weights: list[float], seed: int
) -> list[tuple[str, dict]]:
    """``(source name, record)`` pairs of all sources mixed by ``strategy`` (see module doc)."""
    if strategy not in MIX_STRATEGIES:
        raise ConfigError(f"dataset.mix: '{strategy}' is not one of {', '.join(MIX_STRATEGIES)}")
    if strategy == "concat":
        return [(name, rec) for name, recs in parts for rec in recs]
    for i, w in enumerate(weights):
        if not w > 0:
            raise ConfigError(f"dataset.sources.{i}.weight must be > 0 for dataset.mix=interleave (got {w})")
    rng = random.Random(seed)
    # Each source is drawn in its own seeded random order, so an interleave with weights that
    # stop early still samples every part of every source.
    queues = []
    for i, (name, recs) in enumerate(parts):
        order = list(range(len(recs)))
        random.Random(seed * 1000 + i).shuffle(order)
        queues.append((name, recs, order))
    pos = [0] * len(parts)
    mixed: list[tuple[str, dict]] = []
    while True:
        i = rng.choices(range(len(parts)), weights=weights)[0]
        name, recs, order = queues[i]
        if pos[i] >= len(order):
            break  # first exhausted: the mix keeps the configured proportions
        mixed.append((name, recs[order[pos[i]]]))
        pos[i] += 1
    return mixed


def dedup_key(rec: dict) -> str:
    """What makes two records duplicates: their normalized instruction and input."""
    return normalize_text(rec["instruction"]) + "\x1f" + normalize_text(rec.get("input", ""))


def drop_duplicates(items: list[tuple[str, dict]]) -> tuple[list[tuple[str, dict]], Counter]:
    """Keep the first record of each dedup key; returns the kept items and drops per source."""
    seen: set[str] = set()
    kept, dropped = [], Counter()
    for name, rec in items:
        key = dedup_key(rec)
        if key in seen:
            dropped[name] += 1
            continue
        seen.add(key)
        kept.append((name, rec))
    return kept, dropped


def token_lengths(records: list[dict], tokenizer, model_cfg) -> list[int]:
    """Tokens of each record as trained: prompt in the model's format + answer."""
    from sftlab.generate.prompt_formats import to_prompt_completion

    texts = []
    for rec in records:
        pc = to_prompt_completion(rec, model_cfg.prompt_format, model_cfg.system_prompt, tokenizer=tokenizer)
        texts.append(pc["prompt"] + pc["completion"])
    if not texts:
        return []
    return [len(ids) for ids in tokenizer(texts, add_special_tokens=True)["input_ids"]]


def percentiles(values: list[int], qs=(5, 50, 90, 95, 99)) -> dict[str, float]:
    """Nearest-rank percentiles plus min/max/mean of ``values`` (empty dict when empty)."""
    if not values:
        return {}
    s = sorted(values)
    out = {f"p{q}": float(s[min(len(s) - 1, max(0, -(-q * len(s) // 100) - 1))]) for q in qs}
    out.update(min=float(s[0]), max=float(s[-1]), mean=round(sum(s) / len(s), 2))
    return out


def content_hash(records: list[dict]) -> str:
    """SHA-256 of the records' instruction/input/output as canonical JSON lines, in order."""
    h = hashlib.sha256()
    for rec in records:
        line = json.dumps({k: rec.get(k, "") for k in RECORD_KEYS}, ensure_ascii=False, sort_keys=True)
        h.update(line.encode("utf-8") + b"\n")
    return h.hexdigest()


def _tokenizer_for(model_cfg):
    from sftlab.model.loading import load_tokenizer, resolve_source

    return load_tokenizer(model_cfg, resolve_source(model_cfg))


def prepare_records(dataset_cfg, model_cfg, tracker=None, tokenizer=None, extra_suites=()) -> PreparedData:
    """Load, mix, dedup, filter, split and leak-check the records of ``dataset_cfg``.

    The leak check covers ``dataset.leak_check.suites`` and ``extra_suites`` (the run's judge
    suites). Statistics, the training split's content hash and any leak report go to ``tracker``
    (before a leak makes the run fail, so the report is there to read).
    """
    from sftlab.data import leak_check
    from sftlab.data.records import load_source_records, split_records

    parts = load_source_records(dataset_cfg)
    weights = [float(s.weight) for s in dataset_cfg.sources]
    items = mix_sources(parts, dataset_cfg.mix, weights, dataset_cfg.mix_seed)
    stats: dict = {
        "sources": {name: {"loaded": len(recs)} for name, recs in parts},
        "mix": dataset_cfg.mix,
    }
    mixed_counts = Counter(name for name, _ in items)
    for name in stats["sources"]:
        stats["sources"][name]["mixed"] = mixed_counts.get(name, 0)

    dup_counts: Counter = Counter()
    if dataset_cfg.dedup:
        items, dup_counts = drop_duplicates(items)
    for name in stats["sources"]:
        stats["sources"][name]["duplicates_dropped"] = dup_counts.get(name, 0)
    stats["duplicates_dropped"] = sum(dup_counts.values())

    lo, hi = dataset_cfg.min_tokens, dataset_cfg.max_tokens
    if lo is not None and hi is not None and lo > hi:
        raise ConfigError(f"dataset.min_tokens ({lo}) is above dataset.max_tokens ({hi})")
    tokenizer = tokenizer or _tokenizer_for(model_cfg)
    lengths = token_lengths([rec for _, rec in items], tokenizer, model_cfg)
    too_short = too_long = 0
    kept: list[tuple[str, dict]] = []
    kept_lengths: list[int] = []
    for (name, rec), n in zip(items, lengths, strict=True):
        if lo is not None and n < lo:
            too_short += 1
        elif hi is not None and n > hi:
            too_long += 1
        else:
            kept.append((name, rec))
            kept_lengths.append(n)
    stats.update(too_short_dropped=too_short, too_long_dropped=too_long)
    if not kept:
        raise DataError(
            f"dataset '{dataset_cfg.name}': no record left after dedup and the token bounds "
            f"[{lo}, {hi}] (of {len(items)}); widen dataset.min_tokens / dataset.max_tokens"
        )
    kept_counts = Counter(name for name, _ in kept)
    for name in stats["sources"]:
        stats["sources"][name]["kept"] = kept_counts.get(name, 0)
    stats["tokens"] = percentiles(kept_lengths)

    records = [rec for _, rec in kept]
    train, held_out = split_records(
        records, dataset_cfg.eval_fraction, dataset_cfg.shuffle_seed, dataset_cfg.max_records
    )

    report = leak_check.check(train, dataset_cfg.leak_check, extra_suites)
    prepared = PreparedData(train, held_out, stats, report.to_dict() if report else None)
    if report is not None:
        stats["leaks_exact"], stats["leaks_near"] = report.exact, report.near
        stats["leaks_contained"], stats["leaks_answer"] = report.contained, report.answer
        try:
            prepared.train = leak_check.enforce(report, train, dataset_cfg.leak_check.on_leak)
        finally:
            stats["leak_records_dropped"] = len(train) - len(prepared.train)
            if tracker is not None:
                tracker.log_text(
                    json.dumps(prepared.leak_report, ensure_ascii=False, indent=2), "data/leak_report.json"
                )
    stats["train_records"], stats["eval_records"] = len(prepared.train), len(held_out)
    stats["train_hash"] = content_hash(prepared.train)
    stats["eval_hash"] = content_hash(held_out)
    log.info(
        "Data %s: %s; %d duplicates, %d too short, %d too long dropped; train hash %s",
        dataset_cfg.name,
        ", ".join(f"{n}={s['kept']}" for n, s in stats["sources"].items()),
        stats["duplicates_dropped"],
        too_short,
        too_long,
        stats["train_hash"][:12],
    )
    if tracker is not None:
        log_stats(tracker, stats)
    return prepared


def _metric_name(name: str) -> str:
    # MLflow metric names allow alphanumerics, _ - . / and space; hub ids contain "/".
    return "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in name)


def log_stats(tracker, stats: dict) -> None:
    """Data statistics as ``data/*`` metrics, the ``data_hash`` tag and ``data/stats.json``."""
    metrics = {
        f"data/source/{_metric_name(name)}/{key}": value
        for name, s in stats["sources"].items()
        for key, value in s.items()
    }
    metrics.update({f"data/tokens_{k}": v for k, v in stats["tokens"].items()})
    for key in (
        "duplicates_dropped",
        "too_short_dropped",
        "too_long_dropped",
        "leaks_exact",
        "leaks_near",
        "leaks_contained",
        "leaks_answer",
    ):
        if key in stats:
            metrics[f"data/{key}"] = stats[key]
    tracker.log_metrics(metrics)
    tracker.set_tags({"data_hash": stats["train_hash"], "data_eval_hash": stats["eval_hash"]})
    tracker.log_text(json.dumps(stats, ensure_ascii=False, indent=2), "data/stats.json")

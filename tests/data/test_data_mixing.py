"""The Spanish instruction mix: normalize the Alpaca- and Dolly-format files, mix, dedup, filter, hash."""

from __future__ import annotations

import hashlib
import json

import pytest

from sftlab.config.paths import asset_path

ALPACA = asset_path("data/alpaca_es_sample.jsonl")
DOLLY = asset_path("data/dolly_es_sample.jsonl")


def _sha(records) -> str:
    """The content hash, computed here independently of sftlab."""
    lines = [
        json.dumps({k: r[k] for k in ("input", "instruction", "output")}, ensure_ascii=False, sort_keys=True)
        for r in records
    ]
    return hashlib.sha256("".join(line + "\n" for line in lines).encode("utf-8")).hexdigest()


def _rows(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def test_bundled_files_are_in_the_hub_formats():
    assert all(set(r) == {"instruction", "input", "output"} for r in _rows(ALPACA))
    assert all(set(r) == {"instruction", "context", "response", "category"} for r in _rows(DOLLY))


def test_normalize_and_concat_mix(compose):
    from sftlab.data.mixing import prepare_records
    from sftlab.data.records import load_source_records

    cfg = compose("dataset=alpaca_dolly_es_sample")
    parts = dict(load_source_records(cfg.dataset))
    assert len(parts["alpaca_es"]) == 26 and len(parts["dolly_es"]) == 17  # one empty answer dropped in each
    dolly = {r["instruction"]: r for r in parts["dolly_es"]}
    rec = dolly["¿Cuándo se fundó la ciudad según el texto?"]
    assert rec["input"].startswith("La ciudad fue fundada en 1534") and rec["output"].startswith(
        "Según el texto"
    )
    assert all(set(r) == {"instruction", "input", "output"} for recs in parts.values() for r in recs)

    prepared = prepare_records(cfg.dataset, cfg.model)
    s = prepared.stats
    # 2 Alpaca repeats (verbatim, case/punctuation) and 1 Dolly question already in Alpaca.
    assert s["duplicates_dropped"] == 3
    assert (
        s["sources"]["alpaca_es"]["duplicates_dropped"] == 2
        and s["sources"]["dolly_es"]["duplicates_dropped"] == 1
    )
    assert s["too_long_dropped"] == 1  # the 12-times repeated paragraph is over max_tokens=256
    assert s["sources"]["alpaca_es"]["kept"] == 23 and s["sources"]["dolly_es"]["kept"] == 16
    assert len(prepared.train) + len(prepared.held_out) == 39 and len(prepared.held_out) == 4
    assert s["train_records"] == 35 and s["eval_records"] == 4
    assert all(set(r) == {"instruction", "input", "output"} for r in prepared.train)
    assert not any(r["input"].startswith("El río que atraviesa") for r in prepared.train + prepared.held_out)
    keys = [(r["instruction"].lower().strip("¿?. "), r["input"]) for r in prepared.train + prepared.held_out]
    assert len(set(keys)) == len(keys)
    assert s["tokens"]["p50"] <= s["tokens"]["p90"] <= s["tokens"]["max"] <= 256

    assert s["train_hash"] == _sha(prepared.train) and s["eval_hash"] == _sha(prepared.held_out)
    again = prepare_records(cfg.dataset, cfg.model)
    assert again.stats["train_hash"] == s["train_hash"]
    other = prepare_records(
        compose("dataset=alpaca_dolly_es_sample", "dataset.shuffle_seed=7").dataset, cfg.model
    )
    assert other.stats["train_hash"] != s["train_hash"]


def test_min_tokens_drops_exactly_the_short_records(compose):
    from sftlab.data.mixing import prepare_records
    from sftlab.generate.prompt_formats import to_prompt_completion
    from sftlab.model.loading import load_tokenizer, resolve_source

    cfg = compose("dataset=alpaca_dolly_es_sample", "dataset.max_tokens=null")
    base = prepare_records(cfg.dataset, cfg.model)
    tok = load_tokenizer(cfg.model, resolve_source(cfg.model))
    everything = base.train + base.held_out

    def n_tokens(r):
        pc = to_prompt_completion(r, cfg.model.prompt_format)
        return len(tok(pc["prompt"] + pc["completion"])["input_ids"])

    lengths = sorted(n_tokens(r) for r in everything)
    bound = lengths[5] + 1  # at least the 6 shortest go
    cut = prepare_records(
        compose(
            "dataset=alpaca_dolly_es_sample", "dataset.max_tokens=null", f"dataset.min_tokens={bound}"
        ).dataset,
        cfg.model,
    )
    expected_short = sum(1 for n in lengths if n < bound)
    assert expected_short >= 6 and cut.stats["too_short_dropped"] == expected_short
    assert all(n_tokens(r) >= bound for r in cut.train + cut.held_out)
    assert len(cut.train) + len(cut.held_out) == len(everything) - expected_short


def test_weighted_interleave_keeps_proportions_and_seed():
    from sftlab.data.mixing import mix_sources

    a = [{"instruction": f"a{i}", "input": "", "output": "x"} for i in range(300)]
    b = [{"instruction": f"b{i}", "input": "", "output": "x"} for i in range(300)]
    mixed = mix_sources([("a", a), ("b", b)], "interleave", [3.0, 1.0], seed=1)
    names = [n for n, _ in mixed]
    assert names.count("a") == 300  # the heavier source runs out first, and the mix stops there
    assert 70 <= names.count("b") <= 130  # ~100 for a 3:1 weighting
    assert len({r["instruction"] for _, r in mixed}) == len(mixed)  # no record drawn twice
    assert mix_sources([("a", a), ("b", b)], "interleave", [3.0, 1.0], seed=1) == mixed
    assert mix_sources([("a", a), ("b", b)], "interleave", [3.0, 1.0], seed=2) != mixed
    assert [r for _, r in mix_sources([("a", a), ("b", b)], "concat", [1, 1], 0)] == a + b


def test_interleave_config_and_bad_values(compose):
    from sftlab.config.errors import ConfigError
    from sftlab.data.mixing import prepare_records

    cfg = compose("dataset=alpaca_dolly_es_sample", "dataset.mix=interleave", "dataset.sources.1.weight=3")
    s = prepare_records(cfg.dataset, cfg.model).stats
    assert s["sources"]["dolly_es"]["mixed"] == 17 and s["sources"]["alpaca_es"]["mixed"] < 17
    with pytest.raises(ConfigError, match="dataset.mix"):
        prepare_records(compose("dataset=alpaca_dolly_es_sample", "dataset.mix=shuffle").dataset, cfg.model)
    with pytest.raises(ConfigError, match=r"dataset.sources.0.weight"):
        bad = compose(
            "dataset=alpaca_dolly_es_sample", "dataset.mix=interleave", "dataset.sources.0.weight=0"
        )
        prepare_records(bad.dataset, cfg.model)


def test_default_dataset_is_unchanged(compose):
    """dataset=sample_es: the records and split are exactly those of the foundation's path."""
    from sftlab.data.mixing import prepare_records
    from sftlab.data.records import load_records, split_records

    cfg = compose()
    prepared = prepare_records(cfg.dataset, cfg.model)
    train, held = split_records(
        load_records(cfg.dataset), cfg.dataset.eval_fraction, cfg.dataset.shuffle_seed
    )
    assert prepared.train == train and prepared.held_out == held
    assert prepared.stats["duplicates_dropped"] == 0
    # checked against the general_es suite by default, and clean
    assert prepared.leak_report["leaks"] == [] and prepared.stats["leak_records_dropped"] == 0


def test_training_on_the_mix_logs_stats_and_hash(trained_tiny, tmp_path, compose):
    """The session's shared run trained on dataset=alpaca_dolly_es_sample (tests/conftest.py)."""
    from sftlab.data.mixing import prepare_records

    run, mlflow_client = trained_tiny.run, trained_tiny.client
    assert "dataset=alpaca_dolly_es_sample" in trained_tiny.overrides
    assert run.info.status == "FINISHED"
    cfg = compose("dataset=alpaca_dolly_es_sample")
    expected = prepare_records(cfg.dataset, cfg.model)
    assert run.data.tags["data_hash"] == _sha(expected.train)
    m = run.data.metrics
    assert m["data/source/alpaca_es/kept"] == 23 and m["data/source/dolly_es/kept"] == 16
    assert m["data/duplicates_dropped"] == 3 and m["data/too_long_dropped"] == 1
    assert m["data/train_records"] == 35 and "data/tokens_p90" in m and "train/loss" in m
    local = mlflow_client.download_artifacts(run.info.run_id, "data/stats.json", str(tmp_path))
    stats = json.loads(open(local, encoding="utf-8").read())
    assert stats["train_hash"] == run.data.tags["data_hash"] and stats["sources"]["dolly_es"]["loaded"] == 17

"""judge=hf_local on one card: the generator is freed before the judge loads, the judge may be
4-bit, and the preflight holds the judge against the device before any training."""

from __future__ import annotations

import json

import pytest

from sftlab.config.errors import ConfigError
from sftlab.config.paths import ASSETS_DIR


@pytest.fixture
def mistral_7b_folder(tmp_path):
    """A folder with only Mistral-7B's config.json: enough for the preflight (meta device)."""
    folder = tmp_path / "mistral-7b"
    folder.mkdir()
    values = json.loads((ASSETS_DIR / "model_configs" / "mistral_7b.json").read_text())
    (folder / "config.json").write_text(json.dumps(values))
    return folder


def _judge_cfg(compose, folder, card_gb, *extra):
    return compose(
        "judge=hf_local",
        f"judge.model={folder}",
        "preflight.device=cuda",
        f"preflight.device_memory_gb={card_gb}",
        *extra,
    )


def test_a_bf16_7b_judge_is_refused_on_a_12gb_card(compose, mistral_7b_folder):
    from sftlab.memory.judge_fit import check_judge_fits

    with pytest.raises(ConfigError, match=r"hf_local judge .* > budget .*judge.load_in_4bit=true"):
        check_judge_fits(_judge_cfg(compose, mistral_7b_folder, 12))
    # On a 16 GB card it just fits, alone: 13.5 GiB of bf16 weights + context + margin.
    need = check_judge_fits(_judge_cfg(compose, mistral_7b_folder, 16))
    assert 14 * 2**30 < need < 16 * 2**30, need / 2**30


def test_a_4bit_7b_judge_fits_a_12gb_card(compose, mistral_7b_folder):
    from sftlab.memory.judge_fit import check_judge_fits

    need = check_judge_fits(_judge_cfg(compose, mistral_7b_folder, 12, "judge.load_in_4bit=true"))
    # 7.24B params: ~3.9 GiB of NF4 linears + 0.26 GiB bf16 embeddings/head, then context + margin
    assert 4.5 * 2**30 < need < 7 * 2**30, need / 2**30


def test_the_judge_check_is_off_for_other_judges(compose):
    from sftlab.memory.judge_fit import check_judge_fits

    assert check_judge_fits(compose("judge=none")) is None


def test_the_generator_is_released_before_the_judge_loads(compose, tmp_path, monkeypatch):
    """run_judging drops the generator (caller's reference included) before build_judge."""
    import sftlab.generate.methods as methods
    import sftlab.judge.judges as judges
    from sftlab.judge.stage import run_judging

    events = []

    class FakeJudge:
        def grade(self, rubric_cfg, row):
            return {"score": 3, "reason": "", "judge_error": "", "judge_asks": 1, "judge_seconds": 0.0}

        def close(self):
            pass

    def fake_build(jc):
        events.append("judge loads")
        return FakeJudge()

    def fake_answers(model, tokenizer, prompts, *a, **k):
        events.append("answers")
        p = prompts[0]
        row = {"suite": p.suite, "category": p.category, "prompt_id": p.id, "turn": 1, "item": p.id,
               "attempt": 1, "method": "greedy", "seed": 0, "question": p.turns[0], "conversation": "",
               "reference": "", "answer": "x", "new_tokens": 1, "seconds": 0.0, "note": ""}  # fmt: skip
        return [row]

    monkeypatch.setattr(judges, "build_judge", fake_build)
    monkeypatch.setattr(methods, "generate_answers", fake_answers)
    held = [object()]
    cfg = compose("judge=hf_local", "judge.model=unused", "judge.max_items_per_category=1")

    def release():
        events.append("generator freed")
        held.clear()

    run_judging(cfg, held[0], None, None, tmp_path / "judge", "m", release=release)
    assert events == ["answers", "generator freed", "judge loads"] and held == []

"""Packing / padding-free batching: attention stays within each record, the loss is the same as
without packing, and more real tokens are trained per second on data of varied lengths."""

from __future__ import annotations

import json
import random

import pytest
import torch

WORDS = (
    "el la de que y en un una los las por con para es son fue como más pero sus le ya este sí porque "
    "esta entre cuando muy sin sobre también hasta hay donde quien desde todo nos durante todos uno"
).split()


@pytest.mark.parametrize(
    "model_name, attn", [("tiny_llama", "sdpa"), ("tiny_llama", "eager"), ("tiny_falcon", "sdpa")]
)
def test_padding_free_batch_has_the_same_loss_as_padded(compose, model_name, attn):
    """TRL's padding-free collator (position_ids per record, no mask) = padded batch, exactly."""
    from transformers import AutoModelForCausalLM
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from sftlab.model.loading import resolve_source

    cfg = compose(f"model={model_name}")
    model = AutoModelForCausalLM.from_pretrained(resolve_source(cfg.model), attn_implementation=attn).eval()
    # As in training (load_model): with a KV cache, transformers skips the packed-sequence mask.
    model.config.use_cache = False
    rng = random.Random(0)
    examples = [{"input_ids": [rng.randrange(3, 2000) for _ in range(n)]} for n in (5, 31, 12, 64, 3, 40)]
    padded = DataCollatorForLanguageModeling(pad_token_id=0)(examples)
    flat = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True)(examples)
    assert "attention_mask" not in flat and flat["input_ids"].shape == (
        1,
        sum(len(e["input_ids"]) for e in examples),
    )
    with torch.no_grad():
        loss_padded = model(**padded).loss
        loss_flat = model(
            input_ids=flat["input_ids"], position_ids=flat["position_ids"], labels=flat["labels"]
        ).loss
        # Control: the same flat row with running positions lets records attend to each other.
        running = torch.arange(flat["input_ids"].shape[1])[None]
        loss_leaky = model(input_ids=flat["input_ids"], position_ids=running, labels=flat["labels"]).loss
    assert loss_flat.item() == pytest.approx(loss_padded.item(), abs=1e-4)
    assert abs(loss_leaky.item() - loss_padded.item()) > 1e-3


def _varied_data(path, n=96, seed=0):
    """Records whose answers range from 2 to 120 words: the padding a padded batch wastes."""
    rng = random.Random(seed)
    with open(path, "w") as f:
        for i in range(n):
            words = rng.choice([2, 4, 8, 15, 30, 60, 120])
            f.write(
                json.dumps(
                    {
                        "instruction": f"Pregunta {i}: " + " ".join(rng.choices(WORDS, k=rng.randint(3, 10))),
                        "input": "",
                        "output": " ".join(rng.choices(WORDS, k=words)),
                    }
                )
                + "\n"
            )


@pytest.mark.slow  # two 1-epoch trainings: ~40 s on an idle 2-core machine
def test_packing_same_loss_more_tokens_per_second(compose, tmp_path):
    """One epoch on the same records, packed and padded: same eval loss within noise, same real
    tokens trained, more of them per second when packed."""
    from sftlab.pipeline import run

    data = tmp_path / "varied.jsonl"
    _varied_data(data)
    results = {}
    # The packed run takes fewer rows per step (each holds ~2-3 records), so that an optimizer
    # step sees about as many records as the padded run's 8.
    for packing, batch in ((False, 8), (True, 3)):
        cfg = compose(
            f"paths.output_dir={tmp_path / str(packing)}",
            "logger=none",
            f"dataset.sources.0.path={data}",
            "dataset.eval_fraction=0.25",
            "lora.r=8",
            "lora.dropout=0",
            "training.num_train_epochs=1",
            "training.logging_steps=1",
            "training.gradient_checkpointing=false",
            f"training.packing={packing}",
            f"training.per_device_train_batch_size={batch}",
        )
        results[packing] = run(cfg).metrics
    padded, packed = results[False], results[True]
    print({k: {m: padded[m] if k == "padded" else packed[m] for m in padded} for k in ("padded", "packed")})
    assert packed["train/tokens"] == padded["train/tokens"]  # every record, no padding counted
    assert packed["train/eval_loss"] == pytest.approx(padded["train/eval_loss"], rel=0.03), (packed, padded)
    assert packed["train/tokens_per_s"] > 1.2 * padded["train/tokens_per_s"], (packed, padded)

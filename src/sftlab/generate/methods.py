"""Answers for prompt suites: N attempts per prompt under the configured decoding method.

Greedy, beam, top-k and nucleus go through ``model.generate`` with an explicit
``transformers.GenerationConfig`` (so a hub model's own sampling defaults never leak in);
contrastive search is sftlab's own (:mod:`sftlab.generate.contrastive`). Multi-turn series are answered
turn by turn, each turn with the conversation so far (this attempt's own earlier answers) in the
model's chat format. Every answer row keeps the method and the seed that produced it.
"""

from __future__ import annotations

import logging
import time

from sftlab.config.errors import ConfigError
from sftlab.generate.prompt_formats import to_chat_prompt
from sftlab.generate.suites import SuitePrompt

log = logging.getLogger(__name__)

SAMPLING_METHODS = ("top_k", "nucleus")


def check_generation(gen) -> None:
    """Value checks of the ``generation`` group, each naming its key."""
    if gen.max_new_tokens <= 0:
        raise ConfigError(f"generation.max_new_tokens must be > 0 (got {gen.max_new_tokens})")
    if gen.num_attempts <= 0:
        raise ConfigError(f"generation.num_attempts must be > 0 (got {gen.num_attempts})")
    if gen.method == "contrastive":
        if gen.top_k < 1:
            raise ConfigError(f"generation.top_k must be >= 1 for contrastive search (got {gen.top_k})")
        if not 0.0 <= gen.penalty_alpha <= 1.0:
            raise ConfigError(f"generation.penalty_alpha must be in [0, 1] (got {gen.penalty_alpha})")
    if gen.method == "beam" and gen.num_beams < 2:
        raise ConfigError(f"generation.num_beams must be >= 2 for beam search (got {gen.num_beams})")
    if gen.method == "top_k" and gen.top_k < 1:
        raise ConfigError(f"generation.top_k must be >= 1 for top-k sampling (got {gen.top_k})")
    if gen.method == "nucleus" and not 0.0 < gen.top_p <= 1.0:
        raise ConfigError(f"generation.top_p must be in (0, 1] for nucleus sampling (got {gen.top_p})")
    if gen.method in SAMPLING_METHODS and gen.temperature <= 0:
        raise ConfigError(f"generation.temperature must be > 0 when sampling (got {gen.temperature})")


def is_sampling(gen) -> bool:
    """Whether the method draws random tokens (so attempts differ by seed)."""
    return gen.method in SAMPLING_METHODS or (gen.method == "beam" and gen.do_sample)


def hf_generation_config(gen, tokenizer, eos_ids: list[int]):
    """The ``transformers.GenerationConfig`` of a non-contrastive method."""
    from transformers import GenerationConfig

    common = dict(
        max_new_tokens=gen.max_new_tokens,
        eos_token_id=eos_ids,
        pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_ids[0],
        repetition_penalty=gen.repetition_penalty,
        use_cache=True,
    )
    if gen.method == "greedy":
        return GenerationConfig(do_sample=False, num_beams=1, **common)
    if gen.method == "beam":
        return GenerationConfig(
            do_sample=gen.do_sample, num_beams=gen.num_beams, early_stopping=True, **common
        )
    if gen.method == "top_k":
        return GenerationConfig(
            do_sample=True, top_k=gen.top_k, top_p=1.0, temperature=gen.temperature, **common
        )
    if gen.method == "nucleus":
        return GenerationConfig(
            do_sample=True, top_k=0, top_p=gen.top_p, temperature=gen.temperature, **common
        )
    raise ConfigError(f"generation.method: '{gen.method}' has no transformers equivalent")


def eos_token_ids(model, tokenizer) -> list[int]:
    """Every id that ends an answer: the tokenizer's EOS and the model's generation EOS ids."""
    ids = [tokenizer.eos_token_id]
    extra = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids += extra if isinstance(extra, list) else [extra]
    return list(dict.fromkeys(i for i in ids if i is not None))


def generate_ids(
    model, input_ids, gen, eos_ids: list[int], tokenizer=None, hf_config=None, on_token=None
) -> list[int]:
    """New token ids for one prompt (shape ``(1, L)``) under ``gen.method``.

    ``on_token(token_id)`` (optional) receives every new token as it is produced (streaming);
    beam search only knows its tokens at the end, so they arrive all at once.
    """
    import torch

    if gen.method == "contrastive":
        from sftlab.generate.contrastive import contrastive_search

        return contrastive_search(
            model,
            input_ids,
            top_k=gen.top_k,
            penalty_alpha=gen.penalty_alpha,
            max_new_tokens=gen.max_new_tokens,
            eos_token_ids=eos_ids,
            on_token=on_token,
        )
    hf_config = hf_config or hf_generation_config(gen, tokenizer, eos_ids)
    streamer = None
    if on_token is not None and gen.method != "beam":  # transformers refuses a streamer for beams
        from sftlab.generate.streaming import TokenCallbackStreamer

        streamer = TokenCallbackStreamer(on_token)
    with torch.no_grad():
        out = model.generate(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            generation_config=hf_config,
            streamer=streamer,
        )
    new = out[0, input_ids.shape[1] :].tolist()
    if on_token is not None and streamer is None:
        for token in new:
            on_token(token)
    return new


def _decode(tokenizer, ids: list[int], eos_ids: list[int]) -> str:
    """Text of an answer, cut at the first EOS (beam/sampled outputs are padded after it)."""
    for i, t in enumerate(ids):
        if t in eos_ids:
            ids = ids[:i]
            break
    return tokenizer.decode(ids, skip_special_tokens=True).strip()


def _conversation_text(history: list[tuple[str, str]]) -> str:
    return "\n".join(f"Usuario: {u}\nAsistente: {a}" for u, a in history)


def generate_answers(model, tokenizer, prompts: list[SuitePrompt], gen, model_cfg) -> list[dict]:
    """One row per (prompt, turn, attempt): the question, the conversation so far, the answer.

    Deterministic methods (greedy, beam, contrastive) give the same answer for every seed, so
    attempts after the first reuse it (the row says so in ``note``) instead of recomputing it.
    """
    import torch
    from tqdm.auto import tqdm

    check_generation(gen)
    was_training = model.training
    model.eval()  # no dropout; gradient checkpointing (which disables the KV cache) is train-only
    eos_ids = eos_token_ids(model, tokenizer)
    hf_config = None if gen.method == "contrastive" else hf_generation_config(gen, tokenizer, eos_ids)
    sampling = is_sampling(gen)
    n_runs = gen.num_attempts if sampling else 1
    total = sum(len(p.turns) for p in prompts) * n_runs
    rows: list[dict] = []
    try:
        with tqdm(total=total, desc=f"generate ({gen.method})", unit="answer") as bar:
            for prompt in prompts:
                runs: list[list[dict]] = []
                for attempt in range(n_runs):
                    seed = gen.seed + attempt
                    torch.manual_seed(seed)
                    history: list[tuple[str, str]] = []
                    series = []
                    for turn, (question, reference) in enumerate(
                        zip(prompt.turns, prompt.references, strict=False), 1
                    ):
                        text = to_chat_prompt(
                            history,
                            question,
                            model_cfg.prompt_format,
                            model_cfg.system_prompt,
                            tokenizer.bos_token,
                            tokenizer.eos_token,
                            tokenizer=tokenizer,
                        )
                        input_ids = tokenizer(text, return_tensors="pt").input_ids.to(model.device)
                        started = time.perf_counter()
                        ids = generate_ids(model, input_ids, gen, eos_ids, tokenizer, hf_config)
                        answer = _decode(tokenizer, ids, eos_ids)
                        series.append(
                            {
                                "suite": prompt.suite,
                                "category": prompt.category,
                                "prompt_id": prompt.id,
                                "turn": turn,
                                "item": prompt.id if not prompt.multi_turn else f"{prompt.id}/t{turn}",
                                "attempt": attempt + 1,
                                "method": gen.method,
                                "seed": seed,
                                "question": question,
                                "conversation": _conversation_text(history),
                                "reference": reference or "",
                                "answer": answer,
                                "new_tokens": len(ids),
                                # tokens before the first EOS (beam outputs are padded after it)
                                "answer_tokens": next(
                                    (i for i, t in enumerate(ids) if t in eos_ids), len(ids)
                                ),
                                # the study's Falcon "kept generating until the limit": EOS vs cut off
                                "stopped_by": "eos"
                                if any(t in eos_ids for t in ids)
                                else ("max_new_tokens" if len(ids) >= gen.max_new_tokens else "other"),
                                "seconds": round(time.perf_counter() - started, 3),
                                "note": "",
                            }
                        )
                        history.append((question, answer))
                        bar.update()
                    runs.append(series)
                for attempt in range(n_runs, gen.num_attempts):  # deterministic: identical attempts
                    runs.append(
                        [
                            {
                                **row,
                                "attempt": attempt + 1,
                                "seed": gen.seed + attempt,
                                "note": f"deterministic method: same as attempt 1 ({gen.method})",
                            }
                            for row in runs[0]
                        ]
                    )
                for series in runs:
                    rows.extend(series)
    finally:
        model.train(was_training)
    return rows

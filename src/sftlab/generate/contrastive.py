"""Contrastive search (Su et al., 2022, "A Contrastive Framework for Neural Text Generation").

At every step the ``k`` most probable next tokens are candidates; each is fed to the model once
(batched, reusing the KV cache of the context) to get its last-layer hidden state ``h_v``, and
the chosen token is

    argmax_v  (1 - alpha) * p(v | context) - alpha * max_j cos(h_v, h_j)

where ``h_j`` runs over the last-layer hidden states of every previous token (prompt and
generated so far). ``alpha = 0`` is greedy decoding.

transformers >= 4.56 moved its implementation to hub code that needs ``trust_remote_code`` and
a download; this one is plain PyTorch over the model's forward pass, so it works offline on any
causal LM, including a PeftModel over a 4-bit base. The cache of the winning candidate is kept,
so each step costs one forward pass of ``k`` single tokens, never a recomputation of the context.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F


def _last_hidden(out) -> torch.Tensor:
    """Last-layer hidden states (after the final norm, as transformers returns them), in fp32."""
    return out.hidden_states[-1].float()


@torch.no_grad()
def contrastive_search(
    model,
    input_ids: torch.Tensor,
    *,
    top_k: int,
    penalty_alpha: float,
    max_new_tokens: int,
    eos_token_ids: Iterable[int] = (),
    progress=None,
    on_token=None,
) -> list[int]:
    """Decode with contrastive search; returns the new token ids (ending with EOS if one was chosen).

    ``input_ids`` is one sequence, shape ``(1, L)``. Stops after ``max_new_tokens`` or on a token
    in ``eos_token_ids``. ``progress`` (optional) is called once per generated token;
    ``on_token(token_id)`` (optional) gets each token as soon as it is chosen (streaming).
    """
    if input_ids.dim() != 2 or input_ids.shape[0] != 1:
        raise ValueError(
            f"contrastive_search decodes one sequence at a time, got shape {tuple(input_ids.shape)}"
        )
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1 (got {top_k})")
    if not 0.0 <= penalty_alpha <= 1.0:
        raise ValueError(f"penalty_alpha must be in [0, 1] (got {penalty_alpha})")
    eos = set(int(t) for t in eos_token_ids)

    out = model(input_ids=input_ids, use_cache=True, output_hidden_states=True, return_dict=True)
    cache = out.cache
    # Unit-norm hidden states of every token so far: cosine similarity becomes a matrix product.
    context = F.normalize(_last_hidden(out)[0], dim=-1)  # (L, H)
    logits = out.logits[0, -1].float()  # (V,)
    new_tokens: list[int] = []
    k = min(top_k, logits.shape[-1])

    for _ in range(max_new_tokens):
        probs = logits.softmax(-1)
        cand_probs, cand_ids = probs.topk(k)  # (k,), (k,)
        # One forward pass for all k candidates on k copies of the context's cache.
        cache.batch_repeat_interleave(k)
        step = model(input_ids=cand_ids.view(k, 1), cache=cache, use_cache=True, output_hidden_states=True)
        cand_hidden = F.normalize(_last_hidden(step)[:, -1], dim=-1)  # (k, H)
        degeneration = (cand_hidden @ context.T).max(dim=-1).values  # (k,)
        scores = (1.0 - penalty_alpha) * cand_probs - penalty_alpha * degeneration
        best = int(scores.argmax())
        token = int(cand_ids[best])

        cache = step.cache
        cache.batch_select_indices(torch.tensor([best], device=cand_ids.device))
        context = torch.cat([context, cand_hidden[best : best + 1]], dim=0)
        logits = step.logits[best, -1].float()
        new_tokens.append(token)
        if on_token is not None:
            on_token(token)
        if progress is not None:
            progress()
        if token in eos:
            break
    return new_tokens

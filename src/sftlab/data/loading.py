"""The datasets a run trains on: records prepared by ``data.mixing``, in the model's prompt format.

This is the top of the data package: it ties reading (``records``), mixing, filtering and the
leak check (``mixing``) to the model's prompt format (``generate.prompt_formats``).
"""

from __future__ import annotations


def build_datasets(dataset_cfg, model_cfg, tracker=None, extra_suites=(), tokenizer=None):
    """Train/eval ``datasets.Dataset`` objects of prompt/completion pairs for this model.

    The records go through :func:`sftlab.data.mixing.prepare_records` (mix, dedup, token-length
    filter, split, leak check, also against ``extra_suites``); its statistics and the content
    hash of the training split are logged to ``tracker`` when one is given.
    ``model.prompt_format=chat_template`` renders with the model's tokenizer (loaded here when
    not given).
    """
    import datasets

    from sftlab.data.mixing import prepare_records
    from sftlab.generate.prompt_formats import needs_tokenizer, to_prompt_completion

    if tokenizer is None and needs_tokenizer(model_cfg.prompt_format):
        from sftlab.model.loading import load_tokenizer, resolve_source

        tokenizer = load_tokenizer(model_cfg, resolve_source(model_cfg))
    prepared = prepare_records(
        dataset_cfg, model_cfg, tracker, extra_suites=extra_suites, tokenizer=tokenizer
    )

    def fmt(recs):
        return [
            to_prompt_completion(r, model_cfg.prompt_format, model_cfg.system_prompt, tokenizer=tokenizer)
            for r in recs
        ]

    train_ds = datasets.Dataset.from_list(fmt(prepared.train))
    eval_ds = datasets.Dataset.from_list(fmt(prepared.held_out)) if prepared.held_out else None
    return train_ds, eval_ds

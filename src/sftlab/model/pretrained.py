"""A trained model ready to answer: the base loaded as in training, its saved adapter attached.

``sftlab chat``, the MLflow-served model and ``sftlab merge`` load through here, with the same
functions training uses (precision, ``BitsAndBytesConfig``, tokenizer settings), so an adapter
answers in chat exactly as it did in its training job.
"""

from __future__ import annotations

from sftlab.config.errors import ConfigError


def attach_adapter(base, adapter_dir: str, model_name: str):
    """``base`` with the saved adapter loaded; a misfit (other architecture or sizes) is a ConfigError."""
    from sftlab.model.loading import load_adapter

    try:
        return load_adapter(base, adapter_dir)
    except (ValueError, RuntimeError, KeyError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(
            f"adapter: {adapter_dir} does not fit model '{model_name}' ({first[:300]})"
        ) from None


def load_for_inference(model_cfg, quant_cfg, adapter_dir: str | None = None, bf16: bool | None = None):
    """``(model, tokenizer)`` in eval mode: the base as configured (quantized or not) plus the adapter.

    ``bf16`` is ``training.bf16``'s meaning: None uses bf16 compute where the hardware has it.
    """
    from sftlab.model.loading import load_model, load_tokenizer, resolve_source
    from sftlab.model.precision import resolve_precision
    from sftlab.model.quantization import build_bnb_config

    precision = resolve_precision(model_cfg.dtype, quant_cfg.bnb_4bit_compute_dtype, bf16)
    bnb = build_bnb_config(quant_cfg, precision.compute_dtype)
    source = resolve_source(model_cfg)
    tokenizer = load_tokenizer(model_cfg, source)
    model = load_model(model_cfg, source, bnb, precision.model_dtype)
    model.config.use_cache = True  # training switches the KV cache off; generation wants it
    if adapter_dir:
        model = attach_adapter(model, adapter_dir, model_cfg.name)
    return model.eval(), tokenizer

"""The model: tiny offline twins, tokenizer + weights loading, device placement, quantization,
precision, LoRA.

Imports: ``sftlab.config``, ``sftlab.track``.
"""

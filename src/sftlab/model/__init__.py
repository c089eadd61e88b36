"""The model: tiny offline twins, tokenizer + weights loading, quantization, precision, LoRA.

Imports: ``sftlab.config``, ``sftlab.track``.
"""

"""sftlab: reproducible, tracked QLoRA fine-tuning experiments.

The package is split by concern: ``schema`` (typed config), ``validation`` (cross-field
checks), ``tiny_models`` / ``model_loading`` / ``quantization`` / ``adapters`` (building the
model), ``data_loading`` / ``prompt_formats`` (the data), ``training`` (TRL), ``tracking``
(MLflow) and ``pipeline`` (the run that ties them together).
"""

__version__ = "0.1.0"

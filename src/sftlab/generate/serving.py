"""The served model: an MLflow pyfunc ``PythonModel`` that answers like ``sftlab chat``.

``load_context`` loads the base as training did (quantization included) and attaches the
adapter (or loads a merged folder); ``predict`` answers each ``prompt`` as a fresh one-turn
conversation through :class:`sftlab.generate.chat.ChatSession`: the training prompt format, the
configured decoding method, the same seed. The model's settings travel as an artifact
(``sftlab_serving.json``); sftlab's own code travels in the model's ``code/`` folder, so
``mlflow models serve`` needs only the pinned requirements. MLflow loads the class by running
``served_model.py`` ("models from code"), not by unpickling an object.

:func:`register` logs and registers it (:mod:`sftlab.track.registry`). Inside the job that
trained the adapter, MLflow's check of the input example runs on the model already in memory
rather than loading a second copy; loading from the registry is what the tests exercise.
"""

from __future__ import annotations

import json
import logging
import tempfile
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

log = logging.getLogger(__name__)

SPEC_FILE = "sftlab_serving.json"
MODEL_CODE = Path(__file__).with_name("served_model.py")  # MLflow "models from code": no pickle
EXAMPLE_PROMPT = "¿Cuál es la capital de Ecuador?"
_REQUIREMENTS = (
    "torch", "transformers", "peft", "bitsandbytes", "accelerate", "tokenizers", "safetensors",
    "huggingface_hub", "mlflow", "pandas", "omegaconf", "hydra-core", "trl",
)  # fmt: skip
_PRELOADED: tuple | None = None  # (model, tokenizer) while the training job registers its own model


class SftlabChatModel(mlflow.pyfunc.PythonModel):
    """Answers prompts with a trained adapter (or merged model), one fresh conversation each."""

    def load_context(self, context) -> None:
        """Read the settings, then load the base + adapter (or the merged folder) once."""
        from omegaconf import OmegaConf

        from sftlab.model.pretrained import load_for_inference

        spec = json.loads(Path(context.artifacts["spec"]).read_text())
        self.model_cfg = OmegaConf.create(spec["model"])
        self.gen = OmegaConf.create(spec["generation"])
        if "model" in context.artifacts:  # a merged model: its own folder, no build, no adapter
            self.model_cfg.name_or_path = context.artifacts["model"]
            self.model_cfg.build = None
        if _PRELOADED is not None:
            self.model, self.tokenizer = _PRELOADED
            return
        quant = OmegaConf.create(spec["quantization"])
        self.model, self.tokenizer = load_for_inference(
            self.model_cfg, quant, context.artifacts.get("adapter"), spec.get("bf16")
        )

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        """One answer per prompt: a DataFrame with an ``answer`` column."""
        from sftlab.generate.chat import ChatSession

        gen = self.gen.copy()
        if params and params.get("max_new_tokens"):
            gen.max_new_tokens = int(params["max_new_tokens"])
        answers = [
            ChatSession(self.model, self.tokenizer, gen, self.model_cfg).reply(p)["answer"]
            for p in _prompts(model_input)
        ]
        return pd.DataFrame({"answer": answers})


def _prompts(model_input) -> list[str]:
    """The prompts of a request: a DataFrame's ``prompt`` column, a list, a dict or one string."""
    if isinstance(model_input, str):
        return [model_input]
    if isinstance(model_input, dict):
        value = model_input["prompt"]
        return [value] if isinstance(value, str) else [str(v) for v in value]
    if hasattr(model_input, "columns"):
        column = "prompt" if "prompt" in model_input.columns else model_input.columns[0]
        return [str(v) for v in model_input[column].tolist()]
    return [str(v) for v in model_input]


def signature(max_new_tokens: int):
    """``prompt`` (string) -> ``answer`` (string), with the parameter ``max_new_tokens``."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    return ModelSignature(
        inputs=Schema([ColSpec("string", "prompt")]),
        outputs=Schema([ColSpec("string", "answer")]),
        params=ParamSchema([ParamSpec("max_new_tokens", "long", int(max_new_tokens))]),
    )


def requirements() -> list[str]:
    """The installed versions of what the served model imports (torch without its local tag)."""
    out = []
    for name in _REQUIREMENTS:
        try:
            out.append(f"{name}=={metadata.version(name).split('+')[0]}")
        except metadata.PackageNotFoundError:
            continue
    return out


@contextmanager
def _preloaded(pair):
    global _PRELOADED
    _PRELOADED = pair
    try:
        yield
    finally:
        _PRELOADED = None


def register(
    name: str,
    spec: dict,
    *,
    adapter_dir: str | None = None,
    merged_dir: str | None = None,
    description: str,
    tags: dict,
    preloaded: tuple | None = None,
) -> tuple[str, str]:
    """Log the model into the active run and register it under ``name``; returns ``(uri, version)``.

    ``spec`` holds plain dicts of the ``model``, ``quantization`` and ``generation`` groups and
    ``bf16``. Give ``adapter_dir`` (base + adapter) or ``merged_dir`` (a merged model).
    """
    from sftlab.config.paths import PACKAGE_DIR
    from sftlab.track.registry import log_and_register

    example_tokens = min(16, int(spec["generation"]["max_new_tokens"]))
    with tempfile.TemporaryDirectory() as tmp, _preloaded(preloaded):
        spec_path = Path(tmp) / SPEC_FILE
        spec_path.write_text(json.dumps(spec, indent=2, ensure_ascii=False))
        artifacts = {"spec": str(spec_path)}
        if adapter_dir:
            artifacts["adapter"] = str(adapter_dir)
        if merged_dir:
            artifacts["model"] = str(merged_dir)
        return log_and_register(
            name,
            python_model=str(MODEL_CODE),
            artifacts=artifacts,
            signature=signature(spec["generation"]["max_new_tokens"]),
            input_example=(pd.DataFrame({"prompt": [EXAMPLE_PROMPT]}), {"max_new_tokens": example_tokens}),
            pip_requirements=requirements(),
            code_paths=[str(PACKAGE_DIR)],
            description=description,
            tags=tags,
        )

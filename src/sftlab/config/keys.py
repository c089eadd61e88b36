"""Unknown config keys and group options, however they arrive, with a "did you mean" from the schema.

Hydra rejects a misspelt key only when it is typed without ``+``; ``+lora.rank=8`` (which its
own message advises) and ``++`` add the key to the config and the run carries on with the
default. So the composed config is compared with the schema's dataclasses, and every override
is checked before Hydra sees it. Suggestions come from the schema's real dotted names and from
the names peers' configs use for the same thing (``lr``, ``rank``, ``epochs``, ...).
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from pathlib import Path

from sftlab.config.errors import ConfigError
from sftlab.config.paths import CONF_DIR

# Names other trainers' configs (HF TrainingArguments, axolotl, peft, LLaMA-Factory) use for ours.
ALIASES = {
    "lr": "training.learning_rate",
    "learning_rate": "training.learning_rate",
    "rank": "lora.r",
    "lora_r": "lora.r",
    "lora_rank": "lora.r",
    "lora_alpha": "lora.alpha",
    "lora_dropout": "lora.dropout",
    "epochs": "training.num_train_epochs",
    "num_epochs": "training.num_train_epochs",
    "num_train_epochs": "training.num_train_epochs",
    "batch_size": "training.per_device_train_batch_size",
    "micro_batch_size": "training.per_device_train_batch_size",
    "steps": "training.max_steps",
    "max_steps": "training.max_steps",
    "grad_accum": "training.gradient_accumulation_steps",
    "gradient_accumulation_steps": "training.gradient_accumulation_steps",
    "seq_len": "training.max_length",
    "max_seq_length": "training.max_length",
    "sequence_len": "training.max_length",
    "warmup": "training.warmup_ratio",
    "scheduler": "training.lr_scheduler_type",
    "optimizer": "training.optim",
    "base_model": "model",
    "model_name": "model",
    "trainer": "training",
    "train": "training",
    "data": "dataset",
    "quant": "quantization",
    "peft": "lora",
    "tracking_uri": "logger.tracking_uri",
    "experiment_name": "logger.experiment_name",
}
# Top-level keys of train.yaml that are not dataclass fields of a group.
_EXTRA_ROOT = ("hydra",)


def _fields(cls) -> dict[str, typing.Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _dataclass_of(tp):
    """The dataclass inside ``tp`` (``X``, ``X | None``, ``list[X]``), or None for leaves and dicts."""
    if dataclasses.is_dataclass(tp):
        return tp, False
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    origin = typing.get_origin(tp)
    if origin in (list, tuple) and args and dataclasses.is_dataclass(args[0]):
        return args[0], True
    if len(args) == 1 and dataclasses.is_dataclass(args[0]):
        return args[0], False
    return None, False


def schema_paths(schema) -> list[str]:
    """Every dotted key of ``schema`` (a dataclass), e.g. ``lora.r``, ``dataset.sources.0.path``."""
    out = []
    for name, tp in _fields(schema).items():
        sub, is_list = _dataclass_of(tp)
        if sub is None:
            out.append(name)
        else:
            prefix = f"{name}.0." if is_list else f"{name}."
            out.append(name)
            out.extend(prefix + p for p in schema_paths(sub))
    return out


def group_options(group: str) -> list[str]:
    """The options of a config group: the YAML files of ``conf/<group>/``."""
    folder = CONF_DIR / group
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def suggestion(key: str, known: list[str]) -> str:
    """`` (did you mean `x`?)`` for ``key`` among ``known`` dotted names and peers' aliases, or ''."""
    last = key.rsplit(".", 1)[-1]
    for candidate in (key, last, last.lower()):
        if candidate in ALIASES and ALIASES[candidate] != key:
            return f" (did you mean `{ALIASES[candidate]}`?)"
    first = key.split(".", 1)[0]
    if first in ALIASES and "." in key:  # trainer.lr -> training.lr -> training.learning_rate
        rest = key.split(".", 1)[1]
        return suggestion(f"{ALIASES[first]}.{rest}", known) or f" (did you mean `{ALIASES[first]}`?)"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if not close:
        by_last = {k.rsplit(".", 1)[-1]: k for k in known if k.startswith(first + ".")} or {
            k.rsplit(".", 1)[-1]: k for k in known
        }
        near = difflib.get_close_matches(last, list(by_last), n=1, cutoff=0.6)
        close = [by_last[near[0]]] if near else []
    return f" (did you mean `{close[0]}`?)" if close else ""


def _normalise(path: str) -> str:
    """``dataset.sources.3.path`` -> ``dataset.sources.0.path`` (list items share one schema)."""
    return ".".join("0" if part.isdigit() else part for part in path.split("."))


def unknown_paths(cfg, schema) -> list[str]:
    """Dotted keys present in the composed ``cfg`` that ``schema`` does not define."""
    from omegaconf import DictConfig, ListConfig

    found: list[str] = []

    def walk(node, cls, prefix):
        fields = _fields(cls)
        for key in node.keys() if isinstance(node, DictConfig) else []:
            key = str(key)
            if prefix == "" and key in _EXTRA_ROOT:
                continue
            if key not in fields:
                found.append(prefix + key)
                continue
            sub, is_list = _dataclass_of(fields[key])
            child = node._get_node(key)
            if sub is None or child is None or getattr(child, "_is_none", lambda: False)():
                continue
            if is_list and isinstance(child, ListConfig):
                for i, item in enumerate(child):
                    if isinstance(item, DictConfig):
                        walk(item, sub, f"{prefix}{key}.{i}.")
            elif isinstance(child, DictConfig):
                walk(child, sub, f"{prefix}{key}.")

    walk(cfg, schema, "")
    return found


def check_composed(cfg, schema) -> None:
    """ConfigError naming the first key in ``cfg`` that ``schema`` lacks (``+key``, YAML, preset)."""
    unknown = unknown_paths(cfg, schema)
    if unknown:
        key = unknown[0]
        raise ConfigError(
            f"unknown config key '{key}'{suggestion(_normalise(key), schema_paths(schema))}; "
            "see `sftlab train --help` for the keys"
        )


def check_override(text: str, schema, groups: list[str], check_options: bool = True) -> None:
    """Check one command-line override (``key=value``, ``+key=``, ``++key=``, ``group=option``).

    ``check_options=False`` leaves group options to Hydra (a user's own config folder adds some).
    """
    body = text.lstrip("+~")
    if "=" not in body:
        return  # flags (-m, --cfg) and Hydra's own syntax are Hydra's to judge
    key, value = body.split("=", 1)
    if key.startswith("hydra") or "@" in key or "/" in key:
        return  # hydra.*, hydra/launcher=..., package overrides: Hydra's namespace
    if key in groups:
        options = group_options(key) if check_options else []
        for option in (v.strip() for v in value.split(",")):
            if (
                options
                and option
                and option not in options
                and option != "null"
                and not option.startswith(("/", ".", "~", "$"))
            ):
                close = difflib.get_close_matches(option, options, n=1, cutoff=0.5)
                hint = f" (did you mean `{key}={close[0]}`?)" if close else ""
                raise ConfigError(f"{key}={option}: no such option{hint}; choose one of {', '.join(options)}")
        return
    known = schema_paths(schema)
    norm = _normalise(key)
    prefixes = {p.rsplit(".", i)[0] for p in known for i in range(p.count(".") + 1)}
    leaves = [k for k in known if k not in prefixes or not any(o.startswith(k + ".") for o in known)]
    under_dict = any(norm.startswith(k + ".") for k in leaves)  # model.build.overrides.<any key>
    if norm not in known and norm not in prefixes and not under_dict:
        raise ConfigError(
            f"unknown config key '{key}'{suggestion(norm, known + groups)}; "
            "see `sftlab train --help` for the keys"
        )


def config_groups(config_dir: Path = CONF_DIR) -> list[str]:
    """Names of the config groups (folders of ``conf/`` holding YAML files)."""
    return sorted(p.name for p in config_dir.iterdir() if p.is_dir() and any(p.glob("*.yaml")))


def explain_compose_error(err: Exception, schema, groups: list[str]) -> ConfigError | None:
    """A ConfigError with a suggestion for Hydra's "Key 'x' not in 'Y'" / "Could not find 'g/o'", else None."""
    import re

    cause = err
    while cause is not None:
        full_key = getattr(cause, "full_key", None)
        if full_key and "not in" in str(cause):
            known = schema_paths(schema)
            return ConfigError(
                f"unknown config key '{full_key}'{suggestion(_normalise(str(full_key)), known + groups)} "
                "(in a YAML file or an experiment preset); see `sftlab train --help` for the keys"
            )
        if full_key:  # a value of the wrong type: lora.r=eight
            first = str(cause).splitlines()[0]
            return ConfigError(f"{full_key}: {first}; see `sftlab train --help` for its type")
        found = re.search(r"Could not (?:find|load) '([\w/]+)/([^']+)'", str(cause))
        if found and found.group(1) in groups:
            group, option = found.groups()
            options = group_options(group)
            close = difflib.get_close_matches(option, options, n=1, cutoff=0.5)
            hint = f" (did you mean `{group}={close[0]}`?)" if close else ""
            return ConfigError(f"{group}={option}: no such option{hint}; choose one of {', '.join(options)}")
        cause = cause.__cause__ or cause.__context__
    return None

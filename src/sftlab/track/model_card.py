"""Model cards from the experiment record, written with huggingface_hub's ``ModelCard``.

Every saved adapter (and merged model) gets a ``README.md`` whose YAML front matter the Hub reads
(``base_model``, ``library_name``, ``language``, ``datasets``, ``license``, ``tags``,
``base_model_relation``) and whose text holds the training config, the data hash, Belebele with and
without the adapter, the judge's scores and the MLflow run. It replaces the template peft writes
("[More Information Needed]"): a section whose facts were not recorded says so instead.

:func:`run_facts` reads a run back from MLflow (metrics, tags, its ``config.yaml``);
:func:`build_card` renders ``assets/model_card.md`` with those facts.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sftlab.config.paths import ASSETS_DIR
from sftlab.track.metric_names import FINAL_LOSS
from sftlab.track.vllm import model_json

log = logging.getLogger(__name__)

TEMPLATE = ASSETS_DIR / "model_card.md"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# The config sections a card shows: what was trained and how it was scored (not where files went).
_CARD_SECTIONS = ("model", "dataset", "quantization", "lora", "training", "generation", "eval", "judge")


@dataclass
class RunFacts:
    """What a training run recorded: ids, metrics, tags and its resolved config."""

    run_id: str
    experiment: str | None = None
    tracking_uri: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    config: dict | None = None


def safe_uri(uri: str | None) -> str | None:
    """A tracking URI without credentials (``http://user:pass@host`` -> ``http://host``)."""
    if not uri:
        return uri
    parts = urlsplit(uri)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return uri


def run_facts(tracking_uri: str | None, run_id: str | None) -> RunFacts | None:
    """The run's record from MLflow, or None when there is no run or the store cannot say."""
    if not tracking_uri or not run_id:
        return None
    import yaml

    from sftlab.track.tracker import check_tracking_uri, mlflow_client

    if tracking_uri.startswith("sqlite:///") and not Path(tracking_uri[len("sqlite:///") :]).is_file():
        return None  # opening it would create an empty store
    try:
        check_tracking_uri(tracking_uri, timeout_s=5.0)  # a server that does not answer: fail fast
        client = mlflow_client(tracking_uri)
        run = client.get_run(run_id)
        experiment = client.get_experiment(run.info.experiment_id).name
        config = None
        if any(a.path == "config.yaml" for a in client.list_artifacts(run_id)):
            with tempfile.TemporaryDirectory() as tmp:
                config = yaml.safe_load(
                    Path(client.download_artifacts(run_id, "config.yaml", tmp)).read_text()
                )
    except Exception as e:  # an unreachable or foreign store: the card says what it lacks
        log.warning(
            "No MLflow record for run %s in %s (%s)", run_id, safe_uri(tracking_uri), type(e).__name__
        )
        return None
    return RunFacts(
        run_id, experiment, safe_uri(tracking_uri), dict(run.data.metrics), dict(run.data.tags), config
    )


def find_run(run_id: str | None, *uris: str | None) -> RunFacts | None:
    """The run's record from the first of ``uris`` that has it (e.g. the command's store, then the
    store the adapter folder recorded)."""
    for uri in dict.fromkeys(u for u in uris if u):
        facts = run_facts(uri, run_id)
        if facts is not None:
            return facts
    return None


def hub_id(model_cfg: dict) -> str | None:
    """The base model's Hub id, or None for a local folder or a locally built tiny model."""
    path = str(model_cfg.get("name_or_path") or "")
    if model_cfg.get("build") or Path(path).exists() or not _HUB_ID.match(path):
        return None
    return path


def base_license(model_cfg: dict) -> str | None:
    """``model.license``, else the licence in the base's own card (its folder or the Hub), else None."""
    if model_cfg.get("license"):
        return str(model_cfg["license"])
    from huggingface_hub import ModelCard

    path = str(model_cfg.get("name_or_path") or "")
    if model_cfg.get("build") or not path:
        return None
    try:
        return ModelCard.load(path).data.license
    except Exception:  # offline, gated, no README: the card says the licence is not recorded
        return None


def _fmt(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def eval_rows(metrics: dict, prefix: str) -> list[dict]:
    """Base / adapter / difference rows of an lm-eval task's ``<prefix>/...`` metrics."""
    rows = []
    for name in ("acc", "acc_norm"):
        adapter, base = metrics.get(f"{prefix}/{name}"), metrics.get(f"{prefix}/base_{name}")
        if adapter is None and base is None:
            continue
        err = metrics.get(f"{prefix}/{name}_stderr")
        delta = metrics.get(f"{prefix}/delta_{name}")
        if delta is None and adapter is not None and base is not None:
            delta = adapter - base
        rows.append(
            {
                "metric": name,
                "base": _fmt(base),
                "adapter": _fmt(adapter) + (f" ± {err:.3f}" if err is not None else ""),
                "delta": "n/a" if delta is None else f"{delta:+.3f}",
            }
        )
    return rows


def judge_rows(metrics: dict) -> list[dict]:
    """``judge/<suite>/<category>`` (and people's ``human/...``) scores, sorted by name."""
    rows = []
    for key in sorted(metrics):
        if key.startswith(("judge/", "human/")) and "missing" not in key and key.count("/") == 2:
            rows.append({"name": key, "score": _fmt(metrics[key], 2)})
    return rows


def _yaml(config: dict) -> str:
    """The card's config block: the training sections; the judge only when it ran, by rubric version."""
    import yaml

    kept = {k: config[k] for k in _CARD_SECTIONS if k in config}
    judge = kept.get("judge") or {}
    if judge.get("kind", "none") == "none":
        kept.pop("judge", None)
    elif isinstance(judge.get("rubric"), dict):  # the rubric text is long; its version names it
        kept["judge"] = {**judge, "rubric": {"version": judge["rubric"].get("version")}}
    return yaml.safe_dump(kept, sort_keys=False, allow_unicode=True)


def build_card(
    *,
    kind: str,
    meta: dict,
    adapter_config: dict,
    config: dict | None,
    run: RunFacts | None,
    location: str,
    merge: dict | None = None,
    vllm=None,
):
    """The ``ModelCard`` of an adapter (``kind="adapter"``) or a merged model (``kind="merged"``).

    ``meta`` is the adapter's ``sftlab_model.json``; ``config`` the training run's resolved config
    (the run's own when ``run`` has it); ``location`` where a user finds the model (a Hub repo id
    or a folder); ``merge`` the merge check's figures; ``vllm`` a :class:`sftlab.track.vllm.VllmAdvice`.
    """
    from huggingface_hub import ModelCard, ModelCardData

    config = (run.config if run and run.config else config) or {}
    model_cfg = dict(config.get("model") or {})
    model_cfg.setdefault("name", meta.get("base_model"))
    model_cfg.setdefault("name_or_path", meta.get("name_or_path"))
    data_cfg = config.get("dataset") or {}
    metrics = run.metrics if run else {}
    tags = run.tags if run else {}
    base_id, licence = hub_id(model_cfg), base_license(model_cfg)
    quant = meta.get("quantization") or (config.get("quantization") or {}).get("name", "unknown")
    datasets = [s["hub_id"] for s in data_cfg.get("sources") or [] if s.get("hub_id")]
    sources = [s.get("hub_id") or Path(str(s.get("path"))).name for s in data_cfg.get("sources") or []]
    family = (model_json(model_cfg) or {}).get("model_type")  # llama, mistral, falcon
    card_tags = ["sftlab", "lora", *(["qlora"] if quant in ("nf4", "fp4") else []), family]
    card_tags += ["merge"] if kind == "merged" else ["peft"]
    card_data = ModelCardData(
        base_model=base_id,
        base_model_relation="merge" if kind == "merged" else "adapter",
        library_name="transformers" if kind == "merged" else "peft",
        pipeline_tag="text-generation",
        language=list(data_cfg.get("language") or []) or None,
        datasets=datasets or None,
        license=licence,
        tags=[t for t in dict.fromkeys(card_tags) if t],
    )
    ev = config.get("eval") or {}
    prefix = ev.get("metric_prefix") or ev.get("task") or "belebele"
    gen = config.get("generation") or {}
    lora = {
        "r": adapter_config.get("r"),
        "alpha": adapter_config.get("lora_alpha"),
        "dropout": adapter_config.get("lora_dropout"),
        "targets": ", ".join(sorted(adapter_config.get("target_modules") or [])),
    }
    name = model_cfg.get("name") or "the base model"
    base_display = (
        f"[{base_id}](https://huggingface.co/{base_id})"
        if base_id
        else f"`{name}` (a local model{'; a tiny stand-in built by sftlab with random weights' if model_cfg.get('build') else ''})"
    )
    what = "merged model" if kind == "merged" else "LoRA adapter"
    merge_view = None
    if merge:
        merge_view = {
            **merge,
            "max_abs_logit_diff_text": f"{merge['max_abs_logit_diff']:.3g}",
            "top1_text": f"{100 * merge['top1_agreement']:.1f}%",
        }
    card = ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATE),
        title=f"{name} {what} ({run.run_id[:8] if run else 'sftlab'})",
        summary=(
            f"A {what} of {name}, fine-tuned with sftlab (QLoRA/LoRA through TRL and peft) "
            f"on {data_cfg.get('name') or 'its dataset'}."
        ),
        base_display=base_display,
        method=_method(quant, merge),
        languages=", ".join(data_cfg.get("language") or []) or "not recorded (set dataset.language)",
        license_display=licence
        or "not recorded for the base; see the base model's own terms (model.license=...)",
        prompt_format=meta.get("prompt_format") or model_cfg.get("prompt_format"),
        system_prompt=model_cfg.get("system_prompt"),
        run_id=run.run_id if run else meta.get("run_id"),
        experiment=run.experiment if run else meta.get("experiment"),
        tracking_uri=run.tracking_uri if run else safe_uri(meta.get("tracking_uri")),
        git_commit=tags.get("git_commit"),
        config_hash=tags.get("config_hash"),
        eval_rows=eval_rows(metrics, prefix),
        eval_task=f"`{ev.get('task') or prefix}`",
        eval_note=_eval_note(ev, tags),
        judge_rows=judge_rows(metrics),
        judge_attempts=gen.get("num_attempts", "n/a"),
        judge_method=gen.get("method", "n/a"),
        merge=merge_view,
        dataset_name=f"`{data_cfg.get('name') or 'not recorded'}`",
        data_sources=", ".join(sources),
        train_records=_int(metrics.get("data/train_records")),
        eval_records=_int(metrics.get("data/eval_records")),
        data_hash=tags.get("data_hash"),
        lora=lora,
        quantization=quant,
        final_loss=_fmt(metrics[FINAL_LOSS], 4) if FINAL_LOSS in metrics else None,
        config_yaml=_yaml(config) if config else None,
        chat_command=_chat_command(location, kind, name),
        python_snippet=_python_snippet(location, kind, base_id or model_cfg.get("name_or_path")),
        vllm_lines=vllm.lines if vllm else [],
        vllm_command=vllm.command if vllm else None,
    )
    return card


def _method(quant: str, merge: dict | None) -> str:
    trained = {
        "nf4": "QLoRA: LoRA trained on a 4-bit NF4 base",
        "fp4": "QLoRA: LoRA trained on a 4-bit FP4 base",
        "int8": "LoRA trained on an 8-bit base",
        "none": "LoRA trained on an unquantized base",
    }.get(quant, f"LoRA (base quantization: {quant})")
    return f"{trained}, merged into the unquantized base in {merge['dtype']}" if merge else trained


def _int(value) -> int | None:
    return int(value) if value is not None else None


def _eval_note(ev: dict, tags: dict) -> str:
    data = ev.get("data") or {}
    parts = []
    if tags.get("sftlab.base_eval_reused") == "true" and tags.get("sftlab.base_eval_source"):
        parts.append(f"base score reused from run {tags['sftlab.base_eval_source']}")
    if data.get("source") == "local" and data.get("path"):
        parts.append(f"questions from {Path(str(data['path'])).name}")
    if ev.get("limit"):
        parts.append(f"first {ev['limit']}")
    if ev.get("num_fewshot"):
        parts.append(f"{ev['num_fewshot']}-shot")
    return ", ".join(parts)


def _chat_command(location: str, kind: str, model_name: str) -> str:
    folder, prefix = location, ""
    if hub_id({"name_or_path": location}):  # on the Hub: sftlab chats with a local folder
        folder = location.split("/")[-1]
        prefix = f"hf download {location} --local-dir {folder}\n"
    if kind == "merged":  # the model config of the base, pointed at the merged weights
        return f"{prefix}sftlab chat model={model_name} model.name_or_path={folder} model.build=null quantization=none"
    return f"{prefix}sftlab chat adapter={folder}"


def _python_snippet(location: str, kind: str, base: str | None) -> str:
    if kind == "merged":
        return (
            "from transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
            f'model = AutoModelForCausalLM.from_pretrained("{location}")\n'
            f'tokenizer = AutoTokenizer.from_pretrained("{location}")'
        )
    return (
        "from peft import AutoPeftModelForCausalLM\nfrom transformers import AutoTokenizer\n\n"
        f'model = AutoPeftModelForCausalLM.from_pretrained("{location}")  # loads the base ({base}) too\n'
        f'tokenizer = AutoTokenizer.from_pretrained("{location}")'
    )


def read_json(path: Path) -> dict:
    """A JSON file as a dict ({} when missing)."""
    return json.loads(path.read_text()) if path.is_file() else {}


def save_card(card, folder: Path) -> Path:
    """Write ``README.md`` into ``folder`` (replacing peft's template card)."""
    path = Path(folder) / "README.md"
    card.save(str(path))
    return path

"""The English control: the same benchmark in English, scored in the same run under its own prefix.

Belebele fell after fine-tuning in the study while chat quality rose. Scoring ``belebele_eng_Latn``
next to the Spanish task (``eval.control``) separates general forgetting (both fall) from a
Spanish-specific change (only Spanish moves). The control is a copy of the ``eval`` settings
(shots, limit, batch size, paired statistics) with only the task, the data and the metric prefix
swapped, so both are measured the same way.
"""

from __future__ import annotations

from omegaconf import OmegaConf

from sftlab.config.errors import ConfigError, DataError

CONTROL_TASK = "belebele_eng_Latn"
# control -> data of the control task: the bundled synthetic English sample, or the hub's full set
CONTROLS = {
    "none": None,
    "eng_sample": {
        "source": "local",
        "path": "data/belebele_eng_sample.jsonl",
        "format": "belebele",
        "synthetic": True,
    },
    "eng_full": {"source": "hub", "path": None, "format": None, "synthetic": False},
}


def control_eval(ev):
    """The ``eval`` config of the control task ``ev.control`` names, or None (``none``)."""
    from sftlab.config.paths import asset_path

    choice = ev.get("control") or "none"
    if choice not in CONTROLS:
        raise ConfigError(f"eval.control: '{choice}' is not one of {', '.join(CONTROLS)}")
    data = CONTROLS[choice]
    if data is None:
        return None
    if not ev.get("control_prefix"):
        raise ConfigError("eval.control_prefix is empty; set it (e.g. belebele_eng) or use eval.control=none")
    if ev.get("metric_prefix") == ev.control_prefix:
        raise ConfigError(
            f"eval.control_prefix: '{ev.control_prefix}' is also eval.metric_prefix; the control needs its own"
        )
    control = OmegaConf.to_container(ev, resolve=True)
    control.update(
        task=CONTROL_TASK,
        metric_prefix=ev.control_prefix,
        control="none",
        data={**data, "path": asset_path(data["path"]) if data["path"] else None},
    )
    return OmegaConf.create(control)


def check_control(ev) -> None:
    """What :func:`~sftlab.evaluation.lm_eval_tasks.check_task` checks, for the control task:
    the English hub set must load (offline and not cached: one line naming ``eval.control``)."""
    from sftlab.evaluation.lm_eval_tasks import check_task

    control = control_eval(ev)
    if control is None:
        return
    try:
        check_task(control)
    except (ConfigError, DataError) as e:
        # the task-level message names eval.task and local data; here the key and the fix are the control's
        msg = (
            str(e)
            .removeprefix("eval.task: ")
            .replace(
                "or use local data (eval.data.source=local)",
                "or use the bundled English sample (eval.control=eng_sample)",
            )
        )
        raise type(e)(f"eval.control={ev.control}: {msg}") from None

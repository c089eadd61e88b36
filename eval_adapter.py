"""python eval_adapter.py adapter.run_id=<MLflow run id> [overrides...]

Evaluate an existing adapter, or a bare base model, on the ``eval`` task (Belebele by default),
with and without the adapter, and record it in a new MLflow run:

    python eval_adapter.py adapter.run_id=9db864fb650f40daaa382a685b4c84e5     # a training run's adapter
    python eval_adapter.py adapter.path=outputs/2026-11-26/18-02-30/adapter     # an adapter folder
    python eval_adapter.py model=mistral_7b eval=belebele_full                  # a bare base model

The model and quantization must be those the adapter was trained with (model=..., quantization=...).
"""

import hydra
from omegaconf import DictConfig

from sftlab.adapter_eval import register_eval_adapter_schema

register_eval_adapter_schema()


@hydra.main(config_path="conf", config_name="eval_adapter", version_base="1.3")
def main(cfg: DictConfig) -> float:
    """Compose, evaluate, print where it was recorded, return the accuracy."""
    from sftlab.adapter_eval import run
    from sftlab.cli import report_user_error
    from sftlab.errors import SftlabError

    try:
        summary, run_id = run(cfg)
    except SftlabError as err:
        report_user_error(err)
        raise
    if run_id:
        print(f"MLflow run: {run_id} (experiment '{cfg.logger.experiment_name}')", flush=True)
    scores = summary.adapter if summary.adapter is not None else summary.base
    return float(scores.get("acc", float("nan")))


if __name__ == "__main__":
    main()

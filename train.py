"""python train.py [overrides...]   e.g.  python train.py model=falcon_7b lora.r=16

Thin entry point: Hydra composes conf/train.yaml with the overrides into the typed schema,
then sftlab.pipeline runs the job (validate, train QLoRA, record in MLflow) and this returns
the final training loss, the objective Hydra sweepers minimise.
"""

import hydra
from omegaconf import DictConfig

from sftlab.schema import register_configs

register_configs()


@hydra.main(config_path="conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float:
    """Compose, run, print the summary, return the objective."""
    from sftlab.cli import report_user_error
    from sftlab.errors import SftlabError
    from sftlab.pipeline import run, summary

    try:
        result = run(cfg)
    except SftlabError as err:
        report_user_error(err)
        raise
    print(summary(result, cfg), flush=True)
    return result.final_loss


if __name__ == "__main__":
    main()

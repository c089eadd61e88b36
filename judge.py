"""python judge.py [adapter=outputs/<date>/<time>/adapter] [judge=openai_compatible|hf_local|human] [overrides...]

e.g.  python judge.py adapter=outputs/2026-11-26/10-00-00/adapter judge=openai_compatible \
          judge.base_url=http://127.0.0.1:8000/v1 judge.model=qwen2.5-7b-instruct generation=contrastive

Thin entry point: Hydra composes conf/judge_run.yaml; sftlab.judge_job loads the base model (plus
the adapter when given), answers the prompt suites N times per prompt with the configured
decoding method, grades the answers with the judge, and records tables, per-category metrics and
the score report in one MLflow run. Judge names the suites (judge.suites) and the rubric.
"""

import hydra
from omegaconf import DictConfig

from sftlab.schema import register_configs

register_configs()


@hydra.main(config_path="conf", config_name="judge_run", version_base="1.3")
def main(cfg: DictConfig) -> None:
    """Compose, generate, grade, print the score report."""
    from sftlab.cli import report_user_error
    from sftlab.errors import SftlabError
    from sftlab.judge_job import run_job

    try:
        text = run_job(cfg)
    except SftlabError as err:
        report_user_error(err)
        raise
    print(text, flush=True)


if __name__ == "__main__":
    main()

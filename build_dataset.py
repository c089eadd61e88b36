"""python build_dataset.py input_dir=DOCS output=PAIRS.jsonl [generator.model=...] [key=value ...]

Thin entry point of the dataset builder: Hydra composes conf/build_dataset.yaml, then
sftlab.dataset_builder reads the documents, asks the generator LLM for question/answer pairs
chunk by chunk, and appends validated pairs with provenance to the output JSONL. Rerunning
the same command resumes: finished chunks are not asked again.
"""

import hydra
from omegaconf import DictConfig

from sftlab.dataset_builder.config import register_build_config

register_build_config()


@hydra.main(config_path="conf", config_name="build_dataset", version_base="1.3")
def main(cfg: DictConfig) -> None:
    """Compose, build, print the summary."""
    from sftlab.cli import report_user_error
    from sftlab.dataset_builder.build import BuildPaths, build
    from sftlab.dataset_builder.generator import make_client
    from sftlab.errors import SftlabError

    try:
        stats = build(cfg, make_client(cfg.generator))
    except SftlabError as err:
        report_user_error(err)
        raise
    paths = BuildPaths.for_output(cfg.output)
    print(
        f"chunks: {stats.chunks_total} ({stats.chunks_done_before} done before, {stats.chunks_done} now, "
        f"{stats.requests} requests)\n"
        f"pairs kept: {stats.kept} -> {paths.pairs}\n"
        f"rejected now: {stats.rejected_chunks} chunk(s) with invalid replies, {stats.duplicates} duplicate "
        f"question(s) -> {paths.rejected}",
        flush=True,
    )
    if stats.skipped_files:
        print(f"skipped unreadable files: {', '.join(stats.skipped_files)}", flush=True)


if __name__ == "__main__":
    main()

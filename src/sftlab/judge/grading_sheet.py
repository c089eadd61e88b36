"""The graders' sheet: the study's Table 3 (its 1-5 scale, four criteria per level), word for word.

The study's human graders scored with this scale; the human-grading export ships it next to the
file people fill in (``judge/human_grading_scale.md``), so a reproduction's people grade against
the same words. The scale itself is package data (``assets/study/scale.yaml``, copied from the
study's instruments).
"""

from __future__ import annotations

from pathlib import Path

CRITERIA = (
    ("accuracy", "Accuracy"),
    ("relevance", "Relevance"),
    ("coherence", "Coherence"),
    ("contextual_understanding", "Contextual understanding"),
)


def study_scale() -> dict[int, dict]:
    """Table 3 as ``{level: {label, accuracy, relevance, coherence, contextual_understanding}}``."""
    import yaml

    from sftlab.config.paths import asset_path

    data = yaml.safe_load(Path(asset_path("study/scale.yaml")).read_text(encoding="utf-8"))
    return {int(level): entry for level, entry in data.items()}


def grading_sheet_markdown() -> str:
    """Table 3 as a Markdown sheet with the instruction the graders need."""
    lines = [
        '# Grading scale (the study\'s Table 3, "Scale to rate responses")',
        "",
        "Give each answer one integer from 1 to 5 in the `human_score` column: the level whose",
        "description fits the answer best over all four criteria. Leave it empty if not graded.",
        "",
        "| Score | Level | " + " | ".join(title for _, title in CRITERIA) + " |",
        "|---|---|" + "---|" * len(CRITERIA),
    ]
    for level, entry in sorted(study_scale().items()):
        cells = [str(level), entry["label"], *(entry[key] for key, _ in CRITERIA)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

"""``sftlab <command> --help``, written from the command's YAML so help and defaults never drift.

The help opens with the YAML's header comment (what the command does and real examples),
then lists the config groups the command composes with their options (the default marked),
then the command's own keys with the comment beside each. It reads YAML text only: no Hydra,
no torch, so it answers at once.
"""

from __future__ import annotations

import re

from sftlab.config.paths import CONF_DIR

_DEFAULT_ITEM = re.compile(r"^\s*-\s*(?:optional\s+)?(?:override\s+)?([\w/]+)\s*:\s*([\w.\-]+|null)")
_KEY_LINE = re.compile(r"^([A-Za-z_][\w]*)\s*:\s*(.*?)\s*(?:#\s*(.*))?$")


def _header(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if not line.startswith("#"):
            break
        out.append(line[2:] if line.startswith("# ") else line[1:])
    return out


def _groups(lines: list[str]) -> list[tuple[str, str]]:
    """``(group, default option)`` of the defaults list, in order (schemas and _self_ left out)."""
    out, inside = [], False
    for line in lines:
        if line.startswith("defaults:"):
            inside = True
            continue
        if inside:
            if line and not line.startswith((" ", "-", "#")):
                break
            m = _DEFAULT_ITEM.match(line)
            if m and not m.group(1).startswith("hydra/"):
                out.append((m.group(1), m.group(2)))
    return out


def _keys(lines: list[str]) -> list[tuple[str, str, str]]:
    """Top-level scalar keys of the YAML with their value and comment (``hydra`` and nested ones left out)."""
    out = []
    for line in lines:
        m = _KEY_LINE.match(line)
        if not m or m.group(1) in ("defaults", "hydra", "task_name"):
            continue
        value = m.group(2)
        if value == "":  # a mapping: name its sub-keys instead of the block
            continue
        out.append((m.group(1), value, m.group(3) or ""))
    return out


def group_options(group: str) -> list[str]:
    """The options of a config group: the YAML files in ``conf/<group>/``."""
    folder = CONF_DIR / group
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def command_help(words: str, summary: str, config: str, sweeps: bool) -> str:
    """The full ``--help`` text of ``sftlab <words>``."""
    lines = (CONF_DIR / f"{config}.yaml").read_text(encoding="utf-8").splitlines()
    text = [f"sftlab {words}: {summary}", ""]
    text += _header(lines)
    groups = _groups(lines)
    if groups:
        text += ["", "config groups (group=option; * marks the default):"]
        width = max(len(g) for g, _ in groups)
        for group, default in groups:
            opts = [f"{o}*" if o == default else o for o in group_options(group)]
            if default == "null":
                opts.append("(none by default)")
            text.append(f"  {group:<{width}}  {', '.join(opts)}")
    keys = _keys(lines)
    if keys:
        text += ["", "keys of this command (key=value):"]
        width = max(len(k) for k, _, _ in keys)
        for key, value, comment in keys:
            text.append(f"  {key:<{width}}  {value:<8}  {comment}".rstrip())
    text += [
        "",
        "Any key of a group is set with group.key=value (lora.r=16, training.max_steps=20); an unknown",
        "key is an error. The YAMLs, with what each value trades off, are in",
        f"  {CONF_DIR}",
        "`--cfg job` prints the composed config; `-m` runs a sweep over comma lists (lora.r=8,16)."
        if sweeps
        else "Comma lists are not sweeps here (sftlab estimate expands them itself).",
    ]
    return "\n".join(text)

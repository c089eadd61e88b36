"""The configuration's vocabulary: typed schemas, user errors, paths, and runtime facts.

Owns the dataclass schemas Hydra validates against (``schema``, ``judge_schema``), the one-line
user errors (``errors``), where assets and configs live (``paths``) and what kind of process this
is (``runtime``: Hydra multirun, DDP rank).

Imports: nothing of sftlab. Everything else may import it.
"""

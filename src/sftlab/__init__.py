"""sftlab: reproducible, tracked QLoRA fine-tuning experiments.

The package follows a run, top to bottom: ``cli`` (the ``sftlab`` command) -> ``pipeline`` (one
training job) -> ``stages`` / ``sweep`` / ``validation`` -> ``report``, ``evaluation``,
``judge``, ``train``, ``memory`` -> ``data`` -> ``generate`` -> ``model`` -> ``track`` ->
``config``. Imports run one way (pyproject.toml's import-linter contracts); importing this
package imports nothing heavy.
"""

__version__ = "0.1.0"

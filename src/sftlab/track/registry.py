"""MLflow Model Registry: a trained adapter (or merged model) as a version of a registered model.

The model is logged in the ``python_function`` (pyfunc) flavour, with a custom ``PythonModel``
the caller names (:class:`sftlab.generate.serving.SftlabChatModel`, as MLflow "models from
code"): it loads the base exactly as training did (4-bit included) and answers like ``sftlab chat``. MLflow's own
``transformers`` flavour was not chosen: for a peft model it records a Hub base it would load
unquantized, through a pipeline without sftlab's prompt format or contrastive search, so the
served model would not be the one that was evaluated.

The logged model is linked to the active run (the training or merge run), registered under
``logger.register_model``, and carries a signature (``prompt`` -> ``answer``, parameter
``max_new_tokens``) and an input example, so the UI's Models page lists every version and
``mlflow models serve -m models:/<name>/<version> --env-manager local`` serves it.
"""

from __future__ import annotations

import logging

from sftlab.config.errors import ConfigError

log = logging.getLogger(__name__)


def check_target(logger_cfg) -> None:
    """``logger.register_model`` needs an MLflow store; say so before anything trains or loads."""
    if logger_cfg.register_model and logger_cfg.backend != "mlflow":
        raise ConfigError(
            "logger.register_model: registering a model needs MLflow (logger=mlflow); drop it or choose logger=mlflow"
        )


def log_and_register(
    name: str,
    *,
    python_model,
    artifacts: dict[str, str],
    signature,
    input_example,
    pip_requirements: list[str],
    code_paths: list[str],
    description: str,
    tags: dict[str, str],
) -> tuple[str, str]:
    """Log the model into the active run and register it as a new version of ``name``.

    ``python_model`` is a ``PythonModel`` or the path of a models-from-code file. Returns
    ``(models:/<name>/<version>, version)``. The version gets ``description`` and ``tags``.
    """
    import mlflow

    if mlflow.active_run() is None:
        raise RuntimeError("log_and_register needs an active MLflow run to link the version to")
    info = mlflow.pyfunc.log_model(
        name="served_model",
        python_model=python_model,
        artifacts=artifacts,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        code_paths=code_paths,
        registered_model_name=name,
    )
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    client.update_model_version(name, version, description=description)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, str(value))
    if not client.get_registered_model(name).description:
        client.update_registered_model(
            name, description="Adapters and merged models trained by sftlab; each version links to its run."
        )
    uri = f"models:/{name}/{version}"
    log.info("Registered %s (run %s)", uri, mlflow.active_run().info.run_id)
    return uri, version

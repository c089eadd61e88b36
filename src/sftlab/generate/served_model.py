"""The file MLflow runs to load a registered sftlab model (MLflow's "models from code").

sftlab never imports it: :func:`sftlab.generate.serving.register` hands its path to
``mlflow.pyfunc.log_model(python_model=...)``, MLflow copies it into the logged model and runs
it whenever the model is loaded (``mlflow.pyfunc.load_model``, ``mlflow models serve``). Loading
code from a file, unlike unpickling an object, runs nothing but these lines.
"""

import mlflow

from sftlab.generate.serving import SftlabChatModel

mlflow.models.set_model(SftlabChatModel())

"""python train.py [overrides...]   e.g.  python train.py model=falcon_7b lora.r=16

The same command as ``sftlab train``: Hydra composes conf/train.yaml with the overrides (``-m``
sweeps included), sftlab.pipeline trains the QLoRA adapter, evaluates it and records the run in
MLflow. Kept at the root because it is what the study's users type, and what ``torchrun
--nproc_per_node N train.py ...`` launches on every rank.
"""

import sys

from sftlab.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))

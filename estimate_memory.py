"""python estimate_memory.py [--data] [overrides...]   e.g. the study's three 7B models on a 16 GB card:

    python estimate_memory.py model=llama2_7b_chat,mistral_7b,falcon_7b preflight.device=cuda preflight.device_memory_gb=16

Prints the peak-memory breakdown (weights, LoRA, gradients, optimizer, activations, CUDA
context, allocator margin) of every composed config without loading a weight, then one summary
row per config with the settings that would fit. Exit 1 when a config does not fit its budget.
"""

import sys

from sftlab.errors import SftlabError

if __name__ == "__main__":
    from sftlab.estimate_cli import main

    try:
        sys.exit(main())
    except SftlabError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)

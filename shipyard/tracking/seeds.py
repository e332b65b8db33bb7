"""Seeding every random number generator a training run is likely to use."""

from __future__ import annotations

import os
import random
import sys

from shipyard.errors import InvalidInput

__all__ = ["seed_everything"]


def seed_everything(seed: int) -> int:
    """Seed Python's ``random``, NumPy and, if it is imported or installed, PyTorch.

    Also sets ``PYTHONHASHSEED`` for child processes. If a run is active, the
    seed is logged as its param ``seed``. Returns the seed.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise InvalidInput(f"A seed must be an integer in [0, 2**32); got {seed!r}.")
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    import numpy as np

    np.random.seed(seed)
    torch = sys.modules.get("torch")
    if torch is None:
        import importlib.util

        if importlib.util.find_spec("torch") is not None:
            import torch
    if torch is not None:
        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
    from shipyard.tracking.fluent import active_run

    run = active_run()
    if run is not None:
        run.log_param("seed", seed)
    return seed

"""A model for the server tests: it raises on a poison value, to show the server keeps serving."""

from __future__ import annotations

import numpy as np


class PoisonAware:
    def predict(self, data):  # type: ignore[no-untyped-def]
        values = np.asarray(data["x"], dtype=float)
        if (values == 666).any():
            raise ValueError("poison value 666")
        return values * 2

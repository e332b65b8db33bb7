"""PyTorch modules for the flavor tests (importable, as a state dict needs its class)."""

from __future__ import annotations

import torch


class Net(torch.nn.Module):
    def __init__(self, n_in: int = 4, hidden: int = 8) -> None:
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class Unscriptable(torch.nn.Module):
    """A module TorchScript cannot compile (variadic forward): saved as a state dict."""

    def __init__(self, n_in: int = 4) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(n_in, 1)

    def forward(self, x, *rest):  # type: ignore[no-untyped-def]
        return self.lin(x) + sum(r.sum() for r in rest) if rest else self.lin(x)

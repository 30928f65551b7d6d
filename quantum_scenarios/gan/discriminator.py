"""The classical discriminator: a PyTorch MLP on decoded grid values.

The discriminator never sees bin indices. It sees the d-dimensional *values*
a basis state decodes to (``Encoding.values()``), rescaled to ``[-1, 1]`` per
asset with the encoding bounds, so its inputs are well conditioned whatever
the scale of the returns (daily log returns are of order 1e-2).

Note:
    The network returns *logits*; :meth:`Discriminator.forward` applies the
    sigmoid. Losses are computed from logits with ``logsigmoid``, which stays
    finite where ``log(sigmoid(z))`` would underflow to ``-inf``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["Discriminator", "check_hidden_widths"]


class Discriminator(nn.Module):
    """MLP ``d -> hidden[0] -> ... -> hidden[-1] -> 1`` with LeakyReLU and a sigmoid output.

    Args:
        bounds: ``(d, 2)`` array of ``(low, high)`` per asset; inputs are mapped
            affinely from ``[low, high]`` to ``[-1, 1]`` before the first layer.
        hidden: widths of the hidden layers; its length is the depth. ``()`` gives
            logistic regression on the scaled values.
        negative_slope: slope of the LeakyReLU for negative inputs.
        dtype: floating dtype of the weights and of the expected inputs.

    Raises:
        ValueError: bounds not of shape ``(d, 2)`` with ``low < high``, a hidden
            width below 1, or a negative slope outside ``[0, 1)``.

    Example:
        >>> disc = Discriminator(bounds=[[-2.0, 2.0], [-2.0, 2.0]], hidden=(20,))
        >>> disc(torch.zeros(5, 2, dtype=torch.float64)).shape
        torch.Size([5])
    """

    def __init__(
        self,
        bounds: Sequence[Sequence[float]] | np.ndarray,
        hidden: Sequence[int] = (20,),
        *,
        negative_slope: float = 0.2,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        super().__init__()
        bounds_arr = _check_bounds(bounds)
        hidden = check_hidden_widths(hidden)
        if not 0.0 <= negative_slope < 1.0:
            raise ValueError(f"negative_slope must be in [0, 1), got {negative_slope}")
        self.num_features = int(bounds_arr.shape[0])
        self.hidden = hidden
        self.negative_slope = float(negative_slope)
        low = torch.as_tensor(bounds_arr[:, 0], dtype=dtype)
        high = torch.as_tensor(bounds_arr[:, 1], dtype=dtype)
        self.register_buffer("centre", (low + high) / 2)
        self.register_buffer("half_width", (high - low) / 2)
        layers: list[nn.Module] = []
        width = self.num_features
        for h in hidden:
            layers += [nn.Linear(width, h, dtype=dtype), nn.LeakyReLU(self.negative_slope)]
            width = h
        layers.append(nn.Linear(width, 1, dtype=dtype))
        self.net = nn.Sequential(*layers)

    def scale(self, values: torch.Tensor) -> torch.Tensor:
        """Map values from the encoding bounds to ``[-1, 1]`` per asset."""
        return (values - self.centre) / self.half_width

    def logits(self, values: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid scores, shape ``(m,)``, for ``values`` of shape ``(m, d)``.

        Raises:
            ValueError: ``values`` is not ``(m, d)`` with ``d`` the number of assets.
        """
        if values.ndim != 2 or values.shape[1] != self.num_features:
            raise ValueError(
                f"discriminator expects values of shape (m, {self.num_features}), got {tuple(values.shape)}"
            )
        return self.net(self.scale(values)).squeeze(-1)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        """Probability ``D(x)`` that each row of ``values`` is real, shape ``(m,)``."""
        return torch.sigmoid(self.logits(values))

    def architecture(self) -> dict[str, Any]:
        """Everything :meth:`from_architecture` needs to rebuild this network (JSON-serialisable)."""
        low = (self.centre - self.half_width).tolist()
        high = (self.centre + self.half_width).tolist()
        return {
            "bounds": [[lo, hi] for lo, hi in zip(low, high)],
            "hidden": list(self.hidden),
            "negative_slope": self.negative_slope,
            "dtype": str(self.centre.dtype).removeprefix("torch."),
        }

    @classmethod
    def from_architecture(cls, architecture: dict[str, Any]) -> "Discriminator":
        """Rebuild an (untrained) discriminator from :meth:`architecture`; load weights separately."""
        dtype = getattr(torch, architecture.get("dtype", "float64"))
        return cls(
            architecture["bounds"],
            tuple(architecture["hidden"]),
            negative_slope=architecture.get("negative_slope", 0.2),
            dtype=dtype,
        )


def _check_bounds(bounds: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    arr = np.asarray(bounds, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1:
        raise ValueError(f"bounds must have shape (d, 2) with one (low, high) per asset, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr[:, 1] <= arr[:, 0]):
        raise ValueError(f"bounds must be finite with low < high for every asset, got {arr.tolist()}")
    return arr


def check_hidden_widths(hidden: Sequence[int]) -> tuple[int, ...]:
    """Hidden layer widths as a tuple of positive ints.

    Raises:
        ValueError: a width that is not a positive integer.
    """
    message = f"hidden widths must be positive integers, got {list(hidden)}"
    try:
        widths = tuple(int(h) for h in hidden)
        exact = all(float(h) == float(w) for h, w in zip(hidden, widths))
    except (TypeError, ValueError) as exc:
        raise ValueError(message) from exc
    if not exact or any(h < 1 for h in widths):
        raise ValueError(message)
    return widths

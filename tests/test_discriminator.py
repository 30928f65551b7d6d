"""Tests of the PyTorch discriminator (independent reference: a NumPy forward pass)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from quantum_scenarios.gan.discriminator import Discriminator, check_hidden_widths

BOUNDS = [[-0.05, 0.03], [-2.0, 2.0]]


def _numpy_forward(disc: Discriminator, x: np.ndarray) -> np.ndarray:
    """Recompute D(x) from the weights with NumPy only."""
    bounds = np.asarray(BOUNDS)
    h = 2 * (x - bounds[:, 0]) / (bounds[:, 1] - bounds[:, 0]) - 1
    linears = [m for m in disc.net if isinstance(m, torch.nn.Linear)]
    for i, layer in enumerate(linears):
        h = h @ layer.weight.detach().numpy().T + layer.bias.detach().numpy()
        if i < len(linears) - 1:
            h = np.where(h > 0, h, disc.negative_slope * h)
    return 1 / (1 + np.exp(-h[:, 0]))


@pytest.mark.parametrize("hidden", [(), (20,), (8, 4, 3)])
def test_forward_matches_numpy_reference(hidden):
    torch.manual_seed(0)
    disc = Discriminator(BOUNDS, hidden)
    x = np.random.default_rng(1).uniform([-0.05, -2], [0.03, 2], size=(17, 2))
    out = disc(torch.as_tensor(x))
    assert out.shape == (17,)
    assert out.dtype == torch.float64
    np.testing.assert_allclose(out.detach().numpy(), _numpy_forward(disc, x), rtol=1e-12, atol=1e-14)
    assert sum(isinstance(m, torch.nn.Linear) for m in disc.net) == len(hidden) + 1


def test_scale_maps_bounds_to_unit_interval():
    disc = Discriminator(BOUNDS)
    scaled = disc.scale(torch.tensor([[-0.05, -2.0], [0.03, 2.0], [-0.01, 0.0]], dtype=torch.float64))
    np.testing.assert_allclose(scaled.numpy(), [[-1, -1], [1, 1], [0, 0]], atol=1e-12)


def test_architecture_round_trip_rebuilds_the_same_function():
    torch.manual_seed(3)
    disc = Discriminator(BOUNDS, (6, 5), negative_slope=0.1)
    rebuilt = Discriminator.from_architecture(disc.architecture())
    rebuilt.load_state_dict(disc.state_dict())
    x = torch.randn(9, 2, dtype=torch.float64)
    torch.testing.assert_close(rebuilt(x), disc(x), rtol=0, atol=0)
    assert rebuilt.architecture() == disc.architecture()


def test_logits_are_the_inverse_sigmoid_of_forward():
    disc = Discriminator(BOUNDS)
    x = torch.zeros(3, 2, dtype=torch.float64)
    torch.testing.assert_close(torch.sigmoid(disc.logits(x)), disc(x))


def test_bad_arguments_are_refused_with_clear_messages():
    with pytest.raises(ValueError, match=r"bounds must have shape \(d, 2\)"):
        Discriminator([1.0, 2.0])
    with pytest.raises(ValueError, match="low < high for every asset"):
        Discriminator([[1.0, 0.0]])
    with pytest.raises(ValueError, match="hidden widths must be positive integers"):
        Discriminator(BOUNDS, (20, 0))
    with pytest.raises(ValueError, match=r"negative_slope must be in \[0, 1\)"):
        Discriminator(BOUNDS, negative_slope=1.5)
    with pytest.raises(ValueError, match=r"expects values of shape \(m, 2\), got \(4, 3\)"):
        Discriminator(BOUNDS)(torch.zeros(4, 3, dtype=torch.float64))


@pytest.mark.parametrize("hidden", [(2.5,), ("wide",), (-1,)])
def test_hidden_widths_must_be_positive_integers(hidden):
    with pytest.raises(ValueError, match="hidden widths must be positive integers"):
        check_hidden_widths(hidden)

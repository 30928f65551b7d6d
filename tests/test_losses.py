"""Tests of the qGAN losses against closed forms, torch's BCE, scipy and autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import entropy

from quantum_scenarios.gan.losses import (
    PROBABILITY_FLOOR,
    discriminator_loss,
    generator_loss,
    generator_sample_loss,
    generator_weights,
    renyi_divergence,
    renyi_gradient_weights,
)

RNG = np.random.default_rng(0)


def _dist(k: int, zeros: int = 0) -> np.ndarray:
    p = RNG.uniform(0.1, 1.0, size=k)
    p[:zeros] = 0.0
    return p / p.sum()


def test_discriminator_loss_equals_torch_bce_on_samples():
    real, fake = torch.randn(7, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    expected = 0.5 * (
        F.binary_cross_entropy(torch.sigmoid(real), torch.ones(7, dtype=torch.float64))
        + F.binary_cross_entropy(torch.sigmoid(fake), torch.zeros(5, dtype=torch.float64))
    )
    torch.testing.assert_close(discriminator_loss(real, fake), expected)


def test_discriminator_loss_weights_the_generated_grid():
    real = torch.randn(4, dtype=torch.float64)
    fake = torch.randn(8, dtype=torch.float64)
    w = torch.as_tensor(_dist(8), dtype=torch.float64)
    d_real, d_fake = 1 / (1 + np.exp(-real.numpy())), 1 / (1 + np.exp(-fake.numpy()))
    expected = 0.5 * (-np.log(d_real).mean() - (w.numpy() * np.log(1 - d_fake)).sum())
    assert discriminator_loss(real, fake, w).item() == pytest.approx(expected, rel=1e-12)


def test_generator_losses_and_weights_are_consistent():
    logits = torch.randn(16, dtype=torch.float64)
    theta = torch.randn(16, dtype=torch.float64, requires_grad=True)
    p = torch.softmax(theta, 0)
    d = 1 / (1 + np.exp(-logits.numpy()))
    loss = generator_loss(p, logits)
    assert loss.item() == pytest.approx(-(p.detach().numpy() * np.log(d)).sum(), rel=1e-12)
    loss.backward()
    # gradient = J^T w with J = dp/dθ of the softmax
    jac = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, 0), theta.detach()).numpy()
    np.testing.assert_allclose(theta.grad.numpy(), jac.T @ generator_weights(logits), rtol=1e-10, atol=1e-14)
    assert generator_sample_loss(logits).item() == pytest.approx(-np.log(d).mean(), rel=1e-12)


@pytest.mark.parametrize(
    ("alpha", "closed_form"),
    [
        (1.0, lambda q, p: entropy(q, p)),
        (2.0, lambda q, p: np.log(np.sum(q**2 / p))),
        (0.5, lambda q, p: -2 * np.log(np.sum(np.sqrt(q * p)))),
        (3.0, lambda q, p: 0.5 * np.log(np.sum(q**3 * p**-2))),
    ],
)
def test_renyi_divergence_matches_closed_forms(alpha, closed_form):
    q, p = _dist(32, zeros=5), _dist(32)
    assert renyi_divergence(q, p, alpha).item() == pytest.approx(closed_form(q, p), rel=1e-10)


def test_renyi_divergence_is_zero_at_the_target_and_floors_empty_generator_bins():
    q = _dist(10, zeros=3)
    for alpha in (0.5, 1.0, 2.0):
        assert renyi_divergence(q, q, alpha).item() == pytest.approx(0.0, abs=1e-12)
    p = q[::-1].copy()  # p vanishes where q is positive
    expected = np.log(np.sum(q[q > 0] ** 2 / np.maximum(p[q > 0], PROBABILITY_FLOOR)))
    assert renyi_divergence(q, p, 2.0).item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0, 3.5])
def test_renyi_gradient_weights_equal_autograd(alpha):
    q = _dist(16, zeros=2)
    theta = torch.as_tensor(RNG.normal(size=16), dtype=torch.float64).requires_grad_(True)
    p = torch.softmax(theta, 0)
    renyi_divergence(q, p, alpha).backward()
    jac = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, 0), theta.detach()).numpy()
    weights = renyi_gradient_weights(q, p.detach().numpy(), alpha)
    np.testing.assert_allclose(jac.T @ weights, theta.grad.numpy(), rtol=1e-9, atol=1e-13)
    assert np.all(weights[q == 0] == 0)


def test_renyi_rejects_bad_alpha_and_shapes():
    q = _dist(4)
    with pytest.raises(ValueError, match="renyi_alpha must be a finite number > 0"):
        renyi_divergence(q, q, 0.0)
    with pytest.raises(ValueError, match="renyi_alpha must be a finite number > 0"):
        renyi_gradient_weights(q, q, float("inf"))
    with pytest.raises(ValueError, match=r"same shape, got \(4,\) and \(3,\)"):
        renyi_divergence(q, q[:3], 2.0)


def test_discriminator_loss_with_real_frequencies_equals_the_minibatch_mean():
    logits = torch.randn(6, dtype=torch.float64)
    batch = np.array([0, 0, 3, 5, 5, 5, 1])
    freq = torch.as_tensor(np.bincount(batch, minlength=6) / len(batch))
    fake_w = torch.as_tensor(_dist(6))
    by_weights = discriminator_loss(logits, logits, fake_weights=fake_w, real_weights=freq)
    by_samples = discriminator_loss(logits[torch.as_tensor(batch)], logits, fake_weights=fake_w)
    torch.testing.assert_close(by_weights, by_samples)

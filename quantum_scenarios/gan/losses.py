r"""Losses of the qGAN: BCE for both players, and a Rényi-α distribution-matching loss.

Notation: ``q`` is the target histogram on the grid, ``p`` the generator's
distribution over the same ``2**N`` basis states, ``z(x)`` the discriminator's
logit at the decoded value of basis state ``x`` and ``D(x) = sigmoid(z(x))``.

* Discriminator (BCE, real label 1, generated label 0):
  :math:`L_D = \tfrac12\big(\mathbb E_{\text{real}}[-\log D] + \mathbb E_{\text{gen}}[-\log(1-D)]\big)`,
  the generated expectation is either probability-weighted over the whole
  grid (exact executor) or a mean over samples (shot executors).
* Generator (non-saturating BCE): :math:`L_G = -\sum_x p_\theta(x)\log D(x)`.
  Its gradient is :math:`\sum_x w_x\,\partial_\theta p_\theta(x)` with
  :math:`w_x = -\log D(x)`, which is what parameter shift estimates.
* Rényi-α: :math:`D_\alpha(q\,\|\,p) = \frac{1}{\alpha-1}\log\sum_x q_x^\alpha p_x^{1-\alpha}`
  (:math:`\alpha = 1` is KL(q‖p)). Its gradient is
  :math:`\sum_x w_x\,\partial_\theta p_x` with :math:`w_x = -q_x^\alpha p_x^{-\alpha} / S`,
  :math:`S = \sum_x q_x^\alpha p_x^{1-\alpha}`, for every α.

Note:
    Empty bins: the Rényi sum runs over bins with ``q > 0`` only (for α > 0
    the others contribute nothing), and ``p`` is floored at
    :data:`PROBABILITY_FLOOR` so that a bin the generator never visits gives a
    large but finite loss instead of ``inf``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "PROBABILITY_FLOOR",
    "discriminator_loss",
    "generator_loss",
    "generator_sample_loss",
    "generator_weights",
    "renyi_divergence",
    "renyi_gradient_weights",
]

PROBABILITY_FLOOR = 1e-12
"""Smallest generator probability used inside the Rényi loss (avoids ``log 0`` and ``0**-α``)."""


def discriminator_loss(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    fake_weights: torch.Tensor | None = None,
    real_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """BCE of the discriminator: real scored 1, generated scored 0, averaged over the two.

    Args:
        real_logits: ``(m,)`` logits of real points.
        fake_logits: ``(k,)`` logits of generated points.
        fake_weights: ``(k,)`` probabilities of the generated points (summing
            to 1) when ``fake_logits`` covers the whole grid; None averages the
            generated points as samples.
        real_weights: ``(m,)`` frequencies of the real points (summing to 1),
            e.g. a minibatch's histogram over the grid; None averages them.

    Returns:
        Scalar loss tensor.
    """
    real_nll = -F.logsigmoid(real_logits)
    real_term = real_nll.mean() if real_weights is None else (real_weights * real_nll).sum()
    fake_nll = -F.logsigmoid(-fake_logits)
    fake_term = fake_nll.mean() if fake_weights is None else (fake_weights * fake_nll).sum()
    return 0.5 * (real_term + fake_term)


def generator_loss(probabilities: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Probability-weighted non-saturating BCE ``-Σ_x p(x) log D(x)`` over the whole grid.

    Args:
        probabilities: ``(2**N,)`` generator distribution (differentiable in θ).
        logits: ``(2**N,)`` discriminator logits at every basis state's value.
    """
    return -(probabilities * F.logsigmoid(logits)).sum()


def generator_sample_loss(logits: torch.Tensor) -> torch.Tensor:
    """Sample estimate of the generator BCE: mean of ``-log D`` over generated samples."""
    return -F.logsigmoid(logits).mean()


def generator_weights(logits: torch.Tensor) -> np.ndarray:
    """Per-basis-state weights ``w_x = -log D(x)`` whose ``Σ w_x ∂p_x`` is the generator-loss gradient."""
    with torch.no_grad():
        return (-F.logsigmoid(logits)).cpu().numpy().astype(float)


def renyi_divergence(
    target: torch.Tensor | np.ndarray,
    probabilities: torch.Tensor | np.ndarray,
    alpha: float,
) -> torch.Tensor:
    """Rényi divergence ``D_α(target ‖ probabilities)`` (differentiable in ``probabilities``).

    Args:
        target: ``(K,)`` target distribution ``q``.
        probabilities: ``(K,)`` model distribution ``p``; a tensor keeps its autograd graph.
        alpha: order α > 0; α = 1 gives KL(q‖p).

    Returns:
        Scalar tensor (float64 unless ``probabilities`` is another float tensor).

    Raises:
        ValueError: α not positive and finite, or the two shapes differ.
    """
    _check_alpha(alpha)
    p = probabilities if isinstance(probabilities, torch.Tensor) else torch.as_tensor(probabilities, dtype=torch.float64)
    q = torch.as_tensor(np.asarray(target, dtype=float) if not isinstance(target, torch.Tensor) else target)
    q = q.to(dtype=p.dtype, device=p.device)
    if q.shape != p.shape:
        raise ValueError(f"target and probabilities must have the same shape, got {tuple(q.shape)} and {tuple(p.shape)}")
    support = q > 0
    q_s = q[support]
    log_p = torch.log(p[support].clamp_min(PROBABILITY_FLOOR))
    if alpha == 1.0:
        return (q_s * (torch.log(q_s) - log_p)).sum()
    log_terms = alpha * torch.log(q_s) + (1.0 - alpha) * log_p
    return torch.logsumexp(log_terms, dim=0) / (alpha - 1.0)


def renyi_gradient_weights(target: np.ndarray, probabilities: np.ndarray, alpha: float) -> np.ndarray:
    """Weights ``w`` with ``∂_θ D_α(q‖p_θ) = Σ_x w_x ∂_θ p_θ(x)``, for parameter-shift training.

    ``w_x = -q_x^α p_x^{-α} / Σ_y q_y^α p_y^{1-α}`` on bins with ``q > 0`` and 0
    elsewhere, with ``p`` floored at :data:`PROBABILITY_FLOOR`.

    Raises:
        ValueError: α not positive and finite, or the two shapes differ.
    """
    _check_alpha(alpha)
    q = np.asarray(target, dtype=float)
    p = np.maximum(np.asarray(probabilities, dtype=float), PROBABILITY_FLOOR)
    if q.shape != p.shape:
        raise ValueError(f"target and probabilities must have the same shape, got {q.shape} and {p.shape}")
    weights = np.zeros_like(q)
    support = q > 0
    log_num = alpha * (np.log(q[support]) - np.log(p[support]))
    log_s = np.logaddexp.reduce(alpha * np.log(q[support]) + (1.0 - alpha) * np.log(p[support]))
    weights[support] = -np.exp(log_num - log_s)
    return weights


def _check_alpha(alpha: float) -> None:
    if not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"renyi_alpha must be a finite number > 0 (1 gives KL), got {alpha}")

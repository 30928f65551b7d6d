"""qGAN training: the PyTorch discriminator, the losses, the training loop and its checkpoints."""

from quantum_scenarios.gan.checkpoints import checkpoint_path, latest_checkpoint, load_checkpoint, save_checkpoint
from quantum_scenarios.gan.discriminator import Discriminator
from quantum_scenarios.gan.losses import (
    discriminator_loss,
    generator_loss,
    generator_sample_loss,
    generator_weights,
    renyi_divergence,
    renyi_gradient_weights,
)
from quantum_scenarios.gan.training import EpochRecord, TrainingResult, train_qgan

__all__ = [
    "Discriminator",
    "EpochRecord",
    "TrainingResult",
    "checkpoint_path",
    "discriminator_loss",
    "generator_loss",
    "generator_sample_loss",
    "generator_weights",
    "latest_checkpoint",
    "load_checkpoint",
    "renyi_divergence",
    "renyi_gradient_weights",
    "save_checkpoint",
    "train_qgan",
]

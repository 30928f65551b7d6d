"""Self-describing training checkpoints: everything needed to resume a qGAN run exactly.

A checkpoint is one ``torch.save`` file holding a plain dictionary:

========================  ====================================================
key                       content
========================  ====================================================
``format``                :data:`CHECKPOINT_FORMAT`
``epoch``                 last completed epoch (1-based)
``theta``                 generator parameters, float64 tensor ``(P,)``
``parameter_names``       names of the generator parameters, in order
``discriminator``         discriminator ``state_dict``
``discriminator_arch``    :meth:`Discriminator.architecture` (rebuilds the network)
``generator_optimizer``   Adam ``state_dict`` (None for COBYLA, which keeps no state between epochs)
``discriminator_optimizer`` Adam ``state_dict``
``config``                every ``train_qgan`` keyword argument (JSON-like)
``encoding_contract``     :meth:`EncodingContract.to_dict`
``numpy_rng``             ``numpy.random.Generator.bit_generator.state``
``torch_rng``             ``torch.get_rng_state()``
``history``               list of epoch records (dicts) so far
``stopped_early``         whether the run had met its KL tolerance
========================  ====================================================

Files are written atomically (temporary file, then ``os.replace``) and read
with ``torch.load(weights_only=True)``: a checkpoint holds tensors and plain
Python values only, never pickled code.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch

from quantum_scenarios.errors import ModelNotTrainedError

__all__ = ["CHECKPOINT_FORMAT", "checkpoint_path", "latest_checkpoint", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_FORMAT = 1
"""Version of the checkpoint dictionary layout."""

REQUIRED_KEYS = (
    "format",
    "epoch",
    "theta",
    "discriminator",
    "discriminator_arch",
    "generator_optimizer",
    "discriminator_optimizer",
    "config",
    "encoding_contract",
    "numpy_rng",
    "torch_rng",
    "history",
)
_NAME = re.compile(r"^epoch-(\d+)\.pt$")


def checkpoint_path(directory: str | os.PathLike, epoch: int) -> Path:
    """Path of the checkpoint of ``epoch`` in ``directory`` (``epoch-000050.pt``)."""
    return Path(directory) / f"epoch-{int(epoch):06d}.pt"


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically and return the path.

    Raises:
        ValueError: ``state`` lacks one of the required keys.
    """
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise ValueError(f"checkpoint state is missing key(s) {missing}; expected all of {list(REQUIRED_KEYS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def latest_checkpoint(directory: str | os.PathLike) -> Path | None:
    """The checkpoint with the highest epoch in ``directory``, or None if it holds none."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    return max(found)[1] if found else None


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint file, or the latest checkpoint of a directory.

    Raises:
        ModelNotTrainedError: no checkpoint at ``path``, or the file is not a
            checkpoint of this format (names the file and the missing keys).
    """
    path = Path(path)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise ModelNotTrainedError(
                f"no checkpoint (epoch-NNNNNN.pt) in directory {path}; train with checkpoint_every > 0 "
                "and checkpoint_dir set, or pass the checkpoint file itself"
            )
        path = found
    if not path.is_file():
        raise ModelNotTrainedError(f"checkpoint {path} does not exist; expected a file written by train_qgan")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign file: say which, keep the cause
        raise ModelNotTrainedError(f"checkpoint {path} cannot be read ({exc}); expected a file written by train_qgan") from exc
    if not isinstance(state, dict):
        raise ModelNotTrainedError(f"checkpoint {path} holds a {type(state).__name__}, expected a dict written by train_qgan")
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise ModelNotTrainedError(f"checkpoint {path} is missing key(s) {missing}; it was not written by train_qgan")
    if state["format"] != CHECKPOINT_FORMAT:
        raise ModelNotTrainedError(
            f"checkpoint {path} has format {state['format']}, expected {CHECKPOINT_FORMAT}; "
            "resume it with the quantum-scenarios version that wrote it"
        )
    return state

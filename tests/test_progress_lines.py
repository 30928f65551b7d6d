"""Training progress as log lines (qscen without a TTY): one line per tenth, only measured metrics."""

from __future__ import annotations

import dataclasses
import math

import tasks.quantum as stage
from quantum_scenarios.gan.training import EpochRecord


def _record(epoch: int, measured: bool) -> EpochRecord:
    nan = math.nan
    values = {f.name: nan for f in dataclasses.fields(EpochRecord)}
    values["epoch"] = epoch
    if measured:
        values.update(kl=0.5 / epoch, js=0.1, fidelity=1 - 0.1 / epoch)
    return EpochRecord(**values)


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str, *args: object) -> None:
        self.lines.append(message % args)


def test_lines_wait_for_the_next_measured_epoch_and_never_print_nan(monkeypatch) -> None:
    logger = _Lines()
    monkeypatch.setattr(stage, "get_run_logger", lambda: logger)
    log, bar = stage._progress_printer(50, show=False)
    assert bar is None
    for epoch in range(1, 51):  # metrics every 10 epochs (training.metrics_every), lines due every 5
        log(_record(epoch, measured=epoch % 10 == 0))
    assert logger.lines == [f"epoch {e}/50  KL {0.5 / e:.4f}  fidelity {1 - 0.1 / e:.4f}" for e in (10, 20, 30, 40, 50)]
    assert not any("nan" in line for line in logger.lines)


def test_an_unmeasured_last_epoch_still_ends_the_lines(monkeypatch) -> None:
    logger = _Lines()
    monkeypatch.setattr(stage, "get_run_logger", lambda: logger)
    log, _ = stage._progress_printer(20, show=False)
    for epoch in range(1, 21):
        log(_record(epoch, measured=epoch == 4))
    assert logger.lines == ["epoch 4/20  KL 0.1250  fidelity 0.9750", "epoch 20/20"]

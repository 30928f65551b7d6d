"""``ibm``: IBM Quantum hardware through ``qiskit_ibm_runtime.SamplerV2``.

* **Devices.** ``backend`` names an IBM device (``"ibm_brisbane"``) reached through
  ``QiskitRuntimeService``, or a fake device (``"FakeGuadalupeV2"``), which runs in
  qiskit-ibm-runtime's *local testing mode* (the same ``SamplerV2`` code path, simulated locally
  with the device's noise model). The tests use local testing mode; nothing here needs a network
  for them.
* **Token.** From the ``token`` argument, else the ``QISKIT_IBM_TOKEN`` environment variable. The
  library never reads Prefect: ``tasks/`` resolves a Prefect ``Secret`` block and passes the token
  in. The token is handed to ``QiskitRuntimeService`` and not kept: it is in no attribute,
  provenance record, log line or error message (messages from the service are scrubbed of it).
* **Without a token or network**: :class:`IBMUnavailableError` says what to set; with
  ``fallback="simulator"`` the run continues on a fake device's noise model in local testing
  mode, and :attr:`IBMExecutor.fallback` (copied into the telemetry, manifest and report) says so.
* **Execution.** Each call is one ``SamplerV2`` job: all parameter vectors of a call (the ``2P``
  parameter-shift points) go in one PUB as a parameter-value array. ``mode`` ``"job"``,
  ``"batch"`` or ``"session"`` (``Batch`` / ``Session``). Job ids, backend, instance, channel
  and mode are recorded in :meth:`IBMExecutor.provenance`.
* **Device-side mitigation.** ``twirling`` sets ``twirling.enable_gates`` and ``enable_measure``,
  ``dd`` sets ``dynamical_decoupling.enable`` with ``dd_sequence``. Local testing mode ignores
  these options (the provenance says so); use the local emulation in
  :mod:`~quantum_scenarios.quantum.mitigation` there.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable

import numpy as np

from quantum_scenarios.errors import QuantumScenariosError
from quantum_scenarios.quantum.circuits import GeneratorCircuit, check_theta
from quantum_scenarios.quantum.executors import (
    Executor,
    _check_shots,
    counts_to_draws,
    counts_to_frequencies,
    fake_backend,
)
from quantum_scenarios.quantum.hardware import transpile_generator
from quantum_scenarios.quantum.mitigation import SamplerLedger

TOKEN_ENV = "QISKIT_IBM_TOKEN"
MODES = ("job", "batch", "session")
FALLBACKS = ("error", "simulator")
DD_SEQUENCES = ("XX", "XpXm", "XY4")
logger = logging.getLogger(__name__)


class IBMUnavailableError(QuantumScenariosError):
    """IBM Quantum cannot be reached: no token, no network, or the service refused."""


def resolve_token(token: str | None = None) -> str | None:
    """The token to use: ``token`` if given, else ``$QISKIT_IBM_TOKEN``, else None."""
    value = token if token else os.environ.get(TOKEN_ENV)
    return value or None


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def _is_fake(name: str) -> bool:
    return name.lower().startswith("fake")


class IBMSampler:
    """Runs circuits through ``SamplerV2`` (one job per call) and records what it ran.

    Also the ``runner`` of :func:`~quantum_scenarios.quantum.mitigation.mitigated_distribution`.
    """

    def __init__(self, sampler: Any, *, local: bool) -> None:
        self.sampler = sampler
        self.local = local
        self.ledger = SamplerLedger()
        self.job_ids: list[str] = []
        self.seeds: list[int] = []

    def run_pubs(self, pubs: list[Any], shots: int, seed: int) -> Any:
        if self.local:
            self.sampler.options.simulator.seed_simulator = int(seed)
        started = time.perf_counter()
        self.ledger.jobs += 1
        try:
            job = self.sampler.run(pubs, shots=int(shots))
            self.job_ids.append(str(job.job_id()))
            result = job.result()
        except Exception:
            self.ledger.failed_jobs += 1
            raise
        self.ledger.latencies.append(time.perf_counter() - started)
        self.seeds.append(int(seed))
        return result

    def __call__(self, circuits: list[Any], shots: int, seed: int) -> list[dict[str, int]]:
        result = self.run_pubs([(c,) for c in circuits], shots, seed)
        self.ledger.circuits += len(circuits)
        self.ledger.shots += len(circuits) * int(shots)
        return [_counts(pub.data) for pub in result]


def _counts(data: Any, loc: int | None = None) -> dict[str, int]:
    """Counts of the (only) classical register of a PUB result, at parameter index ``loc``."""
    names = list(data.keys()) if hasattr(data, "keys") else ["meas"]
    register = getattr(data, names[0])
    return register.get_counts(loc) if loc is not None else register.get_counts()


class IBMExecutor(Executor):
    """Shot executor on IBM Quantum (or a fake device in local testing mode) via ``SamplerV2``.

    Args:
        generator: The generator circuit (a hardware-profile generator must be built for ``backend``).
        backend: IBM device name, or a fake device name for local testing mode.
        token: IBM Quantum API key; None reads ``$QISKIT_IBM_TOKEN``. Never stored.
        instance: IBM Cloud instance (CRN or name); None lets the service choose.
        channel: ``QiskitRuntimeService`` channel.
        mode: ``"job"``, ``"batch"`` or ``"session"``.
        shots: Shots per circuit.
        seed: Transpiler seed; simulator seed in local testing mode.
        fallback: ``"error"`` (default) or ``"simulator"``: continue on ``fallback_backend``'s noise.
        fallback_backend: Fake device of the fallback.
        twirling: Runtime twirling of gates and measurements (ignored in local testing mode).
        dd: Runtime dynamical decoupling (ignored in local testing mode).
        dd_sequence: ``"XX"``, ``"XpXm"`` or ``"XY4"``.
        service_factory: Builds the service from keyword arguments (default ``QiskitRuntimeService``);
            tests inject one.
    """

    name = "ibm"
    differentiable = False

    def __init__(
        self,
        generator: GeneratorCircuit,
        *,
        backend: str = "FakeGuadalupeV2",
        token: str | None = None,
        instance: str | None = None,
        channel: str = "ibm_quantum_platform",
        mode: str = "job",
        shots: int = 4096,
        seed: int = 0,
        fallback: str = "error",
        fallback_backend: str = "FakeGuadalupeV2",
        twirling: bool = False,
        dd: bool = False,
        dd_sequence: str = "XX",
        service_factory: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__(generator)
        _check_shots(shots)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, received {mode!r}")
        if fallback not in FALLBACKS:
            raise ValueError(f"fallback must be one of {FALLBACKS}, received {fallback!r}")
        if dd_sequence not in DD_SEQUENCES:
            raise ValueError(f"dd_sequence must be one of {DD_SEQUENCES}, received {dd_sequence!r}")
        self.shots, self.seed, self.mode_name = int(shots), int(seed), mode
        self.instance, self.channel = instance, channel
        self.requested_backend = backend
        self.fallback: str | None = None
        self._calls = 0
        device, local = self._connect(backend, resolve_token(token), instance, channel, fallback, fallback_backend,
                                      service_factory)
        self.backend, self.local = device, local
        self.noise_backend = device.name if local else None
        self._mode = self._open_mode(device, mode)
        from qiskit_ibm_runtime import SamplerV2

        sampler = SamplerV2(mode=self._mode)
        self.device_options = {"twirling": bool(twirling), "dd": bool(dd), "dd_sequence": dd_sequence}
        if twirling:
            sampler.options.twirling.enable_gates = True
            sampler.options.twirling.enable_measure = True
        if dd:
            sampler.options.dynamical_decoupling.enable = True
            sampler.options.dynamical_decoupling.sequence_type = dd_sequence
        self.sampler = IBMSampler(sampler, local=local)
        self.ledger = self.sampler.ledger
        self.seeds = self.sampler.seeds
        self.transpiled = transpile_generator(generator, device, seed=self.seed)
        order = {p: i for i, p in enumerate(generator.parameters)}
        self._columns = [order[p] for p in self.transpiled.parameters]

    # -- connection -----------------------------------------------------------------------------

    def _connect(self, backend: str, token: str | None, instance: str | None, channel: str, fallback: str,
                 fallback_backend: str, factory: Callable[..., Any] | None) -> tuple[Any, bool]:
        if _is_fake(backend):
            return fake_backend(backend), True
        reason = None
        if token is None:
            reason = f"no IBM Quantum token: set ${TOKEN_ENV} or a Prefect Secret block (executor.ibm_token_secret)"
        else:
            try:
                if factory is None:
                    from qiskit_ibm_runtime import QiskitRuntimeService as factory  # noqa: N813
                service = factory(channel=channel, token=token, instance=instance)
                return service.backend(backend), False
            except Exception as error:  # network, authentication, unknown backend
                reason = _scrub(f"cannot reach IBM Quantum backend {backend!r}: {type(error).__name__}: {error}", token)
        if fallback == "simulator":
            self.fallback = f"simulator: {fallback_backend} noise model in local testing mode ({reason})"
            logger.warning("executor=ibm falls back to the %s", self.fallback)
            return fake_backend(fallback_backend), True
        raise IBMUnavailableError(
            f"{reason}. Set the token (and network access), choose a fake backend such as 'FakeGuadalupeV2' "
            "for local testing mode, or set fallback='simulator'."
        )

    @staticmethod
    def _open_mode(device: Any, mode: str) -> Any:
        if mode == "job":
            return device
        from qiskit_ibm_runtime import Batch, Session

        return Batch(backend=device) if mode == "batch" else Session(backend=device)

    def close(self) -> None:
        """Close the batch or session (no-op in job mode)."""
        if self.mode_name != "job" and hasattr(self._mode, "close"):
            self._mode.close()

    def provenance(self) -> dict[str, Any]:
        """Backend, instance, channel, mode, job ids, fallback, device options; never the token."""
        return {
            "backend": self.backend.name,
            "requested_backend": self.requested_backend,
            "instance": None if self.local else self.instance,
            "channel": None if self.local else self.channel,
            "mode": self.mode_name,
            "local_testing_mode": self.local,
            "fallback": self.fallback,
            "job_ids": list(self.sampler.job_ids),
            "device_options": dict(self.device_options),
            "device_options_applied": not self.local,
        }

    # -- execution ------------------------------------------------------------------------------

    def _next_seed(self, seed: int | None) -> int:
        if seed is not None:
            return int(seed)
        self._calls += 1
        return self.seed + 1_000_003 * self._calls

    def _counts(self, thetas: np.ndarray, shots: int, seed: int) -> list[dict[str, int]]:
        thetas = np.atleast_2d(thetas)
        if self._columns:
            result = self.sampler.run_pubs([(self.transpiled, thetas[:, self._columns])], shots, seed)
            counts = [_counts(result[0].data, k) for k in range(len(thetas))]
        else:
            result = self.sampler.run_pubs([(self.transpiled,) for _ in thetas], shots, seed)
            counts = [_counts(pub.data) for pub in result]
        self.ledger.circuits += len(thetas)
        self.ledger.shots += len(thetas) * int(shots)
        return counts

    def probabilities(self, theta: Any, *, seed: int | None = None) -> np.ndarray:
        """Frequencies of ``shots`` samples on the device, ``(2**N,)``."""
        values = check_theta(theta, self.num_parameters)
        return counts_to_frequencies(self._counts(values[None], self.shots, self._next_seed(seed))[0], self.num_qubits)

    def sample(self, theta: Any, shots: int, *, seed: int) -> np.ndarray:
        """``shots`` outcomes from the device, in a seeded random order."""
        _check_shots(shots)
        values = check_theta(theta, self.num_parameters)
        return counts_to_draws(self._counts(values[None], int(shots), int(seed))[0], int(seed))

    def _expectations(self, thetas: np.ndarray, weights: np.ndarray, seed: int | None) -> np.ndarray:
        counts = self._counts(thetas, self.shots, self._next_seed(seed))
        return np.array([counts_to_frequencies(c, self.num_qubits) @ weights for c in counts])


__all__ = ["FALLBACKS", "MODES", "TOKEN_ENV", "IBMExecutor", "IBMSampler", "IBMUnavailableError", "resolve_token"]

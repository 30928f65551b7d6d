r"""Error mitigation for sampled distributions: readout (M3), twirling, dynamical decoupling, ZNE.

Each option can be switched on alone (:class:`MitigationOptions`); :func:`mitigated_distribution`
applies the stack to one bound, transpiled circuit and returns the distribution with what every
option cost (circuits and shots). The stack, in the order it acts:

1. **ZNE folding** (``zne``): every 2-qubit gate ``G`` becomes ``G (G† G)^k`` for the odd scale
   factor ``λ = 2k+1`` (1, 3, 5 by default). The devices' native 2-qubit gates (``cx``, ``cz``,
   ``ecr``) are their own inverses, so folded circuits stay native and no optimisation pass
   runs after folding; 2-qubit gates carry most of a device's gate error.
2. **Pauli twirling** (``twirling``): qiskit's :func:`~qiskit.circuit.pauli_twirl_2q_gates` with the
   device ``Target``, ``num_randomizations`` random copies sharing the shots; their counts are
   summed, i.e. the distribution is the average over randomizations. (For ``executor=ibm`` the
   runtime's own ``twirling.enable_gates`` / ``enable_measure`` options do this on the device;
   qiskit-ibm-runtime's local testing mode ignores them, hence this emulation.)
3. **Dynamical decoupling** (``dd``): the circuit is scheduled ALAP and its idle windows filled
   with the ``dd_sequence`` by qiskit's ``PadDynamicalDecoupling``. Without DD, idle windows are
   padded with delays so that a simulator relaxes idle qubits as the device would.
4. **Readout** (``readout``): M3 (``mthree``) calibrated on the measured physical qubits with
   calibration circuits run on the same backend; its quasi-probabilities are mapped to the nearest
   probability distribution.
5. **ZNE extrapolation**: every basis-state probability is extrapolated to ``λ = 0``
   (:func:`extrapolate_to_zero`: linear least squares, Richardson, or exponential with the uniform
   distribution as its asymptote) and the result is projected onto the probability simplex
   (:func:`project_to_simplex`).

Why ZNE is ours: the maintained libraries extrapolate expectation values; none extrapolates a
whole distribution and projects it back onto the simplex (mitiq, which comes closest, is GPL).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit import QuantumCircuit

from quantum_scenarios.quantum.circuits import check_theta
from quantum_scenarios.quantum.executors import Executor, _sample_indices
from quantum_scenarios.quantum.hardware import device_backend, schedule_idle, transpile_generator

EXTRAPOLATIONS = ("linear", "richardson", "exponential")
DD_SEQUENCES = {"xx": ["x", "x"], "xy4": ["x", "y", "x", "y"]}

Counts = dict[str, int]
Runner = Callable[[list[QuantumCircuit], int, int], list[Counts]]


# --------------------------------------------------------------------------------------------
# ZNE on distributions: folding, extrapolation, simplex projection
# --------------------------------------------------------------------------------------------


def fold_two_qubit_gates(circuit: QuantumCircuit, scale: int) -> QuantumCircuit:
    """Replace every 2-qubit gate ``G`` by ``G (G† G)^k`` with ``scale = 2k + 1``.

    Args:
        circuit: A transpiled circuit (its 2-qubit gates are native).
        scale: Odd integer ``>= 1``; 1 returns a copy.

    Raises:
        ValueError: For an even or non-positive scale.
    """
    if not isinstance(scale, (int, np.integer)) or isinstance(scale, bool) or scale < 1 or scale % 2 == 0:
        raise ValueError(f"ZNE scale factors must be odd integers >= 1 (1, 3, 5 …), received {scale!r}")
    folded = circuit.copy_empty_like()
    k = (int(scale) - 1) // 2
    for instruction in circuit.data:
        folded.append(instruction)
        op = instruction.operation
        if k and op.num_qubits == 2 and op.name not in ("barrier", "measure", "delay"):
            inverse = op.inverse()
            for _ in range(k):
                folded.append(inverse, instruction.qubits)
                folded.append(op, instruction.qubits)
    return folded


def extrapolate_to_zero(scales: Sequence[float], values: Any, method: str = "linear") -> np.ndarray:
    """Extrapolate each column of ``values`` (one row per scale factor) to scale 0.

    Args:
        scales: Noise scale factors ``λ_s`` (distinct), shape ``(S,)``.
        values: Estimates at each scale, shape ``(S,)`` or ``(S, D)``.
        method: ``"linear"`` (least-squares line, ``S >= 2``), ``"richardson"`` (the polynomial of
            degree ``S−1`` through all points, evaluated at 0) or ``"exponential"``
            (``v(λ) = a + b·e^{−cλ}`` with ``a = 1/D``, the uniform distribution a fully
            depolarised register tends to; fitted as a line in ``log|v − a|``; a column whose points
            straddle ``a`` falls back to linear).

    Returns:
        The zero-noise estimates, shape ``(D,)`` (or a scalar array for 1-D input).
    """
    if method not in EXTRAPOLATIONS:
        raise ValueError(f"extrapolation must be one of {EXTRAPOLATIONS}, received {method!r}")
    lam = np.asarray(scales, dtype=float)
    v = np.asarray(values, dtype=float)
    squeeze = v.ndim == 1
    v = v[:, None] if squeeze else v
    if lam.ndim != 1 or v.shape[0] != lam.size or lam.size < 2:
        raise ValueError(f"need values for at least 2 scale factors, one row each; received scales {lam.tolist()} and values {v.shape}")
    if len(set(lam.tolist())) != lam.size:
        raise ValueError(f"scale factors must be distinct, received {lam.tolist()}")
    if method == "richardson":
        weights = np.array([np.prod([lj / (lj - lk) for j, lj in enumerate(lam) if j != k]) for k, lk in enumerate(lam)])
        out = weights @ v
    else:
        out = _linear_intercept(lam, v)
        if method == "exponential":
            asymptote = 1.0 / v.shape[1] if not squeeze else 0.0
            shifted = v - asymptote
            sign = np.sign(shifted)
            ok = np.all(sign == sign[0], axis=0) & np.all(shifted != 0, axis=0)
            if np.any(ok):
                logs = np.log(np.abs(shifted[:, ok]))
                out[ok] = asymptote + sign[0, ok] * np.exp(_linear_intercept(lam, logs))
    return out[0] if squeeze else out


def extrapolation_weights(scales: Sequence[float], method: str = "linear") -> np.ndarray:
    """Weights ``w`` with ``extrapolate_to_zero(scales, v, method) == w @ v`` (linear and Richardson).

    Both are linear in the estimates, so a differentiable executor can extrapolate its exact
    distributions and keep gradients. The exponential fit is not linear and has no such weights.
    """
    lam = np.asarray(scales, dtype=float)
    if lam.ndim != 1 or lam.size < 2 or len(set(lam.tolist())) != lam.size:
        raise ValueError(f"need at least 2 distinct scale factors, received {list(scales)}")
    if method == "richardson":
        return np.array([np.prod([lj / (lj - lk) for j, lj in enumerate(lam) if j != k]) for k, lk in enumerate(lam)])
    if method == "linear":
        design = np.stack([np.ones_like(lam), lam], axis=1)
        return np.linalg.pinv(design)[0]
    raise ValueError(
        f"extrapolation {method!r} has no linear weights; a differentiable executor supports 'linear' or 'richardson'"
    )


def _linear_intercept(lam: np.ndarray, v: np.ndarray) -> np.ndarray:
    design = np.stack([np.ones_like(lam), lam], axis=1)
    coef, *_ = np.linalg.lstsq(design, v, rcond=None)
    return coef[0]


def project_to_simplex(values: Any) -> np.ndarray:
    """Euclidean projection onto the probability simplex ``{p : p ≥ 0, Σp = 1}``.

    The sort-based algorithm (Held, Wolfe & Crowder 1974; Duchi et al. 2008): with ``u`` sorted
    descending, ``ρ = max{j : u_j − (Σ_{i≤j} u_i − 1)/j > 0}``, ``τ = (Σ_{i≤ρ} u_i − 1)/ρ``, and
    ``p = max(v − τ, 0)``.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
        raise ValueError(f"values must be a finite 1-D array, received shape {v.shape}")
    u = np.sort(v)[::-1]
    cumulative = np.cumsum(u) - 1.0
    j = np.arange(1, v.size + 1)
    rho = int(np.nonzero(u - cumulative / j > 0)[0][-1]) + 1
    tau = cumulative[rho - 1] / rho
    return np.maximum(v - tau, 0.0)


# --------------------------------------------------------------------------------------------
# counts
# --------------------------------------------------------------------------------------------


def counts_to_vector(counts: Counts, num_bits: int) -> np.ndarray:
    """Counts keyed by bitstrings (clbit ``C−1`` first, as qiskit prints them) → frequencies ``(2**C,)``."""
    p = np.zeros(2**num_bits)
    for bits, count in counts.items():
        key = bits.replace(" ", "")
        p[int(key, 16) if key.startswith("0x") else int(key, 2)] += count
    total = p.sum()
    if total <= 0:
        raise ValueError("counts are empty; nothing was measured")
    return p / total


def merge_counts(many: Sequence[Counts]) -> Counts:
    """Sum counts (e.g. over twirling randomizations)."""
    merged: Counts = {}
    for counts in many:
        for bits, count in counts.items():
            merged[bits] = merged.get(bits, 0) + int(count)
    return merged


def measured_qubits(circuit: QuantumCircuit) -> list[int]:
    """Physical qubit measured into each clbit ``0 … C−1``."""
    measured = {}
    for instruction in circuit.data:
        if instruction.operation.name == "measure":
            measured[circuit.find_bit(instruction.clbits[0]).index] = circuit.find_bit(instruction.qubits[0]).index
    if sorted(measured) != list(range(circuit.num_clbits)):
        raise ValueError("every clbit must be measured exactly once (use measure_all before transpiling)")
    return [measured[c] for c in range(circuit.num_clbits)]


# --------------------------------------------------------------------------------------------
# samplers: where circuits run
# --------------------------------------------------------------------------------------------


@dataclass
class SamplerLedger:
    """What a sampler executed: circuits, shots, jobs, failures and per-job latency (seconds)."""

    circuits: int = 0
    shots: int = 0
    jobs: int = 0
    failed_jobs: int = 0
    latencies: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "circuits": self.circuits,
            "shots": self.shots,
            "jobs": self.jobs,
            "failed_jobs": self.failed_jobs,
            "job_success_rate": (self.jobs - self.failed_jobs) / self.jobs if self.jobs else None,
            "mean_latency_s": float(np.mean(self.latencies)) if self.latencies else None,
        }


class AerDeviceSampler:
    """A fake device: ``AerSimulator.from_backend`` (its noise model), seeded; one job per call.

    Args:
        backend: Fake device name or ``BackendV2``.
        seed: Default simulator seed.
        method: Aer simulation method (``"automatic"``: Aer chooses; ``"density_matrix"``).

    Attributes:
        simulator: The Aer simulator (also the system M3 calibrates on).
        ledger: Circuits, shots, jobs and latency so far.
    """

    def __init__(self, backend: Any, *, seed: int = 0, method: str = "automatic") -> None:
        from qiskit_aer import AerSimulator

        self.backend = device_backend(backend)
        self.simulator = AerSimulator.from_backend(self.backend, method=method)
        self.seed = int(seed)
        self.ledger = SamplerLedger()
        self.name = f"aer:{self.backend.name}"

    def __call__(self, circuits: list[QuantumCircuit], shots: int, seed: int) -> list[Counts]:
        started = time.perf_counter()
        self.ledger.jobs += 1
        try:
            result = self.simulator.run(circuits, shots=int(shots), seed_simulator=int(seed)).result()
        except Exception:
            self.ledger.failed_jobs += 1
            raise
        self.ledger.latencies.append(time.perf_counter() - started)
        self.ledger.circuits += len(circuits)
        self.ledger.shots += len(circuits) * int(shots)
        return [result.get_counts(k) for k in range(len(circuits))]


# --------------------------------------------------------------------------------------------
# readout: M3
# --------------------------------------------------------------------------------------------


class ReadoutMitigator:
    """M3 readout mitigation, calibrated once per set of physical qubits on ``system``.

    Args:
        system: What M3 runs its calibration circuits on: the Aer device simulator locally, the
            IBM backend for ``executor=ibm``.
        shots: Calibration shots per circuit.
        method: M3 calibration method (``"independent"``: two circuits per qubit; ``"balanced"``).

    Attributes:
        calibration_circuits: Calibration circuits run so far.
        calibration_shots: Calibration shots run so far.
    """

    def __init__(self, system: Any, *, shots: int = 4096, method: str = "independent") -> None:
        import mthree

        self._m3 = mthree.M3Mitigation(system)
        self.shots = int(shots)
        self.method = method
        self._calibrated: set[int] = set()
        self.calibration_circuits = 0
        self.calibration_shots = 0

    def calibrate(self, qubits: Sequence[int]) -> None:
        """Run the calibration circuits for ``qubits`` not calibrated yet."""
        missing = sorted(set(int(q) for q in qubits) - self._calibrated)
        if not missing:
            return
        qubits_to_cal = sorted(self._calibrated | set(missing))
        self._m3.cals_from_system(qubits_to_cal, shots=self.shots, method=self.method, async_cal=False)
        if self.method == "balanced":
            circuits = len(qubits_to_cal) and int(self._m3._balanced_shots // max(1, self._m3.cal_shots)) or 0
            self.calibration_shots += int(self._m3._balanced_shots)
        else:
            circuits = 2 * len(qubits_to_cal)
            self.calibration_shots += circuits * self.shots
        self.calibration_circuits += circuits
        self._calibrated = set(qubits_to_cal)

    def apply(self, counts: Counts, qubits: Sequence[int]) -> np.ndarray:
        """Mitigated distribution ``(2**C,)``: M3 quasi-probabilities → nearest probabilities."""
        self.calibrate(qubits)
        quasi = self._m3.apply_correction(counts, list(qubits))
        nearest = quasi.nearest_probability_distribution()
        p = np.zeros(2 ** len(qubits))
        for bits, value in nearest.items():
            p[int(bits, 2) if isinstance(bits, str) else int(bits)] += float(value)
        return p / p.sum()


# --------------------------------------------------------------------------------------------
# the stack
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MitigationOptions:
    """Which mitigation runs (each can be switched on alone).

    Attributes:
        readout: M3 readout mitigation.
        readout_shots: M3 calibration shots per circuit.
        twirling: Pauli twirling of 2-qubit gates, averaged over ``num_randomizations`` copies.
        num_randomizations: Twirled copies (the shots are split between them).
        dd: Dynamical decoupling in idle windows.
        dd_sequence: ``"xx"`` or ``"xy4"``.
        zne: Zero-noise extrapolation of the distribution.
        zne_scales: Odd scale factors.
        zne_extrapolation: One of :data:`EXTRAPOLATIONS`.
    """

    readout: bool = False
    readout_shots: int = 4096
    twirling: bool = False
    num_randomizations: int = 8
    dd: bool = False
    dd_sequence: str = "xx"
    zne: bool = False
    zne_scales: tuple[int, ...] = (1, 3, 5)
    zne_extrapolation: str = "linear"

    def __post_init__(self) -> None:
        if self.zne_extrapolation not in EXTRAPOLATIONS:
            raise ValueError(f"zne_extrapolation must be one of {EXTRAPOLATIONS}, received {self.zne_extrapolation!r}")
        if self.dd_sequence not in DD_SEQUENCES:
            raise ValueError(f"dd_sequence must be one of {sorted(DD_SEQUENCES)}, received {self.dd_sequence!r}")
        if self.num_randomizations < 1:
            raise ValueError(f"num_randomizations must be >= 1, received {self.num_randomizations}")
        for s in self.zne_scales:
            fold_two_qubit_gates(QuantumCircuit(1), s)  # checks the scale
        if self.zne and len(self.zne_scales) < 2:
            raise ValueError(f"zne needs at least two scale factors, received {list(self.zne_scales)}")

    @property
    def active(self) -> list[str]:
        """Names of the options switched on."""
        return [n for n in ("readout", "twirling", "dd", "zne") if getattr(self, n)]


@dataclass
class MitigationResult:
    """A mitigated distribution and its cost.

    Attributes:
        probabilities: The distribution, shape ``(2**C,)``.
        raw: The unmitigated frequencies at scale 1 (twirled/DD circuits if those options are on).
        circuits: Circuits executed (calibration included).
        shots: Shots executed (calibration included).
        costs: Per option, ``{"circuits": …, "shots": …}`` beyond the plain run.
        scales: ZNE scale factors used.
        by_scale: Readout-mitigated distributions per scale, shape ``(S, 2**C)``.
    """

    probabilities: np.ndarray
    raw: np.ndarray
    circuits: int
    shots: int
    costs: dict[str, dict[str, int]]
    scales: list[int]
    by_scale: np.ndarray


def mitigated_distribution(
    circuit: QuantumCircuit,
    backend: Any,
    runner: Runner,
    *,
    shots: int,
    seed: int,
    options: MitigationOptions = MitigationOptions(),
    readout_mitigator: ReadoutMitigator | None = None,
) -> MitigationResult:
    """Run one bound, transpiled circuit (final measurements, no delays yet) with the mitigation stack.

    Args:
        circuit: The bound circuit transpiled for ``backend`` (e.g. ``hardware.transpile_generator``).
        backend: The device (its ``Target`` drives twirling and scheduling).
        runner: ``runner(circuits, shots, seed) -> list of counts``, one job (e.g. :class:`AerDeviceSampler`).
        shots: Shots of the plain run (each ZNE scale gets as many).
        seed: Seed of twirling randomizations and of the runner.
        options: Which options run.
        readout_mitigator: A calibrated :class:`ReadoutMitigator` to reuse; required when
            ``options.readout`` (its calibration cost is reported the first time only).

    Returns:
        The distribution and its cost.
    """
    return mitigated_distributions(
        [circuit], backend, runner, shots=shots, seed=seed, options=options, readout_mitigator=readout_mitigator
    )[0]


def mitigated_distributions(
    circuits: Sequence[QuantumCircuit],
    backend: Any,
    runner: Runner,
    *,
    shots: int,
    seed: int,
    options: MitigationOptions = MitigationOptions(),
    readout_mitigator: ReadoutMitigator | None = None,
) -> list[MitigationResult]:
    """:func:`mitigated_distribution` for several circuits, all their variants in one job."""
    device = device_backend(backend)
    scales = list(options.zne_scales) if options.zne else [1]
    copies = options.num_randomizations if options.twirling else 1
    per_copy = max(1, -(-int(shots) // copies))
    sequence = DD_SEQUENCES[options.dd_sequence] if options.dd else None
    batch: list[QuantumCircuit] = []
    for index, circuit in enumerate(circuits):
        for s in scales:
            folded = fold_two_qubit_gates(circuit, s)
            variants = [folded]
            if options.twirling:
                from qiskit.circuit import pauli_twirl_2q_gates

                variants = pauli_twirl_2q_gates(
                    folded, seed=int(seed) + 7919 * index + s, num_twirls=copies, target=device.target
                )
            batch.extend(schedule_idle(v, device, dd_sequence=sequence) for v in variants)
    counts = runner(batch, per_copy, int(seed))
    if options.readout and readout_mitigator is None:
        raise ValueError("readout mitigation needs a ReadoutMitigator (M3 calibrated on the same backend)")
    results = []
    per_circuit = len(scales) * copies
    for index, circuit in enumerate(circuits):
        qubits = measured_qubits(circuit)
        mine = counts[index * per_circuit : (index + 1) * per_circuit]
        merged = [merge_counts(mine[i * copies : (i + 1) * copies]) for i in range(len(scales))]
        raw = counts_to_vector(merged[0], len(qubits))
        cal = (0, 0)
        if options.readout:
            before = (readout_mitigator.calibration_circuits, readout_mitigator.calibration_shots)
            by_scale = np.stack([readout_mitigator.apply(m, qubits) for m in merged])
            cal = (readout_mitigator.calibration_circuits - before[0], readout_mitigator.calibration_shots - before[1])
        else:
            by_scale = np.stack([counts_to_vector(m, len(qubits)) for m in merged])
        if options.zne:
            p = project_to_simplex(extrapolate_to_zero(scales, by_scale, options.zne_extrapolation))
        else:
            p = by_scale[0]
        costs: dict[str, dict[str, int]] = {}
        if options.readout:
            costs["readout"] = {"circuits": cal[0], "shots": cal[1]}
        if options.twirling:
            costs["twirling"] = {"circuits": len(scales) * (copies - 1), "shots": len(scales) * (copies * per_copy - int(shots))}
        if options.dd:
            costs["dd"] = {"circuits": 0, "shots": 0}
        if options.zne:
            costs["zne"] = {"circuits": (len(scales) - 1) * copies, "shots": (len(scales) - 1) * copies * per_copy}
        results.append(MitigationResult(
            probabilities=p,
            raw=raw,
            circuits=per_circuit + cal[0],
            shots=per_circuit * per_copy + cal[1],
            costs=costs,
            scales=scales,
            by_scale=by_scale,
        ))
    return results


class MitigatedExecutor(Executor):
    """A shot executor whose every distribution goes through the mitigation stack.

    ``probabilities`` returns the mitigated distribution; a parameter-shift gradient mitigates
    each of its ``2P`` points (all their circuits in one job); ``sample`` draws from the mitigated
    distribution. Costs accumulate in :attr:`ledger` (the runner's) and :attr:`readout`.

    Args:
        generator: The generator circuit.
        backend: The fake device (or, through :mod:`~quantum_scenarios.quantum.ibm`, the real one).
        runner: Where circuits run; None: an :class:`AerDeviceSampler` of ``backend``.
        options: The mitigation options.
        shots: Shots per distribution.
        seed: Transpiler seed and the seed of calls that pass none.
        name: The executor name it stands for (``"aer"`` or ``"ibm"``).
        readout_system: What M3 calibrates on (default: the Aer sampler's simulator).
    """

    differentiable = False

    def __init__(self, generator: Any, backend: Any, *, options: MitigationOptions, runner: Runner | None = None,
                 shots: int = 4096, seed: int = 0, name: str = "aer", readout_system: Any = None) -> None:
        super().__init__(generator)
        self.name = name
        self.device = device_backend(backend)
        self.options = options
        self.shots, self.seed = int(shots), int(seed)
        self.runner = runner if runner is not None else AerDeviceSampler(self.device, seed=seed)
        self.ledger = getattr(self.runner, "ledger", SamplerLedger())
        system = readout_system if readout_system is not None else getattr(self.runner, "simulator", None)
        self.readout = ReadoutMitigator(system, shots=options.readout_shots) if options.readout else None
        self.transpiled = transpile_generator(generator, self.device, seed=self.seed)
        self.seeds: list[int] = []
        self._calls = 0
        self.costs: dict[str, dict[str, int]] = {}

    def _bound(self, theta: np.ndarray) -> QuantumCircuit:
        order = {p: i for i, p in enumerate(self.generator.parameters)}
        return self.transpiled.assign_parameters({p: float(theta[order[p]]) for p in self.transpiled.parameters})

    def _next_seed(self, seed: int | None) -> int:
        if seed is not None:
            return int(seed)
        self._calls += 1
        return self.seed + 1_000_003 * self._calls

    def _distributions(self, thetas: np.ndarray, seed: int) -> np.ndarray:
        self.seeds.append(int(seed))
        results = mitigated_distributions(
            [self._bound(t) for t in thetas], self.device, self.runner, shots=self.shots, seed=seed,
            options=self.options, readout_mitigator=self.readout,
        )
        for result in results:
            for option, cost in result.costs.items():
                total = self.costs.setdefault(option, {"circuits": 0, "shots": 0})
                total["circuits"] += cost["circuits"]
                total["shots"] += cost["shots"]
        return np.stack([r.probabilities for r in results])

    def probabilities(self, theta: Any, *, seed: int | None = None) -> np.ndarray:
        """The mitigated distribution, ``(2**N,)``."""
        values = check_theta(theta, self.num_parameters)
        return self._distributions(values[None], self._next_seed(seed))[0]

    def sample(self, theta: Any, shots: int, *, seed: int) -> np.ndarray:
        """``shots`` draws from the mitigated distribution (estimated with this executor's shots)."""
        return _sample_indices(self.probabilities(theta, seed=seed), shots, seed)

    def _expectations(self, thetas: np.ndarray, weights: np.ndarray, seed: int | None) -> np.ndarray:
        return self._distributions(np.atleast_2d(thetas), self._next_seed(seed)) @ weights


def compare_mitigation(
    circuit: QuantumCircuit,
    backend: Any,
    runner: Runner,
    target: np.ndarray,
    *,
    ideal: np.ndarray,
    shots: int,
    seed: int,
    options: dict[str, MitigationOptions],
    readout_mitigator: ReadoutMitigator | None = None,
) -> list[dict[str, Any]]:
    """Fidelity to ``target`` of the ideal, the noisy and each mitigated distribution, with costs.

    Args:
        circuit: Bound, transpiled circuit.
        backend: The device.
        runner: Where circuits run.
        target: The distribution the generator is meant to produce (the data's histogram).
        ideal: The noiseless distribution of the same circuit (``F_ideal``), or its ideal samples.
        shots: Shots of each run.
        seed: Seed (the same for every option, so differences are the options').
        options: Named option sets, e.g. ``{"readout": MitigationOptions(readout=True), …}``.
        readout_mitigator: Shared M3 calibration (its cost is charged to the first option using it).

    Returns:
        Rows ``{"option", "fidelity", "recovered", "circuits", "shots"}``; ``recovered`` is
        ``(F − F_noisy)/(F_ideal − F_noisy)``, the share of the noise loss won back.
    """
    from quantum_scenarios.evaluation.distances import classical_fidelity

    f_ideal = float(classical_fidelity(target, ideal))
    plain = mitigated_distribution(circuit, backend, runner, shots=shots, seed=seed)
    f_noisy = float(classical_fidelity(target, plain.probabilities))
    gap = f_ideal - f_noisy
    rows = [
        {"option": "ideal", "fidelity": f_ideal, "recovered": 1.0, "circuits": 0, "shots": 0},
        {"option": "noisy", "fidelity": f_noisy, "recovered": 0.0, "circuits": plain.circuits, "shots": plain.shots},
    ]
    for name, option in options.items():
        result = mitigated_distribution(
            circuit, backend, runner, shots=shots, seed=seed, options=option, readout_mitigator=readout_mitigator
        )
        f = float(classical_fidelity(target, result.probabilities))
        rows.append({
            "option": name,
            "fidelity": f,
            "recovered": (f - f_noisy) / gap if gap > 0 else float("nan"),
            "circuits": result.circuits,
            "shots": result.shots,
        })
    return rows


def noise_report(
    generator: Any,
    theta: Any,
    target: np.ndarray,
    backend: Any,
    *,
    shots: int = 8192,
    seed: int = 0,
    stack: MitigationOptions | None = None,
    runner: Runner | None = None,
    readout_system: Any = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The "Noise and mitigation" figures of a trained generator on a device.

    Samples the bound, transpiled generator ``shots`` times noiselessly (``ideal``), on the device
    (``noisy``), with each mitigation option alone and with all of them (``stack`` if given, else
    readout + twirling + DD + ZNE), and reports the fidelity to ``target`` and the circuits and
    shots each spent, next to the logical and transpiled circuit statistics.

    Args:
        generator: The trained generator circuit.
        theta: Its parameters.
        target: The data's histogram on the grid.
        backend: The device (fake, or the IBM backend when ``runner`` runs on it).
        shots: Shots of each run.
        seed: Seed of every run (the same for each option).
        stack: The options for the "all" row; None stacks all four.
        runner: Where circuits run; None samples the fake device with Aer.
        readout_system: What M3 calibrates on (default: the runner's simulator).
        note: Shown with the section (e.g. a simulator fallback).

    Returns:
        ``{"backend", "shots", "seed", "circuit", "rows", "ideal_exact_fidelity", "note"}``.
    """
    from qiskit.quantum_info import Statevector
    from qiskit_aer import AerSimulator

    from quantum_scenarios.evaluation.distances import classical_fidelity
    from quantum_scenarios.quantum.hardware import circuit_statistics

    device = device_backend(backend)
    values = check_theta(theta, generator.num_parameters)
    transpiled = transpile_generator(generator, device, seed=seed)
    order = {p: i for i, p in enumerate(generator.parameters)}
    bound = transpiled.assign_parameters({p: float(values[order[p]]) for p in transpiled.parameters})
    counts = AerSimulator().run(bound, shots=int(shots), seed_simulator=int(seed)).result().get_counts()
    ideal = counts_to_vector(counts, generator.num_qubits)
    runner = runner if runner is not None else AerDeviceSampler(device, seed=seed)
    system = readout_system if readout_system is not None else getattr(runner, "simulator", None)
    readout = ReadoutMitigator(system, shots=(stack.readout_shots if stack else 4096))
    base = stack or MitigationOptions()
    options = {
        "readout": MitigationOptions(readout=True, readout_shots=base.readout_shots),
        "twirling": MitigationOptions(twirling=True, num_randomizations=base.num_randomizations),
        "dd": MitigationOptions(dd=True, dd_sequence=base.dd_sequence),
        "zne": MitigationOptions(zne=True, zne_scales=base.zne_scales, zne_extrapolation=base.zne_extrapolation),
        "all": stack if stack is not None and stack.active else MitigationOptions(
            readout=True, readout_shots=base.readout_shots, twirling=True, num_randomizations=base.num_randomizations,
            dd=True, dd_sequence=base.dd_sequence, zne=True, zne_scales=base.zne_scales,
            zne_extrapolation=base.zne_extrapolation,
        ),
    }
    rows = compare_mitigation(bound, device, runner, np.asarray(target, dtype=float), ideal=ideal, shots=shots,
                              seed=seed, options=options, readout_mitigator=readout)
    if stack is not None and stack.active:
        rows[-1]["option"] = "all (" + " + ".join(stack.active) + ")"
    else:
        rows[-1]["option"] = "all (readout + twirling + dd + zne)"
    exact = Statevector(generator.bind(values)).probabilities()
    return {
        "backend": device.name,
        "shots": int(shots),
        "seed": int(seed),
        "circuit": circuit_statistics(generator, device, seed=seed, transpiled=transpiled),
        "rows": rows,
        "ideal_exact_fidelity": float(classical_fidelity(target, exact)),
        "note": note,
    }


__all__ = [
    "DD_SEQUENCES",
    "EXTRAPOLATIONS",
    "AerDeviceSampler",
    "MitigationOptions",
    "MitigationResult",
    "ReadoutMitigator",
    "SamplerLedger",
    "compare_mitigation",
    "counts_to_vector",
    "extrapolate_to_zero",
    "extrapolation_weights",
    "fold_two_qubit_gates",
    "measured_qubits",
    "merge_counts",
    "MitigatedExecutor",
    "mitigated_distribution",
    "mitigated_distributions",
    "noise_report",
    "project_to_simplex",
]

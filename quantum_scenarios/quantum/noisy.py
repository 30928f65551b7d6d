r"""``exact_noisy``: a differentiable, batched density-matrix simulation of a device's noise.

The generator is transpiled for the device (:func:`~quantum_scenarios.quantum.hardware.transpile_generator`)
and simulated in PyTorch over its *active* physical qubits only (those an instruction touches;
the device's other qubits stay in ``|0⟩``, carry no noise and are not measured, so dropping them
is exact). The noise is the one ``qiskit_aer.noise.NoiseModel.from_backend`` builds, with every
number read from the backend ``Target``:

* after each gate on qubits ``Q`` with error ``e`` and duration ``t``: a depolarizing channel
  ``ρ ↦ (1−λ)ρ + λ·Tr(ρ)·I/d`` followed by thermal relaxation on each qubit of ``Q``
  (``T1``, ``T2 ← min(T2, 2·T1)``, time ``t``, ground-state equilibrium). ``λ`` is chosen so that
  the composed channel's average gate infidelity is ``e``:
  ``λ = d·(e − r)/(d·F_r − 1)`` with ``F_r = 1 − r`` the average gate fidelity of the relaxation
  alone (no depolarizing term when ``e ≤ r``; ``e`` capped at ``d/(d+1)``, ``λ`` at ``4ⁿ/(4ⁿ−1)``);
* thermal relaxation for the duration of every ``delay`` (scheduled circuits, dynamical decoupling);
* readout: per measured qubit the confusion matrix ``P(measured | prepared)`` from
  ``prob_meas1_prep0`` / ``prob_meas0_prep1`` (or the symmetric ``measure`` error).

Every channel is represented exactly (a superoperator), so the probabilities equal
``AerSimulator(method="density_matrix")`` with that noise model to round-off; ``tests/test_noisy.py``
checks 1e-8 at 2–8 qubits. A qubit temperature other than 0 (thermal excited population) is not
modelled, as ``from_backend`` also defaults to 0.

Why our own simulator: Aer has no autograd, and a parameter-shift gradient costs ``2P`` noisy
circuit runs; here one forward and one backward pass give the exact gradient of the noisy
distribution, which is what makes noise-aware training with Adam take minutes.

Runs of single-qubit operations (``rz(θ)``, ``sx``, ``x`` and their noise) are fused per qubit
into one ``(B, 4, 4)`` superoperator before they touch the density matrix; a 2-qubit gate is one
``16×16`` superoperator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator

from quantum_scenarios.quantum.circuits import GeneratorCircuit, check_theta
from quantum_scenarios.quantum.executors import Executor, _sample_indices
from quantum_scenarios.quantum.hardware import active_qubits, device_backend, schedule_idle, transpile_generator
from quantum_scenarios.quantum.mitigation import (
    DD_SEQUENCES,
    MitigationOptions,
    extrapolation_weights,
    fold_two_qubit_gates,
)

_SKIPPED = ("barrier",)


# --------------------------------------------------------------------------------------------
# channels (numpy, row-major vectorisation: vec(KρK†) = (K ⊗ K̄) vec(ρ))
# --------------------------------------------------------------------------------------------


def unitary_superop(matrix: np.ndarray) -> np.ndarray:
    """Superoperator ``U ⊗ Ū`` of ``ρ ↦ UρU†``."""
    return np.kron(matrix, matrix.conj())


def relaxation_superop(t1: float | None, t2: float | None, time: float) -> np.ndarray:
    """Single-qubit thermal relaxation at zero temperature for ``time`` (same unit as ``T1``, ``T2``).

    ``ρ₁₁ ↦ e^{−t/T1} ρ₁₁``, ``ρ₀₀ ↦ ρ₀₀ + (1 − e^{−t/T1}) ρ₁₁``, ``ρ₀₁ ↦ e^{−t/T2} ρ₀₁``, with
    ``T2`` truncated to ``2·T1`` as qiskit-aer does.
    """
    t1 = np.inf if t1 is None else float(t1)
    t2 = 2 * t1 if t2 is None else min(float(t2), 2 * t1)
    decay1 = np.exp(-time / t1) if np.isfinite(t1) else 1.0
    decay2 = np.exp(-time / t2) if np.isfinite(t2) else 1.0
    s = np.zeros((4, 4), dtype=complex)
    s[0, 0] = 1.0
    s[0, 3] = 1.0 - decay1
    s[3, 3] = decay1
    s[1, 1] = s[2, 2] = decay2
    return s


def depolarizing_superop(param: float, num_qubits: int) -> np.ndarray:
    """Superoperator of ``ρ ↦ (1−λ)ρ + λ·Tr(ρ)·I/d``, ``d = 2**num_qubits``."""
    d = 2**num_qubits
    identity = np.eye(d).reshape(-1)
    return (1 - param) * np.eye(d * d, dtype=complex) + param / d * np.outer(identity, identity)


def product_superop(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Two-qubit superoperator of ``high ⊗ low`` (local index ``2·bit_high + bit_low``)."""
    a, b = high.reshape(2, 2, 2, 2), low.reshape(2, 2, 2, 2)
    return np.einsum("aceg,bdfh->abcdefgh", a, b).reshape(16, 16)


def average_gate_fidelity(superop: np.ndarray) -> float:
    """Average gate fidelity to the identity, ``(d·Tr(S)/d² + 1)/(d + 1)``."""
    d = int(round(np.sqrt(superop.shape[0])))
    process = float(np.real(np.trace(superop))) / d**2
    return (d * process + 1) / (d + 1)


def depolarizing_parameter(error: float | None, num_qubits: int, relaxation: np.ndarray | None) -> float:
    """``λ`` of the depolarizing part so that depolarizing-then-relaxation has average infidelity ``error``."""
    relax_fid = 1.0 if relaxation is None else average_gate_fidelity(relaxation)
    relax_infid = 1.0 - relax_fid
    if error is None or error <= relax_infid:
        return 0.0
    d = 2**num_qubits
    error = min(float(error), d / (d + 1))
    param = d * (error - relax_infid) / (d * relax_fid - 1)
    return min(param, 4**num_qubits / (4**num_qubits - 1))


def readout_confusion(target: Any, qubit: int) -> np.ndarray:
    """``C[measured, prepared]`` of one qubit from the ``Target``'s ``measure`` properties."""
    props = target["measure"].get((qubit,)) if "measure" in target.operation_names else None
    if props is None:
        return np.eye(2)
    if hasattr(props, "prob_meas1_prep0") and hasattr(props, "prob_meas0_prep1"):
        p0m1, p1m0 = float(props.prob_meas1_prep0), float(props.prob_meas0_prep1)
    else:
        p0m1 = p1m0 = float(props.error or 0.0)
    return np.array([[1 - p0m1, p1m0], [p0m1, 1 - p1m0]])


def gate_noise_superop(target: Any, name: str, qubits: tuple[int, ...], *, gate_error: bool = True,
                       thermal_relaxation: bool = True) -> np.ndarray | None:
    """The noise channel after gate ``name`` on physical ``qubits`` (local order: ``qubits`` sorted
    descending, i.e. index ``2·bit_high + bit_low``), or None when the ``Target`` gives none."""
    if name not in target.operation_names:
        return None
    props = target[name].get(tuple(qubits))
    if props is None:
        return None
    order = sorted(qubits, reverse=True)  # high first
    relax = None
    if thermal_relaxation and props.duration:
        parts = [relaxation_superop(target.qubit_properties[q].t1, target.qubit_properties[q].t2, props.duration)
                 for q in order]
        relax = parts[0] if len(parts) == 1 else product_superop(parts[0], parts[1])
    depol = None
    if gate_error and props.error:
        param = depolarizing_parameter(props.error, len(qubits), relax)
        depol = depolarizing_superop(param, len(qubits)) if param > 0 else None
    if depol is not None and relax is not None:
        return relax @ depol  # depolarizing first, then relaxation (qiskit-aer's composition)
    return depol if depol is not None else relax


# --------------------------------------------------------------------------------------------
# compiled program
# --------------------------------------------------------------------------------------------


@dataclass
class NoisyProgram:
    """A transpiled circuit as superoperators on its active qubits.

    Attributes:
        active: Physical qubits simulated; local qubit ``k`` is ``active[k]``.
        steps: ``("1q", k, S, r)`` — single-qubit superoperator ``S`` (4×4) on local ``k``, preceded by
            ``rz`` number ``r`` when ``r >= 0``; ``("2q", (k_high, k_low), S, -1)`` — a 16×16 superoperator.
        angle_coef: ``(R, P)`` coefficients of every ``rz`` angle in the parameters.
        angle_offset: ``(R,)`` constant parts of the ``rz`` angles.
        measured: Local qubit measured into clbit ``c``, for ``c = 0 … C-1``.
        confusion: ``(C, 2, 2)`` readout confusion per clbit, ``C[measured, prepared]``.
    """

    active: list[int]
    steps: list[tuple[str, Any, np.ndarray | None, int]]
    angle_coef: np.ndarray
    angle_offset: np.ndarray
    measured: list[int]
    confusion: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)


def _angle(expr: Any, index: dict[Any, int], num_parameters: int) -> tuple[np.ndarray, float]:
    coef = np.zeros(num_parameters)
    if not hasattr(expr, "parameters") or not expr.parameters:
        return coef, float(expr)
    for parameter in expr.parameters:
        if parameter not in index:
            raise ValueError(f"rz angle {expr} uses {parameter}, which is not a generator parameter")
        grad = expr.gradient(parameter)
        if hasattr(grad, "parameters") and grad.parameters:
            raise ValueError(f"rz angle {expr} is not linear in {parameter}")
        coef[index[parameter]] = float(np.real(complex(grad)))
    offset = expr.bind({p: 0.0 for p in expr.parameters})
    return coef, float(np.real(complex(offset)))


def compile_program(transpiled: QuantumCircuit, backend: Any, parameters: list[Any], *, gate_error: bool = True,
                    thermal_relaxation: bool = True, readout_error: bool = True) -> NoisyProgram:
    """Compile a transpiled (physical) circuit with final measurements into a :class:`NoisyProgram`."""
    device = device_backend(backend)
    target = device.target
    active = active_qubits(transpiled)
    local = {p: k for k, p in enumerate(active)}
    index = {p: i for i, p in enumerate(parameters)}
    steps: list[tuple[str, Any, np.ndarray | None, int]] = []
    coefs, offsets = [], []
    measured: dict[int, int] = {}
    counts: dict[str, int] = {}
    for instruction in transpiled.data:
        op = instruction.operation
        if op.name in _SKIPPED:
            continue
        qubits = tuple(transpiled.find_bit(q).index for q in instruction.qubits)
        counts[op.name] = counts.get(op.name, 0) + 1
        if op.name == "measure":
            clbit = transpiled.find_bit(instruction.clbits[0]).index
            if qubits[0] in measured.values():
                raise ValueError(f"physical qubit {qubits[0]} is measured twice; exact_noisy supports final measurements only")
            measured[clbit] = qubits[0]
            continue
        if any(q in measured.values() for q in qubits):
            raise ValueError(f"{op.name!r} on qubits {qubits} follows a measurement; exact_noisy supports final measurements only")
        if op.name == "reset" or instruction.clbits:
            raise ValueError(f"exact_noisy cannot simulate {op.name!r} (qubits {qubits}); the generator must be unitary")
        if op.name == "delay":
            if qubits[0] not in local:  # an idle qubit in |0⟩: relaxation leaves it unchanged
                continue
            seconds = op.duration * device.dt if op.unit == "dt" else _seconds(op.duration, op.unit)
            props = target.qubit_properties[qubits[0]]
            if thermal_relaxation and seconds:
                steps.append(("1q", local[qubits[0]], relaxation_superop(props.t1, props.t2, seconds), -1))
            continue
        noise = gate_noise_superop(target, op.name, qubits, gate_error=gate_error, thermal_relaxation=thermal_relaxation)
        if len(qubits) == 1:
            if op.is_parameterized() or op.name == "rz":
                if op.name != "rz":
                    raise ValueError(f"exact_noisy supports parameters in rz gates only, received {op.name!r}")
                coef, offset = _angle(op.params[0], index, len(parameters))
                coefs.append(coef)
                offsets.append(offset)
                steps.append(("1q", local[qubits[0]], noise, len(coefs) - 1))
            else:
                s = unitary_superop(Operator(op).data)
                steps.append(("1q", local[qubits[0]], s if noise is None else noise @ s, -1))
        elif len(qubits) == 2:
            if op.is_parameterized():
                raise ValueError(f"exact_noisy supports fixed 2-qubit gates only, received parameterised {op.name!r}")
            matrix = Operator(op)
            if qubits[0] > qubits[1]:
                matrix = matrix.reverse_qargs()  # local index 2·bit_high + bit_low
            s = unitary_superop(matrix.data)
            pair = (local[max(qubits)], local[min(qubits)])
            steps.append(("2q", pair, s if noise is None else noise @ s, -1))
        else:
            raise ValueError(f"exact_noisy supports 1- and 2-qubit gates, received {op.name!r} on {qubits}")
    if sorted(measured) != list(range(len(measured))):
        raise ValueError("the transpiled circuit must measure into clbits 0 … C-1")
    clbits = sorted(measured)
    confusion = np.stack(
        [readout_confusion(target, measured[c]) if readout_error else np.eye(2) for c in clbits]
    ) if clbits else np.zeros((0, 2, 2))
    return NoisyProgram(
        active=active,
        steps=steps,
        angle_coef=np.array(coefs).reshape(len(coefs), len(parameters)),
        angle_offset=np.array(offsets, dtype=float),
        measured=[local[measured[c]] for c in clbits],
        confusion=confusion,
        counts=counts,
    )


def _seconds(duration: float, unit: str) -> float:
    scale = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12}
    if unit not in scale:
        raise ValueError(f"delay unit {unit!r} is not supported; use 'dt' or one of {sorted(scale)}")
    return float(duration) * scale[unit]


# --------------------------------------------------------------------------------------------
# torch evaluation
# --------------------------------------------------------------------------------------------


def _apply_1q(rho: torch.Tensor, s: torch.Tensor, k: int, m: int) -> torch.Tensor:
    """``(B, D, D)`` density matrices, ``(B, 4, 4)`` superoperators on local qubit ``k``."""
    b = rho.shape[0]
    high, low = 2 ** (m - 1 - k), 2**k
    view = rho.reshape(b, high, 2, low, high, 2, low)
    out = torch.einsum("zijkl,zhkxgly->zhixgjy", s.reshape(-1, 2, 2, 2, 2).expand(b, 2, 2, 2, 2), view)
    return out.reshape(b, 2**m, 2**m)


def _apply_2q(rho: torch.Tensor, s: torch.Tensor, pair: tuple[int, int], m: int) -> torch.Tensor:
    """A ``16×16`` superoperator on local qubits ``pair = (k_high, k_low)``."""
    b = rho.shape[0]
    hi, lo = pair
    h, mid, low = 2 ** (m - 1 - hi), 2 ** (hi - lo - 1), 2**lo
    view = rho.reshape(b, h, 2, mid, 2, low, h, 2, mid, 2, low)
    out = torch.einsum("abcdefgh,zHeMfLIgNhK->zHaMbLIcNdK", s.reshape(2, 2, 2, 2, 2, 2, 2, 2), view)
    return out.reshape(b, 2**m, 2**m)


class NoisyDensityMatrixExecutor(Executor):
    """Differentiable density-matrix executor of a device's noise (see the module docstring).

    Args:
        generator: The generator circuit (a hardware-profile generator keeps its layout).
        backend: Device name of a ``qiskit_ibm_runtime.fake_provider`` device, or a ``BackendV2``;
            None uses the device a hardware-profile generator was built for.
        seed: Transpiler seed (recorded).
        optimization_level: Preset pass-manager level; None: the generator's (3 for the hardware
            profile, 1 otherwise).
        gate_error: Include the depolarizing part of gate errors.
        thermal_relaxation: Include T1/T2 relaxation during gates and delays.
        readout_error: Include readout confusion.
        dtype: ``"complex128"`` (default) or ``"complex64"``.
        device: Torch device.
        transpiled: A circuit already transpiled for ``backend`` (with final measurements), e.g.
            a folded or twirled variant; it replaces the generator's own transpilation.
        idle_noise: Schedule the transpiled circuit (ALAP, idle windows as delays) so idle qubits
            relax as on the device; the ``aer`` executors and the mitigation samplers do the same.
        mitigation: A :class:`~quantum_scenarios.quantum.mitigation.MitigationOptions` (or its fields
            as a dict), applied exactly and differentiably to every distribution: ``readout`` inverts
            the readout confusion (what M3 estimates from calibration shots, here known exactly),
            ``dd`` fills idle windows with the DD sequence, ``zne`` folds the 2-qubit gates at each
            scale, extrapolates linearly or by Richardson (the probabilities are linear in each
            scale's, so gradients flow) and projects onto the simplex. Twirling is not offered:
            averaging twirled copies needs sampled circuits (use ``aer`` with mitigation).

    Note:
        With ``zne``, :meth:`density_matrix` is the unfolded (scale 1) circuit's.
    """

    name = "exact_noisy"
    differentiable = True

    def __init__(
        self,
        generator: GeneratorCircuit,
        *,
        backend: Any = None,
        seed: int = 0,
        optimization_level: int | None = None,
        gate_error: bool = True,
        thermal_relaxation: bool = True,
        readout_error: bool = True,
        dtype: str = "complex128",
        device: str = "cpu",
        transpiled: QuantumCircuit | None = None,
        idle_noise: bool = True,
        mitigation: Any = None,
    ) -> None:
        super().__init__(generator)
        backend = backend if backend is not None else generator.options.get("backend")
        if backend is None:
            raise ValueError(
                "exact_noisy needs a device: pass backend (e.g. 'FakeGuadalupeV2') or build the generator "
                "with the hardware profile"
            )
        if dtype not in ("complex128", "complex64"):
            raise ValueError(f"dtype must be 'complex128' or 'complex64', received {dtype!r}")
        self.backend = device_backend(backend)
        self.seed = int(seed)
        options = _mitigation_options(mitigation)
        self.mitigation = options
        readout_error = readout_error and not (options is not None and options.readout)
        sequence = DD_SEQUENCES[options.dd_sequence] if options is not None and options.dd else None
        base = None
        if transpiled is None:
            base = transpile_generator(generator, self.backend, seed=self.seed, optimization_level=optimization_level)
            transpiled = schedule_idle(base, self.backend, dd_sequence=sequence) if idle_noise or sequence else base
        elif sequence is not None or (options is not None and options.zne):
            raise ValueError("exact_noisy applies dd and zne to its own transpilation; do not pass transpiled with them")
        self.transpiled = transpiled
        self._zne: tuple[torch.Tensor, list[NoisyDensityMatrixExecutor]] | None = None
        if options is not None and options.zne:
            weights = extrapolation_weights(options.zne_scales, options.zne_extrapolation)
            folded = [fold_two_qubit_gates(base, scale) for scale in options.zne_scales]
            children = [
                NoisyDensityMatrixExecutor(
                    generator, backend=self.backend, seed=seed, gate_error=gate_error, thermal_relaxation=thermal_relaxation,
                    readout_error=readout_error, dtype=dtype, device=device,
                    transpiled=schedule_idle(f, self.backend, dd_sequence=sequence) if idle_noise or sequence else f,
                )
                for f in folded
            ]
            self._zne = (torch.as_tensor(weights, dtype=torch.float64 if dtype == "complex128" else torch.float32,
                                         device=torch.device(device)), children)
        self.program = compile_program(
            self.transpiled, self.backend, generator.parameters,
            gate_error=gate_error, thermal_relaxation=thermal_relaxation, readout_error=readout_error,
        )
        if len(self.program.measured) != self.num_qubits:
            raise ValueError(
                f"the transpiled circuit measures {len(self.program.measured)} clbits, the generator has {self.num_qubits} qubits"
            )
        self.dtype = torch.complex128 if dtype == "complex128" else torch.complex64
        self.real_dtype = torch.float64 if dtype == "complex128" else torch.float32
        self.device = torch.device(device)
        as_t = lambda a, kind: torch.as_tensor(np.asarray(a), dtype=kind, device=self.device)  # noqa: E731
        self._steps = [(kind, where, None if s is None else as_t(s, self.dtype), r) for kind, where, s, r in self.program.steps]
        self._coef = as_t(self.program.angle_coef, self.real_dtype)
        self._offset = as_t(self.program.angle_offset, self.real_dtype)
        self._confusion = as_t(self.program.confusion, self.real_dtype)

    @property
    def num_active_qubits(self) -> int:
        """Physical qubits simulated."""
        return len(self.program.active)

    def _as_batch(self, theta: Any) -> tuple[torch.Tensor, bool]:
        if not isinstance(theta, torch.Tensor):
            theta = torch.as_tensor(np.asarray(theta, dtype=float))
        theta = theta.to(device=self.device, dtype=self.real_dtype)
        single = theta.ndim == 1
        batch = theta.unsqueeze(0) if single else theta
        if batch.ndim != 2 or batch.shape[1] != self.num_parameters:
            raise ValueError(
                f"theta must have shape ({self.num_parameters},) or (B, {self.num_parameters}), received {tuple(theta.shape)}"
            )
        return batch, single

    def density_matrix(self, theta: Any) -> torch.Tensor:
        """Final density matrices over the active qubits (before readout), ``(B, D, D)`` or ``(D, D)``."""
        batch, single = self._as_batch(theta)
        b, m = batch.shape[0], self.num_active_qubits
        dimension = 2**m
        angles = batch @ self._coef.T + self._offset if self._coef.numel() else batch.new_zeros(b, 0)
        phase = torch.exp(-1j * angles.to(self.dtype))  # rz superop diag: (1, e^{-iφ}, e^{iφ}, 1)
        rho = torch.zeros(b, dimension, dimension, dtype=self.dtype, device=self.device)
        rho[:, 0, 0] = 1.0
        pending: list[torch.Tensor | None] = [None] * m

        def flush(k: int) -> None:
            nonlocal rho
            if pending[k] is not None:
                rho = _apply_1q(rho, pending[k], k, m)
                pending[k] = None

        ones = torch.ones(b, dtype=self.dtype, device=self.device)
        for kind, where, s, r in self._steps:
            if kind == "1q":
                if r >= 0:
                    diag = torch.stack([ones, phase[:, r], phase[:, r].conj(), ones], dim=1)
                    step = torch.diag_embed(diag)
                    step = step if s is None else s @ step
                else:
                    step = s.unsqueeze(0)
                pending[where] = step if pending[where] is None else step @ pending[where]
            else:
                flush(where[0])
                flush(where[1])
                rho = _apply_2q(rho, s, where, m)
        for k in range(m):
            flush(k)
        return rho[0] if single else rho

    def probabilities(self, theta: Any) -> torch.Tensor:
        """Measured distribution over the ``2**N`` clbit outcomes, readout error included (or
        mitigated, with ``mitigation``); differentiable."""
        batch, single = self._as_batch(theta)
        if self._zne is not None:
            weights, children = self._zne
            extrapolated = sum(w * child.probabilities(batch) for w, child in zip(weights, children))
            p = project_to_simplex_torch(extrapolated)
            return p[0] if single else p
        rho = self.density_matrix(batch)
        b, m = rho.shape[0], self.num_active_qubits
        diag = torch.diagonal(rho, dim1=1, dim2=2).real.reshape(b, *([2] * m))  # axis 1+j is bit m-1-j
        measured = self.program.measured
        axis = {k: 1 + (m - 1 - k) for k in range(m)}
        keep = [axis[measured[c]] for c in range(len(measured) - 1, -1, -1)]  # clbit C-1 first
        dropped = [a for a in range(1, m + 1) if a not in keep]
        p = diag.sum(dim=dropped) if dropped else diag
        # after the sum, the kept axes are in ascending order; put them in clbit order (C-1 … 0)
        order = sorted(keep)
        p = p.permute(0, *[1 + order.index(a) for a in keep])
        c_total = len(measured)
        for c in range(c_total):
            dim = 1 + (c_total - 1 - c)
            p = torch.movedim(torch.tensordot(p, self._confusion[c], dims=([dim], [1])), -1, dim)
        p = p.reshape(b, 2**c_total)
        return p[0] if single else p

    def sample(self, theta: Any, shots: int, *, seed: int) -> np.ndarray:
        """``shots`` outcomes drawn from the noisy distribution."""
        with torch.no_grad():
            p = self.probabilities(theta).cpu().numpy().astype(np.float64)
        if p.ndim != 1:
            raise ValueError("sample takes one parameter vector of shape (P,)")
        return _sample_indices(np.clip(p, 0, None), shots, seed)

    def parameter_shift_gradient(self, theta: Any, weights: Any, *, seed: int | None = None) -> np.ndarray:
        """``∂/∂θ Σ_x w_x p_θ(x)`` by autograd (exact; same signature as the other executors)."""
        values = torch.as_tensor(check_theta(theta, self.num_parameters), dtype=self.real_dtype).requires_grad_(True)
        w = torch.as_tensor(np.asarray(weights, dtype=float), dtype=self.real_dtype)
        (grad,) = torch.autograd.grad(self.probabilities(values) @ w, values)
        return grad.detach().cpu().numpy().astype(float)


def _mitigation_options(mitigation: Any) -> Any:
    if mitigation is None:
        return None
    if isinstance(mitigation, dict):
        mitigation = MitigationOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in mitigation.items()})
    if not isinstance(mitigation, MitigationOptions):
        raise TypeError(f"mitigation must be MitigationOptions or a dict of its fields, received {type(mitigation).__name__}")
    if mitigation.twirling:
        raise ValueError(
            "exact_noisy cannot twirl: averaging Pauli-twirled copies needs sampled circuits; "
            "use executor 'aer' with mitigation.twirling, or switch twirling off"
        )
    if not mitigation.active:
        return None
    return mitigation


def project_to_simplex_torch(values: torch.Tensor) -> torch.Tensor:
    """Rows of ``values`` ``(B, D)`` projected onto the probability simplex (see
    :func:`~quantum_scenarios.quantum.mitigation.project_to_simplex`); differentiable almost everywhere."""
    u, _ = torch.sort(values, dim=-1, descending=True)
    cumulative = torch.cumsum(u, dim=-1) - 1.0
    j = torch.arange(1, values.shape[-1] + 1, dtype=values.dtype, device=values.device)
    support = (u - cumulative / j > 0).sum(dim=-1, keepdim=True)  # ρ: the condition holds on a prefix
    tau = cumulative.gather(-1, support - 1) / support.to(values.dtype)
    return torch.clamp(values - tau, min=0.0)


__all__ = [
    "NoisyDensityMatrixExecutor",
    "project_to_simplex_torch",
    "NoisyProgram",
    "average_gate_fidelity",
    "compile_program",
    "depolarizing_parameter",
    "depolarizing_superop",
    "gate_noise_superop",
    "readout_confusion",
    "relaxation_superop",
    "unitary_superop",
]

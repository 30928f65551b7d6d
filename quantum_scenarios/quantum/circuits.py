"""Generator circuits: a prior loader followed by a hardware-efficient ansatz.

The ansatz acts on all qubits of the loader, with its entangling gates laid out
over qubit indices ``0 … N-1`` regardless of register boundaries, so that a
linear ladder already couples neighbouring assets and cross-asset correlation
can be learned.

Note:
    At ``θ = 0`` every rotation is the identity and the ansatz reduces to its
    fixed entanglers. For ``ry_cz`` (diagonal CZ gates) the generator's
    distribution then equals the prior exactly; for the CX-based ansatzes it is
    the prior with its basis states permuted by the CX ladders (still the
    prior itself for the uniform loader). The seeded initial point draws
    small angles uniformly in ``[-init_scale, init_scale]``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import CircuitInstruction, Gate, Parameter, ParameterExpression
from qiskit.circuit.library import efficient_su2, n_local
from qiskit.quantum_info import Operator, Statevector

ANSATZES = ("efficient_su2", "ry_cz", "h_ry_cx")
ENTANGLEMENTS = ("linear", "reverse_linear", "circular", "full", "pairwise", "sca")
PARAMETER_NAME = "θ"


@dataclass
class GeneratorCircuit:
    """A parameterised generator: ``circuit = loader ∘ ansatz``.

    Attributes:
        circuit: Loader followed by the ansatz, parameterised by the ``ParameterVector`` ``θ``.
        loader: The parameter-free prior loader (its registers name the assets).
        ansatz: The parameterised ansatz on the same number of qubits.
        parameters: The circuit's parameters in order (``θ[0], θ[1], …``).
        initial_point: Seeded initial parameter values, shape ``(len(parameters),)``.
        options: How the ansatz was built (ansatz, reps, entanglement, seed, init_scale).
    """

    circuit: QuantumCircuit
    loader: QuantumCircuit
    ansatz: QuantumCircuit
    parameters: list[Parameter]
    initial_point: np.ndarray
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def num_qubits(self) -> int:
        """Circuit width ``N``."""
        return self.circuit.num_qubits

    @property
    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return len(self.parameters)

    def stats(self) -> dict[str, Any]:
        """Circuit statistics for reports.

        Returns:
            ``width``, ``depth`` (loader counted as one block), ``ansatz_depth``,
            ``gate_counts`` (ansatz gates plus the loader's top-level instructions),
            ``num_parameters``, ``entangling_gates``, ``registers`` (name → size) and the build options.
        """
        counts = Counter(dict(self.ansatz.count_ops()))
        counts.update(dict(self.loader.count_ops()))
        counts.pop("barrier", None)
        return {
            "width": self.circuit.num_qubits,
            "depth": self.circuit.depth(),
            "ansatz_depth": self.ansatz.depth(),
            "gate_counts": dict(sorted(counts.items())),
            "num_parameters": self.num_parameters,
            "entangling_gates": sum(1 for i in self.ansatz.data if i.operation.num_qubits > 1),
            "registers": {r.name: r.size for r in self.circuit.qregs},
            **self.options,
        }

    def bind(self, theta: Any) -> QuantumCircuit:
        """The circuit with ``θ`` assigned (``theta`` in :attr:`parameters` order)."""
        values = check_theta(theta, self.num_parameters)
        return self.circuit.assign_parameters(dict(zip(self.parameters, values.tolist())))


class StateLoader(Gate):
    """A gate that prepares a given real, non-negative state from ``|0…0⟩``.

    The amplitudes are kept as given (float64) and the gate is synthesised only when a circuit
    is transpiled or simulated gate by gate: by the Grover–Rudolph binary tree, one RY on the
    most significant qubit and then, per qubit, a uniformly controlled RY (``UCRYGate``) whose
    angles split each prefix's probability between its two halves. Only ratios of partial sums
    enter, so the synthesis never builds a matrix that must pass a unitarity check (qiskit's
    generic state preparation raises "Input matrix is not unitary" for discretised normal
    densities from 12 qubits, issue 10). The exact executor reads :attr:`amplitudes` directly.

    Args:
        amplitudes: ``(2**n,)`` real, non-negative amplitudes with unit norm (qiskit's basis order).
        label: Gate name shown in drawings and counts.

    Raises:
        ValueError: Amplitudes not of length ``2**n`` (n >= 1), negative, non-finite or not normalised.
    """

    def __init__(self, amplitudes: Any, label: str = "P(X)") -> None:
        values = np.asarray(amplitudes, dtype=np.float64)
        size = values.size
        if values.ndim != 1 or size < 2 or size & (size - 1):
            raise ValueError(f"amplitudes must have length 2**n with n >= 1, received shape {values.shape}")
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError("amplitudes must be finite and non-negative")
        norm = float(np.sqrt(np.sum(values**2)))
        if abs(norm - 1.0) > 1e-10:
            raise ValueError(f"amplitudes must have unit norm, received norm {norm:.6g}")
        super().__init__(label, int(size).bit_length() - 1, [])
        self.amplitudes = values / norm

    def _define(self) -> None:
        from qiskit.circuit.library import UCRYGate

        n = self.num_qubits
        probabilities = self.amplitudes**2
        circuit = QuantumCircuit(n, name=self.name)
        for level in range(n):  # qubit n-1 (most significant) first
            halves = probabilities.reshape(2**level, 2, -1).sum(-1)  # (prefix, value of the next bit)
            angles = 2 * np.arctan2(np.sqrt(halves[:, 1]), np.sqrt(halves[:, 0]))
            target = n - 1 - level
            if level == 0:
                circuit.ry(float(angles[0]), target)
            else:  # controls least significant first: prefix index bit j is qubit n-level+j
                circuit.append(UCRYGate(angles.tolist()), [target, *range(n - level, n)])
        self.definition = circuit


def check_theta(theta: Any, num_parameters: int) -> np.ndarray:
    """Coerce one parameter vector to a float64 array of shape ``(num_parameters,)``."""
    if hasattr(theta, "detach"):
        theta = theta.detach().cpu().numpy()
    values = np.asarray(theta, dtype=float)
    if values.shape != (num_parameters,):
        raise ValueError(f"theta must have shape ({num_parameters},), received {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("theta must be finite; received NaN or inf")
    return values


def _check_loader(loader: QuantumCircuit) -> None:
    if not isinstance(loader, QuantumCircuit):
        raise TypeError(f"loader must be a qiskit QuantumCircuit, received {type(loader).__name__}")
    if loader.num_qubits < 1:
        raise ValueError("loader must act on at least one qubit, received an empty circuit")
    if loader.num_parameters:
        raise ValueError(
            f"loader must be parameter-free, received parameters {[p.name for p in loader.parameters]}; "
            "bind them before building the generator"
        )
    if loader.num_clbits or any(i.operation.name in ("measure", "reset") for i in loader.data):
        raise ValueError("loader must be unitary: no measurements, resets or classical bits")


def build_ansatz(
    num_qubits: int, *, ansatz: str = "efficient_su2", reps: int = 3, entanglement: str = "linear"
) -> QuantumCircuit:
    """The ansatz circuit alone (parameters ``θ[0], θ[1], …``).

    Args:
        num_qubits: Width.
        ansatz: ``"efficient_su2"`` (RY, RZ + CX), ``"ry_cz"`` (RY + CZ) or ``"h_ry_cx"``
            (a Hadamard layer, then RY + CX; meant for ``loader="none"``, where the H layer
            is the uniform prior).
        reps: Entangling repetitions; every ansatz ends with a final rotation layer.
        entanglement: CX/CZ layout, one of :data:`ENTANGLEMENTS`.
    """
    if ansatz not in ANSATZES:
        raise ValueError(f"ansatz must be one of {ANSATZES}, received {ansatz!r}")
    if not isinstance(reps, (int, np.integer)) or isinstance(reps, bool) or reps < 1:
        raise ValueError(f"reps must be an integer >= 1, received {reps!r}")
    if entanglement not in ENTANGLEMENTS:
        raise ValueError(f"entanglement must be one of {ENTANGLEMENTS}, received {entanglement!r}")
    common = {"reps": int(reps), "entanglement": entanglement, "parameter_prefix": PARAMETER_NAME}
    if ansatz == "efficient_su2":
        return efficient_su2(num_qubits, ["ry", "rz"], name="efficient_su2", **common)
    # a single qubit has nothing to entangle: rotation layers only
    if ansatz == "ry_cz":
        return n_local(num_qubits, "ry", "cz" if num_qubits > 1 else [], name="ry_cz", **common)
    circuit = QuantumCircuit(num_qubits, name="h_ry_cx")
    circuit.h(range(num_qubits))
    circuit.compose(n_local(num_qubits, "ry", "cx" if num_qubits > 1 else [], **common), inplace=True)
    return circuit


def build_generator(
    loader: QuantumCircuit,
    *,
    ansatz: str = "efficient_su2",
    reps: int = 3,
    entanglement: str = "linear",
    seed: int = 0,
    init_scale: float = 0.1,
) -> GeneratorCircuit:
    """Build the generator circuit: ``loader`` followed by an ansatz on all its qubits.

    Args:
        loader: Any parameter-free, measurement-free circuit: a qiskit-finance loader from
            :func:`quantum_scenarios.encoding.encode`, or e.g. a layer of H gates.
        ansatz: One of :data:`ANSATZES` (see :func:`build_ansatz`).
        reps: Entangling repetitions.
        entanglement: ``linear``, ``circular``, ``full`` (or another qiskit layout in
            :data:`ENTANGLEMENTS`), spanning all registers.
        seed: Seed of the initial point.
        init_scale: Initial angles are uniform in ``[-init_scale, init_scale]``.

    Returns:
        The generator with its ordered parameters and seeded initial point.
    """
    _check_loader(loader)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an integer, received {seed!r}")
    if not np.isfinite(init_scale) or init_scale < 0:
        raise ValueError(f"init_scale must be finite and >= 0, received {init_scale!r}")
    body = build_ansatz(loader.num_qubits, ansatz=ansatz, reps=reps, entanglement=entanglement)
    circuit = loader.copy(name=f"generator[{ansatz}]")
    circuit.compose(body, circuit.qubits, inplace=True)
    parameters = list(circuit.parameters)
    rng = np.random.default_rng(seed)
    initial_point = rng.uniform(-init_scale, init_scale, size=len(parameters))
    options = {
        "ansatz": ansatz,
        "reps": int(reps),
        "entanglement": entanglement,
        "seed": int(seed),
        "init_scale": float(init_scale),
    }
    return GeneratorCircuit(
        circuit=circuit, loader=loader, ansatz=body, parameters=parameters, initial_point=initial_point, options=options
    )


# --------------------------------------------------------------------------------------------
# Layered form of a generator, used by the exact executor
# --------------------------------------------------------------------------------------------

ROTATION_AXES = {"rx": 0, "ry": 1, "rz": 2}
_BASIS = ["rx", "ry", "rz", "cx"]
_SKIPPED = ("barrier", "delay")
# R_a(φ) = cos(φ/2)·I + sin(φ/2)·G_a
_ROTATION_GENERATORS = np.array([[[0, -1j], [-1j, 0]], [[0, -1], [1, 0]], [[-1j, 0], [0, 1j]]])


@dataclass(eq=False)
class FixedStage:
    """The product of a layer's fixed multi-qubit gates, as ``(Fψ)[i] = phase[i]·ψ[perm[i]]``.

    Only what the stage needs is stored: a diagonal stage (CZ, CP, RZZ at a fixed angle...)
    has ``perm = None``; ``phase`` is ``None`` when every phase is 1, and real (float64) when
    every phase is ±1 (CZ ladders, CX ladders).

    Attributes:
        gates: The stage's gates in circuit order, ``(matrix, qubit indices)`` pairs.
        perm: ``(2**n,)`` row permutation (int64), or None for a diagonal stage.
        phase: ``(2**n,)`` row phases (float64 or complex128), or None if all are 1.
    """

    gates: tuple[tuple[np.ndarray, tuple[int, ...]], ...]
    perm: np.ndarray | None
    phase: np.ndarray | None

    @property
    def is_real(self) -> bool:
        """Whether the stage is a real matrix (every phase ±1)."""
        return self.phase is None or not np.iscomplexobj(self.phase)

    def dense(self, dimension: int) -> tuple[np.ndarray, np.ndarray]:
        """``(perm, phase)`` as full arrays (identity permutation, unit phases where absent)."""
        perm = np.arange(dimension) if self.perm is None else self.perm
        phase = np.ones(dimension, dtype=complex) if self.phase is None else self.phase.astype(complex)
        return perm, phase


@dataclass
class LayeredCircuit:
    """A generator circuit as an initial state and ``L`` layers of (rotations, fixed stage).

    Layer ``l`` applies, on every qubit ``q``, the 2×2 matrix
    ``V[l, q, m-1] ⋯ V[l, q, 0]`` with ``V = cos(h)·cos_matrix + sin(h)·sin_matrix`` and half-angle
    ``h = half_coef·θ[param_index] + half_offset``, then the fixed stage ``stages[l]`` (a
    :class:`FixedStage`, or None for none). A rotation ``R_a(c·θ + o)`` has ``cos_matrix = I``,
    ``sin_matrix = G_a`` and half-angle ``(c·θ + o)/2``; a fixed single-qubit gate ``U`` has
    ``cos_matrix = U``, ``half_coef = 0``; an empty slot is the identity. Layers whose fixed
    gates are the same (the entangler of every repetition) share one :class:`FixedStage`, so
    the tables cost ``O(2**n)`` per *distinct* stage, not per layer.

    Attributes:
        num_qubits: Width ``n``.
        initial_state: Statevector of the circuit's parameter-free prefix (the loader), ``(2**n,)``.
        param_index: ``(L, n, m)`` index into ``θ`` of each slot (0 where unused).
        half_coef: ``(L, n, m)``.
        half_offset: ``(L, n, m)``.
        cos_matrix: ``(L, n, m, 2, 2)``.
        sin_matrix: ``(L, n, m, 2, 2)``.
        stages: ``L`` entries, the fixed stage after each layer's rotations (None: none).
    """

    num_qubits: int
    initial_state: np.ndarray
    param_index: np.ndarray
    half_coef: np.ndarray
    half_offset: np.ndarray
    cos_matrix: np.ndarray
    sin_matrix: np.ndarray
    stages: list[FixedStage | None]

    @property
    def num_layers(self) -> int:
        """Number of layers ``L``."""
        return int(self.param_index.shape[0])

    @property
    def perms(self) -> np.ndarray:
        """``(L, 2**n)`` dense row permutations of the fixed stages (identity where none); for small ``n``."""
        dimension = 2**self.num_qubits
        return np.stack([np.arange(dimension) if s is None else s.dense(dimension)[0] for s in self.stages])

    @property
    def phases(self) -> np.ndarray:
        """``(L, 2**n)`` dense row phases of the fixed stages (1 where none); for small ``n``."""
        dimension = 2**self.num_qubits
        return np.stack([np.ones(dimension, dtype=complex) if s is None else s.dense(dimension)[1] for s in self.stages])

    def real_initial_state(self, tolerance: float = 1e-12) -> np.ndarray | None:
        """The initial state as a real float64 array up to a global phase, or None if it is not real.

        The global phase is taken from the largest amplitude; the state counts as real when every
        imaginary part is then at most ``tolerance`` (probabilities change by at most its square).
        """
        psi = np.asarray(self.initial_state)
        if not np.iscomplexobj(psi):
            return psi.astype(np.float64)
        pivot = psi[np.argmax(np.abs(psi))]
        rotated = psi * (np.conj(pivot) / abs(pivot))
        if np.max(np.abs(rotated.imag), initial=0.0) > tolerance:
            return None
        return np.ascontiguousarray(rotated.real)

    def is_real(self, tolerance: float = 1e-12) -> bool:
        """Whether every gate and the initial state (up to global phase) are real: the circuit can run in float."""
        matrices_real = all(np.max(np.abs(m.imag), initial=0.0) <= 1e-14 for m in (self.cos_matrix, self.sin_matrix))
        stages_real = all(s is None or s.is_real for s in self.stages)
        return matrices_real and stages_real and self.real_initial_state(tolerance) is not None


def linear_angle(gate_name: str, expr: Any, parameters: dict[Parameter, int]) -> tuple[int, float, float]:
    """``(index, coef, offset)`` with ``angle = coef·θ[index] + offset`` for a rotation angle."""
    if not isinstance(expr, ParameterExpression) or len(expr.parameters) != 1:
        raise ValueError(f"gate {gate_name!r}: expected an angle depending on exactly one parameter, received {expr}")
    (parameter,) = expr.parameters
    if parameter not in parameters:
        raise ValueError(
            f"gate {gate_name!r} uses parameter {parameter}, which is not among the generator's parameters"
        )
    coef = expr.gradient(parameter)
    if isinstance(coef, ParameterExpression):
        raise ValueError(f"gate {gate_name!r}: angle {expr} is not linear in {parameter}")
    offset = expr.bind({parameter: 0.0})
    offset = offset.numeric() if isinstance(offset, ParameterExpression) else offset
    return parameters[parameter], float(np.real(coef)), float(np.real(offset))


def _monomial(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(rows, values)`` with ``matrix[:, j] = values[j]·e_{rows[j]}``, or None if not monomial."""
    nonzero = np.abs(matrix) > 1e-12
    if not (np.all(nonzero.sum(axis=0) == 1) and np.all(nonzero.sum(axis=1) == 1)):
        return None
    rows = nonzero.argmax(axis=0)
    return rows, matrix[rows, np.arange(matrix.shape[1])]


_MATRICES: dict[Any, np.ndarray] = {}


def _matrix(op: Any) -> np.ndarray:
    """``Operator(op).data`` of a parameter-free gate, cached by name and numeric parameters."""
    try:
        key = (op.name, op.num_qubits, tuple(float(v) for v in op.params))
    except (TypeError, ValueError):  # matrix-valued or symbolic parameters: no cache
        return Operator(op).data
    if key not in _MATRICES:
        if len(_MATRICES) > 4096:
            _MATRICES.clear()
        _MATRICES[key] = Operator(op).data
    return _MATRICES[key]


def _supported(op: Any) -> bool:
    if op.num_qubits == 1:
        return not op.is_parameterized() or op.name in ROTATION_AXES
    return not op.is_parameterized() and _monomial(_matrix(op)) is not None


def _expand(circuit: QuantumCircuit, instruction: CircuitInstruction) -> list[tuple[Any, list[int]]]:
    """The instruction as ``(operation, qubit indices)`` pairs the layered form supports."""
    op = instruction.operation
    qargs = [circuit.find_bit(q).index for q in instruction.qubits]
    if instruction.clbits or op.name in ("measure", "reset"):
        raise ValueError(f"the generator must be unitary after its loader; received {op.name!r} on qubits {qargs}")
    if _supported(op):
        return [(op, qargs)]
    single = QuantumCircuit(op.num_qubits)
    single.append(op, range(op.num_qubits))
    expanded = transpile(single, basis_gates=_BASIS, optimization_level=0)
    pairs = [(i.operation, [qargs[expanded.find_bit(q).index] for q in i.qubits]) for i in expanded.data]
    for inner, _ in pairs:
        if not _supported(inner):
            raise ValueError(
                f"cannot compile gate {op.name!r} on qubits {qargs}: its decomposition contains {inner.name!r}"
            )
    return pairs


def layer_circuit(circuit: QuantumCircuit, parameters: Sequence[Parameter]) -> LayeredCircuit:
    """Compile a generator circuit into its :class:`LayeredCircuit` form.

    The parameter-free prefix (the loader) is simulated once with ``Statevector``. Each later
    gate goes to the earliest layer its qubits allow: single-qubit gates into rotation slots,
    multi-qubit gates into the fixed stage that follows. Gates other than fixed single-qubit
    gates, ``rx``/``ry``/``rz`` with angles linear in one parameter, and fixed permutation-like
    gates (CX, CZ, SWAP, ...) are first decomposed to ``rx, ry, rz, cx``. The global phase is dropped.
    """
    n = circuit.num_qubits
    index = {p: i for i, p in enumerate(parameters)}
    data = [i for i in circuit.data if i.operation.name not in _SKIPPED]
    start = next((k for k, i in enumerate(data) if i.operation.is_parameterized()), len(data))
    initial_state = _prefix_state(circuit, data[:start])

    slots: dict[int, list[list[tuple[int, float, float, np.ndarray, np.ndarray]]]] = {}
    fixed: dict[int, list[tuple[np.ndarray, list[int]]]] = {}
    last = [-1] * n
    for instruction in data[start:]:
        for op, qargs in _expand(circuit, instruction):
            if len(qargs) == 1:
                if op.is_parameterized():
                    i, coef, offset = linear_angle(op.name, op.params[0], index)
                    generator = _ROTATION_GENERATORS[ROTATION_AXES[op.name]]
                    slot = (i, coef / 2, offset / 2, np.eye(2, dtype=complex), generator)
                else:
                    slot = (0, 0.0, 0.0, _matrix(op), np.zeros((2, 2), dtype=complex))
                stage = max(last[qargs[0]], 0)
                stage += stage % 2  # rotation stages are even
                slots.setdefault(stage // 2, [[] for _ in range(n)])[qargs[0]].append(slot)
            else:
                stage = max(max(last[q] for q in qargs), 0)
                stage += 1 - stage % 2  # fixed stages are odd
                fixed.setdefault(stage // 2, []).append((_matrix(op), qargs))
            for q in qargs:
                last[q] = stage

    layers = max(last) // 2 + 1 if max(last) >= 0 else 0
    width = max((len(s) for layer in slots.values() for s in layer), default=1)
    identity = (0, 0.0, 0.0, np.eye(2, dtype=complex), np.zeros((2, 2), dtype=complex))
    table = []
    for l in range(layers):
        qubits = slots.get(l, [[] for _ in range(n)])
        table.append([qubit + [identity] * (width - len(qubit)) for qubit in qubits])

    def field_array(k: int, dtype: Any, shape: tuple[int, ...] = ()) -> np.ndarray:
        values = [slot[k] for layer in table for qubit in layer for slot in qubit]
        return np.array(values, dtype=dtype).reshape(layers, n, width, *shape)

    distinct: dict[Any, FixedStage] = {}
    stages: list[FixedStage | None] = []
    for l in range(layers):
        gates = tuple((m, tuple(q)) for m, q in fixed.get(l, []))
        key = tuple((m.tobytes(), q) for m, q in gates)
        if gates and key not in distinct:
            distinct[key] = _fixed_stage(gates, n)
        stages.append(distinct[key] if gates else None)
    return LayeredCircuit(
        num_qubits=n,
        initial_state=initial_state,
        param_index=field_array(0, np.int64),
        half_coef=field_array(1, float),
        half_offset=field_array(2, float),
        cos_matrix=field_array(3, complex, (2, 2)),
        sin_matrix=field_array(4, complex, (2, 2)),
        stages=stages,
    )


def _prefix_state(circuit: QuantumCircuit, prefix: list[CircuitInstruction]) -> np.ndarray:
    """Statevector of the parameter-free prefix; a leading :class:`StateLoader` on all qubits is read, not simulated."""
    n = circuit.num_qubits
    rest = prefix
    state = None
    if prefix and isinstance(prefix[0].operation, StateLoader):
        qargs = [circuit.find_bit(q).index for q in prefix[0].qubits]
        if qargs == list(range(n)):
            state, rest = prefix[0].operation.amplitudes, prefix[1:]
    if state is None and not rest:
        state = np.zeros(2**n)
        state[0] = 1.0
    if not rest:
        return np.asarray(state, dtype=np.float64)
    if state is None and all(len(i.qubits) == 1 and not i.clbits for i in rest):  # a product state (e.g. H layer)
        factors = [np.array([1.0 + 0j, 0.0]) for _ in range(n)]
        for instruction in rest:
            q = circuit.find_bit(instruction.qubits[0]).index
            factors[q] = _matrix(instruction.operation) @ factors[q]
        product = factors[n - 1]
        for q in range(n - 2, -1, -1):  # qubit 0 is the least significant index bit
            product = np.outer(product, factors[q]).ravel()
        return product
    remainder = QuantumCircuit(*circuit.qregs, *circuit.cregs)
    for instruction in rest:
        remainder.append(instruction)
    start = Statevector.from_int(0, 2**n) if state is None else Statevector(np.asarray(state, dtype=complex))
    return start.evolve(remainder).data


def _fixed_stage(gates: tuple[tuple[np.ndarray, tuple[int, ...]], ...], num_qubits: int) -> FixedStage:
    """The :class:`FixedStage` of a product of monomial gates (applied in order).

    Tracks, for every basis state ``i``, where the stage sends it (``target``) and the phase it
    picks up, with vectorised bit operations: CX flips a target bit, CZ flips a sign, and only a
    gate with general phases makes the phases complex. Cost: a few passes over ``2**n`` integers
    per gate, and no permutation table at all for a diagonal stage.
    """
    dimension = 2**num_qubits
    index = np.arange(dimension, dtype=np.int64)
    target: np.ndarray | None = None  # None: identity so far
    sign: np.ndarray | None = None  # bool, True where the phase is -1
    phase: np.ndarray | None = None  # complex phases once a non-±1 value appears

    identity_bits: dict[int, np.ndarray] = {}  # bool bits of the identity, reused by every diagonal gate

    def bit(q: int) -> np.ndarray:
        return ((index if target is None else target) >> q) & 1

    def is_set(q: int) -> np.ndarray:
        if target is not None:
            return bit(q).astype(bool)
        if q not in identity_bits:
            identity_bits[q] = bit(q).astype(bool)
        return identity_bits[q]

    for matrix, qargs in gates:
        rows, values = _monomial(matrix)
        if np.array_equal(rows, np.arange(rows.size)) and np.allclose(values[:-1], 1) and np.isclose(values[-1], -1):
            flip = np.logical_and.reduce([is_set(q) for q in qargs])  # CZ, CCZ...: -1 on all-ones
            sign = flip if sign is None else sign ^ flip
            continue
        local = sum(bit(q) << t for t, q in enumerate(qargs))
        if not np.allclose(values, 1):
            if np.allclose(np.abs(values.imag), 0) and np.allclose(np.abs(values.real), 1):
                flip = values.real[local] < 0
                sign = flip if sign is None else sign ^ flip
            else:
                phase = values[local] if phase is None else phase * values[local]
        if not np.array_equal(rows, np.arange(rows.size)):
            new_local = rows[local]
            moved = index.copy() if target is None else target
            for t, q in enumerate(qargs):
                moved = (moved & ~(1 << q)) | (((new_local >> t) & 1) << q)
            target = moved
    if sign is not None:
        signs = np.where(sign, -1.0, 1.0)
        phase = signs if phase is None else phase * signs
    if target is None:
        return FixedStage(gates=gates, perm=None, phase=phase)
    perm = np.empty(dimension, dtype=np.int64)
    perm[target] = index
    return FixedStage(gates=gates, perm=perm, phase=None if phase is None else phase[perm])


__all__ = [
    "ANSATZES",
    "ENTANGLEMENTS",
    "PARAMETER_NAME",
    "FixedStage",
    "StateLoader",
    "ROTATION_AXES",
    "GeneratorCircuit",
    "LayeredCircuit",
    "build_ansatz",
    "build_generator",
    "check_theta",
    "layer_circuit",
    "linear_angle",
]

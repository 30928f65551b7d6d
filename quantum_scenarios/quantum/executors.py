"""Executors: one generator circuit, several ways to run it.

* ``exact``: a differentiable statevector simulation in PyTorch, compiled from the qiskit
  circuit (autograd gradients, batched over parameter sets, CPU or GPU).
* ``statevector``: :class:`qiskit.quantum_info.Statevector`, the reference.
* ``aer`` / ``aer_mps``: qiskit-aer sampling with shots (statevector or matrix-product-state
  method), optionally with the noise model of a fake IBM device; gradients by parameter shift.

Every executor returns distributions over basis-state indices in qiskit's order (see
:mod:`quantum_scenarios.encoding` for how an index decodes into asset values).

How ``exact`` runs:
    The circuit is compiled by :func:`~quantum_scenarios.quantum.circuits.layer_circuit`: the
    loader's state is computed once and becomes the initial state; the ansatz becomes ``L``
    layers of (one 2×2 matrix per qubit, one fixed permutation with phases). A real circuit
    (RY, CX, CZ, a real prior) runs in float64/float32. A forward pass builds the 2×2 matrices
    of all layers in a few batched ops and turns them into one Kronecker-product matrix per
    layer and qubit chunk. Each chunk is one plain GEMM in a rotating layout: it acts on the
    lowest bits of the state as stored and writes its result transposed, so its bits move to
    the top and the next chunk's come to the bottom (after a whole layer the order is back).
    The backward pass (a custom ``torch.autograd.Function`` from ``θ``) runs the state and its
    co-state back together, undoing each chunk with the same kind of GEMM, and takes the
    chunk's cross term ``ρ' = Tr_{others}|μ⟩⟨φ|`` with one more; for a factor ``U_q`` of the
    layer the gradient is ``U_q·ρ'_q`` (``ρ'`` is taken with the chunk undone), and the chain
    rule to ``θ`` through the gate matrices is written out, not traced by autograd. A fixed
    number of states is alive whatever the depth (measured at 20 qubits: about 15 float64 states
    above the baseline, the caller's weights and probabilities included). Up to 5 qubits a layer
    is one dense matrix.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch
from qiskit import QuantumCircuit, transpile
from qiskit.quantum_info import Statevector

from quantum_scenarios.quantum.circuits import (
    ROTATION_AXES,
    FixedStage,
    GeneratorCircuit,
    LayeredCircuit,
    check_theta,
    layer_circuit,
    linear_angle,
)

EXECUTORS = ("exact", "statevector", "aer", "aer_mps", "aer_density", "exact_noisy", "ibm")


def shift_coefficients(generator: GeneratorCircuit) -> np.ndarray:
    """Per parameter, the coefficient ``c`` of the single rotation ``R(c·θ + o)`` it enters.

    The parameter-shift rule ``∂f/∂θ = c·[f(θ + π/(2c)) − f(θ − π/(2c))]/2`` is exact for such
    parameters.

    Raises:
        ValueError: If a parameter enters several gates, no gate, or a non-rotation gate.
    """
    index = {p: i for i, p in enumerate(generator.parameters)}
    coefficients = np.zeros(len(index))
    seen = np.zeros(len(index), dtype=int)
    for instruction in generator.circuit.data:
        op = instruction.operation
        if not op.is_parameterized():
            continue
        if op.name not in ROTATION_AXES:
            raise ValueError(
                f"the parameter-shift rule here supports rx/ry/rz gates; received parameterised {op.name!r}"
            )
        i, coef, _ = linear_angle(op.name, op.params[0], index)
        coefficients[i] = coef
        seen[i] += 1
    bad = [generator.parameters[i].name for i in np.flatnonzero((seen != 1) | (coefficients == 0))]
    if bad:
        raise ValueError(
            f"the parameter-shift rule needs every parameter in exactly one rotation gate with a non-zero "
            f"coefficient; {bad} are not (unused, or shared between gates)"
        )
    return coefficients


def _check_weights(weights: Any, dimension: int) -> np.ndarray:
    if hasattr(weights, "detach"):
        weights = weights.detach().cpu().numpy()
    w = np.asarray(weights, dtype=float)
    if w.shape != (dimension,):
        raise ValueError(f"weights must have shape ({dimension},) (one per basis state), received {w.shape}")
    return w


def _check_shots(shots: int) -> None:
    if not isinstance(shots, (int, np.integer)) or isinstance(shots, bool) or shots < 1:
        raise ValueError(f"shots must be an integer >= 1, received {shots!r}")


def counts_to_frequencies(counts: dict[str, int], num_qubits: int) -> np.ndarray:
    """Relative frequencies over basis-state indices, ``(2**num_qubits,)``, from a counts dict.

    Bitstrings may hold spaces between classical registers; they are read in qiskit's order.
    """
    p = np.zeros(2**num_qubits)
    for bits, count in counts.items():
        p[int(bits.replace(" ", ""), 2)] += count
    return p / p.sum()


def counts_to_draws(counts: dict[str, int], seed: int) -> np.ndarray:
    """The basis-state indices a counts dict holds, one per shot, in a seeded random order."""
    draws = np.concatenate([np.full(c, int(b.replace(" ", ""), 2)) for b, c in sorted(counts.items())])
    return np.random.default_rng(seed).permutation(draws)


def _sample_indices(probabilities: np.ndarray, shots: int, seed: int | np.random.Generator) -> np.ndarray:
    _check_shots(shots)
    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(probabilities)
    draws = np.searchsorted(cumulative, rng.random(int(shots)) * cumulative[-1], side="right")
    return np.minimum(draws, probabilities.size - 1)


# --------------------------------------------------------------------------------------------
# Executor interface
# --------------------------------------------------------------------------------------------


class Executor(ABC):
    """Runs one :class:`GeneratorCircuit` for given parameter values.

    Attributes:
        name: Executor name (one of :data:`EXECUTORS`).
        differentiable: Whether :meth:`probabilities` supports torch autograd.
        generator: The generator circuit.
        num_qubits: Circuit width ``N``.
        num_parameters: Number of parameters ``P``.
    """

    name: str = ""
    differentiable: bool = False

    def __init__(self, generator: GeneratorCircuit) -> None:
        if not isinstance(generator, GeneratorCircuit):
            raise TypeError(f"generator must be a GeneratorCircuit, received {type(generator).__name__}")
        self.generator = generator
        self.num_qubits = generator.circuit.num_qubits
        self.num_parameters = generator.num_parameters
        self._shift: np.ndarray | None = None

    @abstractmethod
    def probabilities(self, theta: Any) -> Any:
        """Distribution over the ``2**N`` basis states for parameters ``theta``."""

    @abstractmethod
    def sample(self, theta: Any, shots: int, *, seed: int) -> np.ndarray:
        """``shots`` basis-state indices drawn from the generator's distribution, shape ``(shots,)``."""

    def _expectations(self, thetas: np.ndarray, weights: np.ndarray, seed: int | None) -> np.ndarray:
        """``Σ_x w_x p_θ(x)`` for each row of ``thetas``."""
        return np.array([float(np.asarray(self.probabilities(t)) @ weights) for t in thetas])

    def parameter_shift_gradient(self, theta: Any, weights: Any, *, seed: int | None = None) -> np.ndarray:
        """Gradient ``∂/∂θ Σ_x w_x p_θ(x)`` by the parameter-shift rule (``2P`` circuit evaluations).

        Args:
            theta: Parameters, shape ``(P,)``.
            weights: One weight per basis state, shape ``(2**N,)``.
            seed: For shot-based executors, the seed of the shifted runs.

        Returns:
            Gradient, shape ``(P,)``.
        """
        values = check_theta(theta, self.num_parameters)
        w = _check_weights(weights, 2**self.num_qubits)
        if self._shift is None:
            self._shift = shift_coefficients(self.generator)
        shifts = np.diag(np.pi / (2 * self._shift))
        expectations = self._expectations(np.concatenate([values + shifts, values - shifts]), w, seed)
        plus, minus = expectations[: self.num_parameters], expectations[self.num_parameters :]
        return self._shift * (plus - minus) / 2


# --------------------------------------------------------------------------------------------
# exact: layered torch statevector with an adjoint backward pass
# --------------------------------------------------------------------------------------------

_DTYPES = {"complex128": torch.complex128, "complex64": torch.complex64}
_REAL_DTYPES = {torch.complex128: torch.float64, torch.complex64: torch.float32}
_CACHED_BUFFER_BYTES = 2**20
"""One-state passes keep their work buffers in the engine up to this many bytes a state (else per pass)."""
_KEEP_STATES_BYTES = 16 * 2**20
"""A circuit that fits one chunk runs as dense layer matrices, keeping every layer's state for the
backward pass, when those matrices take at most this many bytes; otherwise it runs chunked, and the
backward pass undoes the layers instead of keeping them."""


def _chunks(num_qubits: int, max_chunk: int) -> list[tuple[int, int]]:
    """Split qubits ``0 … n-1`` into balanced ``(lowest qubit, size)`` chunks of at most ``max_chunk``."""
    count = -(-num_qubits // max_chunk)
    sizes = [num_qubits // count + (1 if c < num_qubits % count else 0) for c in range(count)]
    starts = np.cumsum([0, *sizes[:-1]])
    return [(int(s), int(k)) for s, k in zip(starts, sizes)]


def _bit_split(num_qubits: int) -> np.ndarray:
    """``G[q, a, r]``: the basis index whose bit ``q`` is ``a`` and whose other bits are ``r``."""
    rest = np.arange(2 ** (num_qubits - 1))
    table = np.empty((num_qubits, 2, rest.size), dtype=np.int64)
    for q in range(num_qubits):
        low, high = rest & ((1 << q) - 1), (rest >> q) << (q + 1)
        table[q, 0], table[q, 1] = high | low, high | low | (1 << q)
    return table


_KRON_INDEX: dict[tuple[int, str], torch.Tensor] = {}


def _kron_index(size: int, device: torch.device) -> torch.Tensor:
    """``(size·d·d,)`` positions in the flattened ``(size, 2, 2)`` factors: ``4j + 2·a_j + b_j``."""
    key = (size, str(device))
    if key not in _KRON_INDEX:
        a = (np.arange(2**size)[None, :] >> np.arange(size)[:, None]) & 1  # (size, d): bit j of a
        index = 4 * np.arange(size)[:, None, None] + 2 * a[:, :, None] + a[:, None, :]
        _KRON_INDEX[key] = torch.as_tensor(index.reshape(-1), device=device)
    return _KRON_INDEX[key]


def _kron(unitaries: torch.Tensor, low: int, size: int) -> torch.Tensor:
    """``U[..., low+size-1] ⊗ … ⊗ U[..., low]`` of ``(B, L, n, 2, 2)`` matrices: ``(B, L, 2**size, 2**size)``."""
    if size <= 6:  # one gather and one product: entry (a, b) is Π_j U_j[a_j, b_j]
        b, l = unitaries.shape[0], unitaries.shape[1]
        factors = unitaries[:, :, low : low + size].reshape(b, l, 4 * size)
        d = 2**size
        return factors.index_select(2, _kron_index(size, unitaries.device)).view(b, l, size, d, d).prod(2)
    matrix = unitaries[:, :, low + size - 1]
    for q in range(low + size - 2, low - 1, -1):
        u = unitaries[:, :, q]
        b, l, d = matrix.shape[0], matrix.shape[1], matrix.shape[2]
        matrix = (matrix[:, :, :, None, :, None] * u[:, :, None, :, None, :]).reshape(b, l, 2 * d, 2 * d)
    return matrix


class _Stage:
    """A :class:`~quantum_scenarios.quantum.circuits.FixedStage` as torch ops on ``(B, D)`` states."""

    def __init__(self, stage: FixedStage, *, dtype: torch.dtype, device: torch.device) -> None:
        real = _REAL_DTYPES.get(dtype, dtype)
        phase = stage.phase
        self.perm = self.inverse = None
        self.phase = self.inverse_phase = None
        if stage.perm is not None:
            inverse = np.empty_like(stage.perm)
            inverse[stage.perm] = np.arange(stage.perm.size)
            self.perm = torch.as_tensor(stage.perm, device=device)
            self.inverse = torch.as_tensor(inverse, device=device)
        if phase is not None:
            kind = dtype if np.iscomplexobj(phase) else real  # ±1 phases stay real, also on complex states
            # F^† λ = (conj(phase)·λ)[inverse]  ==  conj(phase[inverse])·λ[inverse]
            adjoint = np.conj(phase if stage.perm is None else phase[inverse])
            self.phase = torch.as_tensor(phase, dtype=kind, device=device)
            same = not np.iscomplexobj(phase) and stage.perm is None
            self.inverse_phase = self.phase if same else torch.as_tensor(adjoint, dtype=kind, device=device)

    def apply(self, psi: torch.Tensor) -> torch.Tensor:
        """``F ψ``."""
        psi = psi if self.perm is None else psi.index_select(1, self.perm)
        return psi if self.phase is None else psi * self.phase

    def adjoint(self, psi: torch.Tensor) -> torch.Tensor:
        """``F^† ψ``."""
        psi = psi if self.inverse is None else psi.index_select(1, self.inverse)
        return psi if self.inverse_phase is None else psi * self.inverse_phase

    def apply_into(self, psi: torch.Tensor, spare: torch.Tensor, *, adjoint: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """``F ψ`` (or ``F^† ψ``) along the last axis, in place or into ``spare``: ``(result, free buffer)``."""
        perm, phase = (self.inverse, self.inverse_phase) if adjoint else (self.perm, self.phase)
        if perm is not None:
            torch.index_select(psi, -1, perm, out=spare)
            psi, spare = spare, psi
        if phase is not None:
            psi.mul_(phase)
        return psi, spare


def _trace_map(size: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``(d², 4·size)`` 0/1 matrix taking a flattened chunk cross ``C`` to its one-qubit partial traces.

    Column ``4j + 2a + b`` sums ``C[G[j, a, r], G[j, b, r]]`` over ``r`` (``G`` from :func:`_bit_split`):
    the 2×2 reduced cross of the chunk's qubit ``j``. One matmul replaces a gather and a sum.
    """
    d, split = 2**size, _bit_split(size)
    table = np.zeros((d * d, 4 * size))
    for j in range(size):
        for a in range(2):
            for b in range(2):
                table[split[j, a] * d + split[j, b], 4 * j + 2 * a + b] = 1.0
    return torch.as_tensor(table, dtype=dtype, device=device)


class _LayeredStatevector:
    """Torch evaluation of a :class:`LayeredCircuit` for a batch of per-qubit layer unitaries.

    Up to ``max_chunk_qubits`` qubits a layer is one dense matrix with its fixed stage folded
    into the rows, and the forward pass keeps every layer's state. Above, a layer is applied as
    Kronecker-product matrices over qubit chunks, each with *one plain GEMM* in a rotating
    layout: a chunk always acts on the lowest bits of the state as stored (``(D/d, d)`` rows),
    and its GEMM writes the result transposed, ``M·Xᵀ`` (``(d, D/d)``), so the chunk's bits move
    to the top and the next chunk's bits come to the bottom. After all chunks of a layer the
    bits are back in order, where the fixed stage (a permutation with phases) applies.

    Backward pass (adjoint): state and co-state run back together as one ``(2B, D)`` batch from
    the final state, so a fixed number of states is alive whatever the depth. A layer is undone chunk
    by chunk, in the order it was applied, with the same rotating GEMM and ``M^†`` (chunks act on
    disjoint qubits, so the order within a layer is free). Right after a chunk is undone its bits
    are on top, and its cross term ``ρ' = Tr_{other qubits}|μ⟩⟨φ|`` is one GEMM
    ``μ(d, D/d)·φ(d, D/d)^†``. The other chunks of the layer may or may not be applied at that
    point (both sides alike), which leaves the partial trace unchanged; the chunk itself is
    not, so ``ρ = U ρ' U^†`` and the gradient of ``U_q`` is ``ρ_q U_q = U_q ρ'_q``.

    Why not keep the forward pass's states instead of undoing them: the forward pass meets them
    in the opposite order, and a GEMM that moves a chunk's bits from the top to the bottom (the
    inverse rotation) runs 2–3× slower on this BLAS than one that moves them to the top.
    """

    def __init__(
        self, layered: LayeredCircuit, *, max_chunk_qubits: int, dtype: torch.dtype, device: torch.device
    ) -> None:
        def tensor(array: np.ndarray, kind: torch.dtype) -> torch.Tensor:
            return torch.as_tensor(np.asarray(array), dtype=kind, device=device)

        n, layers = layered.num_qubits, layered.num_layers
        self.num_qubits, self.num_layers, self.dimension = n, layers, 2**n
        self.dtype, self.is_real = dtype, not dtype.is_complex
        self.chunks = _chunks(n, max_chunk_qubits)
        element = torch.empty((), dtype=dtype).element_size()
        self.dense = len(self.chunks) == 1 and layers * self.dimension**2 * element <= _KEEP_STATES_BYTES
        self.keep_states = self.dense  # only the dense path keeps per-layer states
        initial = layered.real_initial_state() if self.is_real else layered.initial_state
        self.psi0 = tensor(initial, dtype)
        self.trace_maps = {size: _trace_map(size, dtype, device) for _, size in self.chunks}
        # chunks of one width build their Kronecker matrices together: one gather and one product
        self.kron_groups: list[tuple[list[int], int, torch.Tensor]] = []
        for size in sorted({size for _, size in self.chunks}):
            members = [c for c, (_, s) in enumerate(self.chunks) if s == size]
            if size > 6:
                continue
            base = _kron_index(size, torch.device("cpu")).reshape(size, -1) - 4 * torch.arange(size)[:, None]
            index = torch.cat([(base + 4 * (self.chunks[c][0] + torch.arange(size))[:, None]).reshape(-1) for c in members])
            self.kron_groups.append((members, size, index.to(device)))
        self._single: dict[str, Any] = {}  # cached one-state buffers, see _buffers
        distinct = {id(s): _Stage(s, dtype=dtype, device=device) for s in layered.stages if s is not None}
        self.stages = [None if s is None else distinct[id(s)] for s in layered.stages]
        if self.dense:  # small n: dense per-layer tables are cheap and fold into the layer matrices
            perms, phases = layered.perms, layered.phases
            self.has_perm = not np.array_equal(perms, np.tile(np.arange(self.dimension), (layers, 1)))
            self.has_phase = not np.allclose(phases, 1.0)
            phases = phases.real if self.is_real else phases
            inverse = np.argsort(perms, axis=1)
            self.phases = tensor(phases, dtype)
            self.inverse_phases = tensor(np.conj(np.take_along_axis(phases, inverse, axis=1)), dtype)
            offsets = self.dimension * np.arange(layers)[:, None]
            self.flat_perms = tensor((perms + offsets).reshape(-1), torch.long)  # into (L·D) rows
            self.flat_inverse = tensor((inverse + offsets).reshape(-1), torch.long)
            self.split = tensor(_bit_split(n).reshape(-1), torch.long)

    # -- chunks ---------------------------------------------------------------------------------

    @staticmethod
    def _rotate(psi: torch.Tensor, matrix: torch.Tensor, d: int) -> torch.Tensor:
        """``M`` on the lowest bits of ``(B, D)`` states (``M`` ``(d, d)`` or ``(B, d, d)``); those bits move to the top."""
        b = psi.shape[0]
        if b == 1:
            return torch.mm(matrix, psi.view(-1, d).t()).view(1, -1)
        if matrix.ndim == 2:
            matrix = matrix.expand(b, d, d)
        return torch.bmm(matrix, psi.view(b, -1, d).transpose(1, 2)).view(b, -1)

    def _cross(self, mu: torch.Tensor, phi: torch.Tensor, d: int, out: torch.Tensor) -> None:
        """``Tr_{other qubits}|μ⟩⟨φ|`` of the chunk on the top bits of ``(B, D)`` states, into ``out (B, d, d)``."""
        b = mu.shape[0]
        phi = phi if self.is_real else phi.conj()
        if b == 1:
            torch.mm(mu.view(d, -1), phi.view(d, -1).t(), out=out[0])
        else:
            torch.bmm(mu.view(b, d, -1), phi.view(b, d, -1).transpose(1, 2), out=out)

    def _operands(self, matrices: list[torch.Tensor], *, adjoint: bool) -> list[list[torch.Tensor]]:
        """``[layer][chunk]`` operands of the chunk matrices ``(B, L, d, d)``: ``(d, d)`` for one state, else ``(B, d, d)``.

        With ``adjoint`` they are ``M^†``, doubled along the batch for a ``(2B, D)`` state/co-state pair.
        """
        per_chunk = []
        for chunk in matrices:
            if adjoint:
                chunk = chunk.mH if self.is_real else chunk.mH.resolve_conj()
                if chunk.shape[0] > 1:
                    chunk = torch.cat((chunk, chunk))
            per_chunk.append(chunk[0].unbind(0) if chunk.shape[0] == 1 else chunk.unbind(1))
        return [list(layer) for layer in zip(*per_chunk)]

    # -- one state: preallocated buffers and their views, one dispatched op per GEMM ----------------

    def _buffers(self, kind: str) -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor | list[torch.Tensor]]]]:
        """Two buffers and, per chunk, the views each GEMM reads and writes.

        ``kind`` is ``"states"`` (two ``(D,)`` states, the forward pass) or ``"pairs"`` (two
        ``(2, D)`` state/co-state pairs, the backward pass). Small buffers (up to
        ``_CACHED_BUFFER_BYTES`` a state) live as long as the engine and are reused by every
        one-state pass, so one engine must not run passes from several threads at once; large ones
        are made per pass, so a pass holds only its own.
        """
        cached = self._single.get(kind)
        if cached is not None:
            return cached
        shape = (self.dimension,) if kind == "states" else (2, self.dimension)
        buffers = [self.psi0.new_empty(shape) for _ in range(2)]
        views: list[dict[str, Any]] = []
        for _, size in self.chunks:
            d = 2**size
            if kind == "states":
                views.append({
                    "source": [s.view(-1, d).t() for s in buffers],  # chunk bits at the bottom, as (d, D/d)
                    "target": [s.view(d, -1) for s in buffers],  # chunk bits on top
                })
            else:
                views.append({
                    "source": [p.view(2, -1, d).transpose(1, 2) for p in buffers],
                    "target": [p.view(2, d, -1) for p in buffers],
                    "mu": [p[1].view(d, -1) for p in buffers],
                    "phi": [(p[0] if self.is_real else p[0].conj()).view(d, -1).t() for p in buffers],
                })
        if self.psi0.element_size() * self.dimension <= _CACHED_BUFFER_BYTES:
            self._single[kind] = (buffers, views)
        return buffers, views

    def _forward_single(self, matrices: list[torch.Tensor]) -> torch.Tensor:
        """Final state ``(1, D)`` of one parameter vector (chunk matrices ``(1, L, d, d)``)."""
        states, views = self._buffers("states")
        operands = [chunk[0].unbind(0) for chunk in matrices]
        k, first = 0, self.psi0.view(-1, 2 ** self.chunks[0][1]).t()
        for l, stage in enumerate(self.stages):
            for c, view in enumerate(views):
                torch.mm(operands[c][l], first if first is not None else view["source"][k], out=view["target"][1 - k])
                k, first = 1 - k, None
            if stage is not None:
                result, _ = stage.apply_into(states[k], states[1 - k])
                k = 0 if result is states[0] else 1
        return (states[k].clone() if "states" in self._single else states[k]).view(1, -1)

    def _adjoint_single(self, matrices: list[torch.Tensor], final: torch.Tensor, grad: torch.Tensor) -> list[torch.Tensor]:
        """Per chunk, the crosses ``ρ'`` ``(L, 1, d, d)`` of one state (see :meth:`adjoint`)."""
        pairs, views = self._buffers("pairs")
        layers = self.num_layers
        inverses, crosses, slots = [], [], []
        for chunk in matrices:
            d = chunk.shape[-1]
            inverse = chunk[0].mH if self.is_real else chunk[0].mH.resolve_conj()
            inverses.append(inverse.unsqueeze(1).expand(layers, 2, d, d).unbind(0))
            crosses.append(final.new_empty((layers, 1, d, d)))
            slots.append(crosses[-1].view(layers, d, d).unbind(0))
        k = 0
        pairs[0][0].copy_(final[0])
        pairs[0][1].copy_(grad[0])
        for l in range(layers - 1, -1, -1):
            stage = self.stages[l]
            if stage is not None:  # back to K_l ψ_l and its co-state
                result, _ = stage.apply_into(pairs[k], pairs[1 - k], adjoint=True)
                k = 0 if result is pairs[0] else 1
            for c, view in enumerate(views):
                torch.bmm(inverses[c][l], view["source"][k], out=view["target"][1 - k])
                k = 1 - k
                torch.mm(view["mu"][k], view["phi"][k], out=slots[c][l])
        return crosses

    def _chunk_matrices(self, unitaries: torch.Tensor) -> list[torch.Tensor]:
        """Per chunk, its Kronecker-product matrices ``(B, L, d, d)``."""
        matrices: list[Any] = [None] * len(self.chunks)
        b, l = unitaries.shape[0], unitaries.shape[1]
        flat = unitaries.reshape(b, l, 4 * self.num_qubits)
        for members, size, index in self.kron_groups:
            d = 2**size
            group = flat.index_select(2, index).view(b, l, len(members), size, d, d).prod(3)
            for i, c in enumerate(members):
                matrices[c] = group[:, :, i]
        for c, (low, size) in enumerate(self.chunks):
            if matrices[c] is None:
                matrices[c] = _kron(unitaries, low, size)
        return matrices

    # -- passes ---------------------------------------------------------------------------------

    def forward(self, unitaries: torch.Tensor, *, keep: bool) -> tuple[torch.Tensor, Any]:
        """Final states ``(B, D)``; with ``keep``, what the adjoint pass needs besides them."""
        b = unitaries.shape[0]
        psi = self.psi0.expand(b, self.dimension)
        if self.dense:  # one dense matrix per layer, fixed stage folded into its rows
            layers = _kron(unitaries, 0, self.num_qubits)
            if self.has_perm:
                d = self.dimension
                layers = layers.reshape(b, -1, d).index_select(1, self.flat_perms).reshape(b, -1, d, d)
            if self.has_phase:
                layers = layers * self.phases[..., None]
            states, column = [], psi.unsqueeze(-1)
            for matrix in layers.unbind(1):
                column = matrix @ column
                states.append(column)
            psi = column.squeeze(-1)
            if not keep:
                return psi, None
            after = torch.stack(states, 1).squeeze(-1)  # F_l K_l ψ_l
            if self.has_perm:
                after = after.reshape(b, -1).index_select(1, self.flat_inverse).reshape(b, self.num_layers, -1)
            if self.has_phase:
                after = after * self.inverse_phases
            return psi, (layers, after)
        matrices = self._chunk_matrices(unitaries)
        if b == 1:
            return self._forward_single(matrices), (matrices if keep else None)
        psi = psi.contiguous()
        operands = self._operands(matrices, adjoint=False)
        sizes = [2**size for _, size in self.chunks]
        for l, stage in enumerate(self.stages):
            for c, d in enumerate(sizes):
                psi = self._rotate(psi, operands[l][c], d)
            if stage is not None:
                psi = stage.apply(psi)
        return psi, (matrices if keep else None)

    def adjoint(
        self, unitaries: torch.Tensor, saved: Any, final: torch.Tensor, grad: torch.Tensor, *, reduced: bool = False
    ) -> torch.Tensor:
        """Gradient with respect to ``unitaries`` ``(B, L, n, 2, 2)``.

        Args:
            unitaries: The forward pass's layer unitaries.
            saved: What :meth:`forward` returned with ``keep=True``.
            final: The forward pass's final states ``(B, D)``.
            grad: The co-state of the final states ``(B, D)``.
            reduced: Return the one-qubit cross terms ``ρ_q`` ``(B, L, n, 2, 2)`` instead, taken with
                ``U_q`` applied (dense) or undone (chunks): for a gate ``exp(h·G)`` with ``G``
                commuting with ``U_q`` either gives ``∂L/∂h = Re Σ conj(ρ_q)⊙G``.
        """
        b, n = grad.shape[0], self.num_qubits
        if self.dense:
            layers, after = saved
            lam, lams = grad.unsqueeze(-1), []
            for l in range(self.num_layers - 1, -1, -1):
                lams.append(lam)
                lam = layers[:, l].mH @ lam
            mu = torch.stack(lams[::-1], 1).squeeze(-1)
            if self.has_perm:
                mu = mu.reshape(b, -1).index_select(1, self.flat_inverse).reshape(b, self.num_layers, -1)
            if self.has_phase:
                mu = mu * self.inverse_phases
            shape = (b, self.num_layers, n, 2, -1)
            split_mu = mu.index_select(-1, self.split).reshape(shape)  # (B, L, n, 2, D/2)
            split_out = after.index_select(-1, self.split).reshape(shape)
            cross = split_mu @ split_out.conj().transpose(-1, -2)
            return cross if reduced else cross @ unitaries
        layers, sizes = self.num_layers, [2**size for _, size in self.chunks]
        if b == 1:
            crosses = self._adjoint_single(saved, final, grad)
        else:
            inverses = self._operands(saved, adjoint=True)
            crosses = [final.new_empty((layers, b, d, d)) for d in sizes]
            # state and co-state run back together as one (2B, D) batch, undoing each layer chunk by chunk
            pair = torch.cat((final, grad.to(final.dtype)))
            for l in range(layers - 1, -1, -1):
                stage = self.stages[l]
                if stage is not None:  # back to K_l ψ_l and its co-state
                    pair = stage.adjoint(pair)
                for c, d in enumerate(sizes):
                    pair = self._rotate(pair, inverses[l][c], d)  # chunk c undone, its bits now on top
                    self._cross(pair[b:], pair[:b], d, crosses[c][l])  # ρ' = U_c^† ρ U_c
        parts = [
            (cross.view(layers * b, -1) @ self.trace_maps[size]).view(layers, b, size, 2, 2)
            for cross, (_, size) in zip(crosses, self.chunks)
        ]
        per_qubit = (torch.cat(parts, dim=2) if len(parts) > 1 else parts[0]).transpose(0, 1)  # (B, L, n, 2, 2)
        # the cross of a chunk is taken with the chunk undone: ρ_q = U_q ρ'_q U_q^†, so ρ_q U_q = U_q ρ'_q
        return per_qubit if reduced else unitaries @ per_qubit


class _Evolution(torch.autograd.Function):
    """``θ (B, P) → final states (B, D)`` (or their probabilities) with the adjoint backward pass.

    The backward pass carries the co-state back through the layers (:meth:`_LayeredStatevector.adjoint`)
    and maps the gradient of each layer unitary to ``θ`` by hand (:meth:`ExactExecutor._theta_gradient`),
    so no autograd graph is built for the 2×2 gate matrices.
    """

    @staticmethod
    def forward(ctx: Any, theta: torch.Tensor, executor: "ExactExecutor", probabilities: bool) -> torch.Tensor:
        slots = executor._slots(theta)
        unitaries = executor._product(slots[0])
        psi, saved = executor._engine.forward(unitaries, keep=True)
        ctx.executor, ctx.saved, ctx.unitaries, ctx.probabilities = executor, saved, unitaries, probabilities
        ctx.slots = slots
        if not probabilities:
            ctx.save_for_backward(theta, psi)
            return psi
        ctx.save_for_backward(theta)
        ctx.psi = psi
        return psi.square() if executor.is_real else torch.view_as_real(psi).square().sum(-1)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        theta, *outputs = ctx.saved_tensors
        psi = outputs[0] if outputs else ctx.psi
        if ctx.probabilities:  # p = |ψ|²: the co-state of ψ is 2·g·ψ
            grad = 2 * grad * psi
        executor = ctx.executor
        if executor._generators is not None:  # one rotation per qubit and layer: ∂L/∂h = Re Σ conj(ρ)⊙G
            cross = executor._engine.adjoint(ctx.unitaries, ctx.saved, psi, grad, reduced=True)
            per_slot = (cross.conj() * executor._generators).real.sum((-1, -2)).reshape(theta.shape[0], -1)
            per_slot = per_slot * executor._half_coef
            return per_slot.new_zeros(theta.shape).index_add_(1, executor._param_index, per_slot), None, None
        grad_unitaries = executor._engine.adjoint(ctx.unitaries, ctx.saved, psi, grad)
        return executor._theta_gradient(theta, grad_unitaries, ctx.slots), None, None


class ExactExecutor(Executor):
    """Differentiable statevector simulation in PyTorch (see the module docstring).

    Args:
        generator: The generator circuit.
        dtype: ``"complex128"`` (default; probabilities agree with qiskit to ~1e-14) or ``"complex64"``:
            the precision. A real circuit runs in the real type of the same precision
            (``float64`` / ``float32``), see ``real``.
        device: Torch device, e.g. ``"cpu"`` or ``"cuda"``.
        max_chunk_qubits: A layer is applied as Kronecker-product matrices over chunks of at most
            this many qubits, one matmul each; up to this width a layer is one dense matrix with
            the entanglers folded in. Default: one dense matrix up to 5 qubits, then chunks of at
            most 3 qubits from 13 to 16 and at most 4 otherwise (the fastest measured on CPU with one
            thread, ``benchmarks/bench_executor.py --sections chunks``: fewer flops against more
            dispatched ops and smaller GEMMs).
        real: None (default) runs in real arithmetic exactly when every gate and the initial state
            are real (RY, CX, CZ, H, a real prior; a global phase of the prior is dropped); False
            always uses complex arithmetic; True requires a real circuit.

    Attributes:
        dtype: The complex type of the chosen precision.
        compute_dtype: The type the state is held in (``float64``/``float32`` for a real circuit).
        is_real: Whether the state is held in real arithmetic.

    Note:
        Amplitudes equal qiskit's up to the circuit's global phase (they are real tensors for a
        real circuit); probabilities are exact. Gradients flow through :meth:`probabilities` and
        :meth:`amplitudes` by torch autograd; the backward pass needs a few copies of the state,
        not one per layer. One executor reuses its work buffers for one-state passes, so it must
        not run passes from several threads at once (separate executors may).

    Raises:
        ValueError: An unknown dtype, a bad ``max_chunk_qubits``, or ``real=True`` on a complex circuit.
    """

    name = "exact"
    differentiable = True

    def __init__(
        self,
        generator: GeneratorCircuit,
        *,
        dtype: str | torch.dtype = "complex128",
        device: str | torch.device = "cpu",
        max_chunk_qubits: int | None = None,
        real: bool | None = None,
    ) -> None:
        super().__init__(generator)
        if isinstance(dtype, str):
            if dtype not in _DTYPES:
                raise ValueError(f"dtype must be one of {tuple(_DTYPES)}, received {dtype!r}")
            dtype = _DTYPES[dtype]
        if dtype not in _DTYPES.values():
            raise ValueError(f"dtype must be torch.complex128 or torch.complex64, received {dtype}")
        if max_chunk_qubits is None:  # measured: benchmarks/bench_executor.py --sections chunks
            n = self.num_qubits
            max_chunk_qubits = n if n <= 5 else 3 if 13 <= n <= 16 else 4
        integer = isinstance(max_chunk_qubits, (int, np.integer)) and not isinstance(max_chunk_qubits, bool)
        if not integer or max_chunk_qubits < 1:
            raise ValueError(f"max_chunk_qubits must be an integer >= 1, received {max_chunk_qubits!r}")
        if real not in (None, True, False):
            raise ValueError(f"real must be None, True or False, received {real!r}")
        self.dtype = dtype
        self.real_dtype = _REAL_DTYPES[dtype]
        self.device = torch.device(device)
        self.layered = layered = layer_circuit(generator.circuit, generator.parameters)
        circuit_real = layered.is_real()
        if real and not circuit_real:
            raise ValueError(
                "real=True needs a real circuit, but this generator has complex gates (RX/RZ, phases) or a "
                "complex initial state; pass real=None to choose automatically"
            )
        self.is_real = circuit_real if real is None else bool(real)
        self.compute_dtype = self.real_dtype if self.is_real else dtype
        self._engine = _LayeredStatevector(
            layered, max_chunk_qubits=int(max_chunk_qubits), dtype=self.compute_dtype, device=self.device
        )
        as_tensor = lambda a, kind: torch.as_tensor(np.asarray(a), dtype=kind, device=self.device)  # noqa: E731
        matrix_dtype = self.compute_dtype
        cast = (lambda a: a.real) if self.is_real else (lambda a: a)  # noqa: E731
        self._param_index = as_tensor(layered.param_index.reshape(-1), torch.long)
        self._half_coef = as_tensor(layered.half_coef.reshape(-1), self.real_dtype)
        self._half_offset = as_tensor(layered.half_offset.reshape(-1), self.real_dtype)
        self._cos_matrix = as_tensor(cast(layered.cos_matrix).reshape(-1, 2, 2), matrix_dtype)
        self._sin_matrix = as_tensor(cast(layered.sin_matrix).reshape(-1, 2, 2), matrix_dtype)
        # one slot per qubit and layer: a rotation cos(h)·I + sin(h)·G (or a fixed gate, coefficient 0), whose
        # derivative G·U is read off the cross terms directly (the generator commutes with the gate)
        single = layered.param_index.shape[2] == 1 and all(
            np.allclose(c, np.eye(2)) for c, k in zip(layered.cos_matrix.reshape(-1, 2, 2), layered.half_coef.reshape(-1)) if k
        )
        self._generators = self._sin_matrix.reshape(layered.num_layers, self.num_qubits, 2, 2) if single else None

    def _as_batch(self, theta: Any) -> tuple[torch.Tensor, bool]:
        if not isinstance(theta, torch.Tensor):
            theta = torch.as_tensor(np.asarray(theta, dtype=float))
        theta = theta.to(device=self.device, dtype=self.real_dtype)
        single = theta.ndim == 1
        batch = theta.unsqueeze(0) if single else theta
        if batch.ndim != 2 or batch.shape[1] != self.num_parameters:
            raise ValueError(
                f"theta must have shape ({self.num_parameters},) or (B, {self.num_parameters}), "
                f"received {tuple(theta.shape)}"
            )
        return batch, single

    def _slots(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Every slot's 2×2 matrix ``V = cos(h)·C + sin(h)·S`` ``(B, L, n, m, 2, 2)``, and ``cos(h)``, ``sin(h)``."""
        half = theta[:, self._param_index] * self._half_coef + self._half_offset  # (B, S)
        cos, sin = torch.cos(half)[..., None, None], torch.sin(half)[..., None, None]
        slots = cos * self._cos_matrix + sin * self._sin_matrix
        return slots.reshape(theta.shape[0], self.layered.num_layers, self.num_qubits, -1, 2, 2), cos, sin

    def layer_unitaries(self, theta: torch.Tensor) -> torch.Tensor:
        """Per layer and qubit, the product of that layer's single-qubit gates: ``(B, L, n, 2, 2)``."""
        return self._product(self._slots(theta)[0])

    @staticmethod
    def _product(slots: torch.Tensor) -> torch.Tensor:
        """``V_{m-1}⋯V_0`` of the slots ``(B, L, n, m, 2, 2)``: ``(B, L, n, 2, 2)``."""
        product = slots[:, :, :, 0]
        for j in range(1, slots.shape[3]):
            product = slots[:, :, :, j] @ product
        return product

    def _theta_gradient(
        self, theta: torch.Tensor, grad_unitaries: torch.Tensor, slots: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    ) -> torch.Tensor:
        """Chain rule from the gradient of the layer unitaries ``(B, L, n, 2, 2)`` to ``θ`` ``(B, P)``.

        ``U = V_{m-1}⋯V_0`` and ``dV_j/dh_j = cos(h_j)·S_j − sin(h_j)·C_j``, so with ``G`` the gradient
        of ``U`` (torch's convention, conjugate for complex), ``∂L/∂h_j = Re Σ conj(W_j)⊙dV_j/dh_j``
        with ``W_j = (V_{m-1}⋯V_{j+1})^† G (V_{j-1}⋯V_0)^†``; then ``∂L/∂θ = Σ_j half_coef_j ∂L/∂h_j``
        over the slots ``j`` that read ``θ``. ``slots`` is what :meth:`_slots` returned for ``theta``.
        """
        slots, cos, sin = slots
        b, shape = theta.shape[0], slots.shape
        derivative = (cos * self._sin_matrix - sin * self._cos_matrix).reshape(shape)
        if shape[3] == 1:
            weights = grad_unitaries.unsqueeze(3)
        else:
            count = shape[3]
            after = [grad_unitaries]  # (V_{m-1}⋯V_{j+1})^† G, for j = m-1 … 0
            for j in range(count - 1, 0, -1):
                after.append(slots[:, :, :, j].mH @ after[-1])
            after.reverse()
            before = slots[:, :, :, 0]  # V_{j-1}⋯V_0
            parts = [after[0]]
            for j in range(1, count):
                parts.append(after[j] @ before.mH)
                before = slots[:, :, :, j] @ before
            weights = torch.stack(parts, dim=3)
        per_slot = (weights.conj() * derivative).real.sum((-1, -2)).reshape(b, -1) * self._half_coef
        return per_slot.new_zeros((b, self.num_parameters)).index_add_(1, self._param_index, per_slot)

    def _evolve(self, theta: Any, *, probabilities: bool) -> torch.Tensor:
        batch, single = self._as_batch(theta)
        if self.layered.num_layers == 0:
            psi = self._engine.psi0.expand(batch.shape[0], -1).clone()
        elif torch.is_grad_enabled() and batch.requires_grad:
            out = _Evolution.apply(batch, self, probabilities)
            return out[0] if single else out
        else:
            with torch.no_grad():
                psi, _ = self._engine.forward(self.layer_unitaries(batch), keep=False)
        if probabilities:
            psi = psi.square() if self.is_real else torch.view_as_real(psi).square().sum(-1)
        return psi[0] if single else psi

    def amplitudes(self, theta: Any) -> torch.Tensor:
        """Statevector(s), shape ``(2**N,)`` or ``(B, 2**N)``, in :attr:`compute_dtype`; differentiable in ``theta``."""
        return self._evolve(theta, probabilities=False)

    def probabilities(self, theta: Any) -> torch.Tensor:
        """Probabilities ``|ψ_θ|²``, shape ``(2**N,)`` or ``(B, 2**N)``; differentiable in ``theta``."""
        return self._evolve(theta, probabilities=True)

    def sample(self, theta: Any, shots: int, *, seed: int) -> np.ndarray:
        with torch.no_grad():
            p = self.probabilities(theta).cpu().numpy().astype(np.float64)
        if p.ndim != 1:
            raise ValueError("sample takes one parameter vector of shape (P,)")
        return _sample_indices(p, shots, seed)

    def _expectations(self, thetas: np.ndarray, weights: np.ndarray, seed: int | None) -> np.ndarray:
        dimension, layers = 2**self.num_qubits, max(self.layered.num_layers, 1)
        per_row = layers * dimension**2 if self._engine.dense else 4 * dimension
        step = max(1, 2**22 // per_row)  # about 64 MiB of complex128 per batch
        w = torch.as_tensor(weights, dtype=self.real_dtype, device=self.device)
        with torch.no_grad():
            parts = [
                (self.probabilities(torch.as_tensor(thetas[k : k + step])) @ w).cpu().numpy()
                for k in range(0, len(thetas), step)
            ]
        return np.concatenate(parts).astype(np.float64)


# --------------------------------------------------------------------------------------------
# statevector: qiskit reference
# --------------------------------------------------------------------------------------------


class StatevectorExecutor(Executor):
    """Reference executor: ``qiskit.quantum_info.Statevector`` of the bound circuit."""

    name = "statevector"
    differentiable = False

    def amplitudes(self, theta: Any) -> np.ndarray:
        """Statevector, shape ``(2**N,)``."""
        return Statevector(self.generator.bind(theta)).data

    def probabilities(self, theta: Any) -> np.ndarray:
        """Probabilities, shape ``(2**N,)`` (or ``(B, 2**N)`` for a batch of parameter vectors)."""
        values = np.asarray(theta.detach().cpu().numpy() if hasattr(theta, "detach") else theta, dtype=float)
        if values.ndim == 2:
            return np.stack([self.probabilities(t) for t in values])
        return Statevector(self.generator.bind(values)).probabilities()

    def sample(self, theta: Any, shots: int, *, seed: int) -> np.ndarray:
        return _sample_indices(self.probabilities(theta), shots, seed)


# --------------------------------------------------------------------------------------------
# aer: shots, optional device noise, statevector or MPS method; aer_density: exact noisy
# --------------------------------------------------------------------------------------------


def fake_backend(name: str) -> Any:
    """A fake IBM device from ``qiskit_ibm_runtime.fake_provider`` by class name or device name.

    ``"FakeManilaV2"``, ``"manila"`` and ``"fake_manila"`` all name the same device.
    """
    from qiskit_ibm_runtime import fake_provider

    available = sorted(
        n for n in dir(fake_provider) if n.startswith("Fake") and n.endswith("V2") and n != "FakeProviderForBackendV2"
    )
    key = name.lower().removeprefix("fake_").removeprefix("fake").removesuffix("v2")
    for candidate in available:
        if candidate.lower().removeprefix("fake").removesuffix("v2") == key:
            return getattr(fake_provider, candidate)()
    raise ValueError(f"unknown fake backend {name!r}; expected one of {available}")


def _noise_device(generator: GeneratorCircuit, noise_backend: str | None) -> Any:
    """The fake device of an executor: ``noise_backend``, else the hardware profile's device, else None."""
    name = noise_backend if noise_backend is not None else generator.options.get("backend")
    if name is None:
        return None
    backend = fake_backend(name) if isinstance(name, str) else name
    if backend.num_qubits < generator.num_qubits:
        raise ValueError(
            f"noise backend {name!r} has {backend.num_qubits} qubits; the generator needs "
            f"{generator.num_qubits}. Choose a larger fake device (e.g. 'FakeGuadalupeV2', 16 qubits)."
        )
    return backend


class _AerBase(Executor):
    """Shared by the Aer executors: the transpiled circuit, batched parameter binds, seeds and a ledger.

    Every call runs *one* Aer job: all parameter vectors of the call (e.g. the ``2P`` shifted points
    of a parameter-shift gradient) go in as ``parameter_binds`` of the same transpiled circuit.
    Every seed a job used is appended to :attr:`seeds`, and :attr:`ledger` counts circuits, shots,
    jobs and latency (the telemetry reads it).
    """

    def __init__(self, generator: GeneratorCircuit, *, seed: int, noise_backend: str | None,
                 optimization_level: int | None, idle_noise: bool) -> None:
        super().__init__(generator)
        from quantum_scenarios.quantum.mitigation import SamplerLedger

        self.seed = int(seed)
        self.device = _noise_device(generator, noise_backend)
        self.noise_backend = None if self.device is None else self.device.name
        self.idle_noise = bool(idle_noise)
        self.seeds: list[int] = []
        self.ledger = SamplerLedger()
        self._calls = 0

    def _transpile(self, simulator: Any, optimization_level: int | None) -> QuantumCircuit:
        from quantum_scenarios.quantum import hardware

        if self.device is None:
            measured = self.generator.circuit.copy()
            measured.measure_all()
            level = 1 if optimization_level is None else optimization_level
            return transpile(measured, simulator, optimization_level=level, seed_transpiler=self.seed)
        circuit = hardware.transpile_generator(
            self.generator, self.device, seed=self.seed, optimization_level=optimization_level
        )
        return hardware.schedule_idle(circuit, self.device) if self.idle_noise else circuit

    def _next_seed(self, seed: int | None) -> int:
        if seed is not None:
            return int(seed)
        self._calls += 1
        return self.seed + 1_000_003 * self._calls

    def _binds(self, circuit: QuantumCircuit, thetas: np.ndarray) -> list[dict[Any, list[float]]] | None:
        order = {p: i for i, p in enumerate(self.generator.parameters)}
        used = [p for p in circuit.parameters if p in order]
        if not used:
            return None
        return [{p: thetas[:, order[p]].tolist() for p in used}]

    def _job(self, circuit: QuantumCircuit, thetas: np.ndarray, *, shots: int | None, seed: int) -> Any:
        """One Aer job over every row of ``thetas``; returns the result (experiment ``k`` is row ``k``)."""
        import time

        binds = self._binds(circuit, thetas)
        circuits = [circuit] if binds is not None else [circuit] * len(thetas)
        options: dict[str, Any] = {"seed_simulator": int(seed)}
        if shots is not None:
            options["shots"] = int(shots)
        started = time.perf_counter()
        self.ledger.jobs += 1
        try:
            result = self.simulator.run(circuits, parameter_binds=binds, **options).result()
        except Exception:
            self.ledger.failed_jobs += 1
            raise
        self.ledger.latencies.append(time.perf_counter() - started)
        self.ledger.circuits += len(thetas)
        self.ledger.shots += len(thetas) * int(shots or 0)
        self.seeds.append(int(seed))
        return result


class AerExecutor(_AerBase):
    """qiskit-aer sampling with shots, seeded; optional noise model of a fake IBM device.

    Args:
        generator: The generator circuit (a hardware-profile generator brings its device and layout).
        shots: Shots per circuit for :meth:`probabilities` and :meth:`parameter_shift_gradient`.
        seed: Seed of the transpiler and of calls that pass none (they advance an internal counter).
        method: ``"statevector"`` or ``"matrix_product_state"`` (the ``aer_mps`` executor).
        noise_backend: Name of a fake device (e.g. ``"FakeManilaV2"``); the circuit is transpiled
            for it and sampled with its noise model. None: noiseless (or the hardware profile's device).
        optimization_level: Transpiler optimisation level (None: 3 for the hardware profile, else 1).
        idle_noise: With a device, schedule the circuit so idle qubits relax as on the device.
    """

    name = "aer"
    differentiable = False

    def __init__(
        self,
        generator: GeneratorCircuit,
        *,
        shots: int = 1024,
        seed: int = 0,
        method: str = "statevector",
        noise_backend: str | None = None,
        optimization_level: int | None = None,
        idle_noise: bool = True,
    ) -> None:
        super().__init__(generator, seed=seed, noise_backend=noise_backend, optimization_level=optimization_level,
                         idle_noise=idle_noise)
        from qiskit_aer import AerSimulator

        _check_shots(shots)
        if method not in ("statevector", "matrix_product_state"):
            raise ValueError(f"method must be 'statevector' or 'matrix_product_state', received {method!r}")
        self.shots, self.method = int(shots), method
        self.name = "aer" if method == "statevector" else "aer_mps"
        self.simulator = (
            AerSimulator(method=method) if self.device is None else AerSimulator.from_backend(self.device, method=method)
        )
        self._circuit = self._transpile(self.simulator, optimization_level)

    @property
    def transpiled(self) -> QuantumCircuit:
        """The circuit Aer runs (transpiled, measured; scheduled when ``idle_noise``)."""
        return self._circuit

    def _run(self, thetas: np.ndarray, shots: int, seed: int) -> list[dict[str, int]]:
        result = self._job(self._circuit, np.atleast_2d(thetas), shots=shots, seed=seed)
        return [result.get_counts(k) for k in range(len(np.atleast_2d(thetas)))]

    def probabilities(self, theta: Any, *, seed: int | None = None) -> np.ndarray:
        """Empirical frequencies from ``shots`` samples, shape ``(2**N,)``."""
        values = check_theta(theta, self.num_parameters)
        return counts_to_frequencies(self._run(values[None], self.shots, self._next_seed(seed))[0], self.num_qubits)

    def sample(self, theta: Any, shots: int, *, seed: int) -> np.ndarray:
        """``shots`` basis-state indices, in a seeded random order."""
        _check_shots(shots)
        values = check_theta(theta, self.num_parameters)
        return counts_to_draws(self._run(values[None], int(shots), int(seed))[0], int(seed))

    def _expectations(self, thetas: np.ndarray, weights: np.ndarray, seed: int | None) -> np.ndarray:
        counts = self._run(thetas, self.shots, self._next_seed(seed))
        return np.array([counts_to_frequencies(c, self.num_qubits) @ weights for c in counts])


def _readout_channels(circuit: QuantumCircuit, noise_model: Any) -> QuantumCircuit:
    """``circuit`` with its final measurements replaced by the noise model's readout errors written as
    quantum channels (a bit flip on the diagonal), then ``save_probabilities`` in clbit order.

    Aer applies a ``ReadoutError`` only when it samples; as a channel before ``save_probabilities``
    the same confusion gives the exact measured distribution without shots.
    """
    from qiskit.quantum_info import Kraus
    from qiskit_aer.noise import QuantumError

    readout = {}
    for error in noise_model.to_dict()["errors"] if noise_model is not None else []:
        if error["type"] == "roerror":
            for qubits in error["gate_qubits"]:
                readout[qubits[0]] = np.asarray(error["probabilities"])
    out = circuit.copy_empty_like()
    measured: dict[int, int] = {}
    for instruction in circuit.data:
        if instruction.operation.name == "measure":
            measured[circuit.find_bit(instruction.clbits[0]).index] = circuit.find_bit(instruction.qubits[0]).index
        elif instruction.operation.name != "barrier":
            out.append(instruction)
    qubits = [measured[c] for c in sorted(measured)]
    for q in qubits:
        if q in readout:
            p = readout[q]  # p[prepared, measured]
            kraus = [
                np.sqrt(p[0, 0]) * np.array([[1, 0], [0, 0]]),
                np.sqrt(p[0, 1]) * np.array([[0, 0], [1, 0]]),
                np.sqrt(p[1, 0]) * np.array([[0, 1], [0, 0]]),
                np.sqrt(p[1, 1]) * np.array([[0, 0], [0, 1]]),
            ]
            out.append(QuantumError(Kraus(kraus)), [out.qubits[q]])
    out.save_probabilities([out.qubits[q] for q in qubits])
    return out


class AerDensityExecutor(_AerBase):
    """``aer_density``: exact noisy probabilities from Aer's density-matrix method, no shot noise.

    The circuit is transpiled for the device (scheduled when ``idle_noise``) and simulated with
    ``NoiseModel.from_backend``; readout error enters as a channel before ``save_probabilities``
    (:func:`_readout_channels`). Gradients by parameter shift, all ``2P`` points in one job.

    Args:
        generator: The generator circuit.
        noise_backend: Fake device name (None: the hardware profile's device).
        seed: Transpiler seed.
        optimization_level: Transpiler level (None: 3 for the hardware profile, else 1).
        idle_noise: Relax idle qubits (scheduled circuit).
    """

    name = "aer_density"
    differentiable = False

    def __init__(self, generator: GeneratorCircuit, *, noise_backend: str | None = None, seed: int = 0,
                 optimization_level: int | None = None, idle_noise: bool = True) -> None:
        super().__init__(generator, seed=seed, noise_backend=noise_backend, optimization_level=optimization_level,
                         idle_noise=idle_noise)
        from qiskit_aer import AerSimulator
        from qiskit_aer.noise import NoiseModel

        if self.device is None:
            raise ValueError("aer_density needs a device: pass noise_backend (e.g. 'FakeGuadalupeV2') or use the hardware profile")
        self.noise_model = NoiseModel.from_backend(self.device)
        self.simulator = AerSimulator(method="density_matrix", noise_model=self.noise_model)
        self.transpiled = self._transpile(self.simulator, optimization_level)
        self._circuit = _readout_channels(self.transpiled, self.noise_model)

    def probabilities(self, theta: Any) -> np.ndarray:
        """Exact noisy distribution, ``(2**N,)`` (or ``(B, 2**N)`` for a batch, one job)."""
        values = np.asarray(theta.detach().cpu().numpy() if hasattr(theta, "detach") else theta, dtype=float)
        batch = values[None] if values.ndim == 1 else values
        for row in batch:
            check_theta(row, self.num_parameters)
        result = self._job(self._circuit, batch, shots=None, seed=self._next_seed(None))
        p = np.stack([np.asarray(result.data(k)["probabilities"]) for k in range(len(batch))])
        return p[0] if values.ndim == 1 else p

    def sample(self, theta: Any, shots: int, *, seed: int) -> np.ndarray:
        return _sample_indices(np.clip(self.probabilities(theta), 0, None), shots, seed)

    def _expectations(self, thetas: np.ndarray, weights: np.ndarray, seed: int | None) -> np.ndarray:
        return np.atleast_2d(self.probabilities(thetas)) @ weights


def _mitigated_aer(generator: GeneratorCircuit, mitigation: Any, options: dict[str, Any]) -> Executor:
    """``aer`` on a fake device with the mitigation stack on every distribution it estimates."""
    device = _noise_device(generator, options.pop("noise_backend", None))
    if device is None:
        raise ValueError("mitigation needs a device: set noise_backend (e.g. 'FakeGuadalupeV2') or use the hardware profile")
    unknown = sorted(set(options) - {"shots", "seed"})
    if unknown:
        raise TypeError(f"the mitigated aer executor takes shots, seed, noise_backend and mitigation; received {unknown}")
    return _mitigated(generator, mitigation, device, **options)


def _mitigated(generator: GeneratorCircuit, mitigation: Any, device: Any, **options: Any) -> Executor:
    from quantum_scenarios.quantum.mitigation import MitigatedExecutor, MitigationOptions

    if isinstance(mitigation, dict):
        mitigation = MitigationOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in mitigation.items()})
    inner = options.pop("inner", None)
    executor = MitigatedExecutor(generator, device, options=mitigation, **options)
    if inner is not None:  # the ibm executor it wraps: its provenance and fallback stay visible
        executor.inner = inner
        executor.fallback = inner.fallback
        executor.provenance = inner.provenance
    return executor


def make_executor(name: str, generator: GeneratorCircuit, **options: Any) -> Executor:
    """Executor by name, one of :data:`EXECUTORS`.

    Args:
        name: ``exact``, ``statevector``, ``aer``, ``aer_mps``, ``aer_density`` or ``exact_noisy``.
        generator: The generator circuit.
        **options: Keyword arguments of the executor class (e.g. ``dtype``, ``device`` for
            ``exact``; ``shots``, ``seed``, ``noise_backend`` for ``aer``; ``backend`` for
            ``exact_noisy``; ``mitigation`` (a ``MitigationOptions`` or its fields as a dict) for
            ``aer`` on a device, which then mitigates every distribution it estimates).
    """
    if name == "exact":
        return ExactExecutor(generator, **options)
    if name == "statevector":
        if options:
            raise TypeError(f"the statevector executor takes no options, received {sorted(options)}")
        return StatevectorExecutor(generator)
    if name == "aer":
        mitigation = options.pop("mitigation", None)
        switches = ("readout", "twirling", "dd", "zne")
        if isinstance(mitigation, dict):
            active = any(mitigation.get(k) for k in switches)
        else:
            active = mitigation is not None and any(getattr(mitigation, k) for k in switches)
        if active:
            return _mitigated_aer(generator, mitigation, options)
        return AerExecutor(generator, **options)
    if name == "aer_mps":
        if options.get("method", "matrix_product_state") != "matrix_product_state":
            raise ValueError("executor 'aer_mps' always uses method='matrix_product_state'")
        return AerExecutor(generator, **{**options, "method": "matrix_product_state"})
    if name == "aer_density":
        return AerDensityExecutor(generator, **options)
    if name == "exact_noisy":
        from quantum_scenarios.quantum.noisy import NoisyDensityMatrixExecutor

        return NoisyDensityMatrixExecutor(generator, **options)
    if name == "ibm":
        from quantum_scenarios.quantum.ibm import IBMExecutor

        mitigation = options.pop("mitigation", None)
        executor = IBMExecutor(generator, **options)
        if mitigation is None or not any(
            (mitigation.get(k) if isinstance(mitigation, dict) else getattr(mitigation, k))
            for k in ("readout", "zne")
        ):
            return executor
        return _mitigated(generator, mitigation, executor.backend, runner=executor.sampler, shots=executor.shots,
                          seed=executor.seed, name="ibm", readout_system=executor.backend, inner=executor)
    raise ValueError(f"executor must be one of {EXECUTORS}, received {name!r}")


__all__ = [
    "EXECUTORS",
    "AerDensityExecutor",
    "AerExecutor",
    "ExactExecutor",
    "Executor",
    "StatevectorExecutor",
    "fake_backend",
    "make_executor",
    "shift_coefficients",
]

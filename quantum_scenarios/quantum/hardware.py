"""Hardware profile: generators that fit a device, and what they cost on it.

A generator built for a device keeps its transpiled circuit shallow:

* **Layout.** :func:`choose_layout` picks a path of ``N`` physically connected qubits on the
  device's coupling map, scored by the backend ``Target``'s error rates (2-qubit gate errors on
  the path, readout and ``sx`` errors of its qubits). Logical qubit ``i`` sits on ``path[i]``.
* **Ansatz.** RY rotations and CZ entanglers on exactly the device couplings among the chosen
  qubits (the path, plus any extra coupling between its qubits), so routing inserts no SWAP and
  every CZ becomes one native 2-qubit gate. At ``θ = 0`` the CZ layers are diagonal and the
  generator's distribution equals the prior's.
* **Prior.** The full qiskit-finance loader is an arbitrary state preparation (about 1,168 CX at
  9 qubits). :func:`shallow_prior` offers ``"marginals"`` (a product of each asset's exact
  marginal, one small state preparation per register, no gate between registers) and
  ``"uniform"`` (one H layer); :func:`prior_fidelity` measures what either costs.
* **Transpiler.** qiskit's preset pass manager (:func:`transpile_for_backend`, optimisation
  level 3 by default) with that initial layout.

:func:`circuit_statistics` reports the logical and the transpiled figures side by side: depth,
2-qubit gate count, active physical qubits and the estimated success probability
``Π (1 − error)`` over every transpiled instruction, from the backend ``Target``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import StatePreparation, n_local
from qiskit.transpiler import generate_preset_pass_manager

from quantum_scenarios.quantum.circuits import PARAMETER_NAME, GeneratorCircuit, _check_loader

PRIORS = ("loader", "marginals", "uniform")
_NON_GATES = ("barrier", "measure", "delay", "reset")


def device_backend(name: str | Any) -> Any:
    """A fake IBM device by name (``"FakeGuadalupeV2"``, ``"guadalupe"``), or a backend passed through."""
    if not isinstance(name, str):
        if not hasattr(name, "target"):
            raise TypeError(f"backend must be a device name or a qiskit BackendV2, received {type(name).__name__}")
        return name
    from quantum_scenarios.quantum.executors import fake_backend

    return fake_backend(name)


def _instruction_error(target: Any, name: str, qubits: tuple[int, ...]) -> float:
    if name not in target.operation_names:
        return 0.0
    props = target[name].get(qubits)
    return float(props.error or 0.0) if props is not None else 0.0


def choose_layout(backend: Any, num_qubits: int) -> list[int]:
    """A path of ``num_qubits`` connected physical qubits with the lowest summed error.

    The score of a path is the sum of the 2-qubit gate errors along it plus, per qubit, the
    readout error and the ``sx`` error (from the backend ``Target``). Paths are enumerated
    exhaustively by depth-first search (devices here have at most a few hundred qubits and
    sparse heavy-hex couplings, so this is quick for the widths a generator uses).

    Args:
        backend: A qiskit ``BackendV2`` (a fake device) or its name.
        num_qubits: Path length ``N``.

    Returns:
        Physical qubits ``[p_0, …, p_{N-1}]``; logical qubit ``i`` goes to ``p_i``.

    Raises:
        ValueError: If the device has no connected path of that length.
    """
    backend = device_backend(backend)
    if not isinstance(num_qubits, (int, np.integer)) or num_qubits < 1:
        raise ValueError(f"num_qubits must be an integer >= 1, received {num_qubits!r}")
    target = backend.target
    two_q = _two_qubit_gate(target)
    neighbours: dict[int, set[int]] = {q: set() for q in range(backend.num_qubits)}
    for a, b in backend.coupling_map.get_edges():
        neighbours[a].add(b)
        neighbours[b].add(a)

    def edge_error(a: int, b: int) -> float:
        errors = [_instruction_error(target, two_q, e) for e in ((a, b), (b, a)) if two_q]
        return min([e for e in errors if e > 0], default=0.0)

    node_error = {
        q: _instruction_error(target, "measure", (q,)) + _instruction_error(target, "sx", (q,))
        for q in range(backend.num_qubits)
    }
    best: tuple[float, list[int]] = (np.inf, [])
    limit = 200_000  # bound the search on very large devices; the first paths found are kept

    def extend(path: list[int], score: float) -> None:
        nonlocal best, limit
        limit -= 1
        if limit < 0 or score >= best[0]:
            return
        if len(path) == num_qubits:
            best = (score, list(path))
            return
        for nxt in sorted(neighbours[path[-1]]):
            if nxt not in path:
                path.append(nxt)
                extend(path, score + edge_error(path[-2], nxt) + node_error[nxt])
                path.pop()

    for start in range(backend.num_qubits):
        extend([start], node_error[start])
    if not best[1]:
        raise ValueError(
            f"device {backend.name!r} has no connected path of {num_qubits} qubits "
            f"({backend.num_qubits} qubits); choose a larger device or fewer qubits"
        )
    return best[1]


def _two_qubit_gate(target: Any) -> str | None:
    names = [n for n in target.operation_names if n not in _NON_GATES and target.operation_from_name(n).num_qubits == 2]
    return names[0] if names else None


def device_entanglement(backend: Any, layout: Sequence[int]) -> list[tuple[int, int]]:
    """Logical qubit pairs ``(i, j)``, ``i < j``, whose physical qubits ``layout[i]``, ``layout[j]`` are coupled."""
    backend = device_backend(backend)
    position = {p: i for i, p in enumerate(layout)}
    pairs = {
        tuple(sorted((position[a], position[b])))
        for a, b in backend.coupling_map.get_edges()
        if a in position and b in position
    }
    return sorted(pairs)  # type: ignore[arg-type]


def device_ansatz(num_qubits: int, pairs: Sequence[tuple[int, int]], *, reps: int = 2) -> QuantumCircuit:
    """RY layers with CZ entanglers on ``pairs`` (device couplings), ``reps`` repetitions and a final RY layer."""
    if not isinstance(reps, (int, np.integer)) or isinstance(reps, bool) or reps < 1:
        raise ValueError(f"reps must be an integer >= 1, received {reps!r}")
    entanglement = [list(p) for p in pairs] if num_qubits > 1 and pairs else []
    return n_local(
        num_qubits,
        "ry",
        "cz" if entanglement else [],
        entanglement=entanglement,
        reps=int(reps),
        parameter_prefix=PARAMETER_NAME,
        name="device_ry_cz",
    )


def shallow_prior(loader: QuantumCircuit, prior: np.ndarray, grid_shape: Sequence[int], kind: str) -> QuantumCircuit:
    """A shallow replacement of the prior loader on the same named registers.

    Args:
        loader: The full loader (its registers, one per asset, are kept).
        prior: The loader's probabilities in basis-state order, shape ``(2**N,)``.
        grid_shape: Bins per asset in dimension order (asset 0 in the most significant qubits).
        kind: ``"loader"`` (the loader itself), ``"marginals"`` (product of the per-asset marginals
            of ``prior``: each register gets its exact marginal, no gate between registers) or
            ``"uniform"`` (an H on every qubit).

    Returns:
        A parameter-free circuit on the loader's registers.
    """
    if kind not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}, received {kind!r}")
    _check_loader(loader)
    if kind == "loader":
        return loader
    circuit = QuantumCircuit(*loader.qregs, name=f"P(X) {kind}")
    if kind == "uniform":
        circuit.h(range(circuit.num_qubits))
        return circuit
    p = np.asarray(prior, dtype=float)
    if p.shape != (int(np.prod(grid_shape)),) or p.size != 2**loader.num_qubits:
        raise ValueError(f"prior must have shape ({2**loader.num_qubits},) for grid {tuple(grid_shape)}, received {p.shape}")
    grid = p.reshape(tuple(grid_shape))
    d = len(grid_shape)
    # asset a's register: the registers were added last asset first (see quantum_scenarios.encoding)
    registers = list(loader.qregs)[::-1] if len(loader.qregs) == d else None
    offset = 0
    for a in range(d - 1, -1, -1):  # least significant (last asset) first
        n = int(np.log2(grid_shape[a]))
        marginal = grid.sum(axis=tuple(b for b in range(d) if b != a))
        qubits = list(registers[a]) if registers is not None else circuit.qubits[offset : offset + n]
        circuit.append(StatePreparation(np.sqrt(marginal / marginal.sum())), qubits)
        offset += n
    return circuit


def prior_fidelity(shallow: QuantumCircuit, reference: np.ndarray, target: np.ndarray | None = None) -> dict[str, float]:
    """Classical fidelity of a shallow prior's distribution to the full loader's (and to the target)."""
    from qiskit.quantum_info import Statevector

    from quantum_scenarios.evaluation.distances import classical_fidelity

    p = Statevector(shallow).probabilities()
    out = {"fidelity_to_loader": float(classical_fidelity(reference, p))}
    if target is not None:
        out["fidelity_to_target"] = float(classical_fidelity(target, p))
        out["loader_fidelity_to_target"] = float(classical_fidelity(target, reference))
    return out


def build_hardware_generator(
    loader: QuantumCircuit,
    backend: Any,
    *,
    reps: int = 2,
    seed: int = 0,
    init_scale: float = 0.1,
    layout: Sequence[int] | None = None,
    optimization_level: int = 3,
) -> GeneratorCircuit:
    """The hardware profile: ``loader`` followed by :func:`device_ansatz` on a chosen device layout.

    Args:
        loader: The prior (full loader or :func:`shallow_prior`).
        backend: Device name (a fake IBM device) or a qiskit ``BackendV2``.
        reps: Entangling repetitions (few: the point is a shallow circuit).
        seed: Seed of the initial point.
        init_scale: Initial angles are uniform in ``[-init_scale, init_scale]``.
        layout: Physical qubits for logical ``0 … N-1``; None uses :func:`choose_layout`.
        optimization_level: Preset pass manager level the executors transpile with.

    Returns:
        A generator whose ``options`` carry ``entanglement="device"``, the backend name, the layout,
        the couplings used and the optimisation level, so every executor transpiles it the same way.
    """
    _check_loader(loader)
    device = device_backend(backend)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an integer, received {seed!r}")
    if not np.isfinite(init_scale) or init_scale < 0:
        raise ValueError(f"init_scale must be finite and >= 0, received {init_scale!r}")
    n = loader.num_qubits
    if device.num_qubits < n:
        raise ValueError(f"device {device.name!r} has {device.num_qubits} qubits; the generator needs {n}")
    chosen = list(layout) if layout is not None else choose_layout(device, n)
    if len(chosen) != n or len(set(chosen)) != n or not all(0 <= q < device.num_qubits for q in chosen):
        raise ValueError(f"layout must list {n} distinct physical qubits of {device.name!r}, received {chosen}")
    pairs = device_entanglement(device, chosen)
    body = device_ansatz(n, pairs, reps=reps)
    circuit = loader.copy(name="generator[device]")
    circuit.compose(body, circuit.qubits, inplace=True)
    parameters = list(circuit.parameters)
    initial_point = np.random.default_rng(seed).uniform(-init_scale, init_scale, size=len(parameters))
    options = {
        "ansatz": "ry_cz",
        "reps": int(reps),
        "entanglement": "device",
        "seed": int(seed),
        "init_scale": float(init_scale),
        "backend": device.name,
        "layout": [int(q) for q in chosen],
        "couplings": [list(p) for p in pairs],
        "optimization_level": int(optimization_level),
    }
    return GeneratorCircuit(
        circuit=circuit, loader=loader, ansatz=body, parameters=parameters, initial_point=initial_point, options=options
    )


def transpile_for_backend(
    circuit: QuantumCircuit,
    backend: Any,
    *,
    layout: Sequence[int] | None = None,
    optimization_level: int = 3,
    seed: int = 0,
) -> QuantumCircuit:
    """Transpile with qiskit's preset pass manager for ``backend`` (``initial_layout=layout``)."""
    device = device_backend(backend)
    manager = generate_preset_pass_manager(
        optimization_level=int(optimization_level),
        backend=device,
        initial_layout=list(layout) if layout is not None else None,
        seed_transpiler=int(seed),
    )
    return manager.run(circuit)


def transpile_generator(generator: GeneratorCircuit, backend: Any, *, seed: int = 0, optimization_level: int | None = None,
                        measure: bool = True) -> QuantumCircuit:
    """The generator (with ``measure_all`` by default) transpiled for ``backend``.

    A hardware-profile generator is transpiled with its own layout and optimisation level; any
    other generator with ``optimization_level`` (default 1, as the ``aer`` executor always did)
    and the transpiler's own layout.
    """
    circuit = generator.circuit.copy()
    if measure:
        circuit.measure_all()
    options = generator.options
    device = device_backend(backend)
    if options.get("entanglement") == "device":
        if options.get("backend") not in (None, device.name):
            # another device with the same couplings on the layout (e.g. a real device and its fake twin) is fine
            edges = {tuple(sorted(e)) for e in device.coupling_map.get_edges()} if device.coupling_map else set()
            layout = options["layout"]
            fits = all(q < device.num_qubits for q in layout) and all(
                tuple(sorted((layout[i], layout[j]))) in edges for i, j in options.get("couplings", [])
            )
            if not fits:
                raise ValueError(
                    f"the generator was built for device {options['backend']!r} but is run on {device.name!r}, "
                    f"which lacks couplings of its layout {layout}; build it for the device you run on"
                )
        level = options.get("optimization_level", 3) if optimization_level is None else optimization_level
        return transpile_for_backend(circuit, device, layout=options["layout"], optimization_level=level, seed=seed)
    level = 1 if optimization_level is None else optimization_level
    return transpile(circuit, device, optimization_level=level, seed_transpiler=seed)


def _two_qubit_count(circuit: QuantumCircuit) -> int:
    return sum(
        1 for i in circuit.data if i.operation.num_qubits == 2 and i.operation.name not in _NON_GATES
    )


def active_qubits(circuit: QuantumCircuit) -> list[int]:
    """Physical qubits any instruction other than a barrier or a delay touches, ascending.

    A qubit that only ever idles stays in ``|0⟩``, which relaxation leaves unchanged.
    """
    used = {
        circuit.find_bit(q).index for i in circuit.data if i.operation.name not in ("barrier", "delay") for q in i.qubits
    }
    return sorted(used)


def estimated_success_probability(transpiled: QuantumCircuit, backend: Any) -> float:
    """``Π (1 − error)`` over the transpiled circuit's instructions, errors from the backend ``Target``."""
    target = device_backend(backend).target
    esp = 1.0
    for instruction in transpiled.data:
        name = instruction.operation.name
        if name in ("barrier", "delay"):
            continue
        qubits = tuple(transpiled.find_bit(q).index for q in instruction.qubits)
        esp *= 1.0 - _instruction_error(target, name, qubits)
    return float(esp)


def circuit_statistics(generator: GeneratorCircuit, backend: Any | None = None, *, seed: int = 0,
                       transpiled: QuantumCircuit | None = None) -> dict[str, Any]:
    """Logical and (with ``backend``) transpiled statistics of a generator.

    Logical figures come from the circuit decomposed to ``cx`` + single-qubit gates without a
    device (``optimization_level=1``); transpiled figures from :func:`transpile_generator` on
    the device, with the estimated success probability from its ``Target``.

    Returns:
        ``{"logical": {width, depth, two_qubit_gates}, "transpiled": {backend, depth,
        two_qubit_gates, active_qubits, layout, gate_counts, estimated_success_probability}}``.
    """
    logical = transpile(generator.circuit, basis_gates=["cx", "u", "rz", "sx", "x"], optimization_level=1, seed_transpiler=seed)
    out: dict[str, Any] = {
        "logical": {
            "width": generator.num_qubits,
            "depth": int(logical.depth()),
            "two_qubit_gates": _two_qubit_count(logical),
            "num_parameters": generator.num_parameters,
        }
    }
    if backend is None:
        return out
    device = device_backend(backend)
    if transpiled is None:
        transpiled = transpile_generator(generator, device, seed=seed)
    final = transpiled.layout.final_index_layout() if transpiled.layout is not None else list(range(generator.num_qubits))
    counts = {k: int(v) for k, v in transpiled.count_ops().items() if k != "barrier"}
    out["transpiled"] = {
        "backend": device.name,
        "depth": int(transpiled.depth(lambda i: i.operation.name != "barrier")),
        "two_qubit_gates": _two_qubit_count(transpiled),
        "active_qubits": len(active_qubits(transpiled)),
        "layout": [int(q) for q in final],
        "gate_counts": dict(sorted(counts.items())),
        "estimated_success_probability": estimated_success_probability(transpiled, device),
    }
    return out


__all__ = [
    "PRIORS",
    "active_qubits",
    "build_hardware_generator",
    "choose_layout",
    "circuit_statistics",
    "device_ansatz",
    "device_backend",
    "device_entanglement",
    "estimated_success_probability",
    "prior_fidelity",
    "shallow_prior",
    "transpile_for_backend",
    "transpile_generator",
]


def schedule_idle(circuit: QuantumCircuit, backend: Any, *, dd_sequence: Sequence[str] | None = None) -> QuantumCircuit:
    """Schedule a transpiled circuit ALAP and make idle time explicit as ``delay`` instructions.

    Simulators then apply thermal relaxation to idle qubits as a device would (qiskit-aer's
    ``NoiseModel.from_backend`` relaxes every ``delay``). With ``dd_sequence`` (gate names, e.g.
    ``["x", "x"]``) the idle windows are filled with that dynamical-decoupling sequence instead
    (qiskit's ``PadDynamicalDecoupling``); qubits that never start are left alone.
    """
    from qiskit.circuit.library import get_standard_gate_name_mapping
    from qiskit.transpiler import PassManager
    from qiskit.transpiler.passes import ALAPScheduleAnalysis, PadDelay, PadDynamicalDecoupling

    target = device_backend(backend).target
    if dd_sequence:
        mapping = get_standard_gate_name_mapping()
        unknown = [g for g in dd_sequence if g not in mapping or g not in target.operation_names]
        if unknown:
            raise ValueError(f"dd_sequence gates {unknown} are not native to the device; use e.g. ['x', 'x']")
        pad = PadDynamicalDecoupling(target=target, dd_sequence=[mapping[g] for g in dd_sequence])
    else:
        pad = PadDelay(target=target)
    scheduled = PassManager([ALAPScheduleAnalysis(target=target), pad]).run(circuit)
    # qubits that never start idle in |0>, which relaxation leaves unchanged: drop their delays so
    # simulators need not carry them (Aer simulates every qubit an instruction touches)
    busy = set(active_qubits(scheduled))
    pruned = scheduled.copy_empty_like()
    for instruction in scheduled.data:
        if instruction.operation.name == "delay" and scheduled.find_bit(instruction.qubits[0]).index not in busy:
            continue
        pruned.append(instruction)
    return pruned


__all__ += ["schedule_idle"]

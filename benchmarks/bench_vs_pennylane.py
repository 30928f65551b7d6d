"""Our exact executor's gradient against PennyLane ``lightning.qubit`` with adjoint differentiation.

The issue-10 table, reproduced side by side in one process:

* the same circuit: an H loader plus ``ry_cz``, reps 6, linear entanglement (about 7n
  parameters), translated gate by gate from our qiskit circuit into a PennyLane tape (qiskit
  qubit ``q`` is PennyLane wire ``n-1-q``, so basis indices agree);
* the gradient of ``Σ w·p``; for PennyLane the ``expval`` of the diagonal observable
  ``W = diag(w)`` (a ``SparseHamiltonian``), which equals ``Σ w·p``;
* one thread (``OMP_NUM_THREADS=1`` and ``torch.set_num_threads(1)``), contenders alternating
  in one process in blocks (``--block`` timed calls after one untimed call, as a training loop
  calls the same gradient again and again: a contender timed right after another one's call
  pays for the other's cold caches, which at 6 qubits made ours look 1.4× slower than the same
  code a call later), medians of CPU time (``time.process_time``: on a shared machine wall
  time mostly measures the neighbours; both contenders run single-threaded in this process),
  and the core/ours ratio of wall-time medians next to it;
* PennyLane twice: through a QNode (``qml.grad``), and its core called directly on a prebuilt
  tape (``device.execute_and_compute_derivatives``, no QNode overhead);
* the memory-traffic bound of the issue (8 state transfers per layer, forward plus backward,
  complex128 state, at ``--bandwidth`` GB/s) and our ratio to it.

Before timing, each size checks that both gradients agree (max abs difference printed).

Needs the ``bench`` extra (``pip install -e .[bench]``: pennylane, pennylane-lightning).
Run: ``python benchmarks/bench_vs_pennylane.py [--qubits 6,10,14,18,20] [--repeats 30]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before lightning's OpenMP runtime loads

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run as a script from anywhere

import numpy as np  # noqa: E402
import pennylane as qml  # noqa: E402
import scipy.sparse  # noqa: E402
import torch  # noqa: E402
from pennylane import numpy as pnp  # noqa: E402

from benchmarks.bench_executor import BANDWIDTH_GBS, generator_for, traffic_bound_seconds  # noqa: E402
from quantum_scenarios.quantum.executors import ExactExecutor  # noqa: E402


def pennylane_ops(generator, theta):
    """The generator's gates as PennyLane operations (qiskit qubit q on wire n-1-q)."""
    n = generator.num_qubits
    index = {p: i for i, p in enumerate(generator.parameters)}
    ops = []
    for instruction in generator.circuit.data:
        op = instruction.operation
        wires = [n - 1 - generator.circuit.find_bit(q).index for q in instruction.qubits]
        if op.name == "h":
            ops.append(qml.Hadamard(wires[0]))
        elif op.name == "ry":
            (parameter,) = op.params[0].parameters
            ops.append(qml.RY(theta[index[parameter]], wires=wires[0]))
        elif op.name == "cz":
            ops.append(qml.CZ(wires=wires))
        else:
            raise ValueError(f"no PennyLane translation for {op.name!r}")
    return ops


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", default="6,10,14,18,20")
    parser.add_argument("--repeats", type=int, default=30, help="repeats at 6-14 qubits (fewer above)")
    parser.add_argument("--bandwidth", type=float, default=BANDWIDTH_GBS)
    parser.add_argument("--block", type=int, default=5,
                        help="timed calls per contender in a row, after one untimed (up to 14 qubits; one call above)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, pennylane {qml.__version__}, "
        f"lightning {qml.device('lightning.qubit', wires=1).version if hasattr(qml.device('lightning.qubit', wires=1), 'version') else ''}; "
        f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, torch threads {torch.get_num_threads()}; "
        f"load average {os.getloadavg()}"
    )
    print("CPU ms per gradient (medians); core/ours on CPU time, and on wall time")
    print(f"{'n':>3} {'P':>4} {'ours c128':>10} {'ours c64':>9} {'QNode':>9} {'core':>9} {'core/ours':>9} "
          f"{'(wall)':>7} {'bound':>8} {'ours/bound':>10} {'max|Δgrad|':>10} load")
    for n in [int(q) for q in args.qubits.split(",")]:
        generator = generator_for(n)
        p = generator.num_parameters
        rng = np.random.default_rng(n)
        w = rng.normal(size=2**n)
        theta0 = generator.initial_point.copy()
        ours = {dtype: ExactExecutor(generator, dtype=dtype) for dtype in ("complex128", "complex64")}
        weights = {k: torch.as_tensor(w, dtype=e.real_dtype) for k, e in ours.items()}

        def our_gradient(dtype: str) -> np.ndarray:
            executor = ours[dtype]
            theta = torch.tensor(theta0, dtype=executor.real_dtype, requires_grad=True)
            (executor.probabilities(theta) @ weights[dtype]).backward()
            return theta.grad.numpy()

        device = qml.device("lightning.qubit", wires=n)
        observable = qml.SparseHamiltonian(scipy.sparse.diags(w, format="csr"), wires=range(n))
        config = device.setup_execution_config(qml.devices.ExecutionConfig(gradient_method="adjoint"))
        tape = qml.tape.QuantumScript(pennylane_ops(generator, theta0), [qml.expval(observable)])
        tape.trainable_params = list(range(p))

        def core_gradient() -> np.ndarray:
            _, jacobian = device.execute_and_compute_derivatives(tape, config)
            return np.asarray(jacobian, dtype=float).ravel()

        @qml.qnode(device, diff_method="adjoint", interface="autograd")
        def circuit(theta):
            for op in pennylane_ops(generator, theta):
                qml.apply(op)
            return qml.expval(observable)

        qnode_gradient = qml.grad(circuit)
        theta_pl = pnp.array(theta0, requires_grad=True)

        def qnode() -> np.ndarray:
            return np.asarray(qnode_gradient(theta_pl), dtype=float)

        # both tapes order parameters as the circuit does: θ[k] is the k-th RY
        difference = float(np.max(np.abs(our_gradient("complex128") - core_gradient())))
        contenders = {"c128": lambda: our_gradient("complex128"), "c64": lambda: our_gradient("complex64"),
                      "qnode": qnode, "core": core_gradient}
        repeats = args.repeats if n <= 14 else max(3, args.repeats // 10)
        times: dict[str, list[float]] = {k: [] for k in contenders}
        walls: dict[str, list[float]] = {k: [] for k in contenders}
        block = args.block if n <= 14 else 1
        for _ in range(max(1, repeats // block)):  # alternating, in blocks
            for name, run in contenders.items():
                if block > 1:
                    run()  # untimed: the caches the previous contender left cold
                for _ in range(block):
                    began, wall = time.process_time(), time.perf_counter()
                    run()
                    times[name].append(time.process_time() - began)
                    walls[name].append(time.perf_counter() - wall)
        med = {k: float(np.median(v)) for k, v in times.items()}
        wall_ratio = float(np.median(walls["core"]) / np.median(walls["c128"]))
        bound = traffic_bound_seconds(n, ours["complex128"].layered.num_layers, args.bandwidth)
        print(f"{n:>3} {p:>4} {med['c128'] * 1e3:>8.2f}ms {med['c64'] * 1e3:>7.2f}ms {med['qnode'] * 1e3:>7.2f}ms "
              f"{med['core'] * 1e3:>7.2f}ms {med['core'] / med['c128']:>8.2f}x {wall_ratio:>6.2f}x {bound * 1e3:>6.2f}ms "
              f"{med['c128'] / bound:>9.1f}x {difference:>10.1e} {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

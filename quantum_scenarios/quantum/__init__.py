"""Quantum core: generator circuits (loader + ansatz) and the executors that run them."""

from quantum_scenarios.quantum.circuits import ANSATZES, ENTANGLEMENTS, GeneratorCircuit, build_generator
from quantum_scenarios.quantum.executors import (
    EXECUTORS,
    AerExecutor,
    ExactExecutor,
    Executor,
    StatevectorExecutor,
    make_executor,
)

__all__ = [
    "ANSATZES",
    "ENTANGLEMENTS",
    "EXECUTORS",
    "AerExecutor",
    "ExactExecutor",
    "Executor",
    "GeneratorCircuit",
    "StatevectorExecutor",
    "build_generator",
    "make_executor",
]

"""quantum-scenarios: correlated synthetic return trajectories and stress scenarios from a quantum GAN."""

from quantum_scenarios.errors import QuantumScenariosError

__version__ = "0.1.0"
__all__ = ["QuantumScenariosError", "__version__"]

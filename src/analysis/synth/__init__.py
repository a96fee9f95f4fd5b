"""The simulated enforcement world (see docs/simulated-world.md)."""

from .params import DEFAULT_SEED
from .simulate import Simulation, simulate, write_dataset

__all__ = ["DEFAULT_SEED", "Simulation", "simulate", "write_dataset"]

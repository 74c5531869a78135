"""AiiDA plugin for GRACE machine-learning interatomic potentials (PyPI ``tensorpotential``)."""

__version__ = "0.1.0"

"""Compute-side driver: runs where the jobs run, imports tensorpotential/ase (never aiida).

Entry point ``aiida-grace-driver`` (or ``python -m aiida_grace.driver``).
"""

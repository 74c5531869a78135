"""Pure helpers shared by the AiiDA side and the compute-side driver (no aiida imports here)."""

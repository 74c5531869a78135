"""Settings of the tiny demo models that the examples, benchmarks and tests train (pure; no aiida).

Seconds per epoch on 2 CPU cores with a few dozen 4- and 8-atom cells: good enough to exercise every workflow
end to end, not to be accurate.
"""

from __future__ import annotations

# gracemaker ``potential.kwargs`` of a tiny GRACE-1L (a few thousand parameters) and a tiny GRACE-FS
TINY_1L = {"lmax": 3, "n_rad_max": 16, "max_order": 3, "n_mlp_dens": 8, "n_rad_base": 8, "embedding_size": 16}
TINY_FS = {"lmax": [4, 4, 3], "n_rad_max": [12, 8, 6], "max_order": 3, "embedding_size": 16, "n_rad_base": 8}


def huber_loss(stress_weight: float = 1.0) -> dict:
    """Huber loss (δ 0.01) on energy (weight 1), forces (5) and stress (``stress_weight``)."""
    return {"energy": {"weight": 1.0, "type": "huber", "delta": 0.01},
            "forces": {"weight": 5.0, "type": "huber", "delta": 0.01},
            "stress": {"weight": stress_weight, "type": "huber", "delta": 0.01}}


def training_parameters(epochs: int = 4, preset: str = "GRACE_1LAYER_latest", kwargs: dict | None = None, *,
                        cutoff: float = 4.5, stress_weight: float = 1.0, learning_rate: float | None = None,
                        **fit) -> dict:
    """grace.train ``parameters`` of a tiny float64 model: ``epochs`` epochs, cutoff in Å, batches of 4
    (test 8) unless ``fit`` says otherwise; ``kwargs`` defaults to :data:`TINY_1L`."""
    parameters = {
        "seed": 1,
        "cutoff": cutoff,
        "potential": {"preset": preset, "kwargs": TINY_1L if kwargs is None else kwargs, "param_dtype": "float64"},
        "fit": {"maxiter": epochs, "loss": huber_loss(stress_weight), "batch_size": 4, "test_batch_size": 8, **fit},
    }
    if learning_rate is not None:
        parameters["fit"]["opt_params"] = {"learning_rate": learning_rate}
    return parameters

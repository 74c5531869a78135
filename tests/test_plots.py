"""Figures: the numbers behind the parity plot, and PNGs that are written (fast)."""

import numpy as np
import pytest

from aiida_grace import plots
from aiida_grace.common.metrics import EV_PER_A3_TO_GPA
from aiida_grace.common.structures import labels_of, with_labels
from aiida_grace.functions.synthetic import emt_structures


@pytest.fixture(scope="module")
def reference():
    return emt_structures(["Cu", "Al"], 4, seed=60)


def shifted(structures, de_per_atom, df):
    return [with_labels(a, labels_of(a)["energy"] + de_per_atom * len(a), labels_of(a)["forces"] + df,
                        labels_of(a)["stress"]) for a in structures]


def test_parity_data_pairs_every_label_in_its_units(reference):
    data = plots.parity_data(reference, shifted(reference, 0.01, 0.2))
    ref_e, pred_e = data["energy"]
    np.testing.assert_allclose(pred_e - ref_e, 0.01, atol=1e-12)
    ref_f, pred_f = data["forces"]
    assert len(ref_f) == 3 * sum(len(a) for a in reference)
    np.testing.assert_allclose(pred_f - ref_f, 0.2, atol=1e-12)
    ref_s, _ = data["stress"]
    np.testing.assert_allclose(ref_s[:6], labels_of(reference[0])["stress"] * EV_PER_A3_TO_GPA)


def test_pngs_are_written(reference, tmp_path):
    path = plots.parity(reference, shifted(reference, 0.01, 0.2), tmp_path / "parity.png", title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    arrays = {"epoch": np.arange(1, 6), "train_loss": np.linspace(1, 0.1, 5), "test_loss": np.linspace(2, 0.2, 5),
              "train_forces_mae": np.linspace(0.5, 0.05, 5), "test_forces_mae": np.linspace(0.6, 0.06, 5),
              "train_stress_mae": np.full(5, np.nan)}
    curve = plots.learning_curve(arrays, tmp_path / "curve.png")
    assert curve.read_bytes()[:4] == b"\x89PNG"


def test_parity_without_shared_labels_is_an_error(reference, tmp_path):
    bare = [with_labels(a) for a in reference]
    with pytest.raises(ValueError, match="no label is present"):
        plots.parity(reference, bare, tmp_path / "x.png")

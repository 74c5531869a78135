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


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def cubic(c11, c12, c44):
    c = np.zeros((6, 6))
    c[:3, :3] = c12
    np.fill_diagonal(c[:3, :3], c11)
    c[3, 3] = c[4, 4] = c[5, 5] = c44
    return c


def test_moduli_pairs_are_the_closed_forms_of_a_cubic_tensor():
    pairs = plots.moduli_pairs(cubic(170, 120, 75), reference=cubic(170, 120, 75) * 2)
    k = (170 + 2 * 120) / 3
    g_v, g_r = (170 - 120 + 3 * 75) / 5, 5 * (170 - 120) * 75 / (4 * 75 + 3 * (170 - 120))
    assert pairs["K_VRH"][0] == pytest.approx(k) and pairs["K_VRH"][1] == pytest.approx(2 * k)
    assert pairs["G_VRH"][0] == pytest.approx((g_v + g_r) / 2)
    g = (g_v + g_r) / 2
    assert pairs["E"][0] == pytest.approx(9 * k * g / (3 * k + g))
    assert plots.moduli_pairs(cubic(170, 120, 75))["E"][1] is None


def test_elastic_summary_draws_every_tensor_value(tmp_path, monkeypatch):
    import matplotlib.figure

    texts = []
    original = matplotlib.figure.Figure.savefig

    def spy(figure, *args, **kwargs):  # the numbers written on the heat map, read back before saving
        texts.extend(t.get_text() for t in figure.axes[0].texts)
        return original(figure, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    c = cubic(176.4, 124.6, 81.7)
    path = plots.elastic_summary(c, tmp_path / "elastic.png", reference=cubic(170, 120, 75), title="Cu")
    assert texts == [str(round(value)) for value in c.ravel()]
    plots.elastic_summary(-1e-3 * np.eye(6), tmp_path / "zero.png")
    assert "-0" not in texts[36:]
    assert png_size(path) == (1200, 504)


def test_band_axis_does_not_step_across_a_break():
    kpoints = np.array([[0, 0, 0], [0.5, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1.5, 0], [0, 2, 0]])
    x, ticks, names = plots.band_axis(kpoints, [(0, "G"), (2, "X"), (3, "U"), (5, "L")])
    np.testing.assert_allclose(x, [0, 0.5, 1.0, 1.0, 1.5, 2.0])
    assert ticks == [0.0, 1.0, 2.0] and names == ["Γ", "X|U", "L"]
    # BandsData's way: both labels of the break on its first k-point
    x, ticks, names = plots.band_axis(kpoints, [(0, "G"), (2, "X"), (2, "U"), (5, "L")])
    np.testing.assert_allclose(x, [0, 0.5, 1.0, 1.0, 1.5, 2.0])
    assert ticks == [0.0, 1.0, 2.0] and names == ["Γ", "X|U", "L"]


def test_phonons_and_kappa_plots_the_mean_of_the_diagonal(tmp_path, monkeypatch):
    import matplotlib.figure

    lines = {}
    original = matplotlib.figure.Figure.savefig

    def spy(figure, *args, **kwargs):
        lines.update({line.get_label(): line.get_ydata() for line in figure.axes[-1].lines})
        return original(figure, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    particle = np.array([[30.0, 30.0, 30.0, 0, 0, 0], [15.0, 16.0, 17.0, 0, 0, 0]])
    coherence = np.full((2, 6), 0.1)
    x = np.linspace(0, 1, 20)
    bands = (x, np.outer(np.sin(np.pi * x), [1, 2, 3]) * 3, [0.0, 1.0], ["Γ", "X"])
    dos = (np.linspace(0, 9, 50), np.linspace(0, 1, 50))
    path = plots.phonons_and_kappa([300, 600], {"kappa_P_RTA": particle, "kappa_C": coherence},
                                   tmp_path / "kappa.png", bands=bands, dos=dos)
    np.testing.assert_allclose(lines["particle (P, RTA)"], [30.0, 16.0])
    np.testing.assert_allclose(lines["total"], [30.1, 16.1])
    width, height = png_size(path)
    assert height == 504 and width > 1000
    alone = plots.phonons_and_kappa([300], {"kappa_P_RTA": particle[:1], "kappa_C": coherence[:1]},
                                    tmp_path / "alone.png")
    assert png_size(alone)[0] < width


def test_merged_ticks_join_names_at_a_path_break():
    assert plots.merged_ticks([0.0, 1.0, 1.0, 2.5], ["G", "K", "U", "X"]) == ([0.0, 1.0, 2.5], ["Γ", "K|U", "X"])

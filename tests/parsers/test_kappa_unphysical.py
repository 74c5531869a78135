"""κ beyond any crystal's is flagged: the pure bound, and the grace.kappa parser's output_parameters (fast)."""

import json

import numpy as np
import pytest

from aiida_grace.common.files import KAPPA
from aiida_grace.common.kappa_bound import KAPPA_MAX, unphysical_kappa


def test_bound_passes_real_crystals_and_flags_the_rest():
    assert unphysical_kappa([300.0], [2300.0]) is None  # diamond
    assert unphysical_kappa([100.0, 300.0], [4.0e4, 12.8]) is None  # below 250 K no upper bound
    assert unphysical_kappa([300.0], [KAPPA_MAX]) is None
    reason = unphysical_kappa([100.0, 300.0], [50.0, 6.8e8])
    assert reason.startswith("κ = 6.8e+08 W/m/K at 300 K is above 10000 W/m/K") and "100 K" not in reason
    assert unphysical_kappa([300.0], [float("nan")]) == "κ = nan at 300 K is not finite"
    assert "negative" in unphysical_kappa([50.0], [-1.0])


def recorded_kappa(folder, kappa_ave: list[float]):
    """The files of a finished grace.kappa job whose κ̄ per temperature (300, 400 K) is ``kappa_ave``."""
    folder.mkdir()
    tensor = [[k, k, k, 0.0, 0.0, 0.0] for k in kappa_ave]
    results = {
        "kappa_P_RTA": tensor, "kappa_C": [[0.0] * 6 for _ in kappa_ave], "kappa_TOT_RTA": tensor,
        "kappa_TOT_ave": kappa_ave, "temperatures": [300.0, 400.0], "mesh": [6, 6, 6], "has_imaginary_modes": False,
        "min_frequency": 0.0, "versions": {"phonopy": "4.8.6", "phono3py": "4.8.2"}, "seconds": {"kappa": 1.0},
        "n_displacements_fc3": 2, "n_displacements_fc2": 1, "n_atoms_fc3_supercell": 8, "n_atoms_fc2_supercell": 8,
        "band": {"kpoints": [[0, 0, 0], [0.5, 0, 0]], "frequencies": [[0, 0, 0], [3, 3, 5]], "x": [0.0, 1.0],
                 "special_x": [0.0, 1.0], "labels": ["G", "X"], "primitive_cell": np.eye(3).tolist()},
        "dos": {"frequency_points": [0.0, 1.0], "total_dos": [0.0, 1.0]},
    }
    (folder / KAPPA.results).write_text(json.dumps(results))  # NaN written as phono3py's json.dumps would
    for name in (KAPPA.kappa_hdf5, KAPPA.fc2, KAPPA.fc3):
        (folder / name).write_bytes(b"hdf5")
    return folder


@pytest.mark.parametrize("kappa_ave, flagged, reason", [
    ([12.8, 9.6], False, None),
    ([6.8e8, 5.1e8], True, "κ = 6.8e+08 W/m/K at 300 K is above 10000 W/m/K"),
    ([float("nan"), 9.6], True, "κ = nan at 300 K is not finite"),
])
def test_parser_flags_unphysical_kappa(parse_recorded, tmp_path, kappa_ave, flagged, reason):
    outputs, call = parse_recorded("grace.kappa", {}, recorded_kappa(tmp_path / "r", kappa_ave))
    assert call.exit_status == 0, call.exit_message
    summary = outputs["output_parameters"].get_dict()
    assert summary["kappa_unphysical"] is flagged
    assert (summary["kappa_unphysical_reason"] or "").startswith(reason or "")
    assert (reason is None) == (summary["kappa_unphysical_reason"] is None)
    expected = [None if np.isnan(k) else k for k in kappa_ave]  # stored as None: the database takes no NaN
    assert summary["kappa_TOT_ave"] == expected
    np.testing.assert_array_equal(outputs["kappa"].get_array("kappa_TOT_ave"), kappa_ave)  # the array keeps NaN

"""grace.eos, grace.point_defects, grace.surface_energy and grace.grain_boundary end to end with a real (tiny)
model trained on EMT Cu bulk/defect/slab/boundary cells: each against the same model through plain ASE written
here (same cells, same relaxation settings), and against EMT's own values computed directly; bad input refused
before submission (fast, fake model folders)."""

import re

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.constraints import FixSymmetry
from ase.eos import EquationOfState
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS, FIRE

from aiida_grace.common import grain_boundary, point_defects, surface_energy
from aiida_grace.data import GraceModelData
from aiida_grace.workflows.eos import GraceEosWorkChain
from aiida_grace.workflows.grain_boundary import GraceGrainBoundaryWorkChain
from aiida_grace.workflows.point_defects import GracePointDefectsWorkChain
from aiida_grace.workflows.surface_energy import GraceSurfaceEnergyWorkChain
from conftest import write_fake_model

EV_PER_A2_IN_MEV = 1000.0
DEFECTS = {"supercell": [2, 2, 2], "defects": ["vacancy", "octahedral", "dumbbell_100"]}
SURFACES = {"miller_indices": [[1, 0, 0], [1, 1, 1]], "min_thickness": 6.0, "vacuum": 8.0}
BOUNDARIES = {"boundaries": [{"sigma": 5, "rotation_axis": [0, 0, 1], "plane": [2, 1, 0]}],
              "min_grain_thickness": 6.0}


# -- plain ASE, written here -----------------------------------------------------------------------------------
def calculator(model, tmp_path_factory):
    from tensorpotential.calculator import TPCalculator

    return TPCalculator(str(model.export(tmp_path_factory.mktemp("model")) / "final_model"))


def relaxed_bulk(atoms, calc, fmax):
    """BFGS + FrechetCellFilter with FixSymmetry, as the paper relaxes its reference bulk."""
    atoms = atoms.copy()
    atoms.calc = calc
    atoms.set_constraint(FixSymmetry(atoms, symprec=1e-5))
    assert BFGS(FrechetCellFilter(atoms), logfile=None).run(fmax=fmax, steps=1000)
    atoms.set_constraint()
    return atoms


def relaxed_energy(atoms, calc, cell_filter=False) -> tuple[float, object]:
    """FIRE to 0.01 eV/Å in at most 500 steps (the paper's), optionally with FrechetCellFilter along z."""
    atoms = atoms.copy()
    atoms.calc = calc
    target = FrechetCellFilter(atoms, mask=[0, 0, 1, 0, 0, 0]) if cell_filter else atoms
    FIRE(target, logfile=None).run(fmax=0.01, steps=500)
    return atoms.get_potential_energy(), atoms


def direct_defects(primitive, calc, bulk_fmax=1e-3) -> dict:
    """E_f = E_defect − (N ± 1)/N · E_perfect (eV), E_perfect of the perfect supercell computed here."""
    relaxed = relaxed_bulk(primitive, calc, bulk_fmax)
    perfect = point_defects.perfect_supercell(relaxed, DEFECTS["supercell"])
    perfect.calc = calc
    e_perfect, n = perfect.get_potential_energy(), len(perfect)
    return {cell.info["defect"]: relaxed_energy(cell, calc)[0] - len(cell) / n * e_perfect
            for cell in point_defects.defect_cells(relaxed, DEFECTS["supercell"], DEFECTS["defects"])}


def direct_surfaces(primitive, calc, cutoff) -> dict:
    """γ = (E_slab − N · E_bulk / n_bulk) / 2A in meV/Å² of each relaxed slab."""
    relaxed = relaxed_bulk(primitive, calc, 1e-3)
    per_atom = relaxed.get_potential_energy() / len(relaxed)
    gammas = {}
    for miller in SURFACES["miller_indices"]:
        cell = surface_energy.slab(relaxed, miller, SURFACES["min_thickness"], SURFACES["vacuum"], cutoff)
        energy, _ = relaxed_energy(cell, calc)
        a, b = cell.cell.array[:2]
        gammas["".join(map(str, miller))] = EV_PER_A2_IN_MEV * (energy - len(cell) * per_atom) / (
            2 * np.linalg.norm(np.cross(a, b)))
    return gammas


def direct_boundary(primitive, calc, cutoff) -> float:
    """γ_GB = (E − N · E_bulk / n_bulk) / 2A (meV/Å²), A of the relaxed bicrystal."""
    relaxed = relaxed_bulk(primitive, calc, 1e-3)
    per_atom = relaxed.get_potential_energy() / len(relaxed)
    cell = grain_boundary.bicrystal(relaxed, BOUNDARIES["boundaries"][0], BOUNDARIES["min_grain_thickness"], cutoff)
    energy, final = relaxed_energy(cell, calc, cell_filter=True)
    a, b = final.cell.array[:2]
    return EV_PER_A2_IN_MEV * (energy - len(final) * per_atom) / (2 * np.linalg.norm(np.cross(a, b)))


# -- the workflows, run once per module ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs(grace_codes, emt_defects_model):
    code, model = grace_codes["driver"], emt_defects_model
    copper = {"Cu": bulk("Cu", "fcc", a=3.6)}
    emt_vacancy = {"source": "EMT, relaxed directly with ase (this test)", "units": {"vacancy": "eV"},
                   "vacancy": {"Cu": 1.0}}
    builders = {
        "eos": GraceEosWorkChain.get_builder_for_dcdft(code, model, protocol="fast"),
        "defects": GracePointDefectsWorkChain.get_builder_from_protocol(code, model, copper, overrides=DEFECTS,
                                                                         reference=emt_vacancy),
        "surfaces": GraceSurfaceEnergyWorkChain.get_builder_from_protocol(code, model, copper, overrides=SURFACES),
        "boundaries": GraceGrainBoundaryWorkChain.get_builder_from_protocol(code, model, copper,
                                                                            overrides=BOUNDARIES),
    }
    return {name: run_get_node(builder) for name, builder in builders.items()}


@pytest.mark.slow
def test_eos_covers_the_model_s_dcdft_elements_and_matches_a_direct_fit(runs, emt_defects_model, tmp_path_factory):
    from ase.collections import dcdft

    from aiida_grace.common.eos import EV_PER_A3_IN_GPA, dcdft_reference, delta_gauge

    results, node = runs["eos"]
    assert node.is_finished_ok, node.exit_message
    assert list(node.inputs.structures) == ["Cu"]  # the only dcdft element the Cu model has
    fit = results["output_parameters"]["Cu"]
    calc = calculator(emt_defects_model, tmp_path_factory)
    relaxed = relaxed_bulk(dcdft["Cu"], calc, 5e-3)
    volumes, energies = [], []
    for scale in np.linspace(0.94, 1.06, 5):
        cell = relaxed.copy()
        cell.set_cell(relaxed.cell.array * scale ** (1 / 3), scale_atoms=True)
        cell.calc = calc
        volumes.append(cell.get_volume() / len(cell))
        energies.append(cell.get_potential_energy() / len(cell))
    v0, _, b0 = EquationOfState(volumes, energies, eos="birchmurnaghan").fit()
    assert fit["V0"] == pytest.approx(v0, rel=1e-4) and fit["B0"] == pytest.approx(b0 * EV_PER_A3_IN_GPA, rel=1e-3)
    scores = results["scores"]
    reference = dcdft_reference()
    assert scores["delta"]["Cu"] == pytest.approx(delta_gauge(fit.get_dict(), {q: reference[q]["Cu"]
                                                                               for q in ("V0", "B0", "Bp")}))
    assert scores["V0"]["items"]["Cu"]["reference"] == 11.9511 and scores["n_failed"] == 0
    assert results["plot"].get_content(mode="rb")[:8] == b"\x89PNG\r\n\x1a\n"
    assert "delta" in scores.get_dict() and scores["delta_mean"] == scores["delta"]["Cu"]


@pytest.mark.slow
def test_point_defects_match_plain_ase_and_are_scored(runs, emt_defects_model, tmp_path_factory):
    results, node = runs["defects"]
    assert node.is_finished_ok, node.exit_message
    got = results["output_parameters"]["Cu"]
    direct = direct_defects(bulk("Cu", "fcc", a=3.6), calculator(emt_defects_model, tmp_path_factory))
    for defect, value in direct.items():
        assert got["formation_energies"][defect] == pytest.approx(value, rel=1e-4), defect
    assert got["sia"] == min(got["formation_energies"][d] for d in ("octahedral", "dumbbell_100"))
    assert results["cells"]["Cu"].n_structures == 3 and got["n_perfect"] == 32
    scores = results["scores"]["vacancy"]
    assert scores["items"]["Cu"]["error"] == pytest.approx(got["vacancy"] - 1.0)
    assert scores["srme"] == pytest.approx(2 * abs(got["vacancy"] - 1.0) / (abs(got["vacancy"]) + 1.0))


@pytest.mark.slow
def test_surface_energies_match_plain_ase(runs, emt_defects_model, tmp_path_factory):
    results, node = runs["surfaces"]
    assert node.is_finished_ok, node.exit_message
    got = results["output_parameters"]["Cu"]["surfaces"]
    direct = direct_surfaces(bulk("Cu", "fcc", a=3.6), calculator(emt_defects_model, tmp_path_factory), 5.0)
    for key, gamma in direct.items():
        assert got[key]["meV_per_A2"] == pytest.approx(gamma, rel=1e-4), key
        assert got[key]["J_per_m2"] == pytest.approx(gamma * 16.021766208 / 1000, rel=1e-9)


@pytest.mark.slow
def test_grain_boundary_energy_matches_plain_ase(runs, emt_defects_model, tmp_path_factory):
    results, node = runs["boundaries"]
    assert node.is_finished_ok, node.exit_message
    got = results["output_parameters"]["Cu"]["boundaries"]["S5_001_210"]
    direct = direct_boundary(bulk("Cu", "fcc", a=3.6), calculator(emt_defects_model, tmp_path_factory), 5.0)
    assert got["meV_per_A2"] == pytest.approx(direct, rel=1e-4)
    assert got["sigma"] == 5 and got["rotation_angle"] == pytest.approx(53.1301, abs=1e-3)


@pytest.mark.slow
def test_the_emt_trained_model_reproduces_emt_s_own_values(runs):
    """Vacancy formation energy, surface and boundary energies and the EOS of EMT Cu within 10%: the quantities
    are the physical ones (right references, areas and signs)."""
    primitive = bulk("Cu", "fcc", a=3.6)
    emt_defects = direct_defects(primitive, EMT(), bulk_fmax=1e-4)
    emt_surfaces = direct_surfaces(primitive, EMT(), 5.0)
    model_defects = runs["defects"][0]["output_parameters"]["Cu"]["formation_energies"]
    assert model_defects["vacancy"] == pytest.approx(emt_defects["vacancy"], rel=0.10)
    surfaces = runs["surfaces"][0]["output_parameters"]["Cu"]["surfaces"]
    for key, gamma in emt_surfaces.items():
        assert surfaces[key]["meV_per_A2"] == pytest.approx(gamma, rel=0.10), key
    boundary = runs["boundaries"][0]["output_parameters"]["Cu"]["boundaries"]["S5_001_210"]
    assert boundary["meV_per_A2"] == pytest.approx(direct_boundary(primitive, EMT(), 5.0), rel=0.10)
    emt_bulk = relaxed_bulk(primitive, EMT(), 1e-4)
    cells = [emt_bulk.copy() for _ in range(7)]
    for cell, scale in zip(cells, np.linspace(0.94, 1.06, 7)):
        cell.set_cell(emt_bulk.cell.array * scale ** (1 / 3), scale_atoms=True)
        cell.calc = EMT()
    v0, _, b0 = EquationOfState([c.get_volume() for c in cells], [c.get_potential_energy() for c in cells],
                                eos="birchmurnaghan").fit()
    fit = runs["eos"][0]["output_parameters"]["Cu"]
    assert fit["V0"] == pytest.approx(v0, rel=0.10)
    assert fit["B0"] == pytest.approx(b0 * 160.21766208, rel=0.10)


# -- refused before submission (fast) --------------------------------------------------------------------------
def fake_model(tmp_path, elements=("Cu",), cutoff=5.0):
    return GraceModelData.from_directory(write_fake_model(tmp_path / f"model_{cutoff}", elements=elements,
                                                          cutoff=cutoff))


def n_processes() -> int:
    return orm.QueryBuilder().append(orm.ProcessNode).count()


@pytest.mark.parametrize("workflow, structure, overrides, message", [
    (GracePointDefectsWorkChain, bulk("Al", "fcc", a=4.05), {}, "element(s) Al that model"),
    (GracePointDefectsWorkChain, bulk("Cu", "fcc", a=3.6), {"supercell": [1, 1, 1]},
     "supercell [1, 1, 1] of Cu is too small for the model's cutoff 5.00 Å"),
    (GracePointDefectsWorkChain, bulk("Cu", "hcp", a=2.55), {}, "space group 194"),
    (GraceSurfaceEnergyWorkChain, bulk("Cu", "fcc", a=3.6), {"miller_indices": [[2, 2, 0]]}, "share a factor"),
    (GraceSurfaceEnergyWorkChain, bulk("Cu", "fcc", a=3.6), {"vacuum": 4.0}, "vacuum 4.0 Å is not more than"),
    (GraceSurfaceEnergyWorkChain, bulk("Cu", "fcc", a=3.6), {"relax": {"optimizer": "LBFGS"}},
     "relax.optimizer must be FIRE or BFGS, got 'LBFGS'"),
    (GraceGrainBoundaryWorkChain, bulk("Cu", "fcc", a=3.6),
     {"boundaries": [{"sigma": 5, "rotation_axis": [0, 0, 1], "plane": [1, 1, 0]}]}, "not a symmetric tilt plane"),
    (GraceGrainBoundaryWorkChain, bulk("Cu", "fcc", a=3.6),
     {"boundaries": [{"sigma": 7, "rotation_axis": [0, 0, 1], "plane": [3, 1, 0]}]}, "no Σ7 boundary"),
    (GraceGrainBoundaryWorkChain, bulk("Cu", "fcc", a=3.6), {"min_grain_thickness": 4.0},
     "min_grain_thickness 4.0 Å is not more than the model's cutoff"),
    (GraceEosWorkChain, bulk("Cu", "fcc", a=3.6), {"points": 3}, "points must be an integer ≥ 5"),
])
def test_bad_input_is_refused_before_anything_runs(grace_codes, tmp_path, workflow, structure, overrides, message):
    model, before = fake_model(tmp_path), n_processes()
    with pytest.raises(ValueError, match=re.escape(message)):  # when the builder is filled or at submission
        run_get_node(workflow.get_builder_from_protocol(grace_codes["driver"], model, {"x": structure},
                                                        overrides=overrides))
    assert n_processes() == before


def test_a_malformed_reference_is_refused(grace_codes, tmp_path):
    builder = GracePointDefectsWorkChain.get_builder_from_protocol(
        grace_codes["driver"], fake_model(tmp_path), {"Cu": bulk("Cu", "fcc", a=3.6)},
        reference={"vacancy": {"Cu": 1.2}})
    with pytest.raises(ValueError, match="needs a 'source'"):
        run_get_node(builder)
    with pytest.raises(ValueError, match="no element of ASE's dcdft"):
        GraceEosWorkChain.get_builder_for_dcdft(grace_codes["driver"], fake_model(tmp_path, ("U",)))

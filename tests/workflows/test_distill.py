"""grace.distill: the distillation-set generator (fast), input refusal (fast), and end to end with a real
GRACE-1L teacher and a real GRACE-FS student (slow)."""

from __future__ import annotations

import collections

import numpy as np
import pytest
from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import run_get_node
from ase.build import bulk
from conftest import (
    TINY_FS,
    make_dataset,
    write_fake_model,
)

from aiida_grace.common.distill import (
    errors_by_group,
    ideal_crystal,
    size_batches,
    synthetic_structures,
    warm_seconds_per_atom,
)
from aiida_grace.common.distill_input import (
    DistillSettingsError,
    student_parameters,
    validate_distill_settings,
)
from aiida_grace.common.structures import labels_of, with_labels
from aiida_grace.data import GraceModelData
from aiida_grace.workflows.distill import GraceDistillWorkChain, load_protocol

SYNTHETIC = {"unary_prototypes": ["fcc", "bcc", "hcp"], "binary_prototypes": ["B2", "L12", "L10"],
             "eos_strains": [-0.04, 0.02], "n_rattled": 2, "rattle": 0.05, "rattle_strain": 0.02,
             "min_atoms_rattled": 8, "seed": 3}


def synthetic(elements=("Al", "Cu", "Ni"), downstream=(), **changes):
    settings = validate_distill_settings({"synthetic": {**SYNTHETIC, **changes}})["synthetic"]
    return synthetic_structures(list(downstream), list(elements), settings)


def space_group(atoms) -> int:
    import spglib

    return spglib.get_symmetry_dataset((atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers),
                                       symprec=1e-4).number


# -- the generator (pure) --------------------------------------------------------------------------------------
def test_every_element_and_pair_gets_each_prototype_and_its_variants():
    structures = synthetic()
    per_crystal = 1 + 2 + 2  # ideal, two EOS strains, two rattled cells
    counts = collections.Counter((a.info["distill_group"], a.info["distill_kind"]) for a in structures)
    assert counts[("unary", "ideal")] == 3 * 3
    assert counts[("binary", "ideal")] == 3 * (1 + 2 + 1)  # 3 pairs × (B2, L12 both ways, L10)
    assert len(structures) == (9 + 12) * per_crystal
    assert [a.info["distill_index"] for a in structures] == list(range(len(structures)))
    unary = {a.info["name"] for a in structures if a.info["distill_kind"] == "ideal" and a.info["distill_group"] == "unary"}
    assert unary == {f"{el}_{p}" for el in ("Al", "Cu", "Ni") for p in ("fcc", "bcc", "hcp")}
    binary_formulas = {a.get_chemical_formula() for a in structures
                       if a.info["distill_group"] == "binary" and a.info["distill_kind"] == "ideal"}
    assert {"AlCu", "AlCu3", "Al3Cu", "AlNi", "AlNi3", "Al3Ni", "CuNi", "CuNi3", "Cu3Ni"} <= binary_formulas
    assert all(set(a.get_chemical_symbols()) <= {"Al", "Cu", "Ni"} for a in structures)


@pytest.mark.parametrize("prototype, species, number", [
    ("fcc", ["Cu"], 225), ("bcc", ["Cu"], 229), ("hcp", ["Cu"], 194),
    ("sc", ["Cu"], 221), ("diamond", ["Cu"], 227),
    ("B2", ["Cu", "Al"], 221), ("L12", ["Cu", "Al"], 221), ("L10", ["Cu", "Al"], 123),
])
def test_ideal_crystals_have_their_space_group_and_the_requested_volume(prototype, species, number):
    atoms = ideal_crystal(prototype, species, 12.5)
    assert space_group(atoms) == number
    assert atoms.get_volume() / len(atoms) == pytest.approx(12.5, rel=1e-12)  # Å³/atom


def test_reference_volumes_and_vegard_binaries():
    structures = {a.info["name"]: a for a in synthetic() if a.info["distill_kind"] == "ideal"}
    cu, al = bulk("Cu"), bulk("Al")  # ASE reference fcc: a = 3.61 and 4.05 Å
    v_cu, v_al = cu.get_volume() / len(cu), al.get_volume() / len(al)
    assert structures["Cu_fcc"].get_volume() / 4 == pytest.approx(v_cu, rel=1e-12)
    # the L1_2 nearest-neighbour distance of Cu fcc at its reference volume is a/√2
    assert structures["Cu_fcc"].get_distance(0, 1, mic=True) == pytest.approx(3.61 / np.sqrt(2), rel=1e-9)
    assert structures["AlCu3_L12"].get_volume() / 4 == pytest.approx((3 * v_cu + v_al) / 4, rel=1e-12)
    assert structures["AlCu_B2"].get_volume() / 2 == pytest.approx((v_cu + v_al) / 2, rel=1e-12)


def test_eos_strains_scale_volume_and_keep_fractional_positions():
    structures = {a.info["name"]: a for a in synthetic()}
    ideal = structures["Ni_hcp"]
    for strain in (-0.04, 0.02):
        strained = structures[f"Ni_hcp_eos{strain:+.3f}"]
        assert strained.get_volume() / ideal.get_volume() == pytest.approx((1 + strain) ** 3, rel=1e-12)
        assert np.allclose(strained.get_scaled_positions(), ideal.get_scaled_positions(), atol=1e-12)
        assert space_group(strained) == 194


def test_rattled_cells_are_supercells_displaced_by_the_rattle_amplitude():
    structures = synthetic(elements=("Cu",), rattle=0.1, min_atoms_rattled=100, rattle_strain=0.0, n_rattled=1)
    rattled = next(a for a in structures if a.info["name"] == "Cu_fcc_rattled0")
    ideal = next(a for a in structures if a.info["name"] == "Cu_fcc")
    assert len(rattled) >= 100 and len(rattled) % 4 == 0
    reference = ideal.repeat([round(n) for n in np.linalg.norm(rattled.cell.array, axis=1)
                              / np.linalg.norm(ideal.cell.array, axis=1)])
    displacement = rattled.positions - reference.positions
    assert np.allclose(rattled.cell.array, reference.cell.array)  # no strain asked
    # Gaussian σ = 0.1 Å per component, ≥300 samples: the estimate lies within ±15%
    assert np.std(displacement) == pytest.approx(0.1, rel=0.15)


def test_seed_reproduces_and_changes_the_set():
    first, again, other = synthetic(), synthetic(), synthetic(seed=4)
    assert all(np.array_equal(a.positions, b.positions) for a, b in zip(first, again))
    rattled = [i for i, a in enumerate(first) if a.info["distill_kind"] == "rattled"]
    assert not any(np.allclose(first[i].positions, other[i].positions) for i in rattled)


def test_downstream_structures_come_first_without_labels_and_extended_false_keeps_only_them():
    downstream = make_downstream_atoms()
    structures = synthetic(downstream=downstream)
    assert [a.info["distill_group"] for a in structures[:3]] == ["downstream"] * 3
    for original, copy in zip(downstream, structures):
        assert np.array_equal(original.positions, copy.positions) and labels_of(copy) == {}
    only = synthetic(downstream=downstream, extended=False)
    assert len(only) == 3 and {a.info["distill_group"] for a in only} == {"downstream"}


def make_downstream_atoms():
    from aiida_grace.functions.synthetic import emt_structures

    return emt_structures(["Cu", "Al", "Ni"], 3, seed=5)


def test_size_batches_cover_everything_once_smallest_first():
    sizes = [8, 2, 4, 2, 32, 4, 8, 2, 4]
    batches = size_batches(sizes, 4)
    assert sorted(i for batch in batches for i in batch) == list(range(len(sizes)))
    assert [len(b) for b in batches] == [4, 4, 1]
    flat = [sizes[i] for batch in batches for i in batch]
    assert flat == sorted(flat)
    with pytest.raises(ValueError):
        size_batches(sizes, 0)


def test_errors_by_group_and_warm_timing():
    reference = [with_labels(a, energy=-4.0 * len(a), forces=np.zeros((len(a), 3))) for a in synthetic(("Cu", "Al"))]
    predicted = []
    for atoms in reference:
        offset = {"unary": 0.01, "binary": 0.03}[atoms.info["distill_group"]]  # eV/atom, eV/Å
        predicted.append(with_labels(atoms, energy=(-4.0 + offset) * len(atoms),
                                     forces=np.full((len(atoms), 3), offset)))
    errors = errors_by_group(reference, predicted)
    assert errors["unary"]["energy_per_atom_mae"] == pytest.approx(0.01)
    assert errors["binary"]["forces_mae"] == pytest.approx(0.03)
    assert 0.01 < errors["all"]["forces_mae"] < 0.03 and "downstream" not in errors
    assert warm_seconds_per_atom([5.0, 0.2, 0.3, 0.25], 100) == pytest.approx(0.0025)
    with pytest.raises(ValueError):
        warm_seconds_per_atom([5.0], 100)


def test_settings_are_checked():
    with pytest.raises(DistillSettingsError, match="did you mean 'n_rattled'"):
        validate_distill_settings({"synthetic": {"n_ratled": 2}})
    with pytest.raises(DistillSettingsError, match="unknown B1"):
        validate_distill_settings({"synthetic": {"binary_prototypes": ["B1"]}})
    with pytest.raises(DistillSettingsError, match="held_out_fraction"):
        validate_distill_settings({"validation": {"held_out_fraction": 1.0}})
    with pytest.raises(DistillSettingsError, match="fit.optimizer"):  # the student goes through grace.train's checks
        validate_distill_settings({"student": {"fit": {"optimizer": "SGD"}}})
    settings = validate_distill_settings(load_protocol("fast"))
    with_stress, without = student_parameters(settings), student_parameters(settings, stress=False)
    assert with_stress["potential"]["preset"] == "FS" and with_stress["fit"]["maxiter"] == 30
    assert "stress" in with_stress["fit"]["loss"] and "stress" not in without["fit"]["loss"]


# -- AiiDA side without training (fast) ------------------------------------------------------------------------
@pytest.fixture
def fake_teacher(tmp_path, aiida_profile):
    """A stand-in Al/Cu model folder (files only): enough for input validation, never evaluated."""
    return GraceModelData(write_fake_model(tmp_path / "teacher", elements=("Al", "Cu"))).store()


def count_processes() -> int:
    return orm.QueryBuilder().append(orm.ProcessNode).count()


def test_teacher_lacking_an_element_is_refused_before_anything_runs(grace_codes, fake_teacher):
    with_nickel = make_dataset(elements=("Cu", "Ni"), n=3, seed=7)
    before = count_processes()
    builder = GraceDistillWorkChain.get_builder_from_protocol(grace_codes["gracemaker"], grace_codes["driver"],
                                                              fake_teacher, with_nickel, protocol="fast")
    with pytest.raises(ValueError, match=r"element\(s\) Ni that teacher .* does not have \(it has Al, Cu\)"):
        run_get_node(builder)
    structures = [bulk("Ni", "fcc", a=3.52)]
    builder = GraceDistillWorkChain.get_builder_from_protocol(grace_codes["gracemaker"], grace_codes["driver"],
                                                              fake_teacher, structures, protocol="fast")
    with pytest.raises(ValueError, match="element\\(s\\) Ni"):
        run_get_node(builder)
    assert count_processes() == before  # nothing ran, not even the calcfunctions


def test_finetuning_needs_labelled_downstream_data(grace_codes, fake_teacher):
    structures = [bulk("Cu", "fcc", a=3.61)]
    builder = GraceDistillWorkChain.get_builder_from_protocol(
        grace_codes["gracemaker"], grace_codes["driver"], fake_teacher, structures, protocol="fast",
        overrides={"finetune": {"enabled": True}})
    with pytest.raises(ValueError, match="needs a downstream dataset whose structures all carry energy and forces"):
        run_get_node(builder)


def test_builder_from_protocol(grace_codes, fake_teacher):
    dataset = make_dataset(elements=("Cu", "Al"), n=2, seed=8)
    builder = GraceDistillWorkChain.get_builder_from_protocol(
        grace_codes["gracemaker"], grace_codes["driver"], fake_teacher, dataset, protocol="stringent",
        overrides={"student": {"epochs": 7}}, options={"max_wallclock_seconds": 600})
    parameters = builder.parameters.get_dict()
    assert parameters["student"]["epochs"] == 7
    # stringent: the FS preset's own (full) size
    assert student_parameters(validate_distill_settings(parameters))["potential"]["kwargs"] == {}
    assert parameters["synthetic"]["unary_prototypes"] == ["fcc", "bcc", "hcp", "sc", "diamond"]
    assert builder.dataset.uuid == dataset.uuid and builder.options == {"max_wallclock_seconds": 600}
    with pytest.raises(ValueError, match="unknown protocol"):
        load_protocol("quick")


def test_distillation_set_and_batches_as_calcfunctions(aiida_profile):
    from aiida_grace.functions.distill import batch_by_size, distillation_set

    downstream = make_dataset(elements=("Cu", "Al"), n=4, seed=9)
    synthetic_set = distillation_set(downstream, orm.Dict(SYNTHETIC))
    assert synthetic_set.creator.inputs.downstream.uuid == downstream.uuid
    assert synthetic_set.n_structures == 4 + (2 * 3 + 4) * 5 and synthetic_set.labels == []
    batches = batch_by_size(synthetic_set, orm.Int(16))
    assert sorted(batches) == [f"batch_{i:03d}" for i in range(4)]  # 54 structures
    assert sum(b.n_structures for b in batches.values()) == synthetic_set.n_structures


# -- end to end (slow) -----------------------------------------------------------------------------------------
DISTILL_SETTINGS = {
    "synthetic": {"unary_prototypes": ["fcc", "bcc"], "binary_prototypes": ["B2", "L12"],
                  "eos_strains": [-0.03, 0.03], "n_rattled": 1, "min_atoms_rattled": 4, "seed": 1},
    "labelling": {"max_structures_per_job": 40},
    "validation": {"held_out_fraction": 0.2, "seed": 1},
    "student": {"cutoff": 4.5, "epochs": 12, "kwargs": TINY_FS, "fit": {"batch_size": 8, "test_batch_size": 16}},
    "speed": {"min_atoms": 32, "repeats": 3},
}


@pytest.fixture(scope="session")
def distilled(grace_codes, emt_teacher):
    downstream = make_dataset(elements=("Cu", "Al", "Ni"), n=8, seed=62)
    builder = GraceDistillWorkChain.get_builder_from_protocol(
        grace_codes["gracemaker"], grace_codes["driver"], emt_teacher, downstream, protocol="fast",
        overrides=DISTILL_SETTINGS)
    results, node = run_get_node(builder)
    assert node.is_finished_ok, (node.exit_status, node.exit_message)
    return results, node, downstream


@pytest.mark.slow
def test_distillation_end_to_end(distilled, emt_teacher, tmp_path):
    from tensorpotential.calculator import TPCalculator

    results, node, downstream = distilled
    labelled, student, metrics = results["labelled_dataset"], results["student"], results["metrics"].get_dict()
    # 8 downstream + 3 elements × 2 unary prototypes × 4 + 3 pairs × 3 binaries × 4
    assert labelled.n_structures == 8 + 24 + 36 and set(labelled.labels) == {"energy", "forces", "stress"}
    labels = {c.link_label for c in node.base.links.get_outgoing().all()}
    assert {"label_batch_000", "label_batch_001", "train_student", "validate_held_out", "validate_downstream",
            "time_teacher", "time_student"} <= labels
    assert student.base.attributes.get("architecture") == "GRACE-FS" and student.has_fs_yaml
    # every job went through its restart wrapper (one job each, nothing to restart here)
    assert student.creator.caller.caller.uuid == node.uuid
    wrappers = {link.link_label: link.node for link in node.base.links.get_outgoing(link_type=LinkType.CALL_WORK).all()}
    assert set(wrappers) == {label for label in labels if label.startswith(("label_", "train_", "validate_", "time_"))}
    for label, wrapper in wrappers.items():
        kind = "train" if label == "train_student" else "evaluate"
        assert wrapper.process_type == f"aiida.workflows:grace.base_{kind}", label
        assert [job.process_type for job in wrapper.called] == [f"aiida.calculations:grace.{kind}"]

    # the labels are the teacher's: TPCalculator on the teacher's SavedModel gives them again
    teacher_calc = TPCalculator(str(emt_teacher.export(tmp_path / "teacher") / "final_model"))
    for atoms in labelled.to_ase()[::17]:
        expected = labels_of(atoms)
        atoms.calc = teacher_calc
        assert atoms.get_potential_energy() == pytest.approx(expected["energy"], abs=1e-6)  # eV
        assert np.abs(atoms.get_forces() - expected["forces"]).max() < 1e-6  # eV/Å

    # Student vs teacher on the held-out part. A model that predicts zero forces has an MAE equal to the mean
    # |force component| of the teacher's labels (here ~0.014 eV/Å: ideal and EOS cells have zero forces by
    # symmetry). Training is bitwise deterministic on CPU, and 12 epochs of the 2k-parameter FS student reach
    # 0.0083 eV/Å = 0.58 of that scale; an untrained or mislabelled student stays near or above it. We ask for
    # 0.65 of the zero-force MAE and 0.02 eV/Å absolute.
    held_out = results["metrics"].creator.inputs.held_out.to_ase()
    zero_force_mae = np.mean(np.abs(np.concatenate([labels_of(a)["forces"].ravel() for a in held_out])))
    errors = metrics["student_vs_teacher"]
    assert errors["all"]["forces_mae"] < min(0.65 * zero_force_mae, 0.02), (errors["all"], zero_force_mae)
    assert {"downstream", "unary", "binary"} <= set(errors)
    # downstream data carried EMT labels: student and teacher against the reference
    assert metrics["student_vs_reference"]["n_forces"] == 8 and metrics["teacher_vs_reference"]["n_forces"] == 8
    for key in ("student_vs_reference", "teacher_vs_reference"):
        assert 0 < metrics[key]["forces_mae"] < 1.0

    speed = results["speed"].get_dict()
    assert speed["n_atoms"] >= 32 and speed["n_timed"] == 3
    assert speed["student_calculator"] == "fs_cpp" and speed["teacher_calculator"] == "tensorflow"
    assert speed["speedup"] == pytest.approx(speed["teacher_seconds_per_atom"] / speed["student_seconds_per_atom"])


@pytest.mark.slow
def test_student_fs_yaml_matches_its_tensorflow_model(distilled, tmp_path):
    """The student's FS yaml in python-ace's C++ evaluator gives the TensorFlow student's energies."""
    from pyace.asecalc import PyGRACEFSCalculator
    from tensorpotential.calculator import TPCalculator

    student = distilled[0]["student"]
    folder = student.export(tmp_path / "student")
    cpp, tf = PyGRACEFSCalculator(str(folder / "FS_model.yaml")), TPCalculator(str(folder / "final_model"))
    structures = distilled[0]["labelled_dataset"].to_ase()[::5]
    for atoms in structures:
        atoms.calc = cpp
        e_cpp, f_cpp = atoms.get_potential_energy(), atoms.get_forces()
        atoms.calc = tf
        e_tf, f_tf = atoms.get_potential_energy(), atoms.get_forces()
        assert abs(e_cpp - e_tf) / len(atoms) < 1e-5, atoms.info["name"]  # eV/atom
        assert np.abs(f_cpp - f_tf).max() < 1e-5  # eV/Å


def test_speed_cells_are_big_and_never_identical(aiida_profile):
    """Identical copies would be answered from the ASE calculator's cache and time nothing."""
    from aiida_grace.functions.distill import speed_cells

    cells = speed_cells(make_dataset(elements=("Cu", "Al"), n=2, seed=10), orm.Int(100), orm.Int(3)).to_ase()
    assert len(cells) == 4 and all(len(a) == 8 * 27 for a in cells)  # the 8-atom cell repeated 3×3×3
    for first, second in zip(cells, cells[1:]):
        assert 0.005 < np.std(first.positions - second.positions) < 0.03  # Å

"""grace.finetune_study end to end on EMT data with a made-up "new level of theory" (EMT × 1.25, Ni +0.2 eV/atom)
on Al-Ni cells, fine-tuning a parent trained on EMT Cu-Al-Ni: naive fine-tuning learns the new data and forgets
more of the original data than frozen 2a, which leaves every Cu-only prediction unchanged; the table's errors equal
the models' own predictions through plain ASE (TPCalculator). Bad input is refused before anything runs (fast)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node
from ase.build import bulk
from conftest import make_dataset, run_training, training_parameters, write_fake_model

from aiida_grace.common.demo import huber_loss
from aiida_grace.common.finetune_study import grouped_errors
from aiida_grace.common.structures import labels_of, with_labels
from aiida_grace.data import GraceModelData
from aiida_grace.functions.dataset import merge_datasets
from aiida_grace.functions.synthetic import new_level_of_theory
from aiida_grace.workflows.finetune_study import GraceFinetuneStudyWorkChain

PNG = b"\x89PNG\r\n\x1a\n"
FIT = {"loss": huber_loss(), "batch_size": 2, "test_batch_size": 8, "opt_params": {"learning_rate": 0.005}}


def relabelled(dataset):
    return new_level_of_theory(dataset, orm.Float(1.25), orm.Str("Ni"), orm.Float(0.2))


def study_parameters(**changes) -> dict:
    return {"strategies": ["zero_shot", "naive", "frozen_2a", "from_scratch"], "fractions": [0.5, 1.0], "seeds": [1],
            "training": {"fit": {**FIT, "maxiter": 20}}, "scratch": {"fit": {"maxiter": 20}}, **changes}


@pytest.fixture(scope="module")
def study_sets(aiida_profile):
    return {
        "dataset": relabelled(make_dataset(elements=("Al", "Ni"), n=18, seed=70, rattle=0.08)),
        "test_dataset": relabelled(make_dataset(elements=("Al", "Ni"), n=6, seed=71, rattle=0.08)),
        "original_dataset": merge_datasets(a=make_dataset(elements=("Cu",), n=4, seed=72, rattle=0.08),
                                           b=make_dataset(elements=("Cu", "Al", "Ni"), n=6, seed=73, rattle=0.08)),
    }


@pytest.fixture(scope="module")
def parent(grace_codes):
    """A tiny float64 GRACE-1L trained on EMT Cu-Al-Ni for 40 epochs: good enough that fine-tuning can only lose
    what it knew of Cu (6 epochs are not: any further training then improves the original set too)."""
    train = make_dataset(elements=("Cu", "Al", "Ni"), n=32, seed=60, rattle=0.08, max_strain=0.05)
    test = make_dataset(elements=("Cu", "Al", "Ni"), n=6, seed=61, rattle=0.08, max_strain=0.05)
    return run_training(grace_codes, train, test, training_parameters(epochs=40, learning_rate=0.01))[0]["model"]


@pytest.fixture(scope="module")
def study(grace_codes, parent, study_sets):
    builder = GraceFinetuneStudyWorkChain.get_builder()
    builder.code, builder.driver_code, builder.parent_model = grace_codes["gracemaker"], grace_codes["driver"], parent
    for port, dataset in study_sets.items():
        builder[port] = dataset
    builder.parameters = orm.Dict(study_parameters())
    results, node = run_get_node(builder)
    assert node.is_finished_ok, (node.exit_status, node.exit_message)
    return results, node


def mae(table, name, errors_set, label="forces", group="all"):
    return table["combinations"][name][errors_set][group][label]["mae"]


@pytest.mark.slow
def test_naive_learns_the_new_data_and_forgets_more_than_frozen(study):
    table = study[0]["table"].get_dict()
    assert table["new_elements"] == ["Al", "Ni"]
    assert sorted(table["combinations"]) == sorted(
        ["zero_shot"] + [f"{s}_pct{p}_seed1" for s in ("naive", "frozen_2a", "from_scratch") for p in (50, 100)])
    for strategy in ("naive", "frozen_2a"):  # both learn the new level of theory
        assert mae(table, f"{strategy}_pct100_seed1", "downstream") < 0.5 * mae(table, "zero_shot", "downstream")
        assert mae(table, f"{strategy}_pct100_seed1", "downstream", "energy_per_atom") < \
            0.7 * mae(table, "zero_shot", "downstream", "energy_per_atom")
    for fraction in (50, 100):
        naive, frozen = (f"{s}_pct{fraction}_seed1" for s in ("naive", "frozen_2a"))
        # frozen 2a trains only the Al and Ni rows of the final coefficients: Cu-only cells keep their energies
        assert table["combinations"][frozen]["original_energy_change"] < 1e-8
        assert mae(table, frozen, "original", "energy_per_atom", "other") == pytest.approx(
            mae(table, "zero_shot", "original", "energy_per_atom", "other"), rel=0, abs=1e-9)
        # naive fine-tuning moves every weight: the Cu-only cells' energies go astray
        assert table["combinations"][naive]["original_energy_change"] > 0.05
        assert mae(table, naive, "original", "energy_per_atom", "other") > \
            3 * mae(table, "zero_shot", "original", "energy_per_atom", "other")
        # and on the whole original set naive forgets more than frozen
        assert mae(table, naive, "original", "energy_per_atom") > 2 * mae(table, frozen, "original", "energy_per_atom")
    # a from-scratch model knows only Al and Ni: evaluated on the downstream test set only
    assert "original" not in table["combinations"]["from_scratch_pct100_seed1"]
    assert set(table["pareto_front"]["energy_per_atom"]) <= set(table["combinations"]) - {
        "from_scratch_pct50_seed1", "from_scratch_pct100_seed1"}
    assert "frozen_2a_pct100_seed1" in table["pareto_front"]["energy_per_atom"]


@pytest.mark.slow
def test_table_errors_equal_the_models_through_plain_ase(study, study_sets, tmp_path):
    from tensorpotential.calculator import TPCalculator

    results, _ = study
    table = results["table"].get_dict()
    model = results["models"]["naive_pct100_seed1"]
    reference = study_sets["test_dataset"].to_ase()
    calculator = TPCalculator(str(model.export(tmp_path / "model") / "final_model"))
    predicted = []
    for atoms in reference:
        atoms = atoms.copy()
        atoms.calc = calculator
        predicted.append(with_labels(atoms, atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()))
    direct = grouped_errors(reference, predicted, ["Al", "Ni"])
    row = table["combinations"]["naive_pct100_seed1"]["downstream"]
    for label in ("energy_per_atom", "forces"):
        assert row["all"][label]["mae"] == pytest.approx(direct["all"][label]["mae"], rel=0, abs=1e-7)
    # by hand, without grouped_errors: force MAE over all components
    by_hand = np.mean(np.concatenate([np.abs(labels_of(p)["forces"] - labels_of(r)["forces"]).ravel()
                                      for p, r in zip(predicted, reference)]))
    assert row["all"]["forces"]["mae"] == pytest.approx(by_hand, rel=0, abs=1e-7)


@pytest.mark.slow
def test_subsets_are_nested_and_models_and_plots_are_stored(study, study_sets):
    results, node = study
    (made,) = [called for called in node.called if called.process_label == "training_subsets"]
    subsets = {link.link_label: link.node for link in made.base.links.get_outgoing().all()}
    half, whole = (set(d.to_dataframe()["energy"]) for d in (subsets["pct50_seed1"], subsets["pct100_seed1"]))
    assert half < whole and len(whole) == 16  # 18 minus the 2 held out for validation (fraction 0.1)
    assert not whole & set(study_sets["test_dataset"].to_dataframe()["energy"])
    assert sorted(results["models"]) == sorted(f"{s}_pct{p}_seed1" for s in ("naive", "frozen_2a", "from_scratch")
                                               for p in (50, 100))
    for name in ("data_efficiency", "forgetting"):
        with results[name].open(mode="rb") as handle:
            assert handle.read(8) == PNG


def emt_vacancy_energy(element: str, a: float) -> float:
    """E_f of a relaxed vacancy in a 2×2×2 fcc cube (32 sites) with EMT (eV), computed here with ASE."""
    from ase.calculators.emt import EMT
    from ase.optimize import FIRE

    perfect = bulk(element, "fcc", a=a, cubic=True).repeat(2)
    perfect.calc = EMT()
    energy_per_atom = perfect.get_potential_energy() / len(perfect)
    vacancy = perfect.copy()
    del vacancy[0]
    vacancy.calc = EMT()
    FIRE(vacancy, logfile=None).run(fmax=0.01, steps=500)
    return vacancy.get_potential_energy() - len(vacancy) * energy_per_atom


def vacancy_of(output_parameters: dict) -> float:
    """The vacancy E_f (eV) in a grace.point_defects output_parameters of one bulk."""
    (value,) = output_parameters["values"]["vacancy"].values()
    return value


@pytest.mark.slow
def test_vacancy_probe_runs_on_every_model_and_equals_a_direct_run(grace_codes, parent, study_sets):
    from aiida.manage.caching import enable_caching

    from aiida_grace.workflows.point_defects import GracePointDefectsWorkChain

    probe = {"protocol": "fast", "overrides": {"defects": ["vacancy"], "bulk_relax": {"fmax": 0.01}}}
    reference = {"source": "EMT (ASE), relaxed vacancy in 32 sites", "units": {"vacancy": "eV"},
                 "vacancy": {"Ni": emt_vacancy_energy("Ni", 3.52)}}
    builder = GraceFinetuneStudyWorkChain.get_builder()
    builder.code, builder.driver_code, builder.parent_model = grace_codes["gracemaker"], grace_codes["driver"], parent
    builder.dataset, builder.test_dataset = study_sets["dataset"], study_sets["test_dataset"]
    builder.probe_structures = {"Ni": orm.StructureData(ase=bulk("Ni", "fcc", a=3.52))}
    builder.probe_references = {"point_defects": orm.Dict(reference)}
    builder.parameters = orm.Dict(study_parameters(strategies=["zero_shot", "frozen_2a"], fractions=[1.0],
                                                   probes={"point_defects": probe}))
    # grace.train too: the frozen 2a training is the study fixture's (same parent, subset and parameters) when
    # that ran first in this module; run alone, it trains for real
    with enable_caching(identifier="aiida.calculations:grace.*"):
        results, node = run_get_node(builder)
        assert node.is_finished_ok, (node.exit_status, node.exit_message)
        rows = results["table"]["combinations"]
        assert set(rows) == {"zero_shot", "frozen_2a_pct100_seed1"}
        for row in rows.values():
            vacancy = vacancy_of(row["probes"]["point_defects"]["values"]["Ni"])
            scores = row["probes"]["point_defects"]["scores"]
            assert scores["vacancy"]["mae"] == pytest.approx(abs(vacancy - reference["vacancy"]["Ni"]), abs=1e-12)
        # the probe is grace.point_defects itself: a direct run on the parent gives the zero-shot values
        direct = GracePointDefectsWorkChain.get_builder_from_protocol(
            grace_codes["driver"], parent, {"Ni": orm.StructureData(ase=bulk("Ni", "fcc", a=3.52))},
            protocol="fast", overrides=probe["overrides"], reference=reference)
        direct_results, _ = run_get_node(direct)
    zero_shot, frozen = (vacancy_of(rows[name]["probes"]["point_defects"]["values"]["Ni"])
                         for name in ("zero_shot", "frozen_2a_pct100_seed1"))
    assert vacancy_of(direct_results["output_parameters"]["Ni"].get_dict()) == pytest.approx(zero_shot, rel=0,
                                                                                             abs=1e-10)
    assert abs(frozen - zero_shot) > 1e-3  # fine-tuning on the new Ni data moves the Ni vacancy energy


# -- refused before submission (fast) -----------------------------------------------------------------------------
@pytest.fixture
def imported_parent(tmp_path, aiida_profile):
    return GraceModelData(write_fake_model(tmp_path / "parent", elements=("Al", "Cu", "Ni"))).store()


@pytest.mark.parametrize("changes, message", [
    ({"strategies": ["frozen_2b"]}, "strategy frozen_2b trains variables of GRACE-2L models only; the parent is "
                                    "GRACE-1L"),
    ({"strategies": ["from_scratch"]}, "from_scratch needs the parent's architecture"),
    ({"strategies": ["nai"]}, "unknown strategy nai"),
    ({"fractions": [0.5, 1.5]}, "fractions must be a non-empty list of numbers in (0, 1]"),
    ({"training": {"seed": 3}}, "'training' must not set finetune or seed"),
    ({"training": {"fit": {"optimiser": "Adam"}}}, "unknown key 'optimiser'"),
    ({"probes": {"phonons": {}}}, "unknown probe 'phonons'"),
    ({"strategies": ["naive"], "probes": {"point_defects": {"protocol": "fast"}}},
     "probes point_defects need probe_structures"),
])
def test_bad_settings_are_refused_before_anything_runs(grace_codes, imported_parent, study_sets, changes, message):
    before = orm.QueryBuilder().append(orm.ProcessNode).count()
    with pytest.raises(ValueError, match=re.escape(message)):  # when the builder is filled or at submission
        run_get_node(GraceFinetuneStudyWorkChain.get_builder_from_protocol(
            grace_codes["gracemaker"], grace_codes["driver"], study_sets["dataset"], study_sets["test_dataset"],
            parent_model=imported_parent, protocol="fast", overrides=changes))
    assert orm.QueryBuilder().append(orm.ProcessNode).count() == before


def test_a_parent_lacking_an_element_or_no_parent_is_refused(grace_codes, tmp_path, study_sets):
    cu_al = GraceModelData(write_fake_model(tmp_path / "cu_al", elements=("Al", "Cu"))).store()
    builder = GraceFinetuneStudyWorkChain.get_builder_from_protocol(
        grace_codes["gracemaker"], grace_codes["driver"], study_sets["dataset"], study_sets["test_dataset"],
        parent_model=cu_al, protocol="fast")
    with pytest.raises(ValueError, match=r"element\(s\) Ni"):
        run_get_node(builder)
    builder = GraceFinetuneStudyWorkChain.get_builder_from_protocol(
        grace_codes["gracemaker"], grace_codes["driver"], study_sets["dataset"], study_sets["test_dataset"],
        protocol="fast")
    with pytest.raises(ValueError, match="strategies frozen_2a, naive, zero_shot need a parent_model"):
        run_get_node(builder)

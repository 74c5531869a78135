"""grace.thermal_conductivity refuses supercells too small for the model before anything runs (fast: fake model
folders with a given cutoff, no job)."""

import pytest
from aiida import orm
from aiida.engine import run_get_node
from ase.build import bulk

from aiida_grace.data import GraceModelData
from aiida_grace.workflows.thermal_conductivity import GraceThermalConductivityWorkChain
from conftest import write_fake_model


def fake_model(tmp_path, elements, cutoff, architecture="1L"):
    root = write_fake_model(tmp_path / f"model_{'_'.join(elements)}_{cutoff}_{architecture}", elements=elements,
                            cutoff=cutoff, architecture=architecture)
    return GraceModelData.from_directory(root)


def builder_for(code, model, atoms, **overrides):
    return GraceThermalConductivityWorkChain.get_builder_from_protocol(code, model, atoms, overrides=overrides)


def n_workchains() -> int:
    query = orm.QueryBuilder().append(orm.WorkChainNode, filters={"process_type": {"like": "%thermal_conductivity"}})
    return query.count()


@pytest.mark.parametrize("cutoff, architecture, reason", [
    (6.0, "2L", "the model's cutoff (6.00 Å"),  # a foundation-model cutoff: the image is inside it
    (5.0, "1L", "twice the nearest-neighbour distance (2 × 2.55 = 5.09 Å"),  # the demo model's: the bond rule
])
def test_primitive_fcc_with_fc3_two_is_refused_before_submission(grace_codes, tmp_path, cutoff, architecture, reason):
    model = fake_model(tmp_path, ("Cu",), cutoff, architecture)
    builder = builder_for(grace_codes["driver"], model, bulk("Cu", "fcc", a=3.6),
                          fc3_supercell=[2, 2, 2], fc2_supercell=[4, 4, 4], mesh=[19, 19, 19])
    before = n_workchains()
    with pytest.raises(ValueError) as refused:
        run_get_node(builder)
    message = str(refused.value)
    assert (f"fc3_supercell [2, 2, 2] of Cu is too small (model cutoff {cutoff:.2f} Å): its shortest periodic image "
            f"distance is 5.09 Å and must exceed ") in message
    assert reason in message
    assert "Use e.g. fc3_supercell [3, 3, 3] (7.64 Å) or a larger one" in message
    assert n_workchains() == before  # refused at validation: no process node, no job


def test_fc2_supercell_inside_the_cutoff_is_refused(grace_codes, tmp_path):
    model = fake_model(tmp_path, ("Cu",), 6.0)
    builder = builder_for(grace_codes["driver"], model, bulk("Cu", "fcc", a=3.6),
                          fc3_supercell=[3, 3, 3], fc2_supercell=[2, 2, 2], mesh=[19, 19, 19])
    error = GraceThermalConductivityWorkChain.spec().inputs.validate(builder._inputs(prune=True))
    assert error is not None
    assert "fc2_supercell [2, 2, 2] of Cu is too small (model cutoff 6.00 Å)" in error.message
    assert "the model's cutoff (6.00 Å; else an atom sees its own image)" in error.message


@pytest.mark.parametrize("fc3, accepted", [([2, 2, 2], True), ([1, 1, 1], False)])
def test_paper_rocksalt_protocol_is_accepted(grace_codes, tmp_path, fc3, accepted):
    """κ_SRME's rocksalt settings with a 6 Å GRACE-2L (fc3 image distance 8.42 Å, below the 2L receptive field of
    12 Å: accepted, as the paper ran it); fc3 of the bare cell (4.21 Å) is refused."""
    model = fake_model(tmp_path, ("Mg", "O"), 6.0, "2L")
    builder = builder_for(grace_codes["driver"], model, bulk("MgO", "rocksalt", a=4.21, cubic=True),
                          fc3_supercell=fc3, fc2_supercell=[4, 4, 4], mesh=[19, 19, 19])
    error = GraceThermalConductivityWorkChain.spec().inputs.validate(builder._inputs(prune=True))
    if accepted:
        assert error is None
    else:
        assert "fc3_supercell [1, 1, 1] of Mg4O4 is too small (model cutoff 6.00 Å): its shortest periodic image " \
               "distance is 4.21 Å" in error.message
        assert error.message.endswith("Use e.g. fc3_supercell [2, 2, 2] (8.42 Å) or a larger one")  # the paper's


def test_paper_protocol_is_balanced_with_the_free_second_stage(grace_codes, tmp_path):
    from aiida_grace.workflows.thermal_conductivity import load_protocol

    balanced, paper = load_protocol("balanced")["parameters"], load_protocol("paper")["parameters"]
    assert paper["relax"]["free_second_stage"] is True and balanced["relax"]["free_second_stage"] is False
    assert {**paper, "relax": {**paper["relax"], "free_second_stage": False}} == balanced
    model = fake_model(tmp_path, ("Mg", "O"), 6.0, "2L")
    mgo = bulk("MgO", "rocksalt", a=4.21, cubic=True)
    cells = {"fc3_supercell": [2, 2, 2], "fc2_supercell": [4, 4, 4], "mesh": [19, 19, 19]}
    builder = GraceThermalConductivityWorkChain.get_builder_from_protocol(grace_codes["driver"], model, mgo,
                                                                          protocol="paper", overrides=cells)
    assert GraceThermalConductivityWorkChain.spec().inputs.validate(builder._inputs(prune=True)) is None
    # the free stage follows a symmetry-fixed one: without it the inputs are refused before anything runs
    builder = builder_for(grace_codes["driver"], model, mgo, **cells,
                          relax={"fix_symmetry": False, "free_second_stage": True})
    error = GraceThermalConductivityWorkChain.spec().inputs.validate(builder._inputs(prune=True))
    assert "invalid relax settings: relax.free_second_stage follows a symmetry-fixed stage" in error.message

"""GraceDatasetData: construction from every supported source, attributes, views, calcfunctions."""

import io

import numpy as np
import pytest
from aiida import orm
from ase.build import bulk
from ase.io import write

from aiida_grace.common.extxyz import to_extxyz
from aiida_grace.common.structures import StructureError, labels_of, with_labels
from aiida_grace.data import GraceDatasetData
from aiida_grace.functions import merge_datasets, split_dataset
from aiida_grace.functions.synthetic import emt_structures


@pytest.fixture(scope="module")
def structures():
    return emt_structures(["Cu", "Al"], 6, seed=3)


def test_from_ase_stores_one_file_with_attributes(aiida_profile, structures):
    dataset = GraceDatasetData.from_ase(structures).store()
    assert dataset.base.repository.list_object_names() == ["dataset.extxyz"]
    attrs = dataset.base.attributes.all
    assert attrs["n_structures"] == 6
    assert attrs["n_atoms"] == sum(len(a) for a in structures)
    assert attrs["elements"] == sorted({s for a in structures for s in a.get_chemical_symbols()})
    assert attrs["labels"] == ["energy", "forces", "stress"]
    assert len(attrs["sha256"]) == 64
    round_trip = dataset.to_ase()
    for original, stored in zip(structures, round_trip):
        ref, got = labels_of(original), labels_of(stored)
        assert got["energy"] == ref["energy"]  # every float is stored exactly (common/extxyz.py)
        np.testing.assert_array_equal(got["forces"], ref["forces"])
        np.testing.assert_array_equal(got["stress"], ref["stress"])
        np.testing.assert_array_equal(stored.positions, original.positions)
        np.testing.assert_array_equal(stored.cell.array, original.cell.array)


def test_extxyz_pymatgen_and_dataframe_sources_agree(aiida_profile, structures, tmp_path):
    from pymatgen.io.ase import AseAtomsAdaptor

    path = tmp_path / "set.extxyz"
    path.write_text(to_extxyz(structures))
    from_file = GraceDatasetData.from_extxyz(path)
    from_pymatgen = GraceDatasetData.from_pymatgen(
        [AseAtomsAdaptor.get_structure(a) for a in structures],
        energies=[labels_of(a)["energy"] for a in structures],
        forces=[labels_of(a)["forces"] for a in structures],
        stresses=[labels_of(a)["stress"] for a in structures],
    )
    frame = GraceDatasetData.from_ase(structures).to_dataframe()
    assert list(frame.columns[:3]) == ["ase_atoms", "energy", "forces"]
    pickle_path = tmp_path / "set.pkl.gz"
    frame.to_pickle(pickle_path)
    from_pickle = GraceDatasetData.from_dataframe(pickle_path)
    energies = [d.energies_per_atom() for d in (from_file, from_pymatgen, from_pickle)]
    np.testing.assert_allclose(energies[0], energies[1], atol=1e-10)
    np.testing.assert_allclose(energies[0], energies[2], atol=1e-10)
    assert from_file.sha256 == from_pickle.sha256  # same content, same file


def test_weights_and_partial_labels(aiida_profile):
    cu = with_labels(bulk("Cu", cubic=True), energy=-14.0, forces=np.zeros((4, 3)))
    cu.info["energy_weight"] = 5.0
    al = with_labels(bulk("Al", cubic=True), energy=-13.0)
    dataset = GraceDatasetData.from_ase([cu, al])
    assert dataset.labels == ["energy"]
    assert dataset.base.attributes.get("label_counts") == {"energy": 2, "forces": 1, "stress": 0}
    assert dataset.base.attributes.get("has_weights") is True
    frame = dataset.to_dataframe()
    assert frame["energy_weight"].tolist()[0] == 5.0


def test_nan_label_is_refused_naming_the_structure(aiida_profile):
    bad = with_labels(bulk("Cu", cubic=True), energy=float("nan"), forces=np.zeros((4, 3)))
    with pytest.raises(StructureError, match="structure 1 .*non-finite energy"):
        GraceDatasetData.from_ase([with_labels(bulk("Al", cubic=True), energy=-1.0), bad])


def test_malformed_extxyz_forces_are_refused(aiida_profile, tmp_path):
    atoms = bulk("Cu", cubic=True)
    text = io.StringIO()
    write(text, with_labels(atoms, energy=-1.0, forces=np.zeros((4, 3))), format="extxyz")
    head, tail = text.getvalue().rsplit("0.00000000", 1)  # the last column is the last atom's force z
    broken = head + "nan" + tail
    path = tmp_path / "broken.extxyz"
    path.write_text(broken)
    with pytest.raises(StructureError, match="non-finite forces"):
        GraceDatasetData.from_extxyz(path)


def test_split_and_merge_are_calcfunctions_in_the_graph(aiida_profile, structures):
    dataset = GraceDatasetData.from_ase(structures).store()
    parts = split_dataset(dataset, orm.Float(1 / 3), orm.Int(7))
    assert parts["train"].n_structures == 4 and parts["test"].n_structures == 2
    creator = parts["test"].creator
    assert creator.process_label == "split_dataset"
    assert creator.base.links.get_incoming().get_node_by_label("dataset").uuid == dataset.uuid
    merged = merge_datasets(a=parts["train"], b=parts["test"])
    assert merged.n_structures == 6
    assert sorted(merged.energies_per_atom()) == pytest.approx(sorted(dataset.energies_per_atom()), abs=1e-12)
    again = split_dataset(dataset, orm.Float(1 / 3), orm.Int(7))
    assert again["test"].sha256 == parts["test"].sha256  # reproducible by seed
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        split_dataset(dataset, orm.Float(1.5), orm.Int(0))

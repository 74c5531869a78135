"""The aiida-grace command line on a real test profile (fast: stand-in model files, EMT datasets)."""

import numpy as np
import pytest
from aiida import orm
from ase.db import connect
from ase.io import write
from click.testing import CliRunner
from conftest import write_fake_model

from aiida_grace.cli import cli
from aiida_grace.data import GraceDatasetData, GraceModelData
from aiida_grace.functions import split_dataset
from aiida_grace.functions.synthetic import emt_structures


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result


def test_model_import_list_show_export(aiida_profile, tmp_path):
    folder = write_fake_model(tmp_path / "m", elements=("Li", "F"))
    result = invoke("model", "import", folder, "--label", "LiF-test")
    assert result.exit_code == 0, result.output
    node = GraceModelData.find_by_sha256(GraceModelData(folder).sha256)
    assert f"GraceModelData<{node.pk}>" in result.output and node.label == "LiF-test"
    again = invoke("model", "import", folder)
    assert f"GraceModelData<{node.pk}>" in again.output  # deduplicated

    listing = invoke("model", "list")
    assert "LiF-test" in listing.output and "Li-F" in listing.output and node.sha256[:12] in listing.output
    shown = invoke("model", "show", "LiF-test")
    assert "final_model/saved_model.pb" in shown.output and "GRACE-1L" in shown.output
    exported = invoke("model", "export", node.pk, tmp_path / "out")
    assert exported.exit_code == 0 and (tmp_path / "out" / "final_model" / "saved_model.pb").is_file()

    missing = invoke("model", "import", tmp_path / "nothing-here", "--cache")
    assert missing.exit_code != 0 and "is not in the cache" in missing.output


@pytest.mark.parametrize("fmt", ["extxyz", "db", "pkl"])
def test_dataset_import_each_format(aiida_profile, tmp_path, fmt):
    structures = emt_structures(["Cu", "Al"], 3, seed=50)
    reference = GraceDatasetData.from_ase(structures)
    if fmt == "extxyz":
        path = tmp_path / "set.extxyz"
        write(path, structures, format="extxyz")
    elif fmt == "db":
        path = tmp_path / "set.db"
        with connect(str(path)) as db:
            for atoms in structures:
                db.write(atoms)
    else:
        path = tmp_path / "set.pkl.gz"
        reference.to_dataframe().to_pickle(path)
    result = invoke("dataset", "import", path, "--label", f"imported-{fmt}")
    assert result.exit_code == 0, result.output
    assert "3 structures, Al-Cu, labels energy, forces, stress" in result.output
    node = orm.QueryBuilder().append(GraceDatasetData, filters={"label": f"imported-{fmt}"}).one()[0]
    np.testing.assert_allclose(node.energies_per_atom(), reference.energies_per_atom(), atol=1e-9)
    shown = invoke("dataset", "show", node.pk)
    assert "n_structures" in shown.output and "energy per atom" in shown.output


def test_dataset_import_refuses_bad_data_with_the_reason(aiida_profile, tmp_path):
    path = tmp_path / "bad.extxyz"
    atoms = emt_structures(["Cu"], 1, seed=1)[0]
    atoms.calc.results["energy"] = float("nan")
    write(path, atoms, format="extxyz")
    result = invoke("dataset", "import", path)
    assert result.exit_code != 0 and "non-finite energy" in result.output
    unknown = invoke("dataset", "import", tmp_path / "bad.extxyz", "--format", "cif")
    assert unknown.exit_code != 0


def test_results_summarises_a_process(aiida_profile):
    dataset = GraceDatasetData.from_ase(emt_structures(["Cu", "Al"], 4, seed=51)).store()
    split_dataset(dataset, orm.Float(0.25), orm.Int(1))
    process = dataset.base.links.get_outgoing().all()[0].node
    result = invoke("results", process.pk)
    assert result.exit_code == 0, result.output
    assert "split_dataset" in result.output and "exit status: 0" in result.output
    assert "train" in result.output and "3 structures" in result.output and "1 structures" in result.output
    not_a_process = invoke("results", dataset.pk)
    assert not_a_process.exit_code != 0 and "not a process" in not_a_process.output


def test_results_shows_short_flat_lists_and_skips_tables(aiida_profile):
    from aiida_grace.cli.results import describe_output

    rows = dict(describe_output(orm.Dict({"kappa": [38.510502942975, 23.58], "mesh": [11, 11, 11],
                                          "kappa_C": [[0.32, 0.32, 0.32, 0, 0, 0]] * 5, "t": 300.0,
                                          "units": {"kappa": "W/m/K"}})))
    assert rows == {".kappa": "38.51, 23.58", ".mesh": "11, 11, 11", ".t": 300.0, ".units.kappa": "W/m/K"}

"""GraceModelData: import from folders and the GRACE cache, sha256 pinning, dedup, export (fast)."""

import pytest
import yaml

from aiida_grace.common.model_files import ModelFilesError
from aiida_grace.data import GraceModelData, ModelIntegrityError
from conftest import write_fake_model


def test_import_reads_metadata_and_pins_every_file(aiida_profile, fake_model_dir):
    model = GraceModelData.from_directory(fake_model_dir)
    attrs = model.base.attributes.all
    assert model.is_stored
    assert attrs["elements"] == ["Al", "Cu"] and attrs["cutoff"] == 5.0
    assert attrs["architecture"] == "GRACE-1L" and attrs["param_dtype"] == "float64"
    assert attrs["tensorpotential_version"] == "0.6.2.1"
    assert attrs["origin"]["kind"] == "directory"
    assert attrs["has_saved_model"] and attrs["has_checkpoint"] and not attrs["has_fs_yaml"]
    # the best-test checkpoint is taken, under a canonical name; the regular one is left out
    assert "checkpoint/checkpoint.index" in model.file_names()
    with model.base.repository.open("checkpoint/checkpoint.index", "rb") as handle:
        assert handle.read() == b"ckpt index"
    assert set(attrs["file_sha256"]) == set(model.file_names())
    model.verify()


def test_same_content_is_deduplicated_and_other_content_is_not(aiida_profile, tmp_path):
    first = GraceModelData.from_directory(write_fake_model(tmp_path / "a"))
    again = GraceModelData.from_directory(write_fake_model(tmp_path / "b"))  # same bytes elsewhere
    assert again.uuid == first.uuid
    other = GraceModelData.from_directory(write_fake_model(tmp_path / "c", cutoff=6.0))
    assert other.uuid != first.uuid and other.cutoff == 6.0


def test_changed_file_is_refused_when_used(aiida_profile, fake_model_dir):
    model = GraceModelData(fake_model_dir)  # unstored: its repository can still be written
    model.base.repository.put_object_from_bytes(b"tampered", "model.yaml")
    with pytest.raises(ModelIntegrityError, match="model.yaml has sha256"):
        model.verify()
    model.base.repository.delete_object("final_model/saved_model.pb")
    with pytest.raises(ModelIntegrityError, match="missing"):
        model.export("/nonexistent-never-written")


def test_export_writes_the_layout_gracemaker_and_tpcalculator_accept(aiida_profile, fake_model_dir, tmp_path):
    model = GraceModelData.from_directory(fake_model_dir)
    out = model.export(tmp_path / "export")
    assert (out / "final_model" / "saved_model.pb").read_bytes() == b"fake graph"
    assert (out / "checkpoints" / "checkpoint.best_test_loss.index").read_bytes() == b"ckpt index"
    assert (out / "model.yaml").is_file()
    # an exported folder imports back to the same node
    assert GraceModelData.from_directory(out).uuid == model.uuid


def test_cache_name_and_registry(aiida_profile, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    write_fake_model(cache / "GRACE-TEST-A", elements=("H", "O"), with_checkpoint=False)
    write_fake_model(cache / "checkpoints" / "GRACE-TEST-A", elements=("H", "O"))
    monkeypatch.setenv("GRACE_CACHE", str(cache))
    model = GraceModelData.from_cache("GRACE-TEST-A")
    assert model.elements == ["H", "O"] and model.has_checkpoint and model.has_saved_model
    assert model.base.attributes.get("origin") == {"kind": "cache", "name": "GRACE-TEST-A", "cache": str(cache)}
    assert model.label == "GRACE-TEST-A"

    elsewhere = write_fake_model(tmp_path / "my-model", elements=("Li",), architecture="2L")
    (cache / "models_registry.yaml").write_text(yaml.safe_dump({"MY-MODEL": {"path": str(elsewhere)}}))
    registered = GraceModelData.from_cache("MY-MODEL")
    assert registered.elements == ["Li"] and registered.base.attributes.get("architecture") == "GRACE-2L"

    with pytest.raises(ModelFilesError, match="'GRACE-2L-OAM' is not in the cache"):
        GraceModelData.from_cache("GRACE-2L-OAM")


def test_links_leading_outside_the_folder_are_refused(aiida_profile, fake_model_dir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not part of any model")
    (fake_model_dir / "final_model" / "assets").mkdir()
    (fake_model_dir / "final_model" / "assets" / "leak").symlink_to(secret)
    with pytest.raises(ModelFilesError, match="points outside"):
        GraceModelData.from_directory(fake_model_dir)


def test_a_folder_without_a_model_is_refused(aiida_profile, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFilesError, match="no GRACE model"):
        GraceModelData.from_directory(tmp_path / "empty")

"""Hostile model input: archives with path traversal or links, unsafe YAML, files changed after import (fast)."""

import io
import tarfile
import zipfile

import pytest
import yaml
from aiida import orm
from aiida.engine import run_get_node

from aiida_grace.calculations.evaluate import GraceEvaluateCalculation
from aiida_grace.common.archives import safe_extract
from aiida_grace.common.model_files import ModelFilesError
from aiida_grace.data import GraceModelData
from conftest import make_dataset, write_fake_model


def tar_with(path, member: tarfile.TarInfo, data: bytes = b""):
    """A .tar.gz holding a real model folder plus ``member``."""
    with tarfile.open(path, "w:gz") as tar:
        tar.add(write_fake_model(path.parent / "src"), arcname="model")
        member.size = len(data) if member.isfile() else 0
        tar.addfile(member, io.BytesIO(data) if data else None)
    return path


def zip_with(path, name: str, data: bytes = b"x", mode: int = 0o100644):
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo(name)
        info.external_attr = mode << 16
        archive.writestr(info, data)
    return path


def file_member(name):
    return tarfile.TarInfo(name)


def link_member(name, target, kind):
    member = tarfile.TarInfo(name)
    member.type, member.linkname = kind, target
    return member


@pytest.mark.parametrize("suffix, mode", [(".tar.gz", "w:gz"), (".tar", "w"), (".zip", None)])
def test_archive_imports_the_same_model_as_its_folder(aiida_profile, tmp_path, suffix, mode):
    folder = write_fake_model(tmp_path / "model", elements=("Cu", "Ni"))
    archive = tmp_path / f"model{suffix}"
    if mode:
        with tarfile.open(archive, mode) as tar:
            tar.add(folder, arcname="GRACE-test")
    else:
        with zipfile.ZipFile(archive, "w") as handle:
            for path in folder.rglob("*"):
                handle.write(path, f"GRACE-test/{path.relative_to(folder)}")
    model = GraceModelData.from_archive(archive)
    assert model.elements == ["Cu", "Ni"] and model.has_checkpoint and model.has_saved_model
    assert model.base.attributes.get("origin")["kind"] in ("archive", "directory")  # first import wins (dedup)
    assert GraceModelData.from_directory(folder).uuid == model.uuid
    model.verify()


@pytest.mark.parametrize(
    "member, message",
    [
        (file_member("../evil.txt"), r"member '../evil.txt' leads outside"),
        (file_member("model/../../evil.txt"), r"leads outside the archive"),
        (file_member("/tmp/evil.txt"), r"member '/tmp/evil.txt' has an absolute path"),
        (link_member("model/final_model/assets/leak", "/etc/passwd", tarfile.SYMTYPE),
         r"is a link \(to '/etc/passwd'\)"),
        (link_member("model/model.yaml.bak", "model/model.yaml", tarfile.LNKTYPE), r"is a link"),
        (link_member("model/fifo", "", tarfile.FIFOTYPE), r"not a regular file"),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink", "hardlink", "fifo"],
)
def test_hostile_tar_members_are_refused_before_anything_is_written(aiida_profile, tmp_path, member, message):
    archive = tar_with(tmp_path / "hostile.tar.gz", member, b"owned" if member.isfile() else b"")
    out = tmp_path / "deep" / "out"
    out.mkdir(parents=True)
    with pytest.raises(ModelFilesError, match=message):
        GraceModelData.from_archive(archive)
    with pytest.raises(ModelFilesError, match=message):
        safe_extract(archive, out)
    assert list(out.iterdir()) == [] and not (tmp_path / "deep" / "evil.txt").exists()


@pytest.mark.parametrize(
    "name, mode, message",
    [
        ("../evil.txt", 0o100644, "leads outside"),
        ("/abs/evil.txt", 0o100644, "absolute path"),
        ("C:\\evil.txt", 0o100644, "absolute path"),
        ("model/leak", 0o120777, "is a link"),
    ],
    ids=["dotdot", "absolute", "windows-drive", "symlink"],
)
def test_hostile_zip_members_are_refused(aiida_profile, tmp_path, name, mode, message):
    archive = zip_with(tmp_path / "hostile.zip", name, b"/etc/passwd", mode)
    with pytest.raises(ModelFilesError, match=message):
        GraceModelData.from_archive(archive)


def test_an_archive_too_large_when_unpacked_is_refused(tmp_path):
    archive = zip_with(tmp_path / "bomb.zip", "model/big.bin", b"\0" * 4096)
    with pytest.raises(ModelFilesError, match="unpacks to"):
        safe_extract(archive, tmp_path / "out", max_bytes=1024)


def test_not_an_archive(tmp_path):
    (tmp_path / "model.yaml").write_text("not an archive")
    with pytest.raises(ModelFilesError, match="neither a tar nor a zip"):
        GraceModelData.from_archive(tmp_path / "model.yaml")


def test_model_yaml_with_python_tags_is_not_executed(aiida_profile, tmp_path):
    folder = write_fake_model(tmp_path / "model")
    marker = tmp_path / "executed"
    (folder / "model.yaml").write_text(f"!!python/object/apply:os.system ['touch {marker}']\n")
    (folder / "final_model" / "metadata.yaml").unlink()  # so model.yaml is the file read for metadata
    with pytest.raises(yaml.YAMLError, match="python/object/apply"):
        GraceModelData.from_directory(folder)
    assert not marker.exists()


def test_a_job_refuses_a_model_whose_files_changed(aiida_profile, grace_codes, tmp_path):
    model = GraceModelData(write_fake_model(tmp_path / "model"))
    model.base.repository.put_object_from_bytes(b"swapped weights", "final_model/variables/variables.index")
    with pytest.raises(ValueError, match=r"final_model/variables/variables.index has sha256 .*, recorded"):
        run_get_node(GraceEvaluateCalculation, code=grace_codes["driver"], model=model,
                     dataset=make_dataset(n=1, seed=60), parameters=orm.Dict({}))

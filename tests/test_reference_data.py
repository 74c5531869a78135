"""Reference data download against a local HTTP server on 127.0.0.1 serving the phononDB files of ../shared: the
sha256 is checked, a wrong or short file leaves nothing behind, a cached file is not fetched again, nodes are not
stored twice; through the Python API and the command line."""

import hashlib
import shutil
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiida import orm
from click.testing import CliRunner

from aiida_grace.cli import cli
from aiida_grace.common.hashing import sha256_file
from aiida_grace.common.reference_data import (
    MIRROR_ENV,
    REGISTRY,
    ChecksumError,
    DataFile,
    ReferenceDataError,
    fetch,
)
from aiida_grace.data.reference_data import GROUP_PREFIX, fetch_reference

PHONONDB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "phonondb"  # ../shared of the clone
pytestmark = pytest.mark.skipif(not (PHONONDB / "phononDB-PBE-structures.extxyz").is_file(),
                                reason="phononDB files not available (../shared/data/phonondb beside the clone)")
STRUCTURES, KAPPA = REGISTRY["phonondb-structures"], REGISTRY["phonondb-kappa"]


class Handler(SimpleHTTPRequestHandler):
    """Serves ``server.folder``; counts GETs per path; for paths in ``server.short`` it announces the whole
    length but sends half the body and closes the connection."""

    def do_GET(self):
        self.server.requests.append(self.path)
        name = self.path.lstrip("/")
        if name in self.server.short:
            body = (Path(self.server.folder) / name).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def translate_path(self, path):
        return str(Path(self.server.folder) / path.lstrip("/"))

    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.folder, httpd.requests, httpd.short = str(PHONONDB), [], set()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def reference_nodes(name: str) -> list:
    return orm.QueryBuilder().append(orm.SinglefileData, filters={"attributes.reference_name": name}).all(flat=True)


def tampered_copy(folder: Path, entry: DataFile) -> Path:
    folder.mkdir()
    data = bytearray((PHONONDB / entry.filename).read_bytes())
    data[100] ^= 0x01
    (folder / entry.filename).write_bytes(bytes(data))
    return folder


def test_pinned_sha256_are_those_of_the_shared_files():
    for entry in (STRUCTURES, KAPPA):
        assert sha256_file(PHONONDB / entry.filename) == entry.sha256


def test_fetch_stores_a_verified_node_once_and_does_not_download_again(aiida_profile, server, tmp_path):
    cache = tmp_path / "cache"
    node, downloaded, created = fetch_reference("phonondb-structures", cache, base_url=server.url)
    assert downloaded and server.requests == [f"/{STRUCTURES.filename}"]
    assert node.base.attributes.get("sha256") == STRUCTURES.sha256 == sha256_file(cache / STRUCTURES.filename)
    assert node.get_content(mode="rb") == (PHONONDB / STRUCTURES.filename).read_bytes()
    assert node.base.attributes.get("source_url") == STRUCTURES.url
    assert node.base.attributes.get("fetched_from") == f"{server.url}/{STRUCTURES.filename}"
    group = orm.load_group(f"{GROUP_PREFIX}phonondb-structures")
    assert [n.pk for n in group.nodes] == [node.pk]
    assert sorted(p.name for p in cache.iterdir()) == [STRUCTURES.filename]  # no temporary file left

    again, downloaded, created_again = fetch_reference("phonondb-structures", cache, base_url=server.url)
    assert (again.pk, downloaded, created_again) == (node.pk, False, False) and len(server.requests) == 1
    elsewhere, downloaded, created_again = fetch_reference("phonondb-structures", tmp_path / "other",
                                                           base_url=server.url)
    assert downloaded and len(server.requests) == 2 and (elsewhere.pk, created_again) == (node.pk, False)
    assert created and len(reference_nodes("phonondb-structures")) == 1


def test_a_wrong_sha256_is_refused_and_leaves_nothing(aiida_profile, server, tmp_path):
    server.folder = str(tampered_copy(tmp_path / "mirror", KAPPA))
    cache = tmp_path / "cache"
    before = len(reference_nodes("phonondb-kappa"))
    with pytest.raises(ChecksumError, match=f"expected {KAPPA.sha256}; nothing was stored"):
        fetch_reference("phonondb-kappa", cache, base_url=server.url)
    assert list(cache.iterdir()) == [] and len(reference_nodes("phonondb-kappa")) == before
    with pytest.raises(ReferenceDataError, match="differs from the pinned"):
        fetch("phonondb-kappa", cache, base_url=server.url, sha256="0" * 64)
    assert len(server.requests) == 1  # refused before asking the server


def test_a_short_body_or_dead_server_leaves_nothing(aiida_profile, server, tmp_path):
    server.short.add(KAPPA.filename)
    cache = tmp_path / "cache"
    before = len(reference_nodes("phonondb-kappa"))
    with pytest.raises(ReferenceDataError, match=r"ended after \d+ of 3513271 bytes"):
        fetch_reference("phonondb-kappa", cache, base_url=server.url)
    assert list(cache.iterdir()) == [] and len(reference_nodes("phonondb-kappa")) == before

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(ReferenceDataError, match="downloading .* failed"):
        fetch("phonondb-kappa", cache, base_url=dead)
    with pytest.raises(ReferenceDataError, match="only http, https and file"):
        fetch("phonondb-kappa", cache, base_url="ftp://127.0.0.1/data")
    assert list(cache.iterdir()) == []


def test_unpinned_sets_need_a_sha256_and_match_the_publishers_md5(server, tmp_path, monkeypatch):
    entry = REGISTRY["wbm-summary"]
    with pytest.raises(ReferenceDataError, match="no pinned sha256: pass the one you trust"):
        fetch(entry, tmp_path / "cache", base_url=server.url)
    assert server.requests == []
    # a file of that name whose sha256 the user vouches for, but not the publisher's md5: refused
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copyfile(PHONONDB / STRUCTURES.filename, mirror / entry.filename)
    server.folder = str(mirror)
    with pytest.raises(ChecksumError, match=f"the publisher's is {entry.md5}"):
        fetch(entry, tmp_path / "cache", base_url=server.url, sha256=STRUCTURES.sha256)
    assert list((tmp_path / "cache").iterdir()) == []
    # without an md5 on record the given sha256 decides; the mirror comes from the environment
    unpinned = DataFile("x", entry.filename, "https://example.invalid/x", None, "test", "test")
    monkeypatch.setenv(MIRROR_ENV, server.url)
    path, downloaded = fetch(unpinned, tmp_path / "cache", sha256=STRUCTURES.sha256.upper())
    assert downloaded and hashlib.sha256(path.read_bytes()).hexdigest() == STRUCTURES.sha256


def test_fetch_from_a_local_folder(aiida_profile, tmp_path):
    node, downloaded, _ = fetch_reference("phonondb-kappa", tmp_path / "cache", from_dir=PHONONDB)
    assert downloaded and node.base.attributes.get("sha256") == KAPPA.sha256
    assert node.base.attributes.get("fetched_from") == str(PHONONDB.resolve() / KAPPA.filename)
    with pytest.raises(ChecksumError, match="nothing was stored"):
        fetch("phonondb-kappa", tmp_path / "other", from_dir=tampered_copy(tmp_path / "bad", KAPPA))
    assert list((tmp_path / "other").iterdir()) == []
    path, downloaded = fetch("phonondb-kappa", tmp_path / "other", base_url=PHONONDB.as_uri())  # a file:// mirror
    assert downloaded and sha256_file(path) == KAPPA.sha256


def test_command_line_fetch_and_list(aiida_profile, server, tmp_path):
    cache = tmp_path / "cache"

    def invoke(*args):
        return CliRunner().invoke(cli, ["data", *map(str, args)], catch_exceptions=False)

    result = invoke("fetch", "phonondb-kappa", "--mirror", server.url, "--cache-dir", cache)
    assert result.exit_code == 0, result.output
    node = reference_nodes("phonondb-kappa")[0]
    assert f"SinglefileData<{node.pk}> sha256 {KAPPA.sha256} (fetched, " in result.output
    again = invoke("fetch", "phonondb-kappa", "--mirror", server.url, "--cache-dir", cache)
    assert "(already in the cache, node already stored)" in again.output and len(server.requests) == 1
    wrong = invoke("fetch", "phonondb-kappa", "--sha256", "f" * 64, "--cache-dir", tmp_path / "c2")
    assert wrong.exit_code != 0 and "differs from the pinned" in wrong.output
    listing = invoke("list", "--cache-dir", cache)
    row = next(line for line in listing.output.splitlines() if line.startswith("phonondb-kappa"))
    assert KAPPA.sha256[:12] in row and " yes " in row
    assert "give --sha256" in next(line for line in listing.output.splitlines() if line.startswith("wbm-summary"))

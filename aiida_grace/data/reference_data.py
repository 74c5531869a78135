"""Reference data files as stored nodes: one ``SinglefileData`` per file, deduplicated by sha256, in the group
``aiida-grace/reference/<name>`` (the download itself is :mod:`aiida_grace.common.reference_data`)."""

from __future__ import annotations

from pathlib import Path

from aiida import orm

from ..common.hashing import sha256_file
from ..common.reference_data import DataFile, entry_of, fetch, source_url

GROUP_PREFIX = "aiida-grace/reference/"


def find_reference_node(sha256: str) -> orm.SinglefileData | None:
    """The oldest stored reference file with this sha256, or None."""
    builder = orm.QueryBuilder().append(orm.SinglefileData, filters={"attributes.sha256": sha256}, tag="file")
    found = builder.order_by({"file": {"ctime": "asc"}}).first()
    return found[0] if found else None


def store_reference_file(entry: DataFile, path: str | Path, origin: str) -> tuple[orm.SinglefileData, bool]:
    """Store ``path`` (already verified) as a SinglefileData with attributes reference_name, source_url (the pinned
    address), fetched_from (``origin``: a mirror, a folder or that address) and sha256, and put it in its group; return the node and whether it is new (an existing node with this sha256 is reused)."""
    sha256 = sha256_file(path)
    node = find_reference_node(sha256)
    created = node is None
    if created:
        node = orm.SinglefileData(Path(path), filename=entry.filename)
        node.base.attributes.set_many({"reference_name": entry.name, "source_url": entry.url,
                                     "fetched_from": origin, "sha256": sha256})
        node.label, node.description = entry.name, f"{entry.description}. Source: {entry.source}"
        node.store()
    group, _ = orm.Group.collection.get_or_create(f"{GROUP_PREFIX}{entry.name}")
    group.add_nodes(node)
    return node, created


def fetch_reference(name: str, cache_dir=None, *, base_url=None, from_dir=None, sha256=None
                    ) -> tuple[orm.SinglefileData, bool, bool]:
    """:func:`~aiida_grace.common.reference_data.fetch` then :func:`store_reference_file`; return the node, whether
    the file was downloaded now and whether the node is new."""
    entry = entry_of(name)
    path, downloaded = fetch(entry, cache_dir, base_url=base_url, from_dir=from_dir, sha256=sha256)
    origin = str(Path(from_dir).resolve() / entry.filename) if from_dir is not None else source_url(entry, base_url)
    node, created = store_reference_file(entry, path, origin)
    return node, downloaded, created

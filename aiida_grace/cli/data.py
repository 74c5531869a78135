"""``aiida-grace data``: public reference data sets (κ_SRME, Matbench Discovery), downloaded at pinned addresses,
checked by sha256 and stored as nodes."""

from __future__ import annotations

from pathlib import Path

import click

from ..common.reference_data import (
    CACHE_ENV,
    MIRROR_ENV,
    REGISTRY,
    ReferenceDataError,
    cached_path,
)
from .utils import load, profile_option, table


@click.group()
def data():
    """Reference data sets: list them, fetch them into the cache folder and the profile."""


@data.command("list")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), envvar=CACHE_ENV, default=None,
              help=f"Folder of fetched files (default: ${CACHE_ENV}, else ~/.cache/aiida-grace/reference).")
def list_(cache_dir):
    """The known data sets, their pinned sha256 and whether they are in the cache folder."""
    rows = [[entry.name, entry.filename, entry.sha256[:12] if entry.sha256 else "give --sha256",
             "yes" if cached_path(entry.name, cache_dir).is_file() else "no", entry.description]
            for entry in REGISTRY.values()]
    click.echo(table(rows, ["name", "file", "sha256", "cached", "what"]))


@data.command("fetch")
@click.argument("names", nargs=-1, required=True, type=click.Choice(list(REGISTRY)))
@click.option("--mirror", default=None, envvar=MIRROR_ENV,
              help=f"Base URL serving the same file names (also ${MIRROR_ENV}); file:// works.")
@click.option("--from-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Take the files from this local folder instead of the network (checked the same way).")
@click.option("--sha256", default=None, help="The sha256 to require, for a data set without a pinned one.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), envvar=CACHE_ENV, default=None,
              help=f"Where the files go (default: ${CACHE_ENV}, else ~/.cache/aiida-grace/reference).")
@profile_option
def fetch(names, mirror, from_dir, sha256, cache_dir, profile_name):
    """Download NAMES (see `aiida-grace data list`), verify their sha256 and store each as a SinglefileData in
    the group aiida-grace/reference/NAME; a file already there is not downloaded again, nor stored twice."""
    if sha256 and len(names) > 1:
        raise click.UsageError("--sha256 names one file: fetch one data set at a time with it")
    load(profile_name)
    from ..data.reference_data import fetch_reference

    for name in names:
        try:
            node, downloaded, created = fetch_reference(name, cache_dir, base_url=mirror, from_dir=from_dir,
                                                        sha256=sha256)
        except ReferenceDataError as exception:
            raise click.ClickException(str(exception)) from exception
        click.echo(f"{name}: SinglefileData<{node.pk}> sha256 {node.base.attributes.get('sha256')} "
                   f"({'fetched' if downloaded else 'already in the cache'}, "
                   f"{'stored' if created else 'node already stored'}); file {cached_path(name, cache_dir)}")

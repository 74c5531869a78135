"""``aiida-grace dataset``: import and show labelled datasets."""

from __future__ import annotations

from pathlib import Path

import click

from .utils import load, load_node_of, profile_option, table

FORMATS = ("extxyz", "db", "pkl")


def guess_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".xyz", ".extxyz")):
        return "extxyz"
    if name.endswith(".db"):
        return "db"
    if name.endswith((".pkl", ".pkl.gz", ".pckl.gz", ".pkl.gzip")):
        return "pkl"
    raise click.ClickException(f"cannot tell the format of {path.name}: pass --format {'/'.join(FORMATS)}")


def read_ase_db(path: Path) -> list:
    """Every row of an ASE database as Atoms, with its stored energy/forces/stress as labels."""
    from ase.db import connect

    return [row.toatoms(add_additional_information=False) for row in connect(str(path)).select()]


@click.group()
def dataset():
    """Labelled datasets (GraceDatasetData)."""


@dataset.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None, help="Default: from the file name.")
@click.option("--label", default=None)
@profile_option
def import_(path, fmt, label, profile_name):
    """Import an extxyz file, an ASE database or gracemaker's pandas pickle (trusted files only)."""
    load(profile_name)
    from ..common.structures import StructureError
    from ..data import GraceDatasetData

    fmt = fmt or guess_format(path)
    try:
        if fmt == "extxyz":
            node = GraceDatasetData.from_extxyz(path)
        elif fmt == "db":
            node = GraceDatasetData.from_ase(read_ase_db(path))
        else:
            node = GraceDatasetData.from_dataframe(path)
    except StructureError as exception:
        raise click.ClickException(f"{path}: {exception}") from exception
    node.label = label or path.name
    node.store()
    click.echo(f"GraceDatasetData<{node.pk}> {node.n_structures} structures, {'-'.join(node.elements)}, "
               f"labels {', '.join(node.labels) or 'none'}")


@dataset.command("show")
@click.argument("identifier")
@profile_option
def show(identifier, profile_name):
    """Attributes of a dataset and its energy-per-atom range."""
    load(profile_name)
    import numpy as np

    from ..data import GraceDatasetData

    node = load_node_of(identifier, GraceDatasetData)
    rows = [[key, value] for key, value in sorted(node.base.attributes.all.items())]
    energies = node.energies_per_atom()
    if np.isfinite(energies).any():
        rows.append(["energy per atom (eV/atom)", f"{np.nanmin(energies):.4f} … {np.nanmax(energies):.4f}"])
    click.echo(table(rows, ["attribute", "value"]))

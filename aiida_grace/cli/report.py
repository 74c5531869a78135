"""``aiida-grace report``: one self-contained HTML page of a process or a model."""

from __future__ import annotations

import click

from .utils import load, load_node_of, profile_option


@click.command()
@click.argument("identifier")
@click.option("-o", "--output", "folder", default=".", show_default=True, help="Folder to write report_<PK>.html in.")
@profile_option
def report(identifier, folder, profile_name):
    """Write an HTML page of a process or a GraceModelData: results, per-structure table, plots and an
    interactive provenance graph; inline, nothing loaded from the network (open it, send it)."""
    load(profile_name)
    from ..report import write_report

    node = load_node_of(identifier)
    try:
        click.echo(write_report(node, folder))
    except TypeError as exception:
        raise click.ClickException(str(exception)) from exception

"""``aiida-grace model``: import, list, show and export GRACE models."""

from __future__ import annotations

import click

from .utils import load, load_node_of, profile_option, table


@click.group()
def model():
    """GRACE models (GraceModelData)."""


@model.command("import")
@click.argument("source")
@click.option("--cache", is_flag=True, help="SOURCE is a model name in the GRACE cache ($GRACE_CACHE).")
@click.option("--checkpoint-dir", type=click.Path(exists=True, file_okay=False),
              help="Folder with model.yaml + checkpoint, when apart from the SavedModel.")
@click.option("--label", default=None, help="Label of a newly stored node.")
@profile_option
def import_(source, cache, checkpoint_dir, label, profile_name):
    """Import a model folder (or, with --cache, a GRACE cache name); same content → the existing node."""
    load(profile_name)
    from ..common.model_files import ModelFilesError
    from ..data import GraceModelData

    try:
        if cache:
            node = GraceModelData.from_cache(source)
        else:
            node = GraceModelData.from_directory(source, checkpoint_dir=checkpoint_dir, label=label)
    except ModelFilesError as exception:
        raise click.ClickException(str(exception)) from exception
    click.echo(f"GraceModelData<{node.pk}> {node.base.attributes.get('architecture')} "
               f"{'-'.join(node.elements)} sha256 {node.sha256}")


@model.command("list")
@profile_option
def list_(profile_name):
    """All stored models."""
    load(profile_name)
    from aiida import orm

    from ..data import GraceModelData

    query = orm.QueryBuilder().append(GraceModelData, project=["*"]).order_by({GraceModelData: {"id": "asc"}})
    rows = []
    for (node,) in query.iterall():
        attrs = node.base.attributes.all
        rows.append([node.pk, node.label, attrs.get("architecture"), "-".join(attrs.get("elements", [])),
                     attrs.get("n_parameters"), attrs.get("param_dtype"), attrs.get("origin", {}).get("kind"),
                     "".join(k for k, flag in (("S", "has_saved_model"), ("C", "has_checkpoint"), ("F", "has_fs_yaml"))
                             if attrs.get(flag)), str(attrs.get("sha256"))[:12]])
    click.echo(table(rows, ["PK", "label", "architecture", "elements", "parameters", "dtype", "origin",
                            "files", "sha256"]))
    click.echo("files: S SavedModel, C checkpoint + model.yaml, F FS yaml")


@model.command("show")
@click.argument("identifier")
@profile_option
def show(identifier, profile_name):
    """Attributes and files of one model (PK, UUID or label)."""
    load(profile_name)
    from ..data import GraceModelData

    node = load_node_of(identifier, GraceModelData)
    attrs = dict(node.base.attributes.all)
    files = attrs.pop("file_sha256", {})
    rows = [[key, value] for key, value in sorted(attrs.items())]
    click.echo(table(rows, ["attribute", "value"]))
    click.echo()
    click.echo(table([[name, digest[:16]] for name, digest in sorted(files.items())], ["file", "sha256"]))
    creator = node.creator
    if creator is not None:
        click.echo(f"\ncreated by {creator.process_label}<{creator.pk}>")


@model.command("export")
@click.argument("identifier")
@click.argument("destination", type=click.Path(file_okay=False))
@profile_option
def export(identifier, destination, profile_name):
    """Write a model to DESTINATION (final_model/, model.yaml, checkpoints/, FS_model.yaml), checking sha256."""
    load(profile_name)
    from ..data import GraceModelData, ModelIntegrityError

    node = load_node_of(identifier, GraceModelData)
    try:
        path = node.export(destination)
    except ModelIntegrityError as exception:
        raise click.ClickException(str(exception)) from exception
    click.echo(f"exported GraceModelData<{node.pk}> to {path} (TPCalculator: {path}/final_model)")

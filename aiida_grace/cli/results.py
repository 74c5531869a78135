"""``aiida-grace results`` and ``aiida-grace plot``: what a process produced, as a table or a picture."""

from __future__ import annotations

import click

from .utils import load, load_node_of, profile_option, table


def describe_output(node) -> list[list]:
    """Rows (name suffix, value) describing one output node."""
    from aiida import orm

    from ..data import GraceDatasetData, GraceModelData

    if isinstance(node, orm.Dict):
        rows = []
        for key, value in sorted(node.get_dict().items()):
            if isinstance(value, dict):
                rows.extend([f".{key}.{k}", v] for k, v in sorted(value.items()) if not isinstance(v, (dict, list)))
            elif not isinstance(value, list) or len(value) <= 6:
                rows.append([f".{key}", value])
        return rows
    if isinstance(node, GraceModelData):
        attrs = node.base.attributes.all
        return [["", f"GraceModelData<{node.pk}> {attrs.get('architecture')} {'-'.join(node.elements)} "
                     f"sha256 {str(attrs.get('sha256'))[:12]}"]]
    if isinstance(node, GraceDatasetData):
        return [["", f"GraceDatasetData<{node.pk}> {node.n_structures} structures, labels {node.labels}"]]
    if isinstance(node, orm.ArrayData):
        names = sorted(node.get_arraynames())
        shown = ", ".join(f"{name}{tuple(node.get_shape(name))}" for name in names[:3])
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        return [["", f"{type(node).__name__}<{node.pk}> arrays {shown}{more}"]]
    if isinstance(node, orm.StructureData):
        return [["", f"StructureData<{node.pk}> {node.get_formula()}"]]
    return [["", f"{type(node).__name__}<{node.pk}>"]]


def output_rows(process) -> list[list]:
    rows = []
    for link in sorted(process.base.links.get_outgoing(link_type=_create_or_return()).all(),
                       key=lambda link: link.link_label):
        if link.link_label in ("remote_folder", "retrieved"):
            continue
        for suffix, value in describe_output(link.node):
            rows.append([link.link_label.replace("__", ".") + suffix, value])
    return rows


def _create_or_return():
    from aiida.common.links import LinkType

    return (LinkType.CREATE, LinkType.RETURN)


@click.command()
@click.argument("identifier")
@profile_option
def results(identifier, profile_name):
    """Summarise the outputs of any aiida-grace process (CalcJob or WorkChain) as a table."""
    load(profile_name)
    from aiida import orm

    process = load_node_of(identifier)
    if not isinstance(process, orm.ProcessNode):
        raise click.ClickException(f"node {process.pk} is a {type(process).__name__}, not a process")
    state = process.process_state.value if process.process_state else "unknown"
    click.echo(f"{process.process_label}<{process.pk}>  state: {state}  exit status: {process.exit_status}"
               + (f"  ({process.exit_message})" if process.exit_message else ""))
    rows = output_rows(process)
    click.echo(table(rows, ["output", "value"]) if rows else "no outputs")


@click.group()
def plot():
    """Write PNG figures of results."""


@plot.command("learning-curve")
@click.argument("identifier")
@click.option("-o", "--output", default="learning_curve.png", show_default=True)
@profile_option
def plot_learning_curve(identifier, output, profile_name):
    """Train/test loss and MAEs per epoch of a grace.train job."""
    load(profile_name)
    from .. import plots

    job = load_node_of(identifier)
    if "learning_curve" not in job.outputs:
        raise click.ClickException(f"process {job.pk} has no learning_curve output (is it a grace.train job?)")
    curve = job.outputs.learning_curve
    arrays = {name: curve.get_array(name) for name in curve.get_arraynames()}
    click.echo(plots.learning_curve(arrays, output, title=f"{job.process_label}<{job.pk}>"))


@plot.command("parity")
@click.argument("identifier")
@click.option("-o", "--output", default="parity.png", show_default=True)
@profile_option
def plot_parity(identifier, output, profile_name):
    """Predicted against reference energies, forces and stresses of a grace.evaluate job."""
    load(profile_name)
    from .. import plots

    job = load_node_of(identifier)
    if "output_dataset" not in job.outputs or "dataset" not in job.inputs:
        raise click.ClickException(f"process {job.pk} is not a grace.evaluate job on a labelled dataset")
    title = f"{job.inputs.model.label or 'model'} <{job.inputs.model.pk}> on {job.inputs.dataset.label or 'dataset'}"
    click.echo(plots.parity(job.inputs.dataset.to_ase(), job.outputs.output_dataset.to_ase(), output, title=title))

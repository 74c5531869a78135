"""``aiida-grace results``: what a process produced, as a table."""

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
            elif not isinstance(value, list):
                rows.append([f".{key}", value])
            elif len(value) <= 6 and not any(isinstance(v, (list, dict)) for v in value):
                rows.append([f".{key}", ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in value)])
        return rows
    if isinstance(node, GraceModelData):
        attrs = node.base.attributes.all
        return [["", (f"GraceModelData<{node.pk}> {attrs.get('architecture')} {'-'.join(node.elements)} "
                     f"sha256 {str(attrs.get('sha256'))[:12]}")]]
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

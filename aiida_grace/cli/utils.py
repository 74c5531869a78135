"""Small helpers shared by the command-line modules."""

from __future__ import annotations

import click

profile_option = click.option("-p", "--profile", "profile_name", default=None, envvar="AIIDA_PROFILE",
                              help="AiiDA profile (default: the configured default profile).")


def load(profile_name: str | None) -> None:
    """Load the profile or exit with a message that says how to make one."""
    from aiida import load_profile
    from aiida.common.exceptions import ConfigurationError

    try:
        load_profile(profile_name, allow_switch=True)
    except ConfigurationError as exception:
        raise click.ClickException(f"{exception}; create a profile with 'aiida-grace setup'") from exception


def load_node_of(identifier: str, cls=None):
    """The node with this PK, UUID or label (of ``cls`` when given); a clear error otherwise."""
    from aiida import orm
    from aiida.common.exceptions import MultipleObjectsError, NotExistent

    try:
        node = orm.load_node(identifier)
    except (NotExistent, MultipleObjectsError, ValueError):
        if cls is None:
            raise click.ClickException(f"no node with PK or UUID '{identifier}'")
        found = orm.QueryBuilder().append(cls, filters={"label": identifier}).all(flat=True)
        if len(found) != 1:
            raise click.ClickException(f"{len(found)} {cls.__name__} nodes have label '{identifier}'")
        node = found[0]
    if cls is not None and not isinstance(node, cls):
        raise click.ClickException(f"node {node.pk} is a {type(node).__name__}, not a {cls.__name__}")
    return node


def table(rows: list[list], headers: list[str]) -> str:
    from tabulate import tabulate

    return tabulate(rows, headers=headers, floatfmt=".4g")

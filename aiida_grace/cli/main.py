"""The ``aiida-grace`` command group."""

from __future__ import annotations

import click

from .data import data
from .dataset import dataset
from .model import model
from .plot import plot
from .report import report
from .results import results
from .setup import setup


@click.group()
@click.version_option(package_name="aiida-grace")
def cli():
    """aiida-grace: GRACE interatomic potentials with AiiDA provenance.

    Every command but `setup` works on the profile named by --profile or AIIDA_PROFILE, else the default one.
    """


for command in (setup, model, dataset, data, results, plot, report):
    cli.add_command(command)

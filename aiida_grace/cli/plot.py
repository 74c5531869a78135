"""``aiida-grace plot``: PNG figures of what a process produced (training, evaluation, elastic, κ)."""

from __future__ import annotations

import click

from .utils import load, load_node_of, profile_option


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


@plot.command("elastic")
@click.argument("identifier")
@click.option("-o", "--output", default="elastic.png", show_default=True)
@click.option("--reference", help="PK or UUID of an ArrayData holding a 6×6 reference tensor (GPa), e.g. DFT's.")
@profile_option
def plot_elastic(identifier, output, reference, profile_name):
    """The elastic tensor of a grace.elastic run as a heat map, with its moduli (against a reference)."""
    load(profile_name)
    from .. import plots

    job = load_node_of(identifier)
    if "elastic_tensor" not in job.outputs:
        raise click.ClickException(f"process {job.pk} has no elastic_tensor output (is it a grace.elastic run?)")
    tensor = job.outputs.elastic_tensor.get_array("elastic_tensor")
    reference_tensor = None
    if reference:
        node = load_node_of(reference)
        names = node.get_arraynames() if hasattr(node, "get_arraynames") else []
        name = "elastic_tensor" if "elastic_tensor" in names else (names[0] if len(names) == 1 else None)
        if name is None or node.get_shape(name) != (6, 6):
            raise click.ClickException(f"node {node.pk} holds no single 6×6 array (or one named elastic_tensor)")
        reference_tensor = node.get_array(name)
    title = f"{job.inputs.structure.get_formula()}, {job.process_label}<{job.pk}>"
    click.echo(plots.elastic_summary(tensor, output, reference=reference_tensor, title=title))


@plot.command("kappa")
@click.argument("identifier")
@click.option("-o", "--output", default="kappa.png", show_default=True)
@profile_option
def plot_kappa(identifier, output, profile_name):
    """Phonon bands, DOS and κ(T) of a grace.thermal_conductivity run or a grace.kappa job."""
    load(profile_name)
    from .. import plots

    job = load_node_of(identifier)
    if "kappa" not in job.outputs:
        raise click.ClickException(f"process {job.pk} has no kappa output (is it a grace.thermal_conductivity run?)")
    click.echo(plots.phonons_and_kappa_of(job, output))

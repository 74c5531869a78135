"""``aiida-grace plot``: PNG figures of what a process produced (training, evaluation, elastic, κ)."""

from __future__ import annotations

import functools

import click

from .utils import load, load_node_of, profile_option


@click.group()
def plot():
    """Write PNG figures of results."""


def verb(name: str, default_output: str):
    """A ``plot`` sub-command NAME IDENTIFIER [-o FILE] [-p PROFILE]: loads the profile, then calls the function
    with ``identifier``, ``output`` and its own options."""
    def wrap(function):
        @functools.wraps(function)
        def command(identifier, output, profile_name, **options):
            load(profile_name)
            return function(identifier, output, **options)

        command = profile_option(command)
        command = click.option("-o", "--output", default=default_output, show_default=True)(command)
        return plot.command(name)(click.argument("identifier")(command))

    return wrap


def process_with(identifier: str, output: str, what: str):
    """The process ``identifier`` (PK or UUID) if it has the output ``output``; else a message naming ``what``
    process it should be."""
    job = load_node_of(identifier)
    if output not in job.outputs:
        raise click.ClickException(f"process {job.pk} has no {output} output (is it {what}?)")
    return job


@verb("learning-curve", "learning_curve.png")
def plot_learning_curve(identifier, output):
    """Train/test loss and MAEs per epoch of a grace.train job."""
    from .. import plots

    job = process_with(identifier, "learning_curve", "a grace.train job")
    curve = job.outputs.learning_curve
    arrays = {name: curve.get_array(name) for name in curve.get_arraynames()}
    click.echo(plots.learning_curve(arrays, output, title=f"{job.process_label}<{job.pk}>"))


@verb("parity", "parity.png")
def plot_parity(identifier, output):
    """Predicted against reference energies, forces and stresses of a grace.evaluate job."""
    from .. import plots

    job = load_node_of(identifier)
    if "output_dataset" not in job.outputs or "dataset" not in job.inputs:
        raise click.ClickException(f"process {job.pk} is not a grace.evaluate job on a labelled dataset")
    title = f"{job.inputs.model.label or 'model'} <{job.inputs.model.pk}> on {job.inputs.dataset.label or 'dataset'}"
    click.echo(plots.parity(job.inputs.dataset.to_ase(), job.outputs.output_dataset.to_ase(), output, title=title))


@verb("elastic", "elastic.png")
@click.option("--reference", help="PK or UUID of an ArrayData holding a 6×6 reference tensor (GPa), e.g. DFT's.")
def plot_elastic(identifier, output, reference):
    """The elastic tensor of a grace.elastic run as a heat map, with its moduli (against a reference)."""
    from .. import plots

    job = process_with(identifier, "elastic_tensor", "a grace.elastic run")
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


@verb("kappa", "kappa.png")
def plot_kappa(identifier, output):
    """Phonon bands, DOS and κ(T) of a grace.thermal_conductivity run or a grace.kappa job."""
    from .. import plots

    job = process_with(identifier, "kappa", "a grace.thermal_conductivity run or grace.kappa job")
    click.echo(plots.phonons_and_kappa_of(job, output))


@verb("validation", "validation.png")
def plot_validation(identifier, output):
    """Per-item bars of a grace.eos, grace.point_defects, grace.surface_energy or grace.grain_boundary run,
    beside its reference values (redrawn from the stored results)."""
    from .. import plots
    from ..functions.validation import bars_table

    job = process_with(identifier, "output_parameters", "a validation workflow (grace.eos, grace.point_defects...)")
    results = dict(job.outputs.output_parameters) if not hasattr(job.outputs.output_parameters, "get_dict") else {}
    if not results or not all("values" in node.get_dict() for node in results.values()):
        raise click.ClickException(f"process {job.pk} is not a validation workflow")
    table, units = bars_table(results, job.inputs.reference.get_dict() if "reference" in job.inputs else {})
    click.echo(plots.property_bars(table, units, output, title=f"{job.process_label}<{job.pk}>"))


@verb("finetune-study", "finetune_study.png")
@click.option("--kind", type=click.Choice(["data-efficiency", "forgetting"]), default="data-efficiency",
              show_default=True, help="errors against training-set size, or downstream against original-set error")
def plot_finetune_study(identifier, output, kind):
    """The data-efficiency curves or the forgetting Pareto front of a grace.finetune_study run."""
    from .. import plots

    job = process_with(identifier, "table", "a grace.finetune_study run")
    table = job.outputs.table.get_dict()
    if "combinations" not in table:
        raise click.ClickException(f"process {job.pk} is not a grace.finetune_study run")
    draw = plots.data_efficiency if kind == "data-efficiency" else plots.forgetting_pareto
    path = draw(table, output, title=f"{job.process_label}<{job.pk}>: {kind}")
    if path is None:
        raise click.ClickException(f"process {job.pk} evaluated no model on an original dataset: nothing to plot")
    click.echo(path)


@verb("stability", "stability.png")
def plot_stability(identifier, output):
    """The hull plot of a grace.stability run (predicted against reference energy above the hull; binary hull)."""
    from ..stability_plots import hull_plot

    job = process_with(identifier, "results", "a grace.stability run")
    results = job.outputs.results.get_dict()
    if "candidates" not in results:
        raise click.ClickException(f"process {job.pk} is not a grace.stability run")
    click.echo(hull_plot(results, output, title=f"{job.process_label}<{job.pk}>"))


@verb("active-learning", "active_learning.png")
@click.option("--kind", type=click.Choice(["gamma", "errors"]), default="gamma", show_default=True,
              help="gamma: max γ of every explored frame per iteration; errors: test-set errors per iteration.")
def plot_active_learning(identifier, output, kind):
    """γ of fresh exploration or the held-out errors per iteration of a grace.active_learning run."""
    from ..active_learning_plots import errors_per_iteration, gamma_distribution
    from ..functions.active_learning import frame_gammas

    job = process_with(identifier, "summary", "a grace.active_learning run")
    summary = job.outputs.summary.get_dict()
    if kind == "errors":
        path = errors_per_iteration(summary["iterations"], output, title=f"{job.process_label}<{job.pk}>")
        if path is None:
            raise click.ClickException(f"process {job.pk} had no test set: no errors to plot")
    else:
        records = {name: node.get_dict() for name, node in job.outputs.records.items()}
        path = gamma_distribution(frame_gammas(records), summary["iterations"][0]["gamma_threshold"], output,
                                  title=f"{job.process_label}<{job.pk}>")
    click.echo(path)

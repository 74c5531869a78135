"""What the ``examples/`` scripts share: their common options, the EMT-Cu demo model, the closing hints.

Every example takes ``--code`` (the aiida-grace driver Code that runs its jobs), ``--gracemaker`` (the Code that
trains when no model is given) and ``--model PK|UUID`` (a stored GraceModelData to use instead of training one).
"""

from __future__ import annotations

import argparse

from aiida import orm
from aiida.engine import run_get_node

from .common.demo import training_parameters

DRIVER, GRACEMAKER = "grace-driver@localhost", "gracemaker@localhost"


MODEL_HELP = "PK or UUID of a stored GraceModelData to use (default: train the EMT Cu demo model, ~3 min on 2 cores)"
DEFECTS_MODEL_HELP = ("PK or UUID of a stored GraceModelData with Cu (default: train the EMT Cu defects model, ~5 min "
                      "on 2 cores)")


def example_parser(doc: str, *, model: str | None = MODEL_HELP, epochs: int = 150) -> argparse.ArgumentParser:
    """An argument parser with ``--code``/``--driver``, ``--gracemaker``, ``--epochs`` and (unless ``model`` is
    None) ``--model``, whose help ``model`` is."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", "--driver", dest="code", default=DRIVER,
                        help="label of the aiida-grace driver Code that runs the jobs (default: %(default)s)")
    parser.add_argument("--gracemaker", default=GRACEMAKER,
                        help="label of the gracemaker Code, used when a model is trained (default: %(default)s)")
    if model:
        parser.add_argument("--model", help=model)
    parser.add_argument("--epochs", type=int, default=epochs, help="epochs of training (default: %(default)s)")
    return parser


def emt_copper_model(gracemaker, driver, epochs: int = 150):
    """The demo model: a tiny float64 GRACE-1L (cutoff 5 Å) trained on EMT-labelled fcc Cu cells of 4 and 8
    atoms, strained by up to 3% and rattled by 0.03 Å, plus gently strained ones for the elastic regime."""
    from .functions import emt_dataset, merge_datasets

    wide = emt_dataset(orm.List(["Cu"]), orm.Int(48), orm.Int(21), orm.Float(0.03), orm.Float(0.03))
    near = emt_dataset(orm.List(["Cu"]), orm.Int(24), orm.Int(22), orm.Float(0.01), orm.Float(0.01))
    return train_demo(gracemaker, driver, merge_datasets(wide=wide, near=near), epochs, "GRACE-1L tiny, EMT Cu",
                      stress_weight=10.0)


def train_demo(gracemaker, driver, dataset, epochs: int, label: str, **parameters):
    """A tiny float64 GRACE-1L (cutoff 5 Å, learning rate 0.01) trained on 85% of ``dataset`` (the rest its
    test set) with ``grace.train``; labelled ``label``. Exits with the reason when the training fails."""
    from .calculations.train import GraceTrainCalculation
    from .functions import split_dataset

    split = split_dataset(dataset, orm.Float(0.15), orm.Int(0))
    settings = training_parameters(epochs, cutoff=5.0, learning_rate=0.01, **parameters)
    results, node = run_get_node(GraceTrainCalculation, code=gracemaker, driver_code=driver, dataset=split["train"],
                                 test_dataset=split["test"], parameters=orm.Dict(settings))
    if not node.is_finished_ok:
        raise SystemExit(f"training <{node.pk}> failed: {node.exit_status} {node.exit_message}")
    results["model"].label = label
    return results["model"]


def emt_defects_model(gracemaker, driver, epochs: int = 200):
    """The validation demo model: a tiny float64 GRACE-1L (cutoff 5 Å) trained on EMT Cu bulk cells over ±8% in
    volume, vacancy and interstitial supercells, slabs and a Σ5 bicrystal (:func:`emt_defect_dataset`)."""
    from .functions.synthetic import emt_defect_dataset

    return train_demo(gracemaker, driver, emt_defect_dataset(orm.Str("Cu"), orm.Int(7), orm.Int(3)), epochs,
                      "GRACE-1L tiny, EMT Cu defects")


def model_from_args(args, train=emt_copper_model, what: str = "EMT Cu demo model"):
    """The GraceModelData named by ``--model``, or ``what`` trained now by ``train`` (its PK printed)."""
    if args.model:
        return orm.load_node(args.model)
    model = train(orm.load_code(args.gracemaker), orm.load_code(args.code), args.epochs)
    print(f"trained the {what} <{model.pk}>: pass --model {model.pk} to the other examples to reuse it")
    return model


def run_or_exit(builder, label: str):
    """Run ``builder``; its results and node, or exit saying why ``label`` <PK> failed."""
    results, node = run_get_node(builder)
    if not node.is_finished_ok:
        raise SystemExit(f"{label} <{node.pk}> failed: {node.exit_status} {node.exit_message}")
    return results, node


def save_png(image: orm.SinglefileData, path: str) -> str:
    """Write the stored PNG ``image`` to ``path``; the path."""
    with open(path, "wb") as handle:
        handle.write(image.get_content(mode="rb"))
    return path


def run_validation(builder, label: str):
    """Run a validation workflow's ``builder``; its results and node, or exit saying why it failed."""
    results, node = run_or_exit(builder, label)
    path = save_png(results["plot"], f"{label.replace('.', '_')}_{node.pk}.png")
    print(f"\n{label} <{node.pk}>, model <{node.inputs.model.pk}>; plot: {path}")
    return results, node


def how_to_look(process, plot: str | None = None) -> str:
    """The commands that show ``process``, its outputs, its plot (an ``aiida-grace plot`` verb) and its graph."""
    lines = [f"Process in detail:  verdi process show {process.pk}",
             f"Its log:            verdi process report {process.pk}",
             f"Its outputs:        aiida-grace results {process.pk}"]
    if plot:
        lines.append(f"Its plot:           aiida-grace plot {plot} {process.pk}")
    lines.append(f"Provenance graph:   verdi node graph generate -f png -O graph_{process.pk}.png {process.pk}")
    return "\n".join(lines)


def emt_interface_energies(atoms, build, relax: dict) -> dict:
    """EMT's own (E − N ε_bulk) / 2A (meV/Å²) of the cells ``build(relaxed bulk)`` gives (key → cell: slabs or
    bicrystals), each relaxed with ``relax`` as the workflow relaxes them; A of the relaxed cell."""
    from .common.surface_energy import area, interface_energy

    relaxed = emt_relaxed(atoms, cell=True)
    epsilon = relaxed.get_potential_energy() / len(relaxed)
    energies = {}
    for key, cell in build(relaxed).items():
        final = emt_relaxed(cell, relax)
        energies[key] = interface_energy(final.get_potential_energy(), len(final), epsilon, area(final))["meV_per_A2"]
    return energies


def print_interface_energies(header: str, rows: dict, emt: dict, score: dict, what: str) -> None:
    """The table of the surface and boundary examples: per cell (key → its output row, first column ``header``)
    atoms, γ in meV/Å² and J/m², EMT's γ and the difference; then the score against EMT."""
    print(f"{header:<14} {'atoms':>5} {'γ GRACE (meV/Å²)':>17} {'J/m²':>6} {'EMT':>7} {'diff':>7}")
    for key, row in rows.items():
        print(f"{key:<14} {row['n_atoms']:5d} {row['meV_per_A2']:17.1f} {row['J_per_m2']:6.3f} {emt[key]:7.1f} "
              f"{100 * (row['meV_per_A2'] / emt[key] - 1):+6.1f}%")
    print(f"{what} SRME {score['srme']:.3f}, MAE {score['mae']:.1f} meV/Å² against EMT\n")


def emt_relaxed(atoms, relax: dict | None = None, cell: bool = False):
    """``atoms`` relaxed with EMT: the cell and ions with symmetry kept (``cell``), or the ions (and the cell
    along ``relax['mask']`` when ``relax['cell_filter']``) with ``relax``'s optimizer, fmax and steps."""
    from ase.calculators.emt import EMT

    from .driver.relax import relax_stage

    atoms = atoms.copy()
    atoms.calc = EMT()
    settings = {"optimizer": "BFGS", "fmax": 1e-4, "steps": 1000, "cell_filter": True} if cell else dict(relax)
    relax_stage(atoms, settings, fix_symmetry=cell)
    return atoms


def copper_validation(doc: str, workflow, label: str, emt_values, reference_columns):
    """The flow of the Cu validation examples: options, model, EMT's own values of the protocol's cells
    (``emt_values(copper, settings, cutoff)``), a reference table of them (``reference_columns(emt)``: quantity →
    {item: value}), the workflow run against it. Returns (results, node, emt)."""
    from ase.build import bulk

    parser = example_parser(doc, model=DEFECTS_MODEL_HELP, epochs=200)
    parser.add_argument("--protocol", default="fast", choices=("fast", "balanced", "stringent"))
    args = parser.parse_args()
    model = model_from_args(args, emt_defects_model, "EMT Cu defects model")
    copper = bulk("Cu", "fcc", a=3.6)
    emt = emt_values(copper, workflow.load_protocol(args.protocol), model.cutoff)
    reference = {"source": "EMT, relaxed directly with ase", "units": dict(workflow.QUANTITIES),
                 **reference_columns(emt)}
    builder = workflow.get_builder_from_protocol(orm.load_code(args.code), model, {"Cu": copper},
                                                 protocol=args.protocol, reference=reference)
    results, node = run_validation(builder, label)
    return results, node, emt

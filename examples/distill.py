"""Extended vs naive distillation in miniature (the paper's Fig. 10a): a GRACE-1L teacher that knows Cu, Al, Ni
(trained on EMT alloys and EMT-labelled unary/binary crystals) is distilled with grace.distill into two FS students:

- "downstream only": the teacher-labelled downstream structures (random ternary Cu/Al/Ni 8-atom cells) alone
  (``synthetic.extended: false``, the paper's "naive distilled");
- "extended": the same plus unary and binary crystals (ideal, EOS-strained, rattled) of the three elements.

Both are then scored against the teacher on a fresh test set (new downstream cells and new unary/binary crystals,
generated with other seeds and labelled by the teacher). Prints force and energy MAE per group.

    verdi run examples/distill.py [--epochs 100] [--model PK of a teacher]
"""

from aiida import orm
from aiida.engine import run_get_node

from aiida_grace.calculations.evaluate import GraceEvaluateCalculation
from aiida_grace.calculations.train import GraceTrainCalculation
from aiida_grace.common.demo import TINY_FS, training_parameters
from aiida_grace.common.distill import errors_by_group, synthetic_structures
from aiida_grace.common.distill_input import validate_distill_settings
from aiida_grace.data import GraceDatasetData
from aiida_grace.examples import example_parser, how_to_look
from aiida_grace.functions import emt_dataset, split_dataset
from aiida_grace.functions.synthetic import emt_structures
from aiida_grace.workflows.distill import GraceDistillWorkChain

ELEMENTS = ["Cu", "Al", "Ni"]
SYNTHETIC = {"unary_prototypes": ["fcc", "bcc", "hcp"], "binary_prototypes": ["B2", "L12"],
             "eos_strains": [-0.04, -0.02, 0.02, 0.04], "n_rattled": 1, "min_atoms_rattled": 8}


def parse_args():
    parser = example_parser(__doc__, model="PK or UUID of the teacher, a GraceModelData with Cu, Al and Ni "
                                           "(default: train one)", epochs=100)
    parser.add_argument("--teacher-epochs", type=int, default=15)
    return parser.parse_args()


def emt_labelled(structures):
    from ase.calculators.emt import EMT

    from aiida_grace.common.structures import with_labels

    out = []
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = EMT()
        out.append(with_labels(atoms, atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()))
    return out


def train_teacher(gracemaker, driver, epochs):
    """GRACE-1L (tiny, float64) on EMT alloys plus EMT-labelled unary and binary crystals: it knows the whole
    Cu-Al-Ni space, as a foundation model would."""
    settings = validate_distill_settings({"synthetic": {**SYNTHETIC, "seed": 100}})["synthetic"]
    crystals = emt_labelled(synthetic_structures([], ELEMENTS, settings))
    alloys = emt_structures(ELEMENTS, 60, seed=101, rattle=0.05, max_strain=0.03)
    split = split_dataset(GraceDatasetData(alloys + crystals).store(), orm.Float(0.1), orm.Int(0))
    parameters = training_parameters(epochs, cutoff=5.0, batch_size=8, test_batch_size=16)
    results, node = run_get_node(GraceTrainCalculation, code=gracemaker, driver_code=driver, dataset=split["train"],
                                 test_dataset=split["test"], parameters=orm.Dict(parameters))
    if not node.is_finished_ok:
        raise SystemExit(f"teacher training <{node.pk}> failed: {node.exit_message}")
    return results["model"]


def run_side_by_side(builders):
    """Run the processes of ``builders`` at the same time in this interpreter (as ``run_get_node`` runs one):
    their jobs overlap. A list of (outputs, node) in the order of ``builders``."""
    import asyncio

    from aiida.engine.utils import loop_scope
    from aiida.manage import get_manager

    runner = get_manager().get_runner()
    with loop_scope(runner.loop):
        processes = [runner.instantiate_process(builder) for builder in builders]
        runner.loop.run_until_complete(asyncio.gather(*(process.step_until_terminated() for process in processes)))
    return [(process.outputs, process.node) for process in processes]


def evaluate(driver, model, dataset, calculator):
    results, node = run_get_node(GraceEvaluateCalculation, code=driver, model=model, dataset=dataset,
                                 parameters=orm.Dict({"calculator": calculator}))
    if not node.is_finished_ok:
        raise SystemExit(f"evaluation <{node.pk}> failed: {node.exit_message}")
    return results["output_dataset"]


def main():
    args = parse_args()
    gracemaker, driver = orm.load_code(args.gracemaker), orm.load_code(args.code)
    teacher = orm.load_node(args.model) if args.model else train_teacher(gracemaker, driver, args.teacher_epochs)
    downstream = emt_dataset(orm.List(ELEMENTS), orm.Int(24), orm.Int(200), orm.Float(0.05), orm.Float(0.03))

    def distillation(extended: bool, epochs: int):
        overrides = {"synthetic": {**SYNTHETIC, "extended": extended},
                     "student": {"epochs": epochs, "cutoff": 5.0, "kwargs": TINY_FS},
                     "validation": {"held_out_fraction": 0.1}, "speed": {"enabled": False}}
        return GraceDistillWorkChain.get_builder_from_protocol(gracemaker, driver, teacher, downstream,
                                                               protocol="fast", overrides=overrides)

    # the downstream-only student trains for as many gradient updates as the extended one (more epochs on fewer
    # structures), so that the comparison is between training sets, not training lengths; the size of the
    # extended set is known before anything runs, so the two distillations run side by side
    extended = distillation(True, args.epochs)
    synthetic = validate_distill_settings(extended.parameters.get_dict())["synthetic"]
    n_extended = len(synthetic_structures(downstream.to_ase(), downstream.elements, synthetic))
    epochs = {"extended": args.epochs, "downstream only": round(args.epochs * n_extended / downstream.n_structures)}
    builders = {"extended": extended, "downstream only": distillation(False, epochs["downstream only"])}

    students = {}
    for name, (results, node) in zip(builders, run_side_by_side(list(builders.values()))):
        if not node.is_finished_ok:
            raise SystemExit(f"distillation <{node.pk}> failed: {node.exit_message}")
        students[name] = (results["student"], results["labelled_dataset"].n_structures, epochs[name])
    if students["extended"][1] != n_extended:
        raise SystemExit(f"the extended set has {students['extended'][1]} structures, not {n_extended}")

    # a fresh test set: new downstream cells and new unary/binary crystals, labelled by the teacher
    settings = validate_distill_settings({"synthetic": {**SYNTHETIC, "seed": 300}})["synthetic"]
    test_structures = synthetic_structures(emt_structures(ELEMENTS, 12, seed=301), ELEMENTS, settings)
    test = evaluate(driver, teacher, GraceDatasetData(test_structures).store(), "tensorflow")
    reference = test.to_ase()

    print(f"\nteacher <{teacher.pk}> GRACE-1L; students GRACE-FS, equal numbers of gradient updates; test set: "
          f"{len(reference)} structures labelled by the teacher; MAE against the teacher")
    print(f"{'student':<16} | {'train set':>9} | {'epochs':>6} | {'downstream F':>12} | {'downstream E':>12} | {'unary F':>8} | "
          f"{'unary E':>8} | {'binary F':>8} | {'binary E':>8}")
    print(f"{'':<16} | {'structs':>9} | {'':>6} | {'meV/Å':>12} | {'meV/atom':>12} | {'meV/Å':>8} | {'meV/atom':>8} | "
          f"{'meV/Å':>8} | {'meV/atom':>8}")
    print("-" * 113)
    for name, (student, n_train, n_epochs) in students.items():
        errors = errors_by_group(reference, evaluate(driver, student, test, "fs_cpp").to_ase())
        cells = [f"{errors[g]['forces_mae'] * 1e3:.1f}|{errors[g]['energy_per_atom_mae'] * 1e3:.1f}"
                 for g in ("downstream", "unary", "binary")]
        f = [c.split("|") for c in cells]
        print(f"{name:<16} | {n_train:>9} | {n_epochs:>6} | {f[0][0]:>12} | {f[0][1]:>12} | {f[1][0]:>8} | {f[1][1]:>8} | "
              f"{f[2][0]:>8} | {f[2][1]:>8}")
    print(f"\nthe last grace.distill run (downstream only):\n{how_to_look(node)}")


if __name__ == "__main__":
    main()

"""Active learning of hot copper with grace.active_learning, EMT playing DFT.

    verdi run examples/active_learning.py                    # trains the cold starting model first (~1 min)
    verdi run examples/active_learning.py --model PK --dataset PK   # a stored model and its training set instead

A tiny GRACE-1L model trained only on near-equilibrium Cu cells explores NVT MD at 1200 K. Every iteration builds
the model's UQ artifacts (grace_uq build), runs the MD, grades every frame by γ, picks the extrapolative frames
(grace_uq select, fps-extrap), labels them with EMT and fine-tunes the model on the grown training set, until the
fresh MD stays below the γ threshold or the iterations are spent. A held-out hot set (EMT cells rattled by 0.12 Å)
measures each iteration's model. Prints the iteration table, writes the γ-distribution and error plots.
"""

from aiida import orm
from ase.build import bulk

from aiida_grace.common.demo import training_parameters
from aiida_grace.data import GraceDatasetData
from aiida_grace.examples import example_parser, how_to_look, run_or_exit, save_png
from aiida_grace.functions.synthetic import emt_structures
from aiida_grace.workflows.active_learning import GraceActiveLearningWorkChain

GAMMA_THRESHOLD = 3.0


def demo_sets() -> dict:
    """EMT Cu: near-equilibrium training (24 cells of 4 and 8 atoms) and validation (6) sets, and a held-out hot
    set (12 cells with 0.12 Å displacements, as in MD at ~1000 K)."""
    return {"train": GraceDatasetData(emt_structures(["Cu"], 24, 70, rattle=0.02, max_strain=0.01)).store(),
            "validation": GraceDatasetData(emt_structures(["Cu"], 6, 71, rattle=0.02, max_strain=0.01)).store(),
            "hot": GraceDatasetData(emt_structures(["Cu"], 12, 72, rattle=0.12, max_strain=0.03)).store()}


def cold_model(gracemaker, driver, train, validation, epochs: int):
    """The starting model: a tiny float64 GRACE-1L (cutoff 4.5 Å) trained on the near-equilibrium cells."""
    from aiida_grace.calculations.train import GraceTrainCalculation

    builder = GraceTrainCalculation.get_builder()
    builder.code, builder.driver_code, builder.dataset, builder.test_dataset = gracemaker, driver, train, validation
    builder.parameters = orm.Dict(training_parameters(epochs, cutoff=4.5, learning_rate=0.01))
    results, _ = run_or_exit(builder, "grace.train")
    results["model"].label = "GRACE-1L tiny, EMT Cu near equilibrium"
    return results["model"]


def loop_parameters(iterations: int, retrain_epochs: int) -> dict:
    retrain = training_parameters(retrain_epochs, cutoff=4.5, learning_rate=0.01)
    retrain["fit"]["reset_epoch_and_step"] = True
    return {
        "max_iterations": iterations, "gamma_threshold": GAMMA_THRESHOLD,
        "uncertainty": {"n_clusters": 1, "rp_dim": 16},  # a small feature space: 24 cells are enough for it
        "select": {"n_structures": 8, "strategy": "fps-extrap"},
        "explore": {"temperatures": [1200.0], "steps": 200, "dump_interval": 10, "thermo_interval": 10,
                    "timestep": 2.0, "engine": "ase", "ensemble": "nvt", "tdamp": 50.0},
        "train": retrain,
    }


def print_table(summary: dict) -> None:
    print(f"{'iteration':>9} {'frames':>6} {'γ>thr':>5} {'max γ':>8} {'train max γ':>11} {'picked':>6} "
          f"{'F RMSE':>8} {'F MAE':>8} {'E MAE':>8}   (hot test set: eV/Å, meV/atom)")
    for row in summary["iterations"]:
        errors = row.get("test_errors") or {}
        print(f"{row['iteration']:>9} {row['n_frames']:>6} {row['n_extrapolative']:>5} {row['gamma_max']:8.3f} "
              f"{row['training_gamma_max']:11.3f} {row['n_selected']:>6} {errors.get('forces_rmse', 0):8.4f} "
              f"{errors.get('forces_mae', 0):8.4f} {1000 * errors.get('energy_per_atom_mae', 0):8.3f}")
    print(f"converged: {summary['converged']}; hot-set force RMSE first/last model: "
          f"{summary['force_rmse_reduction']:.2f}×")


def main():
    parser = example_parser(__doc__, model="PK or UUID of a stored starting GraceModelData with Cu (give --dataset "
                                           "too; default: train the cold Cu model)", epochs=40)
    parser.add_argument("--dataset", help="PK or UUID of the starting model's training set (with --model)")
    parser.add_argument("--iterations", type=int, default=2, help="retrainings at most (default: %(default)s)")
    parser.add_argument("--retrain-epochs", type=int, default=20, help="epochs per fine-tuning (default: %(default)s)")
    args = parser.parse_args()
    driver, gracemaker = orm.load_code(args.code), orm.load_code(args.gracemaker)
    sets = demo_sets()
    if args.model:
        if not args.dataset:
            raise SystemExit("--model needs --dataset (the model's training set)")
        model, train = orm.load_node(args.model), orm.load_node(args.dataset)
    else:
        model, train = cold_model(gracemaker, driver, sets["train"], sets["validation"], args.epochs), sets["train"]
        print(f"trained the cold starting model <{model.pk}>")
    starts = {"fcc8": orm.StructureData(ase=bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 1, 1))),
              "fcc8_expanded": orm.StructureData(ase=bulk("Cu", "fcc", a=3.66, cubic=True).repeat((1, 2, 1)))}
    builder = GraceActiveLearningWorkChain.get_builder()
    builder.code, builder.driver_code = gracemaker, driver
    builder.model, builder.dataset = model, train
    builder.validation_dataset, builder.test_dataset = sets["validation"], sets["hot"]
    builder.structures = starts
    builder.reference.process = orm.Str("aiida.calculations:grace.emt_labels")
    builder.parameters = orm.Dict(loop_parameters(args.iterations, args.retrain_epochs))
    results, node = run_or_exit(builder, "grace.active_learning")
    print(f"grace.active_learning <{node.pk}>")
    print_table(results["summary"].get_dict())
    for name, image in results["plots"].items():
        print(f"{name}: {save_png(image, f'active_learning_{name}_{node.pk}.png')}")
    print(f"last model <{results['model'].pk}>, trained on {results['dataset'].n_structures} structures")
    print(how_to_look(node, plot="active-learning"))


if __name__ == "__main__":
    main()

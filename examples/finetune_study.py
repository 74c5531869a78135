"""Fine-tuning study in miniature (the paper's Figs. 8-9): a parent GRACE-1L that knows Cu, Al and Ni (trained on
EMT alloys) meets a "new level of theory" for Al-Ni (EMT energies, forces and stresses × 1.25, Ni +0.2 eV/atom).
grace.finetune_study fine-tunes it naively and with frozen weights (2a), and trains the same architecture from
scratch, on growing parts of the new data; every model is scored on held-out Al-Ni cells and on the parent's
original Cu-Al-Ni data (forgetting). Prints the table and the Pareto front; writes both pictures.

    verdi run examples/finetune_study.py [--model PK of a Cu-Al-Ni parent] [--study-epochs 30]
"""

from aiida import orm

from aiida_grace.examples import example_parser, how_to_look, run_or_exit, save_png, train_demo
from aiida_grace.functions import emt_dataset, merge_datasets
from aiida_grace.functions.synthetic import new_level_of_theory
from aiida_grace.workflows.finetune_study import GraceFinetuneStudyWorkChain


def parse_args():
    parser = example_parser(__doc__, model="PK or UUID of the parent, a GraceModelData with Cu, Al and Ni that "
                                           "grace.train trained (default: train one, ~3 min)", epochs=60)
    parser.add_argument("--study-epochs", type=int, default=30, help="epochs of every fine-tuning (from scratch: "
                                                                     "twice as many) (default: %(default)s)")
    parser.add_argument("--learning-rate", type=float, default=0.01,
                        help="of every training: tiny models learn at 0.01; the protocol's 0.001 suits a foundation "
                             "model (default: %(default)s)")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.25, 0.5, 1.0],
                        help="fractions of the new data to train on (default: %(default)s)")
    return parser.parse_args()


def emt(elements, n, seed):
    return emt_dataset(orm.List(elements), orm.Int(n), orm.Int(seed), orm.Float(0.08), orm.Float(0.04))


def new_theory(dataset):
    return new_level_of_theory(dataset, orm.Float(1.25), orm.Str("Ni"), orm.Float(0.2))


def print_table(table: dict) -> None:
    print(f"\n{'combination':28s} {'n':>3s} {'E test':>8s} {'F test':>8s} {'E orig':>8s} {'E orig Cu':>9s} "
          f"{'max dE Cu':>9s}")
    print(f"{'':28s} {'':>3s} {'meV/at':>8s} {'meV/Å':>8s} {'meV/at':>8s} {'meV/at':>9s} {'eV':>9s}")
    for name, row in sorted(table["combinations"].items(), key=lambda item: (item[1]["strategy"],
                                                                             item[1]["n_train"])):
        original = row.get("original", {})
        cells = [1000 * row["downstream"]["all"]["energy_per_atom"]["mae"],
                 1000 * row["downstream"]["all"]["forces"]["mae"],
                 1000 * original["all"]["energy_per_atom"]["mae"] if original else float("nan"),
                 1000 * original["other"]["energy_per_atom"]["mae"] if "other" in original else float("nan")]
        change = row.get("original_energy_change")
        print(f"{name:28s} {row['n_train']:3d} " + " ".join(f"{c:8.1f}" for c in cells[:3])
              + f" {cells[3]:9.1f} " + f"{change if change is not None else float('nan'):9.2e}")
    for label, front in table["pareto_front"].items():
        print(f"Pareto front of {label.replace('_', ' ')} MAE (test vs original): {', '.join(front)}")


def main():
    args = parse_args()
    gracemaker, driver = orm.load_code(args.gracemaker), orm.load_code(args.code)
    if args.model:
        parent = orm.load_node(args.model)
    else:
        parent = train_demo(gracemaker, driver, emt(["Cu", "Al", "Ni"], 48, 300), args.epochs,
                            "GRACE-1L tiny, EMT Cu-Al-Ni")
        print(f"trained the parent <{parent.pk}>: pass --model {parent.pk} to reuse it")
    original = merge_datasets(cu=emt(["Cu"], 6, 301), alloys=emt(["Cu", "Al", "Ni"], 10, 302))
    fit = {"opt_params": {"learning_rate": args.learning_rate}, "batch_size": 4,
           "scheduler_params": {"minimum_learning_rate": args.learning_rate / 10}}
    overrides = {"fractions": args.fractions, "training": {"fit": {**fit, "maxiter": args.study_epochs}},
                 "scratch": {"fit": {**fit, "maxiter": 2 * args.study_epochs}}}
    builder = GraceFinetuneStudyWorkChain.get_builder_from_protocol(
        gracemaker, driver, new_theory(emt(["Al", "Ni"], 40, 303)), new_theory(emt(["Al", "Ni"], 10, 304)),
        parent_model=parent, original_dataset=original, protocol="fast", overrides=overrides)
    results, node = run_or_exit(builder, "grace.finetune_study")
    print_table(results["table"].get_dict())
    for name in ("data_efficiency", "forgetting"):
        print(f"{name} plot: {save_png(results[name], f'{name}_{node.pk}.png')}")
    print(f"\ngrace.finetune_study <{node.pk}>, parent <{parent.pk}>")
    print(how_to_look(node, "finetune-study"))


if __name__ == "__main__":
    main()

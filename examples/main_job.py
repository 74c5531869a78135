"""The main job: EMT data → train a small GRACE model → fine-tune it with frozen weights → evaluate both.

Run with ``verdi run examples/main_job.py`` (``--help`` for options). Every dataset, model and number is
a node: the script ends by printing the command that draws the provenance graph.
"""

from aiida import orm
from aiida.engine import run_get_node

from aiida_grace.calculations.evaluate import GraceEvaluateCalculation
from aiida_grace.calculations.train import GraceTrainCalculation
from aiida_grace.common.demo import training_parameters
from aiida_grace.examples import example_parser, how_to_look
from aiida_grace.functions import emt_dataset, split_dataset


def parse_args():
    parser = example_parser(__doc__, model=None, epochs=30)
    parser.add_argument("--finetune-epochs", type=int, default=15, help="epochs of the frozen fine-tuning")
    return parser.parse_args()


def make_datasets():
    """Cu/Al EMT sets: a base set, a fine-tuning set (hotter, Cu-rich) and a held-out test set."""
    base = emt_dataset(orm.List(["Cu", "Al"]), orm.Int(48), orm.Int(1), orm.Float(0.05), orm.Float(0.03))
    finetune = emt_dataset(orm.List(["Cu", "Al", "Cu"]), orm.Int(24), orm.Int(2), orm.Float(0.12), orm.Float(0.05))
    held_out = emt_dataset(orm.List(["Cu", "Al"]), orm.Int(16), orm.Int(3), orm.Float(0.08), orm.Float(0.04))
    split = split_dataset(base, orm.Float(0.15), orm.Int(0))
    for node, label in ((base, "Cu-Al EMT base"), (split["train"], "train"), (split["test"], "test"),
                        (finetune, "Cu-rich hot (fine-tune)"), (held_out, "held-out")):
        node.label = label
    return split["train"], split["test"], finetune, held_out


def train(codes, dataset, test, epochs, parent=None, finetune=None):
    parameters = training_parameters(epochs, cutoff=5.0, learning_rate=0.01)
    if finetune:
        parameters["finetune"] = finetune
    inputs = {"code": codes["gracemaker"], "driver_code": codes["driver"], "dataset": dataset,
              "test_dataset": test, "parameters": orm.Dict(parameters)}
    if parent is not None:
        inputs["parent_model"] = parent
    results, node = run_get_node(GraceTrainCalculation, **inputs)
    if not node.is_finished_ok:
        raise SystemExit(f"training <{node.pk}> failed: {node.exit_status} {node.exit_message}")
    return results, node


def evaluate(codes, model, dataset):
    results, node = run_get_node(GraceEvaluateCalculation, code=codes["driver"], model=model, dataset=dataset)
    if not node.is_finished_ok:
        raise SystemExit(f"evaluation <{node.pk}> failed: {node.exit_status} {node.exit_message}")
    return results, node


def main():
    args = parse_args()
    codes = {"gracemaker": orm.load_code(args.gracemaker), "driver": orm.load_code(args.code)}
    train_set, test_set, finetune_set, held_out = make_datasets()
    print(f"datasets: train <{train_set.pk}> {train_set.n_structures}, test <{test_set.pk}> {test_set.n_structures}, "
          f"fine-tune <{finetune_set.pk}> {finetune_set.n_structures}, held-out <{held_out.pk}> {held_out.n_structures}")

    base, base_job = train(codes, train_set, test_set, args.epochs)
    base["model"].label = "GRACE-1L tiny"
    print(f"trained  model <{base['model'].pk}> in job <{base_job.pk}> "
          f"({base['model'].base.attributes.get('n_parameters')} parameters)")
    tuned, tuned_job = train(codes, finetune_set, test_set, args.finetune_epochs, parent=base["model"],
                             finetune={"strategy": "frozen_2a"})
    tuned["model"].label = "GRACE-1L tiny, fine-tuned 2a"
    print(f"fine-tuned model <{tuned['model'].pk}> in job <{tuned_job.pk}> (frozen weights, strategy 2a)")

    rows = []
    for name, model in (("base", base["model"]), ("fine-tuned (2a)", tuned["model"])):
        for set_name, dataset in (("held-out", held_out), ("fine-tune set", finetune_set)):
            results, node = evaluate(codes, model, dataset)
            errors = results["errors"].get_dict()
            last_errors = results["errors"]
            rows.append((name, set_name, node.pk, 1000 * errors["energy_per_atom_mae"],
                         1000 * errors["forces_mae"], errors["stress_mae"]))

    print()
    print(f"{'model':<16} {'evaluated on':<14} {'job':>6} {'E MAE meV/atom':>15} {'F MAE meV/Å':>12} {'S MAE GPa':>10}")
    for row in rows:
        print(f"{row[0]:<16} {row[1]:<14} {row[2]:>6} {row[3]:>15.2f} {row[4]:>12.1f} {row[5]:>10.3f}")
    print()
    print("All processes:      verdi process list -a")
    print(how_to_look(tuned_job, plot="learning-curve"))
    print(f"Parity plot of the last evaluation: aiida-grace plot parity {node.pk}")
    print("Provenance graph from the EMT data to the fine-tuned model's errors on the fine-tune set:")
    print(f"  verdi node graph generate -a 12 -d 0 -f png -O main_job_graph.png {last_errors.pk}")


if __name__ == "__main__":
    main()

"""Stability of Cu–Pd orderings with grace.stability, EMT playing DFT.

    verdi run examples/stability.py                  # trains the EMT Cu–Pd model first (~2 min on 2 cores)
    verdi run examples/stability.py --model PK       # a stored GraceModelData with Cu and Pd instead

Ordered Cu–Pd structures relaxed with EMT: seven are the known reference set (its hull), the others are the
candidates, with their EMT relaxed energies as reference labels and EMT relaxed cells as reference structures.
The workflow relaxes the candidates with the model in chunks, relaxes fcc and bcc Cu and Pd for the elemental
references, places each candidate against the reference hull and scores the stable/unstable calls against EMT's.
Prints the metric table and one row per candidate, writes the hull plot.
"""

from aiida import orm

from aiida_grace.common.binary_demo import stability_demo
from aiida_grace.data import GraceDatasetData
from aiida_grace.examples import example_parser, how_to_look, run_or_exit, save_png, train_demo
from aiida_grace.workflows.stability import GraceStabilityWorkChain

METRICS = ("n", "TP", "FP", "TN", "FN", "precision", "recall", "F1", "accuracy", "DAF", "MAE", "RMSE", "R2")


def print_tables(results: dict, metrics: dict, geometry: dict) -> None:
    """The metric table, then per candidate its formation energy and energy above the hull against EMT's."""
    print(" ".join(f"{key:>9}" for key in METRICS))
    print(" ".join(f"{metrics[key]:>9}" if isinstance(metrics[key], int) else
                   f"{metrics[key]:9.3f}" if metrics[key] is not None else f"{'n/a':>9}" for key in METRICS))
    print(f"(MAE, RMSE in eV/atom; {metrics['n_failed']} failed, {metrics['n_not_converged']} not converged; "
          f"mean RMSD {geometry['mean_rmsd']:.4f}, space group kept {geometry['fraction_space_group_kept']['0.01']:.2f}"
          f" at symprec 0.01 Å)\n")
    print(f"{'candidate':<13} {'E_f GRACE':>9} {'E_f EMT':>8} {'E_hull GRACE':>12} {'E_hull EMT':>10} "
          f"{'stable':>6} {'EMT':>5} {'RMSD':>6}   (eV/atom)")
    for name, row in sorted(results["candidates"].items(), key=lambda item: item[1]["reference_e_above_hull"]):
        print(f"{name:<13} {row['e_form']:9.4f} {row['reference_e_form']:8.4f} {row['e_above_hull']:12.4f} "
              f"{row['reference_e_above_hull']:10.4f} {str(row['stable']):>6} {str(row['reference_stable']):>5} "
              f"{geometry['items'][name]['rmsd']:6.3f}")


def main():
    parser = example_parser(__doc__, model="PK or UUID of a stored GraceModelData with Cu and Pd (default: train "
                                           "the EMT Cu–Pd model, ~2 min on 2 cores)", epochs=60)
    parser.add_argument("--protocol", default="balanced", choices=("fast", "balanced", "stringent"))
    parser.add_argument("--chunk", type=int, default=3, help="candidates per chunk (one job each; default 3)")
    args = parser.parse_args()
    demo = stability_demo()
    if args.model:
        model = orm.load_node(args.model)
    else:
        model = train_demo(orm.load_code(args.gracemaker), orm.load_code(args.code),
                           GraceDatasetData(demo["training"]), args.epochs, "GRACE-1L tiny, EMT Cu-Pd")
        print(f"trained the EMT Cu–Pd model <{model.pk}>: pass --model {model.pk} to reuse it")
    builder = GraceStabilityWorkChain.get_builder_from_protocol(
        orm.load_code(args.code), model, GraceDatasetData(demo["candidates"]),
        {name: list(entry) for name, entry in demo["reference_entries"].items()}, args.protocol,
        reference_structures=GraceDatasetData(demo["reference_structures"]),
        batching={"max_structures_per_job": args.chunk})
    results, node = run_or_exit(builder, "grace.stability")
    path = save_png(results["hull_plot"], f"grace_stability_{node.pk}.png")
    print(f"\ngrace.stability <{node.pk}>, model <{model.pk}>; hull plot: {path}")
    print("elemental references (eV/atom, relaxed by the model): " + ", ".join(
        f"{el} {e:.4f}" for el, e in results["elemental_references"].get_dict().items()))
    print_tables(results["results"].get_dict(), results["metrics"].get_dict(), results["geometry"].get_dict())
    print()
    print(how_to_look(node))


if __name__ == "__main__":
    main()

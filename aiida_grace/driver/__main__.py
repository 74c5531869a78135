"""Command line of the compute-side driver: ``aiida-grace-driver {to-dataframe,evaluate,kappa,md,uq-build,uq-select} ...``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aiida-grace-driver", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    convert = commands.add_parser("to-dataframe", help="extxyz → gracemaker pandas pickle, in pairs: IN OUT [IN OUT]")
    convert.add_argument("paths", nargs="+")
    evaluate = commands.add_parser("evaluate", help="evaluate or relax structures with a GRACE model")
    evaluate.add_argument("settings", help="evaluate.yaml written by the grace.evaluate CalcJob")
    kappa = commands.add_parser("kappa", help="fc2/fc3, phonons and thermal conductivity with phono3py")
    kappa.add_argument("settings", help="kappa.yaml written by the grace.kappa CalcJob")
    md = commands.add_parser("md", help="molecular dynamics with ASE or LAMMPS")
    md.add_argument("settings", help="md.yaml written by the grace.md CalcJob")
    for name, what in (("uq-build", "build a model's UQ artifacts (grace_uq build)"),
                       ("uq-select", "γ of a candidate pool and a selection from it (grace_uq predict, select)")):
        command = commands.add_parser(name, help=what)
        command.add_argument("settings", help="uq.yaml written by the grace.uncertainty / grace.select CalcJob")
    check = commands.add_parser("check-checkpoint",
                                help="before gracemaker -rl: replace a broken regular checkpoint by the best one")
    check.add_argument("folder", help="gracemaker's seed/<N>/checkpoints folder")
    args = parser.parse_args(argv)

    if args.command == "check-checkpoint":
        from .checkpoint import repair

        return repair(args.folder)
    if args.command == "to-dataframe":
        from .dataframe import convert_pairs

        return convert_pairs(args.paths)
    if args.command in ("uq-build", "uq-select"):
        from .uncertainty import run_from_settings as run_uncertainty

        return run_uncertainty(args.settings, args.command.removeprefix("uq-"))
    if args.command == "md":
        from .md import run_from_settings as run_md

        return run_md(args.settings)
    if args.command == "kappa":
        from .kappa import run_from_settings as run_kappa

        return run_kappa(args.settings)
    from .evaluate import run_from_settings

    return run_from_settings(args.settings)


if __name__ == "__main__":
    sys.exit(main())

"""``grace.md``: one MD job (``grace.md`` CalcJob) followed by the stability analysis as calcfunctions."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain

from ..calculations.md import GraceMdCalculation
from ..functions.md_analysis import md_energy_drift, md_msd, md_rdf

__all__ = ("GraceMdWorkChain",)

ANALYSIS_DEFAULTS = {"r_max": 6.0, "n_bins": 120, "skip_fraction": 0.2, "fit_from": 0.2}


def validate_analysis(value, _):
    unknown = set(value.get_dict()) - set(ANALYSIS_DEFAULTS)
    if unknown:
        return f"unknown analysis setting(s) {', '.join(sorted(unknown))}; known: {', '.join(ANALYSIS_DEFAULTS)}"
    merged = {**ANALYSIS_DEFAULTS, **value.get_dict()}
    if not 0 <= merged["skip_fraction"] < 1 or not 0 <= merged["fit_from"] < 1:
        return "skip_fraction and fit_from must lie in [0, 1)"
    if merged["r_max"] <= 0 or int(merged["n_bins"]) < 1:
        return "r_max (Å) and n_bins must be positive"


class GraceMdWorkChain(WorkChain):
    """MD of a structure with a GRACE model, then energy drift (NVE), RDFs and MSD/diffusion, each with a plot."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(GraceMdCalculation, namespace="md")
        spec.input("analysis", valid_type=orm.Dict, default=lambda: orm.Dict(ANALYSIS_DEFAULTS),
                   validator=validate_analysis,
                   help="r_max (Å) and n_bins of the RDF; skip_fraction of frames dropped as equilibration; "
                        "fit_from: MSD fit window start, as a fraction of the longest lag.")
        spec.outline(cls.run_md, cls.inspect_md, cls.analyse)

        spec.expose_outputs(GraceMdCalculation)
        spec.output("energy_drift", valid_type=orm.Dict, required=False,
                    help="NVE only: drift (eV/atom/ns), max_deviation and fluctuation (eV/atom).")
        spec.output("rdf", valid_type=orm.ArrayData, help="r (Å) and g(r) per element pair.")
        spec.output("rdf_peaks", valid_type=orm.Dict, help="Position of the highest g(r) peak per pair (Å).")
        spec.output("msd", valid_type=orm.ArrayData, help="lag (ps) and MSD (Å²) per element.")
        spec.output("diffusion", valid_type=orm.Dict, help="Diffusion coefficient per element (Å²/ps, cm²/s).")
        spec.output_namespace("plots", valid_type=orm.SinglefileData, dynamic=True,
                              help="PNG plots: energy_drift (NVE), rdf, msd.")

        # 4xx: the MD job failed
        spec.exit_code(401, "ERROR_MD_FAILED", message="the MD job <{pk}> failed: {message}")

    def run_md(self):
        inputs = self.exposed_inputs(GraceMdCalculation, namespace="md")
        inputs.setdefault("metadata", {})["call_link_label"] = "md"
        future = self.submit(GraceMdCalculation, **inputs)
        self.report(f"running MD of {self.inputs.md.structure.get_formula()} in <{future.pk}>")
        return ToContext(md=future)

    def inspect_md(self):
        node = self.ctx.md
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_MD_FAILED.format(pk=node.pk, message=node.exit_message or node.process_state)
        self.out_many(self.exposed_outputs(node, GraceMdCalculation))
        summary = node.outputs.output_parameters.get_dict()
        self.report(f"{summary['steps']} steps of {summary['n_atoms']} atoms ({summary['engine']}, "
                    f"{summary.get('pair_style', summary['calculator'])}): "
                    f"{summary['seconds_per_atom_step'] * 1e6:.1f} µs/atom/step")

    def analyse(self):
        options = {**ANALYSIS_DEFAULTS, **self.inputs.analysis.get_dict()}
        trajectory = self.ctx.md.outputs.trajectory
        if self.ctx.md.outputs.output_parameters["ensemble"] == "nve":
            drift = md_energy_drift(self.ctx.md.outputs.thermo)
            self.out("energy_drift", drift["result"])
            self.out("plots.energy_drift", drift["plot"])
            self.report(f"NVE energy drift {drift['result']['drift']:.3g} eV/atom/ns")
        rdf = md_rdf(trajectory, orm.Dict({k: options[k] for k in ("r_max", "n_bins", "skip_fraction")}))
        self.out("rdf", rdf["rdf"])
        self.out("rdf_peaks", rdf["result"])
        self.out("plots.rdf", rdf["plot"])
        msd = md_msd(trajectory, orm.Dict({k: options[k] for k in ("skip_fraction", "fit_from")}))
        self.out("msd", msd["msd"])
        self.out("diffusion", msd["result"])
        self.out("plots.msd", msd["plot"])

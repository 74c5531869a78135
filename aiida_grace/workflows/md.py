"""``grace.md``: one MD job followed by the stability analysis as calcfunctions.

The job is a ``grace.md`` CalcJob (ASE, or LAMMPS through its Python module) run through ``grace.base_md``, which
continues it after a walltime, or, with ``lammps_code``, an aiida-lammps ``lammps.raw`` job running
``pair_style grace``/``grace/fs`` in a LAMMPS that has them.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain, if_

from ..calculations.md import GraceMdCalculation
from ..common.md_input import validate_settings
from ..functions.lammps_native import lammps_md_outputs
from ..functions.md_analysis import md_energy_drift, md_msd, md_rdf
from .base_md import GraceBaseMdWorkChain
from .lammps_native import NativeLammpsError, get_lammps_raw_builder, native_pair_style
from .utils import failure_reason, read_protocol

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


def validate_inputs(inputs, _):
    """Exactly one of md.code (the driver) and lammps_code; γ (md.uncertainty) only through the driver."""
    if ("lammps_code" in inputs) == ("code" in inputs["md"]):
        return "give either md.code (the aiida-grace driver) or lammps_code (a LAMMPS with pair_style grace)"
    if "lammps_code" in inputs and "uncertainty" in inputs["md"]:
        return "γ (md.uncertainty) needs the aiida-grace driver (md.code, engine 'ase'), not lammps_code"


class GraceMdWorkChain(WorkChain):
    """MD of a structure with a GRACE model, then energy drift (NVE), RDFs and MSD/diffusion, each with a plot."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(GraceMdCalculation, namespace="md")
        spec.inputs["md"]["code"].required = False
        spec.input("lammps_code", valid_type=orm.AbstractCode, required=False,
                   help="A LAMMPS with pair_style grace/grace/fs (ML-PACE, ICAMS fork): runs aiida-lammps' "
                        "lammps.raw with the native input (grace/fs for calculator fs_cpp) instead of md.code.")
        spec.input("analysis", valid_type=orm.Dict, default=lambda: orm.Dict(ANALYSIS_DEFAULTS),
                   validator=validate_analysis,
                   help="r_max (Å) and n_bins of the RDF; skip_fraction of frames dropped as equilibration; "
                        "fit_from: MSD fit window start, as a fraction of the longest lag.")
        spec.inputs.validator = validate_inputs
        spec.outline(
            if_(cls.runs_native_lammps)(cls.run_lammps_native, cls.inspect_lammps_native)
            .else_(cls.run_md, cls.inspect_md),
            cls.analyse,
        )

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
        spec.exit_code(402, "ERROR_LAMMPS_NOT_NATIVE", message="{message}")

    @classmethod
    def get_builder_from_protocol(cls, code, model, structure, protocol=None, overrides=None, options=None, *,
                                  lammps_code=None):
        """A builder with the MD settings of ``protocol`` (``protocols/md.yaml``: fast, balanced, stringent)
        merged with ``overrides`` (``{"parameters": {...}, "analysis": {...}}``); ``code`` is the aiida-grace
        driver (None with ``lammps_code``); ``options`` go to the MD job's ``metadata.options``."""
        inputs = read_protocol("md", protocol, overrides)
        builder = cls.get_builder()
        if code is not None:
            builder.md.code = code
        if lammps_code is not None:
            builder.lammps_code = lammps_code
        builder.md.structure = structure
        builder.md.model = model
        builder.md.parameters = orm.Dict(validate_settings(inputs["parameters"]))
        builder.analysis = orm.Dict(inputs["analysis"])
        for key, value in (options or {}).items():
            builder.md.metadata.options[key] = value
        return builder

    def runs_native_lammps(self):
        return "lammps_code" in self.inputs

    def run_md(self):
        inputs = self.exposed_inputs(GraceMdCalculation, namespace="md")
        future = self.submit(GraceBaseMdWorkChain, md=inputs, metadata={"call_link_label": "md"})
        self.report(f"running MD of {self.inputs.md.structure.get_formula()} in <{future.pk}>")
        return ToContext(md=future)

    def inspect_md(self):
        node = self.ctx.md
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_MD_FAILED.format(pk=node.pk, message=failure_reason(node))
        self.out_many(self.exposed_outputs(node, GraceMdCalculation))
        self.ctx.series = node.outputs
        summary = node.outputs.output_parameters.get_dict()
        self.report(f"{summary['steps']} steps of {summary['n_atoms']} atoms ({summary['engine']}, "
                    f"{summary.get('pair_style', summary['calculator'])}): "
                    f"{summary['seconds_per_atom_step'] * 1e6:.1f} µs/atom/step")

    def _md_parameters(self) -> orm.Dict:
        return self.inputs.md.parameters if "parameters" in self.inputs.md else orm.Dict({})

    def run_lammps_native(self):
        md = self.inputs.md
        pair_style = native_pair_style(validate_settings(self._md_parameters().get_dict()))
        try:  # probes the Code for the pair style first
            builder = get_lammps_raw_builder(self.inputs.lammps_code, md.structure, md.model, self._md_parameters(),
                                             pair_style=pair_style, options=dict(md.metadata.get("options", {})))
        except NativeLammpsError as exception:
            return self.exit_codes.ERROR_LAMMPS_NOT_NATIVE.format(message=str(exception))
        builder.metadata.call_link_label = "lammps"
        future = self.submit(builder)
        self.report(f"running MD of {md.structure.get_formula()} with pair_style {pair_style} in <{future.pk}>")
        return ToContext(md=future)

    def inspect_lammps_native(self):
        node = self.ctx.md
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_MD_FAILED.format(pk=node.pk, message=failure_reason(node))
        outputs = lammps_md_outputs(node.inputs.script, node.outputs.retrieved, self.inputs.md.structure,
                                    self._md_parameters())
        self.out_many(outputs)
        self.out("lammps_input", node.inputs.script)
        self.ctx.series = outputs

    def analyse(self):
        options = {**ANALYSIS_DEFAULTS, **self.inputs.analysis.get_dict()}
        series = self.ctx.series
        if series["output_parameters"]["ensemble"] == "nve":
            drift = md_energy_drift(series["thermo"])
            self.out("energy_drift", drift["result"])
            self.out("plots.energy_drift", drift["plot"])
            self.report(f"NVE energy drift {drift['result']['drift']:.3g} eV/atom/ns")
        rdf = md_rdf(series["trajectory"], orm.Dict({k: options[k] for k in ("r_max", "n_bins", "skip_fraction")}))
        self.out("rdf", rdf["rdf"])
        self.out("rdf_peaks", rdf["result"])
        self.out("plots.rdf", rdf["plot"])
        msd = md_msd(series["trajectory"], orm.Dict({k: options[k] for k in ("skip_fraction", "fit_from")}))
        self.out("msd", msd["msd"])
        self.out("diffusion", msd["result"])
        self.out("plots.msd", msd["plot"])

"""MD analysis as calcfunctions (energy drift, RDFs, MSD/diffusion), each with a PNG plot stored as a node."""

from __future__ import annotations

import io

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from ..common import md_analysis
from ..plots import _pyplot

__all__ = ("md_energy_drift", "md_msd", "md_rdf")


def _png(figure, filename: str) -> orm.SinglefileData:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=120)
    _pyplot().close(figure)
    buffer.seek(0)
    return orm.SinglefileData(buffer, filename=filename)


def _frames(trajectory: orm.TrajectoryData, skip_fraction: float):
    """Positions, cells, times and symbols of the frames after the first ``skip_fraction`` (equilibration)."""
    start = int(round(skip_fraction * trajectory.numsteps))
    times = trajectory.get_array("times") if "times" in trajectory.get_arraynames() else np.arange(trajectory.numsteps)
    return (trajectory.get_positions()[start:], trajectory.get_cells()[start:], times[start:],
            list(trajectory.symbols))


@calcfunction
def md_energy_drift(thermo: orm.ArrayData) -> dict:
    """Total-energy drift of an NVE run (``thermo`` of ``grace.md``): Dict with ``drift`` eV/atom/ns,
    ``max_deviation`` and ``fluctuation`` eV/atom; plot of E_total per atom (meV/atom from the start) vs ps."""
    n_atoms = thermo.base.attributes.get("n_atoms")
    time, total = thermo.get_array("time"), thermo.get_array("total_energy")
    result = md_analysis.energy_drift(time, total, n_atoms)
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5, 3.2))
    per_atom = (total - total[0]) / n_atoms * 1000.0
    axis.plot(time, per_atom, lw=1, label="total")
    axis.plot(time, (thermo.get_array("potential_energy") - thermo.get_array("potential_energy")[0]) / n_atoms
              * 1000.0, lw=0.8, alpha=0.6, label="potential")
    axis.set(xlabel="time (ps)", ylabel="E − E(0) (meV/atom)",
             title=f"drift {result['drift']:.3g} eV/atom/ns")
    axis.legend(frameon=False)
    return {"result": orm.Dict(result), "plot": _png(figure, "energy_drift.png")}


@calcfunction
def md_rdf(trajectory: orm.TrajectoryData, parameters: orm.Dict) -> dict:
    """g(r) per element pair over the frames after ``skip_fraction`` (parameters: ``r_max`` Å, ``n_bins``,
    ``skip_fraction``): ArrayData (``r`` Å, one array per pair 'A-B'), Dict of main-peak positions (Å), plot."""
    options = {"r_max": 6.0, "n_bins": 120, "skip_fraction": 0.0, **parameters.get_dict()}
    positions, cells, _, symbols = _frames(trajectory, options["skip_fraction"])
    curves = md_analysis.rdf(positions, cells, symbols, r_max=options["r_max"], n_bins=options["n_bins"])
    arrays = orm.ArrayData()
    for name, values in curves.items():
        arrays.set_array(name.replace("-", "_"), values)
    pairs = [name for name in curves if name != "r"]
    peaks = {pair: md_analysis.main_peak(curves["r"], curves[pair]) for pair in pairs}
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5, 3.2))
    for pair in pairs:
        axis.plot(curves["r"], curves[pair], lw=1, label=pair)
    axis.axhline(1.0, color="0.6", lw=0.5)
    axis.set(xlabel="r (Å)", ylabel="g(r)", title=f"RDF, {len(positions)} frames")
    axis.legend(frameon=False)
    summary = {"main_peak": peaks, "n_frames": len(positions), "units": {"main_peak": "Å"}}
    return {"rdf": arrays, "result": orm.Dict(summary), "plot": _png(figure, "rdf.png")}


@calcfunction
def md_msd(trajectory: orm.TrajectoryData, parameters: orm.Dict) -> dict:
    """MSD per element (all time origins) and D = slope/6 fitted past ``fit_from`` of the longest lag
    (parameters: ``skip_fraction``, ``fit_from``): ArrayData (``lag`` ps, MSD Å² per element), Dict of D in
    Å²/ps and cm²/s, plot."""
    options = {"skip_fraction": 0.0, "fit_from": 0.2, **parameters.get_dict()}
    positions, _, times, symbols = _frames(trajectory, options["skip_fraction"])
    curves = md_analysis.msd(times, positions, symbols)
    arrays = orm.ArrayData()
    for name, values in curves.items():
        arrays.set_array(name, values)
    elements = [name for name in curves if name != "lag"]
    diffusion = {el: md_analysis.diffusion_coefficient(curves["lag"], curves[el], options["fit_from"])
                 for el in elements}
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5, 3.2))
    for el in elements:
        axis.plot(curves["lag"], curves[el], lw=1, label=f"{el}: D = {diffusion[el]:.3g} Å²/ps")
    axis.set(xlabel="lag (ps)", ylabel="MSD (Å²)", title="mean-square displacement")
    axis.legend(frameon=False)
    summary = {
        "diffusion_coefficient": diffusion,
        "diffusion_coefficient_cm2_s": {el: d * md_analysis.A2_PER_PS_IN_CM2_PER_S for el, d in diffusion.items()},
        "units": {"diffusion_coefficient": "Å^2/ps", "diffusion_coefficient_cm2_s": "cm^2/s"},
    }
    return {"msd": arrays, "result": orm.Dict(summary), "plot": _png(figure, "msd.png")}

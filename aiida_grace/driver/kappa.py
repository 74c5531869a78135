"""Force constants, phonons and lattice thermal conductivity with phono3py, on the compute side.

Reads ``kappa.yaml`` (settings), ``phono3py_disp.yaml`` (cell, supercell matrices, displacements) and
``forces.extxyz`` (displaced supercells labelled by the model; ``info['phono3py_role']`` is ``fc3`` or ``fc2``
and ``info['phono3py_index']`` the index in phono3py's list). Writes ``fc2.hdf5`` and ``fc3.hdf5`` (phono3py's
own format), ``kappa.hdf5`` (phono3py's kappa file plus the Wigner split under the 3.x names),
``kappa.json`` (κ(T), imaginary-mode flag, band structure, DOS, versions) and ``phonons.png``.

The only place that knows the phono3py 3.x/4.x differences is :func:`wigner_options` / :func:`wigner_results`.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import yaml

from ..common.files import KAPPA
from ..common.kappa_srme import has_imaginary_modes, mode_kappa_total, voigt_average

DEFAULTS = {
    "mesh": [19, 19, 19],
    "temperatures": [300.0],  # K
    "is_isotope": True,
    "boundary_mfp": 1.0e6,  # µm
    "symprec": 1.0e-5,
    "band_npoints": 101,
    "dos_mesh": [20, 20, 20],
    "plot": True,
}


# -- phono3py versions -------------------------------------------------------------------------------
def versions() -> dict:
    """phonopy and phono3py versions of this environment."""
    import phono3py
    import phonopy

    return {"phonopy": phonopy.__version__, "phono3py": phono3py.__version__}


def _major_minor(version: str) -> tuple[int, int]:
    major, minor = (int("".join(c for c in part if c.isdigit()) or 0) for part in version.split(".")[:2])
    return major, minor


def wigner_options(phono3py_version: str | None = None) -> dict:
    """Keyword selecting the Wigner (SMM19) transport equation in ``run_thermal_conductivity``.

    phono3py 3.1-3.19: ``conductivity_type="wigner"``; 3.20-3.x: ``conductivity_type="MS-SMM19"``;
    4.x: ``transport_type="SMM19"``.
    """
    if phono3py_version is None:
        phono3py_version = versions()["phono3py"]
    major, minor = _major_minor(phono3py_version)
    if major >= 4:
        return {"transport_type": "SMM19"}
    if major == 3 and minor >= 20:
        return {"conductivity_type": "MS-SMM19"}
    return {"conductivity_type": "wigner"}


def wigner_results(conductivity, phono3py_version: str | None = None) -> dict:
    """The Wigner κ of a phono3py conductivity object under the 3.x names (first sigma), W/m/K:
    ``kappa_P_RTA``, ``kappa_C``, ``kappa_TOT_RTA`` (T, 6); ``mode_kappa_P_RTA`` (T, q, s, 6);
    ``mode_kappa_C`` (T, q, s, s, 6); ``heat_capacity`` (T, q, s), eV/K."""
    if phono3py_version is None:
        phono3py_version = versions()["phono3py"]
    heat_capacity = np.asarray(conductivity.mode_heat_capacities)
    if _major_minor(phono3py_version)[0] >= 4:
        matrix = np.asarray(conductivity.mode_kappa_matrix)[0]
        bands = np.arange(matrix.shape[-2])
        mode_p = matrix[:, :, bands, bands, :]
        mode_c = matrix.copy()
        mode_c[:, :, bands, bands, :] = 0.0
        kappa_p, kappa_tot = np.asarray(conductivity.kappa_intra)[0], np.asarray(conductivity.kappa)[0]
        kappa_c = kappa_tot - kappa_p
    else:
        mode_p = np.asarray(conductivity.mode_kappa_P_RTA)[0]
        mode_c = np.asarray(conductivity.mode_kappa_C)[0]
        kappa_p, kappa_c = np.asarray(conductivity.kappa_P_RTA)[0], np.asarray(conductivity.kappa_C)[0]
        kappa_tot = np.asarray(conductivity.kappa_TOT_RTA)[0]
    return {"kappa_P_RTA": kappa_p, "kappa_C": kappa_c, "kappa_TOT_RTA": kappa_tot, "mode_kappa_P_RTA": mode_p,
            "mode_kappa_C": mode_c, "heat_capacity": heat_capacity}


# -- displacements (called by the daemon-side calcfunction; cheap) ---------------------------------
def phono3py_from_atoms(atoms, fc3_supercell, fc2_supercell, *, symprec: float = 1e-5):
    """``Phono3py`` of an ASE unit cell with fc3/fc2 supercell matrices (3 ints or 3×3), primitive 'auto'."""
    from phono3py import Phono3py
    from phonopy.structure.atoms import PhonopyAtoms

    unitcell = PhonopyAtoms(symbols=atoms.get_chemical_symbols(), cell=atoms.cell.array,
                            scaled_positions=atoms.get_scaled_positions(wrap=False))
    with warnings.catch_warnings():
        # 'auto' is chosen on purpose (the primitive cell of the κ_SRME protocol); phonopy >= 4 warns on each one
        warnings.filterwarnings("ignore", message="primitive_matrix defaulted to 'auto'")
        return Phono3py(unitcell, supercell_matrix=fc3_supercell, phonon_supercell_matrix=fc2_supercell,
                        primitive_matrix="auto", symprec=symprec)


def to_ase(cell):
    """ASE Atoms of a PhonopyAtoms supercell (periodic)."""
    from ase import Atoms

    return Atoms(cell.symbols, cell=cell.cell, scaled_positions=cell.scaled_positions, pbc=True)


def generate_displacements(atoms, fc3_supercell, fc2_supercell, *, distance: float = 0.03,
                           symprec: float = 1e-5) -> tuple[str, list]:
    """Displacements for fc3 and fc2 (``is_plusminus='auto'``, ``distance`` in Å).

    Returns the text of ``phono3py_disp.yaml`` and the displaced supercells as ASE Atoms, fc3 ones first,
    each with ``info['phono3py_role']`` ('fc3'/'fc2') and ``info['phono3py_index']`` (``None`` entries skipped).
    """
    import tempfile

    ph3 = phono3py_from_atoms(atoms, fc3_supercell, fc2_supercell, symprec=symprec)
    ph3.generate_displacements(distance=distance, is_plusminus="auto")
    cells = []
    for role, supercells in (("fc3", ph3.supercells_with_displacements),
                             ("fc2", ph3.phonon_supercells_with_displacements)):
        for index, cell in enumerate(supercells):
            if cell is not None:
                displaced = to_ase(cell)
                displaced.info.update({"phono3py_role": role, "phono3py_index": index})
                cells.append(displaced)
    with tempfile.TemporaryDirectory() as tmp:
        ph3.save(Path(tmp) / KAPPA.phono3py_yaml)
        text = (Path(tmp) / KAPPA.phono3py_yaml).read_text()
    return text, cells


# -- the steps ---------------------------------------------------------------------------------------
def phono3py_from_yaml(path, *, symprec: float = 1e-5):
    """``Phono3py`` with the cell, matrices and displacement datasets of a ``phono3py_disp.yaml`` (and nothing
    else: unlike ``phono3py.load`` it never picks up fc*.hdf5 lying in the working directory)."""
    from phono3py import Phono3py
    from phono3py.interface.phono3py_yaml import Phono3pyYaml

    data = Phono3pyYaml().read(path)
    ph3 = Phono3py(data.unitcell, supercell_matrix=data.supercell_matrix,
                   phonon_supercell_matrix=data.phonon_supercell_matrix, primitive_matrix=data.primitive_matrix,
                   symprec=symprec)
    ph3.dataset = data.dataset
    ph3.phonon_dataset = data.phonon_dataset
    return ph3


def load_with_forces(workdir: Path, settings: dict):
    """Phono3py from ``phono3py_disp.yaml`` with the forces of ``forces.extxyz`` set (``None`` cells: zero)."""
    from ase.io import read

    ph3 = phono3py_from_yaml(workdir / KAPPA.phono3py_yaml, symprec=settings["symprec"])
    fc3_cells, fc2_cells = ph3.supercells_with_displacements, ph3.phonon_supercells_with_displacements
    forces = {"fc3": np.zeros((len(fc3_cells), len(ph3.supercell), 3)),
              "fc2": np.zeros((len(fc2_cells), len(ph3.phonon_supercell), 3))}
    seen = {"fc3": set(), "fc2": set()}
    for atoms in read(workdir / KAPPA.forces, index=":", format="extxyz"):
        role, index = atoms.info["phono3py_role"], int(atoms.info["phono3py_index"])
        forces[role][index] = atoms.get_forces()
        seen[role].add(index)
    for role, cells in (("fc3", fc3_cells), ("fc2", fc2_cells)):
        missing = [i for i, cell in enumerate(cells) if cell is not None and i not in seen[role]]
        if missing:
            raise ValueError(f"no forces for {len(missing)} {role} supercell(s), first {missing[:5]}")
    ph3.forces = forces["fc3"]
    ph3.phonon_forces = forces["fc2"]
    return ph3


def produce_force_constants(ph3) -> None:
    """fc2 and fc3 as the κ_SRME protocol makes them (symmetrized; compact)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 4.x prefers separate symmetrize_* calls
        ph3.produce_fc2(symmetrize_fc2=True)
        ph3.produce_fc3(symmetrize_fc3r=True)


def write_force_constants(ph3, workdir: Path) -> None:
    """``fc2.hdf5`` and ``fc3.hdf5`` in phono3py's format (compact, with their p2s maps)."""
    from phono3py.file_IO import write_fc2_to_hdf5, write_fc3_to_hdf5

    write_fc2_to_hdf5(ph3.fc2, filename=workdir / KAPPA.fc2, p2s_map=ph3.phonon_primitive.p2s_map,
                      physical_unit="eV/angstrom^2")
    write_fc3_to_hdf5(ph3.fc3, filename=workdir / KAPPA.fc3, p2s_map=ph3.primitive.p2s_map)


def mesh_phonons(ph3) -> dict:
    """Frequencies (THz) on the κ mesh and the κ_SRME imaginary-mode verdict."""
    ph3.init_phph_interaction(symmetrize_fc3q=False)
    ph3.run_phonon_solver()
    frequencies, _, addresses = ph3.get_phonon_data()
    qpoints = addresses / np.asarray(ph3.mesh_numbers, dtype=float)
    return {"has_imaginary_modes": bool(has_imaginary_modes(frequencies, qpoints)),
            "min_frequency": float(frequencies.min())}


def thermal_conductivity(ph3, settings: dict, workdir: Path) -> dict:
    """Run the Wigner κ (RTA), move phono3py's hdf5 to ``kappa.hdf5`` and add the 3.x-named split and mode κ."""
    import h5py

    for old in Path(".").glob("kappa-m*.hdf5"):
        old.unlink()
    ph3.run_thermal_conductivity(temperatures=[float(t) for t in settings["temperatures"]],
                                 is_isotope=bool(settings["is_isotope"]), boundary_mfp=float(settings["boundary_mfp"]),
                                 write_kappa=True, **wigner_options())
    written = sorted(Path(".").glob("kappa-m*.hdf5"))
    if len(written) != 1:
        raise RuntimeError(f"expected one kappa-m*.hdf5 from phono3py, found {[str(p) for p in written]}")
    target = workdir / KAPPA.kappa_hdf5
    written[0].replace(target)
    results = wigner_results(ph3.thermal_conductivity)
    mode_tot = mode_kappa_total(results["mode_kappa_P_RTA"], results["mode_kappa_C"], results["heat_capacity"])
    with h5py.File(target, "a") as handle:
        for key in ("kappa_P_RTA", "kappa_C", "kappa_TOT_RTA", "mode_kappa_P_RTA", "mode_kappa_C"):
            if key not in handle:
                handle.create_dataset(key, data=results[key], compression="gzip")
        handle.create_dataset("mode_kappa_TOT", data=mode_tot, compression="gzip")
        handle.create_dataset("mode_kappa_TOT_ave", data=voigt_average(mode_tot), compression="gzip")
        for name, version in versions().items():
            handle.attrs[f"{name}_version"] = version
    return {key: results[key].tolist() for key in ("kappa_P_RTA", "kappa_C", "kappa_TOT_RTA")} | {
        "kappa_TOT_ave": voigt_average(results["kappa_TOT_RTA"]).tolist(),
        "temperatures": [float(t) for t in settings["temperatures"]],
    }


def band_structure_and_dos(ph3, settings: dict) -> dict:
    """Phonon band structure along ASE's standard path of the primitive cell and total DOS (THz, states/THz)."""
    from ase.cell import Cell
    from phonopy import Phonopy

    phonon = Phonopy(ph3.unitcell, supercell_matrix=ph3.phonon_supercell_matrix,
                     primitive_matrix=ph3.primitive_matrix, symprec=settings["symprec"])
    phonon.force_constants = ph3.fc2
    path = Cell(ph3.phonon_primitive.cell).bandpath(npoints=settings["band_npoints"])
    phonon.run_qpoints(path.kpts)
    frequencies = phonon.get_qpoints_dict()["frequencies"]
    x, special_x, labels = path.get_linear_kpoint_axis()
    phonon.run_mesh(settings["dos_mesh"], is_gamma_center=True)
    phonon.run_total_dos()
    dos = phonon.get_total_dos_dict()
    return {
        "band": {"kpoints": path.kpts.tolist(), "frequencies": frequencies.tolist(), "x": x.tolist(),
                 "special_x": list(map(float, special_x)), "labels": list(labels),
                 "primitive_cell": ph3.phonon_primitive.cell.tolist()},
        "dos": {"frequency_points": dos["frequency_points"].tolist(), "total_dos": dos["total_dos"].tolist()},
    }


def plot_phonons(band_dos: dict, summary: dict, path: Path, title: str = "") -> None:
    """Bands, DOS and κ(T) in one PNG, the same picture as ``aiida-grace plot kappa`` (:mod:`aiida_grace.plots`)."""
    from ..plots import merged_ticks, phonons_and_kappa

    band, dos = band_dos["band"], band_dos["dos"]
    bands = (band["x"], band["frequencies"], *merged_ticks(band["special_x"], band["labels"]))
    phonons_and_kappa(summary["temperatures"], {key: summary[key] for key in ("kappa_P_RTA", "kappa_C")}, path,
                      bands=bands, dos=(dos["frequency_points"], dos["total_dos"]), title=title)


def run(settings: dict, workdir: Path = Path(".")) -> dict:
    settings = {**DEFAULTS, **settings}
    timings = {}
    start = time.perf_counter()
    ph3 = load_with_forces(workdir, settings)
    ph3.mesh_numbers = settings["mesh"]
    produce_force_constants(ph3)
    write_force_constants(ph3, workdir)
    timings["force_constants"] = time.perf_counter() - start
    summary = {"mesh": list(settings["mesh"]), **mesh_phonons(ph3)}
    start = time.perf_counter()
    summary.update(thermal_conductivity(ph3, settings, workdir))
    timings["kappa"] = time.perf_counter() - start
    band_dos = band_structure_and_dos(ph3, settings)
    if settings["plot"]:
        plot_phonons(band_dos, summary, workdir / KAPPA.plot,
                     title=f"{ph3.unitcell.formula}, q-mesh {'×'.join(map(str, settings['mesh']))}")
    summary.update(band_dos)
    summary.update({
        "versions": versions(),
        "n_displacements_fc3": sum(c is not None for c in ph3.supercells_with_displacements),
        "n_displacements_fc2": len(ph3.phonon_supercells_with_displacements),
        "n_atoms_fc3_supercell": len(ph3.supercell), "n_atoms_fc2_supercell": len(ph3.phonon_supercell),
        "seconds": timings,
    })
    (workdir / KAPPA.results).write_text(json.dumps(summary))
    return summary


def run_from_settings(settings_path: str) -> int:
    with open(settings_path) as handle:
        settings = yaml.safe_load(handle)
    summary = run(settings, Path(settings_path).resolve().parent)
    print(json.dumps({k: summary[k] for k in ("kappa_TOT_ave", "has_imaginary_modes", "versions", "seconds")}),
          flush=True)
    return 0

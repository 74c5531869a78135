"""Matplotlib figures people look at rather than read: learning curves and parity plots (PNG)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .common.metrics import EV_PER_A3_TO_GPA
from .common.structures import labels_of


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: str | Path, title: str) -> Path:
    """Title, lay out, write ``path`` (PNG, 120 dpi) and close ``figure``."""
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    _pyplot().close(figure)
    return Path(path)


LEARNING_PANELS = (
    ("loss", "total loss", 1.0),
    ("energy_per_atom_mae", "energy MAE (meV/atom)", 1000.0),
    ("forces_mae", "force MAE (meV/Å)", 1000.0),
    ("stress_mae", "stress MAE (GPa)", 1.0),
)


def learning_curve(arrays: dict[str, np.ndarray], path: str | Path, title: str = "") -> Path:
    """Train and test metrics per epoch (``arrays`` as in grace.train's ``learning_curve`` output)."""
    plt = _pyplot()
    panels = [p for p in LEARNING_PANELS if np.isfinite(arrays.get(f"train_{p[0]}", [np.nan])).any()]
    figure, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4), squeeze=False)
    epochs = arrays["epoch"]
    for axis, (key, label, scale) in zip(axes[0], panels):
        for prefix, style in (("train", "-o"), ("test", "-s")):
            values = np.asarray(arrays.get(f"{prefix}_{key}", []), dtype=float) * scale
            if len(values) and np.isfinite(values).any():
                axis.plot(epochs[: len(values)], values, style, markersize=3, label=prefix)
        axis.set_xlabel("epoch")
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.set_ylabel(label)
        axis.set_yscale("log")
        axis.grid(alpha=0.3)
        axis.legend()
    return _save(figure, path, title)


def parity_data(reference: Sequence, predicted: Sequence) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Pairs (reference, predicted) of energy per atom (eV/atom), force components (eV/Å), stress (GPa)."""
    pairs: dict[str, list] = {"energy": [[], []], "forces": [[], []], "stress": [[], []]}
    for ref_atoms, pred_atoms in zip(reference, predicted):
        ref, pred = labels_of(ref_atoms), labels_of(pred_atoms)
        if "energy" in ref and "energy" in pred:
            pairs["energy"][0].append(ref["energy"] / len(ref_atoms))
            pairs["energy"][1].append(pred["energy"] / len(ref_atoms))
        for key, scale in (("forces", 1.0), ("stress", EV_PER_A3_TO_GPA)):
            if key in ref and key in pred:
                pairs[key][0].extend(np.ravel(ref[key]) * scale)
                pairs[key][1].extend(np.ravel(pred[key]) * scale)
    return {k: (np.array(v[0]), np.array(v[1])) for k, v in pairs.items() if v[0]}


PARITY_UNITS = {"energy": ("energy per atom", "eV/atom", 1000.0, "meV/atom"),
                "forces": ("force components", "eV/Å", 1000.0, "meV/Å"),
                "stress": ("stress components", "GPa", 1.0, "GPa")}


def parity(reference: Sequence, predicted: Sequence, path: str | Path, title: str = "") -> Path:
    """Predicted against reference labels, one panel per label, MAE in each panel's title."""
    plt = _pyplot()
    data = parity_data(reference, predicted)
    if not data:
        raise ValueError("no label is present on both the reference and the predicted structures")
    figure, axes = plt.subplots(1, len(data), figsize=(4 * len(data), 4), squeeze=False)
    for axis, (key, (ref, pred)) in zip(axes[0], data.items()):
        name, unit, mae_scale, mae_unit = PARITY_UNITS[key]
        low, high = min(ref.min(), pred.min()), max(ref.max(), pred.max())
        margin = 0.05 * (high - low or 1.0)
        axis.plot([low - margin, high + margin], [low - margin, high + margin], "k--", linewidth=0.8)
        axis.scatter(ref, pred, s=6, alpha=0.6)
        axis.set_xlabel(f"reference {name} ({unit})")
        axis.set_ylabel(f"predicted ({unit})")
        axis.set_title(f"MAE {mae_scale * np.mean(np.abs(pred - ref)):.3g} {mae_unit}")
        axis.set_aspect("equal", adjustable="datalim")
        axis.grid(alpha=0.3)
    return _save(figure, path, title)


def moduli_pairs(tensor, reference=None) -> dict[str, tuple[float, float | None]]:
    """(model, reference) VRH bulk and shear moduli and Young's modulus (GPa) of 6×6 tensors in GPa."""
    from .common.elastic import elastic_properties

    keys = {"K_VRH": "bulk_modulus_vrh", "G_VRH": "shear_modulus_vrh", "E": "youngs_modulus"}
    model = elastic_properties(tensor)
    ref = elastic_properties(reference) if reference is not None else {}
    return {label: (model[key], ref.get(key)) for label, key in keys.items()}


def elastic_summary(tensor, path: str | Path, reference=None, title: str = "",
                    names: tuple[str, str] = ("model", "reference")) -> Path:
    """The 6×6 Voigt tensor C_ij (GPa) as an annotated heat map beside bars of K, G and E (GPa), each next to
    the reference's when a reference tensor is given."""
    plt = _pyplot()
    c = np.asarray(tensor, dtype=float)
    figure, (heat, bars) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1.15, 1]})
    limit = np.abs(c).max() or 1.0
    image = heat.imshow(c, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (i, j), value in np.ndenumerate(c):
        heat.text(j, i, f"{round(value) + 0:d}", ha="center", va="center", fontsize=9,
                  color="white" if abs(value) > 0.6 * limit else "black")
    heat.set_xticks(range(6), [str(k) for k in range(1, 7)])
    heat.set_yticks(range(6), [str(k) for k in range(1, 7)])
    heat.set_xlabel("j (Voigt)")
    heat.set_ylabel("i (Voigt)")
    heat.set_title("elastic tensor C$_{ij}$ (GPa)")
    figure.colorbar(image, ax=heat, label="GPa", shrink=0.85)

    pairs = moduli_pairs(c, reference)
    positions = np.arange(len(pairs))
    width = 0.38 if reference is not None else 0.6
    series = [(names[0], [p[0] for p in pairs.values()], 0.0 if reference is None else -width / 2)]
    if reference is not None:
        series.append((names[1], [p[1] for p in pairs.values()], width / 2))
    for name, values, offset in series:
        drawn = bars.bar(positions + offset, values, width, label=name)
        bars.bar_label(drawn, fmt="%.0f", fontsize=9)
    bars.set_xticks(positions, list(pairs))
    bars.set_ylabel("modulus (GPa)")
    bars.set_title("bulk K, shear G (Voigt-Reuss-Hill), Young's E")
    bars.margins(y=0.15)
    bars.legend()
    return _save(figure, path, title)


def band_axis(kpoints_cartesian, labels: Sequence[tuple[int, str]]) -> tuple[np.ndarray, list[float], list[str]]:
    """Distance along a band path (in the k-points' units) that does not step across a break of the path, and
    the ticks with their names (Γ for G; ``K|U`` at a break). A break is two labelled k-points in a row, or two
    labels on one k-point (as BandsData stores ASE's paths): then the path jumps after that k-point."""
    k = np.asarray(kpoints_cartesian, dtype=float)
    step = np.linalg.norm(np.diff(k, axis=0), axis=1)
    named: dict[int, list[str]] = {}
    for index, name in labels:
        named.setdefault(int(index), []).append("Γ" if name in ("G", "GAMMA") else name)
    for index, names in named.items():
        if index < len(step) and (len(names) > 1 or index + 1 in named):
            step[index] = 0.0
    x = np.concatenate([[0.0], np.cumsum(step)])
    ordered = sorted(named.items())
    ticks, tick_names = merged_ticks([x[index] for index, _ in ordered], ["|".join(names) for _, names in ordered])
    return x, ticks, tick_names


def merged_ticks(positions: Sequence[float], names: Sequence[str]) -> tuple[list[float], list[str]]:
    """Band-path ticks at distinct positions: names sharing a position (a break of the path) joined as ``K|U``,
    ``G`` written Γ."""
    ticks: list[float] = []
    tick_names: list[str] = []
    for position, name in zip(positions, names):
        name = "Γ" if name in ("G", "GAMMA") else name
        if ticks and np.isclose(position, ticks[-1]):
            tick_names[-1] = f"{tick_names[-1]}|{name}"
        else:
            ticks.append(float(position))
            tick_names.append(name)
    return ticks, tick_names


def phonons_and_kappa(temperatures, kappa: dict[str, np.ndarray], path: str | Path, bands=None, dos=None,
                      title: str = "") -> Path:
    """Phonon bands (``bands``: x, frequencies (n_k, n_bands) THz, ticks, tick labels), total DOS (``dos``:
    frequencies THz, states/THz) and κ(T) (W/m/K): the total and its particle (P) and coherence (C) parts,
    each the mean of xx, yy, zz (``kappa`` holds phono3py's (n_T, 6) ``kappa_P_RTA`` and ``kappa_C``)."""
    plt = _pyplot()
    panels = (["bands", "dos"] if bands is not None and dos is not None else []) + ["kappa"]
    ratios = {"bands": 2.6, "dos": 0.9, "kappa": 2.0}
    figure, axes = plt.subplots(1, len(panels), figsize=(3.1 * sum(ratios[p] for p in panels) / 1.4, 4.2),
                                gridspec_kw={"width_ratios": [ratios[p] for p in panels]}, squeeze=False)
    axes = dict(zip(panels, axes[0]))
    if "bands" in axes:
        x, frequencies, ticks, names = bands
        axis = axes["bands"]
        axis.plot(x, frequencies, color="tab:blue", lw=1)
        for tick in ticks:
            axis.axvline(tick, color="grey", lw=0.5)
        axis.axhline(0.0, color="black", lw=0.5)
        axis.set_xticks(ticks, names)
        axis.set_xlim(x[0], x[-1])
        axis.set_ylabel("frequency (THz)")
        axis.set_title("phonon bands")
        axes["dos"].plot(dos[1], dos[0], color="tab:blue", lw=1)
        axes["dos"].set_ylim(axis.get_ylim())
        axes["dos"].set_yticklabels([])
        axes["dos"].set_xlabel("DOS (states/THz)")
        axes["dos"].set_title("DOS")
    axis = axes["kappa"]
    temperatures = np.asarray(temperatures, dtype=float)
    particle = np.asarray(kappa["kappa_P_RTA"], dtype=float)[:, :3].mean(axis=1)
    coherence = np.asarray(kappa["kappa_C"], dtype=float)[:, :3].mean(axis=1)
    for values, label, style in ((particle + coherence, "total", "-o"), (particle, "particle (P, RTA)", "--s"),
                                 (coherence, "coherence (C)", ":^")):
        axis.plot(temperatures, values, style, markersize=4, label=label)
    axis.set_xlabel("temperature (K)")
    axis.set_ylabel("κ (W/m/K)")
    axis.set_yscale("log")
    axis.set_title("lattice thermal conductivity")
    axis.grid(alpha=0.3, which="both")
    axis.legend()
    return _save(figure, path, title)


def phonons_and_kappa_of(process, path: str | Path) -> Path:
    """:func:`phonons_and_kappa` of a finished grace.thermal_conductivity run or grace.kappa job (its ``kappa``,
    ``band_structure`` and ``dos`` outputs)."""
    outputs = process.outputs
    bands = dos = None
    if "band_structure" in outputs and "dos" in outputs:
        x, ticks, names = band_axis(outputs.band_structure.get_kpoints(cartesian=True), outputs.band_structure.labels)
        bands = (x, outputs.band_structure.get_bands(), ticks, names)
        dos = (outputs.dos.get_x()[1], outputs.dos.get_y()[0][1])
    kappa = outputs.kappa
    structure = process.inputs.structure.get_formula() + ", " if "structure" in process.inputs else ""
    return phonons_and_kappa(kappa.get_array("temperatures"),
                             {name: kappa.get_array(name) for name in ("kappa_P_RTA", "kappa_C")}, path,
                             bands=bands, dos=dos, title=f"{structure}{process.process_label}<{process.pk}>")


def property_bars(table: dict, units: dict, path: str | Path, title: str = "") -> Path:
    """Per-item bars of each quantity, the model's beside the reference's where there is one (the paper's
    per-element panels). ``table``: quantity → {item: (model, reference or None)}; ``units``: quantity → unit."""
    plt = _pyplot()
    quantities = [q for q in table if table[q]]
    figure, axes = plt.subplots(len(quantities), 1, figsize=(max(5.0, 0.55 * max(len(table[q]) for q in quantities)
                                                                 + 2), 3.0 * len(quantities)), squeeze=False)
    for axis, quantity in zip(axes[:, 0], quantities):
        items = sorted(table[quantity])
        positions = np.arange(len(items))
        model = [table[quantity][i][0] for i in items]
        reference = [table[quantity][i][1] for i in items]
        has_reference = any(r is not None for r in reference)
        width = 0.4 if has_reference else 0.6
        axis.bar(positions - (width / 2 if has_reference else 0), model, width, label="model")
        if has_reference:
            axis.bar(positions + width / 2, [np.nan if r is None else r for r in reference], width, label="reference")
            axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        axis.set_xticks(positions, items, rotation=45 if len(items) > 6 else 0, ha="right" if len(items) > 6 else "center")
        axis.set_ylabel(f"{quantity} ({units.get(quantity, '')})")
        axis.axhline(0, color="black", lw=0.6)
    return _save(figure, path, title)


STUDY_PANELS = (  # (errors set, label, unit scale, axis label)
    ("downstream", "energy_per_atom", 1000.0, "downstream energy MAE (meV/atom)"),
    ("downstream", "forces", 1000.0, "downstream force MAE (meV/Å)"),
    ("original", "forces", 1000.0, "original-set force MAE (meV/Å)"),
)


def _study_mae(row: dict, errors_set: str, label: str) -> float:
    return row.get(errors_set, {}).get("all", {}).get(label, {}).get("mae", np.nan)


def study_colours(table: dict) -> dict[str, str]:
    """One colour per strategy of a study table, the same in every panel and picture."""
    return {s: f"C{i}" for i, s in enumerate(sorted({r["strategy"] for r in table["combinations"].values()}))}


def data_efficiency(table: dict, path: str | Path, title: str = "") -> Path:
    """Errors against the number of training structures, one line per strategy (mean over seeds, bars from the
    lowest to the highest seed), the zero-shot parent as a dashed line (grace.finetune_study ``table``)."""
    plt = _pyplot()
    rows = table["combinations"].values()
    panels = [p for p in STUDY_PANELS if any(np.isfinite(_study_mae(r, p[0], p[1])) for r in rows)]
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    colours = study_colours(table)
    for axis, (errors_set, label, scale, axis_label) in zip(axes[0], panels):
        for strategy in (s for s in colours if s != "zero_shot"):
            by_size: dict[int, list[float]] = {}
            for row in rows:
                value = _study_mae(row, errors_set, label)
                if row["strategy"] == strategy and np.isfinite(value):  # no original set: from scratch
                    by_size.setdefault(row["n_train"], []).append(value * scale)
            if not by_size:
                continue
            sizes = sorted(by_size)
            mean = np.array([np.mean(by_size[n]) for n in sizes])
            spread = np.array([[m - min(by_size[n]), max(by_size[n]) - m] for n, m in zip(sizes, mean)])
            axis.errorbar(sizes, mean, yerr=spread.T, fmt="-o", markersize=4, capsize=3, label=strategy,
                          color=colours[strategy])
        for row in rows:
            if row["strategy"] == "zero_shot" and np.isfinite(_study_mae(row, errors_set, label)):
                axis.axhline(_study_mae(row, errors_set, label) * scale, color="grey", ls="--", label="zero-shot")
        axis.set_xlabel("training structures")
        axis.set_ylabel(axis_label)
        axis.set_yscale("log")
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    return _save(figure, path, title or "data efficiency")


FORGETTING_PANELS = (("energy_per_atom", "energy MAE (meV/atom)"), ("forces", "force MAE (meV/Å)"))


def forgetting_pareto(table: dict, path: str | Path, title: str = "") -> Path | None:
    """Error on the downstream test set against error on the original set, of energy and of forces, per
    combination (colour: strategy, size: training fraction), each panel's Pareto front joined; None when no model
    was evaluated on an original set (grace.finetune_study ``table``)."""
    rows = table["combinations"]
    panels = []
    for label, unit in FORGETTING_PANELS:
        points = {name: (1000 * _study_mae(r, "downstream", label), 1000 * _study_mae(r, "original", label))
                  for name, r in rows.items()}
        points = {name: xy for name, xy in points.items() if np.isfinite(xy).all()}
        if points:
            panels.append((label, unit, points))
    if not panels:
        return None
    plt = _pyplot()
    figure, axes = plt.subplots(1, len(panels), figsize=(5.4 * len(panels), 4.4), squeeze=False)
    colours = study_colours(table)
    for axis, (label, unit, points) in zip(axes[0], panels):
        for strategy, colour in colours.items():
            names = [n for n in points if rows[n]["strategy"] == strategy]
            if not names:
                continue
            sizes = [200 if strategy == "zero_shot" else 30 + 120 * rows[n]["fraction"] for n in names]
            axis.scatter([points[n][0] for n in names], [points[n][1] for n in names], s=sizes, c=colour,
                         marker="*" if strategy == "zero_shot" else "o", label=strategy, alpha=0.8,
                         edgecolors="black", linewidths=0.5)
        front = [points[n] for n in table.get("pareto_front", {}).get(label, []) if n in points]
        if len(front) > 1:
            axis.step(*zip(*front), where="post", color="black", lw=0.8, ls=":", label="Pareto front")
        axis.set_xlabel(f"downstream {unit}")
        axis.set_ylabel(f"original-set {unit}")
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    return _save(figure, path, title or "forgetting: new data against original data")

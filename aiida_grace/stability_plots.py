"""The hull plot of ``grace.stability`` (PNG): predicted against reference energy above the hull with the
confusion-matrix quadrants, and for a binary system the formation energies against composition with the
reference hull."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .plots import _pyplot, _save

QUADRANTS = {"TP": "#2ca02c", "FN": "#ff7f0e", "FP": "#d62728", "TN": "#1f77b4"}  # colours of the four outcomes


def outcome(predicted: float, reference: float, threshold: float) -> str:
    """TP, FP, TN or FN of one candidate (stable: e_above_hull ≤ threshold)."""
    stable, actual = predicted <= threshold, reference <= threshold
    return ("T" if stable == actual else "F") + ("P" if stable else "N")


def lower_hull(points: list[tuple[float, float]]) -> np.ndarray:
    """The lower convex hull of (x, y) points, sorted by x (Andrew's monotone chain)."""
    lowest: dict[float, float] = {}
    for x, y in points:  # one point per x: the lowest
        lowest[x] = min(y, lowest.get(x, y))
    hull: list[tuple[float, float]] = []
    for p in sorted(lowest.items()):
        while len(hull) >= 2 and ((hull[-1][0] - hull[-2][0]) * (p[1] - hull[-2][1])
                                  - (hull[-1][1] - hull[-2][1]) * (p[0] - hull[-2][0])) <= 0:
            hull.pop()
        hull.append(p)
    return np.array(hull)


def binary_pair(results: dict) -> list[str] | None:
    """The two elements when every candidate and reference entry lies in one binary system, else None."""
    from pymatgen.core import Composition

    formulas = [row["formula"] for row in results["candidates"].values()]
    formulas += [formula for formula, _ in results["reference_entries"]]
    elements = sorted({el.symbol for formula in formulas for el in Composition(formula).elements})
    return elements if len(elements) == 2 else None


def parity_panel(axis, results: dict) -> None:
    rows = [row for row in results["candidates"].values()
            if row["e_above_hull"] is not None and row["reference_e_above_hull"] is not None]
    threshold = results["threshold"]
    x = np.array([row["reference_e_above_hull"] for row in rows])
    y = np.array([row["e_above_hull"] for row in rows])
    low, high = min(x.min(), y.min(), threshold) - 0.05, max(x.max(), y.max(), threshold) + 0.05
    for name, (xs, ys) in {"TP": ((low, threshold), (low, threshold)), "FN": ((low, threshold), (threshold, high)),
                           "FP": ((threshold, high), (low, threshold)),
                           "TN": ((threshold, high), (threshold, high))}.items():
        axis.fill_between(xs, ys[0], ys[1], color=QUADRANTS[name], alpha=0.08, linewidth=0)
    kinds = [outcome(p, r, threshold) for p, r in zip(y, x)]
    for name, colour in QUADRANTS.items():
        chosen = [k == name for k in kinds]
        axis.scatter(x[chosen], y[chosen], s=18, color=colour, label=f"{name} ({sum(chosen)})")
    axis.axvline(threshold, color="k", lw=0.8, ls="--")
    axis.axhline(threshold, color="k", lw=0.8, ls="--")
    axis.plot([low, high], [low, high], color="0.6", lw=0.8)
    axis.set(xlim=(low, high), ylim=(low, high), xlabel="reference E above hull (eV/atom)",
             ylabel="predicted E above hull (eV/atom)", title="stability classification")
    axis.legend(fontsize=8, loc="upper left")


def binary_panel(axis, results: dict, pair: list[str]) -> None:
    from pymatgen.core import Composition

    def x_of(formula: str) -> float:
        return Composition(formula).get_atomic_fraction(pair[1])

    points = [(x_of(f), e) for f, e in results["reference_entries"]]
    hull = lower_hull(points)
    rows = list(results["candidates"].values())
    shown = [row[key] for row in rows for key in ("e_form", "reference_e_form") if row[key] is not None]
    top = max([*shown, *hull[:, 1]]) + 0.02 * (max([*shown, *hull[:, 1]]) - min(hull[:, 1]) + 1e-3)
    inside = np.array([p for p in points if p[1] <= top])
    axis.plot(hull[:, 0], hull[:, 1], "k-", lw=1, label="reference hull")
    above = f", {len(points) - len(inside)} above the frame" if len(inside) < len(points) else ""
    axis.scatter(*inside.T, s=22, facecolor="none", edgecolor="k", label=f"reference entries{above}")
    for key, style, label in (("reference_e_form", {"marker": "s", "facecolor": "none", "edgecolor": "#1f77b4"},
                               "candidates, reference"),
                              ("e_form", {"marker": "o", "color": "#d62728"}, "candidates, predicted")):
        chosen = [row for row in rows if row[key] is not None]
        if chosen:
            axis.scatter([x_of(row["formula"]) for row in chosen], [row[key] for row in chosen], s=18, label=label,
                         **style)
    axis.axhline(0, color="0.6", lw=0.8)
    bottom = axis.get_ylim()[0]
    axis.set_ylim(top=top + 0.4 * (top - bottom))  # an empty band above the points for the legend
    axis.set(xlabel=f"x in {pair[0]}$_{{1-x}}${pair[1]}$_x$", ylabel="formation energy (eV/atom)",
             title="formation energy and hull")
    axis.legend(fontsize=8, loc="upper center")


def hull_plot(results: dict, path: str | Path, title: str = "") -> Path:
    """One panel per view the results allow: the parity of energies above the hull (when the candidates have
    reference energies) and the binary hull (when all lie in one binary system); else a histogram."""
    plt = _pyplot()
    has_reference = any(row["reference_e_above_hull"] is not None for row in results["candidates"].values())
    pair = binary_pair(results)
    panels = [p for p, wanted in (("parity", has_reference), ("binary", pair is not None)) if wanted] or ["histogram"]
    figure, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.6), squeeze=False)
    for axis, panel in zip(axes[0], panels):
        if panel == "parity":
            parity_panel(axis, results)
        elif panel == "binary":
            binary_panel(axis, results, pair)
        else:
            values = [row["e_above_hull"] for row in results["candidates"].values() if row["e_above_hull"] is not None]
            axis.hist(values, bins=30)
            axis.axvline(results["threshold"], color="k", ls="--")
            axis.set(xlabel="predicted E above hull (eV/atom)", ylabel="candidates")
    return _save(figure, path, title)

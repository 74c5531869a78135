"""Extrapolation grades γ with tensorpotential's ``grace_uq``: build a model's UQ artifacts, select from a pool.

``uq-build uq.yaml``: the training set (extxyz) → pandas pickle → ``grace_uq build`` (GMM of the model's per-atom
features, γ = 1 calibrated on the training σ) → ``gmm_artifacts.npz`` and ``summary.json``.
``uq-select uq.yaml``: the candidate pool → ``grace_uq predict --save-features`` (γ per atom of every frame) →
``grace_uq select`` → ``selected.pkl.gz`` (its index: the chosen frames' positions in the pool),
``pool_gamma.json`` (max and mean γ per frame) and ``summary.json``.
:func:`uncertainty_calculator` gives a ``TPCalculator`` that returns γ per atom (``results['gamma']``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from ..common.dataframe import structures_to_dataframe
from ..common.extxyz import read_extxyz
from ..common.files import UNCERTAINTY
from ..common.uncertainty_input import build_arguments, build_settings, select_arguments, select_settings


def grace_uq_command() -> list[str]:
    """The ``grace_uq`` executable of this Python environment (beside the interpreter), else the one on PATH."""
    beside = Path(sys.executable).parent / "grace_uq"
    found = str(beside) if beside.is_file() else shutil.which("grace_uq")
    if not found:
        raise FileNotFoundError("grace_uq (tensorpotential's uncertainty CLI) is not installed in this environment")
    return [found]


def run_grace_uq(arguments: list[str], workdir: Path) -> float:
    """Run ``grace_uq ARGUMENTS`` in ``workdir`` (its output goes to this process's stdout); returns seconds."""
    start = time.perf_counter()
    command = grace_uq_command() + arguments
    print("$", " ".join(command), flush=True)
    environment = {**os.environ, "GRACE_NO_UPDATE_CHECK": "1"}
    completed = subprocess.run(command, cwd=workdir, env=environment)
    if completed.returncode:
        raise RuntimeError(f"grace_uq {arguments[0]} failed with exit code {completed.returncode}")
    return time.perf_counter() - start


def to_pickle(workdir: Path) -> int:
    """The job's structures as the pandas pickle grace_uq reads; returns their number."""
    frame = structures_to_dataframe(read_extxyz(workdir / UNCERTAINTY.dataset))
    frame.to_pickle(workdir / UNCERTAINTY.dataset_pkl)
    return len(frame)


def model_arguments(model: dict) -> list[str]:
    """``--model model.yaml --checkpoint PREFIX`` of the job's model files."""
    return ["--model", model["model_yaml"], "--checkpoint", model["checkpoint"]]


def artifact_summary(path: Path) -> dict:
    """What the artifacts say about themselves: elements, feature width, clusters and γ = 1 thresholds (σ)."""
    with np.load(path, allow_pickle=False) as artifacts:
        elements = [str(e) for e in artifacts["element_map"]]
        clusters = {element: int(np.count_nonzero(artifacts[f"counts_{index}"] > 0))
                    for index, element in enumerate(elements) if f"counts_{index}" in artifacts.files}
        atoms = {element: float(np.sum(artifacts[f"counts_{index}"]))
                 for index, element in enumerate(elements) if f"counts_{index}" in artifacts.files}
        dimension = next((int(artifacts[f"centroids_{i}"].shape[1]) for i in range(len(elements))
                          if f"centroids_{i}" in artifacts.files), None)
        return {"elements": elements, "feature_dimension": dimension, "n_clusters": clusters,
                "training_atoms": atoms, "threshold_mode": str(artifacts["threshold_mode"]),
                "schema_version": int(artifacts["__schema_version__"])}


def build(settings: dict, workdir: Path) -> dict:
    """``grace_uq build`` on the job's training set; returns the summary."""
    options = build_settings(settings.get("build"))
    n_structures = to_pickle(workdir)
    seconds = run_grace_uq(
        ["build", "--model-yaml", settings["model"]["model_yaml"], "--checkpoint", settings["model"]["checkpoint"]
         + ".index", "--train-data", UNCERTAINTY.dataset_pkl, "--n-workers", "1", "--no-export",
         "--artifact-path", UNCERTAINTY.artifacts, *build_arguments(options)], workdir)
    return {"n_structures": n_structures, "build_seconds": seconds, "settings": options,
            **artifact_summary(workdir / UNCERTAINTY.artifacts)}


def frame_gammas(predicted) -> list[dict]:
    """Max and mean γ of each predicted frame (``grace_uq predict``'s per-atom ``gamma`` column)."""
    return [{"gamma_max": float(np.max(g)), "gamma_mean": float(np.mean(g))} for g in predicted["gamma"]]


def select(settings: dict, workdir: Path) -> dict:
    """γ of every pool frame, then ``grace_uq select``; returns the summary."""
    import pandas as pd

    options = select_settings(settings.get("select"))
    n_structures = to_pickle(workdir)
    predict_seconds = run_grace_uq(
        ["predict", *model_arguments(settings["model"]), "--artifact", UNCERTAINTY.artifacts,
         "--dataset", UNCERTAINTY.dataset_pkl, "--save-features", "--n-workers", "1",
         "--output", UNCERTAINTY.predicted], workdir)
    select_seconds = run_grace_uq(
        ["select", "--uq", UNCERTAINTY.artifacts, "--predicted", UNCERTAINTY.predicted,
         *select_arguments(options), "--output", UNCERTAINTY.selected], workdir)
    gammas = frame_gammas(pd.read_pickle(workdir / UNCERTAINTY.predicted))
    (workdir / UNCERTAINTY.pool_gamma).write_text(json.dumps(gammas))
    selected = [int(i) for i in pd.read_pickle(workdir / UNCERTAINTY.selected).index]
    threshold = options["gamma_min"] if options["gamma_min"] is not None else 1.0
    return {"n_pool": n_structures, "selected_indices": selected, "n_selected": len(selected),
            "n_extrapolative": sum(g["gamma_max"] > threshold for g in gammas), "gamma_threshold": threshold,
            "pool_gamma_max": max((g["gamma_max"] for g in gammas), default=None),
            "predict_seconds": predict_seconds, "select_seconds": select_seconds, "settings": options}


def uncertainty_calculator(saved_model: str, uncertainty: dict, **calculator_kwargs):
    """A ``TPCalculator`` whose results carry γ per atom (``gamma``) beside energy, forces and stress.

    ``uncertainty``: paths ``artifacts`` (gmm_artifacts.npz), ``model_yaml`` and ``checkpoint`` (prefix) of the
    model the artifacts were built for; γ only, no uncertainty forces."""
    from tensorpotential.calculator import TPCalculator

    calc = TPCalculator(saved_model, **calculator_kwargs)
    calc.load_uq_artifacts(uncertainty["artifacts"], model_yaml=uncertainty["model_yaml"],
                           checkpoint=uncertainty["checkpoint"], compute_dsigma_dr=False)
    return calc


def run_from_settings(settings_path: str, command: str) -> int:
    """Driver entry: ``command`` is ``build`` or ``select``."""
    with open(settings_path) as handle:
        settings = yaml.safe_load(handle)
    workdir = Path(settings_path).resolve().parent
    summary = {"build": build, "select": select}[command](settings, workdir)
    (workdir / UNCERTAINTY.summary).write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary), flush=True)
    return 0

"""File names shared by the CalcJobs, their parsers and the compute-side driver (no aiida imports)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainFiles:
    input_yaml: str = "input.yaml"
    train_xyz: str = "train.extxyz"
    test_xyz: str = "test.extxyz"
    train_pkl: str = "train.pkl.gz"
    test_pkl: str = "test.pkl.gz"
    parent_dir: str = "parent_model"
    driver_stdout: str = "driver.out"
    gracemaker_stdout: str = "gracemaker.out"
    gracemaker_stderr: str = "gracemaker.err"
    retrieved_run_files: tuple = ("log.txt", "model.yaml", "train_metrics.yaml", "test_metrics.yaml", "FS_model.yaml")

    @staticmethod
    def run_dir(seed: int) -> str:
        """gracemaker writes everything into seed/<seed>/."""
        return f"seed/{seed}"


@dataclass(frozen=True)
class EvaluateFiles:
    settings: str = "evaluate.yaml"
    structures: str = "structures.extxyz"
    model_dir: str = "model"
    results: str = "results.extxyz"
    partial: str = "results.partial.extxyz"  # structures finished so far (grace_index in info), for resuming
    summary: str = "summary.json"
    stdout: str = "driver.out"
    stderr: str = "driver.err"

    @staticmethod
    def pooled_structures(index: int) -> str:
        """The file of the ``index``-th dataset pooled into one job (``datasets`` input, sorted by name)."""
        return f"structures_{index:05d}.extxyz"


@dataclass(frozen=True)
class KappaFiles:
    settings: str = "kappa.yaml"
    phono3py_yaml: str = "phono3py_disp.yaml"
    forces: str = "forces.extxyz"
    fc2: str = "fc2.hdf5"
    fc3: str = "fc3.hdf5"
    kappa_hdf5: str = "kappa.hdf5"
    results: str = "kappa.json"
    plot: str = "phonons.png"
    stdout: str = "driver.out"
    stderr: str = "driver.err"


@dataclass(frozen=True)
class MdFiles:
    settings: str = "md.yaml"
    structure: str = "structure.extxyz"
    model_dir: str = "model"
    lammps_data: str = "structure.data"
    lammps_input: str = "in.lammps"
    lammps_log: str = "log.lammps"
    trajectory: str = "trajectory.npz"
    thermo: str = "thermo.npz"
    gamma: str = "gamma.npz"  # with UQ artifacts: max γ per thermo row, and every step above gamma_dump
    extrapolative: str = "extrapolative.extxyz"  # the steps above gamma_dump (up to gamma_dump_max_frames)
    summary: str = "summary.json"
    stdout: str = "driver.out"
    stderr: str = "driver.err"


@dataclass(frozen=True)
class UncertaintyFiles:
    settings: str = "uq.yaml"
    model_dir: str = "model"
    dataset: str = "dataset.extxyz"  # the model's training set (build) or the candidate pool (select)
    dataset_pkl: str = "dataset.pkl.gz"
    artifacts: str = "gmm_artifacts.npz"
    predicted: str = "predicted.pkl.gz"
    selected: str = "selected.pkl.gz"
    pool_gamma: str = "pool_gamma.json"  # per frame of the pool: max and mean γ
    summary: str = "summary.json"
    stdout: str = "driver.out"
    stderr: str = "driver.err"


TRAIN = TrainFiles()
EVALUATE = EvaluateFiles()
KAPPA = KappaFiles()
MD = MdFiles()
UNCERTAINTY = UncertaintyFiles()

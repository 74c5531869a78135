"""Parser of ``grace.train``: the model, final metrics, learning curve and log from gracemaker's output."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np
import yaml
from aiida import orm
from aiida.engine import ExitCode
from aiida.parsers import Parser

from ..calculations.train import exports_fs_yaml
from ..common.files import TRAIN
from ..common.metrics import EV_PER_A3_TO_GPA
from ..common.model_files import ModelFilesError
from ..data import GraceModelData
from .scheduler import stopped_at_time_limit

NAN_LOSS = re.compile(r"Iteration #(\d+).*total_loss:\s*(nan|inf)", re.IGNORECASE)
N_PARAMETERS = re.compile(r"Number of trainable parameters:\s*(\d+)")
OOM = re.compile(r"ResourceExhaustedError|OOM when allocating|MemoryError|Killed")
# gracemaker's metric names → ours (units: eV/atom, eV/Å, GPa after conversion)
METRICS = {
    "mae/depa": "energy_per_atom_mae", "rmse/depa": "energy_per_atom_rmse",
    "mae/f_comp": "forces_mae", "rmse/f_comp": "forces_rmse",
    "mae/stress": "stress_mae", "rmse/stress": "stress_rmse",
}


def read_metrics(path: Path) -> list[dict]:
    """gracemaker's ``*_metrics.yaml``: one dict per epoch (a YAML list of flow mappings)."""
    if not path.is_file():
        return []
    return yaml.safe_load(path.read_text()) or []


def renamed(epoch: dict) -> dict:
    """One epoch's metrics under our names and units (stress eV/Å³ → GPa)."""
    out = {}
    for source, target in METRICS.items():
        if source in epoch and epoch[source] is not None:
            scale = EV_PER_A3_TO_GPA if source.endswith("stress") else 1.0
            out[target] = float(epoch[source]) * scale
    return out


def learning_curve(train: list[dict], test: list[dict]) -> orm.ArrayData:
    """Arrays ``epoch``, ``train_<metric>`` and ``test_<metric>`` per epoch (NaN where absent)."""
    curve = orm.ArrayData()
    curve.set_array("epoch", np.array([e.get("epoch", i + 1) for i, e in enumerate(train)], dtype=int))
    for prefix, epochs in (("train", train), ("test", test)):
        losses = [e.get(f"total_loss/{prefix}", np.nan) for e in epochs]
        curve.set_array(f"{prefix}_loss", np.array(losses, dtype=float))
        for name in METRICS.values():
            curve.set_array(f"{prefix}_{name}", np.array([renamed(e).get(name, np.nan) for e in epochs]))
    return curve


class GraceTrainParser(Parser):
    """Reads the retrieved files only; builds a ``GraceModelData`` from final_model, model.yaml, checkpoint."""

    def parse(self, **kwargs):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            self.retrieved.copy_tree(root)
            return self._parse_folder(root)

    def _parse_folder(self, root: Path):
        log_path = root / "log.txt"
        stdout = (root / TRAIN.gracemaker_stdout).read_text(errors="replace") if (
            root / TRAIN.gracemaker_stdout).is_file() else ""
        stderr = (root / TRAIN.gracemaker_stderr).read_text(errors="replace") if (
            root / TRAIN.gracemaker_stderr).is_file() else ""
        if not log_path.is_file():
            if OOM.search(stderr):
                return self.exit_codes.ERROR_OUT_OF_MEMORY
            if stopped_at_time_limit(self.node, self.retrieved, stderr):  # stopped before gracemaker wrote anything
                return self.exit_codes.ERROR_OUT_OF_WALLTIME
            tail = (stderr or stdout).strip().splitlines()[-3:]
            return self.exit_codes.ERROR_MISSING_LOG.format(detail=" | ".join(tail))
        log = log_path.read_text(errors="replace")
        self.out("log", orm.SinglefileData(file=str(log_path)))

        train, test = read_metrics(root / "train_metrics.yaml"), read_metrics(root / "test_metrics.yaml")
        if train:
            self.out("learning_curve", learning_curve(train, test))

        nan = NAN_LOSS.search(log) or NAN_LOSS.search(stdout)
        if nan:
            return self.exit_codes.ERROR_NAN_LOSS.format(epoch=nan.group(1))
        if OOM.search(stderr) or OOM.search(log):
            return self.exit_codes.ERROR_OUT_OF_MEMORY
        if not (root / "final_model" / "saved_model.pb").is_file():
            if stopped_at_time_limit(self.node, self.retrieved, stderr):
                self._attach_checkpoint(root)
                return self.exit_codes.ERROR_OUT_OF_WALLTIME
            tail = (stderr or log).strip().splitlines()[-3:]
            return self.exit_codes.ERROR_MISSING_MODEL.format(detail=" | ".join(tail))
        if not train:
            return self.exit_codes.ERROR_MISSING_METRICS

        parameters = self.node.inputs.parameters.get_dict() if "parameters" in self.node.inputs else {}
        try:
            model = self._model(root, log, parameters)
        except (ModelFilesError, OSError, ValueError) as exception:
            return self.exit_codes.ERROR_INVALID_MODEL.format(exception=exception)
        if exports_fs_yaml(self.node.inputs) and not model.has_fs_yaml:
            return self.exit_codes.ERROR_MISSING_FS_YAML
        self.out("model", model)
        self.out("output_parameters", orm.Dict(self._summary(train, test, model)))
        return ExitCode(0)

    def _attach_checkpoint(self, root: Path) -> None:
        """Keep the best checkpoint so far (model.yaml + checkpoint) as the ``checkpoint`` output, if any."""
        try:
            checkpoint = GraceModelData(root, origin={"kind": "checkpoint", "calcjob_uuid": self.node.uuid})
        except ModelFilesError:
            return
        if checkpoint.has_checkpoint:
            self.out("checkpoint", checkpoint)

    def _model(self, root: Path, log: str, parameters: dict) -> GraceModelData:
        parent = self.node.inputs.parent_model if "parent_model" in self.node.inputs else None
        match = N_PARAMETERS.search(log)
        reduced = (parameters.get("finetune") or {}).get("reduce_elements", False)
        if parent is not None:
            n_parameters = None if reduced else parent.base.attributes.get("n_parameters")
            preset = parent.base.attributes.get("preset")
        else:
            n_parameters = int(match.group(1)) if match else None
            preset = (parameters.get("potential") or {}).get("preset", "GRACE_1LAYER_latest")
        origin = {"kind": "trained", "calcjob_uuid": self.node.uuid}
        if parent is not None:
            origin.update(parent_uuid=parent.uuid, strategy=(parameters.get("finetune") or {}).get("strategy", "naive"))
        return GraceModelData(root, origin=origin, preset=preset, n_parameters=n_parameters)

    @staticmethod
    def _summary(train: list[dict], test: list[dict], model: GraceModelData) -> dict:
        summary = {"n_epochs": len(train), "elements": model.elements, "sha256": model.sha256}
        summary.update({f"train_{k}": v for k, v in renamed(train[-1]).items()})
        if test:
            best = min(test, key=lambda e: e.get("total_loss/test", np.inf))
            summary.update({f"test_{k}": v for k, v in renamed(best).items()})
            summary["best_test_epoch"] = int(best.get("epoch", 0))
            summary["best_test_loss"] = float(best.get("total_loss/test", np.nan))
        summary["units"] = {"energy_per_atom": "eV/atom", "forces": "eV/Å", "stress": "GPa"}
        return summary

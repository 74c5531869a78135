"""Parsers of ``grace.uncertainty`` (the UQ artifacts node) and ``grace.select`` (pool γ and the chosen frames)."""

from __future__ import annotations

import json

import numpy as np
from aiida import orm
from aiida.parsers import Parser

from ..common.files import UNCERTAINTY
from ..data import GraceDatasetData, GraceUncertaintyData


class UqParser(Parser):
    """Shared: the driver's summary.json, or exit 301 with the tail of its stderr."""

    REQUIRED: tuple = ()

    def parse(self, **kwargs):
        names = self.retrieved.base.repository.list_object_names()
        if any(name not in names for name in (UNCERTAINTY.summary, *self.REQUIRED)):
            stderr = self.retrieved.base.repository.get_object_content(UNCERTAINTY.stderr) \
                if UNCERTAINTY.stderr in names else ""
            stdout = self.retrieved.base.repository.get_object_content(UNCERTAINTY.stdout) \
                if UNCERTAINTY.stdout in names else ""
            tail = (stderr.strip() or stdout.strip()).splitlines()[-3:]
            return self.exit_codes.ERROR_MISSING_RESULTS.format(detail=" | ".join(tail))
        try:
            summary = json.loads(self.retrieved.base.repository.get_object_content(UNCERTAINTY.summary))
            self.parse_results(summary)
        except (ValueError, KeyError, TypeError, IndexError) as exception:
            return self.exit_codes.ERROR_INVALID_RESULTS.format(exception=exception)
        self.out("output_parameters", orm.Dict(summary))
        return None

    def parse_results(self, summary: dict) -> None:
        raise NotImplementedError


class GraceUncertaintyParser(UqParser):
    REQUIRED = (UNCERTAINTY.artifacts,)

    def parse_results(self, summary: dict) -> None:
        content = self.retrieved.base.repository.get_object_content(UNCERTAINTY.artifacts, mode="rb")
        self.out("uncertainty", GraceUncertaintyData(content, model=self.node.inputs.model,
                                                     dataset=self.node.inputs.dataset, summary=summary))


class GraceSelectParser(UqParser):
    REQUIRED = (UNCERTAINTY.pool_gamma,)

    def parse_results(self, summary: dict) -> None:
        gammas = json.loads(self.retrieved.base.repository.get_object_content(UNCERTAINTY.pool_gamma))
        pool = self.node.inputs.dataset.to_ase()
        if len(gammas) != len(pool):
            raise ValueError(f"γ of {len(gammas)} frames for a pool of {len(pool)}")
        array = orm.ArrayData()
        array.set_array("gamma_max", np.array([g["gamma_max"] for g in gammas]))
        array.set_array("gamma_mean", np.array([g["gamma_mean"] for g in gammas]))
        self.out("pool_gamma", array)
        chosen = []
        for index in summary["selected_indices"]:
            frame = pool[index]
            frame.calc = None  # the pool's labels (if any) are the explorer's, not the reference's
            frame.info = {**frame.info, "pool_index": int(index), "gamma_max": gammas[index]["gamma_max"]}
            chosen.append(frame)
        if chosen:
            self.out("selected", GraceDatasetData.from_ase(chosen))

"""What the ``grace.base_*`` restart wrappers share: the exposed ports, the restart loop and the walltime rule."""

from __future__ import annotations

from aiida.common import AttributeDict
from aiida.engine import BaseRestartWorkChain, while_

__all__ = ("GraceRestartWorkChain", "walltime_doubled")


def walltime_doubled(options: dict) -> int | None:
    """``options`` with max_wallclock_seconds (s) doubled in place; returns the new value (None when unset)."""
    walltime = options.get("max_wallclock_seconds")
    if walltime:
        options["max_wallclock_seconds"] = int(walltime) * 2
    return options.get("max_wallclock_seconds")


class GraceRestartWorkChain(BaseRestartWorkChain):
    """A ``BaseRestartWorkChain`` around ``_process_class`` whose inputs sit in the ``_namespace`` namespace."""

    _process_class = None
    _namespace: str = ""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(cls._process_class, namespace=cls._namespace)
        spec.expose_outputs(cls._process_class)
        spec.outline(
            cls.setup,
            while_(cls.should_run_process)(
                cls.run_process,
                cls.inspect_process,
            ),
            cls.results,
        )

    def setup(self):
        """The job's inputs in ``ctx.inputs``, with an ``options`` dict the handlers may change."""
        super().setup()
        self.ctx.inputs = AttributeDict(self.exposed_inputs(self._process_class, self._namespace))
        self.ctx.inputs.setdefault("metadata", {}).setdefault("options", {})

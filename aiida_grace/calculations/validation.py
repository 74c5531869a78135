"""Port validators shared by the CalcJobs."""

from __future__ import annotations

from typing import Callable


def dict_port_validator(check: Callable[[dict], object], what: str):
    """A validator for a Dict port whose content ``check`` accepts or rejects with a ValueError."""

    def validator(value, _):
        if value is None:
            return None
        try:
            check(value.get_dict())
        except ValueError as exception:
            return f"invalid {what}: {exception}"
        return None

    return validator

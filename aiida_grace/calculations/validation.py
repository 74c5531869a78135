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


def missing_elements(model, elements, *, what: str = "the structures contain", role: str = "model") -> str | None:
    """A message when ``elements`` include any the model lacks, else None (``what`` starts the sentence)."""
    missing = set(elements) - set(model.elements)
    if not missing:
        return None
    return (f"{what} element(s) {', '.join(sorted(missing))} that {role} <{model.pk}> does not have "
            f"(it has {', '.join(model.elements)})")


def model_usable(model, elements, calculator: str, *, what: str = "the structures contain") -> str | None:
    """A message when the model lacks an element, the files ``calculator`` needs ('tensorflow' or 'fs_cpp'),
    or no longer matches its sha256; else None."""
    from ..data.model import ModelIntegrityError

    message = missing_elements(model, elements, what=what)
    if message:
        return message
    if calculator == "fs_cpp" and not model.has_fs_yaml:
        return f"calculator 'fs_cpp' needs an FS yaml, and model <{model.pk}> has none (train with preset FS)"
    if calculator == "tensorflow" and not model.has_saved_model:
        return f"model <{model.pk}> has no SavedModel for the tensorflow calculator"
    try:
        model.verify()
    except ModelIntegrityError as exception:
        return str(exception)
    return None


def codes_apart(inputs) -> str | None:
    """A message when gracemaker (``code``) and the driver (``driver_code``) are on different computers."""
    code, driver = inputs.get("code"), inputs.get("driver_code")
    if code is not None and driver is not None and code.computer.uuid != driver.computer.uuid:
        return "code and driver_code must be on the same computer"
    return None

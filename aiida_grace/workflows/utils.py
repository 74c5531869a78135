"""Small helpers shared by the WorkChains."""

from __future__ import annotations


def failure_reason(node) -> str:
    """Why a child process did not finish ok, in words for an exit message; for a restart wrapper, also why its
    last job failed (the wrapper's own 402 says only "unhandled failure")."""
    if node.is_excepted:
        return "excepted"
    if node.is_killed:
        return "killed"
    reason = f"exit status {node.exit_status}: {node.exit_message}"
    last = max(node.called, key=lambda child: child.ctime, default=None)
    if last is not None and not last.is_finished_ok:
        reason += f"; its last job <{last.pk}>: {failure_reason(last)}"
    return reason


def read_protocol(name: str, protocol: str | None = None, overrides: dict | None = None) -> dict:
    """Settings of ``protocol`` from ``protocols/<name>.yaml`` (default: its ``default_protocol``), merged over the
    file's ``default_inputs``, with ``overrides`` merged on top."""
    from pathlib import Path

    import yaml

    from ..common.train_input import merge

    data = yaml.safe_load((Path(__file__).parent / "protocols" / f"{name}.yaml").read_text())
    chosen_name = protocol or data["default_protocol"]
    if chosen_name not in data["protocols"]:
        raise ValueError(f"unknown protocol '{chosen_name}'; choose from {', '.join(data['protocols'])}")
    chosen = {k: v for k, v in data["protocols"][chosen_name].items() if k != "description"}
    return merge(merge(data["default_inputs"], chosen), overrides or {})


def failures_text(failures: dict) -> str:
    """``name: reason; ...`` of a batch's per-name failures, sorted by name, for exit messages."""
    return "; ".join(f"{name}: {reason}" for name, reason in sorted(failures.items()))


def submit_child(process, wrapper, namespace: str, label: str, **inputs):
    """Submit one job of ``inputs`` from ``process`` through the restart ``wrapper`` (its input ``namespace``):
    both labelled ``label`` (also the call link), the job with the process's ``options`` input when it has one."""
    metadata = {"label": label}
    if "options" in process.inputs:
        metadata["options"] = dict(process.inputs.options)
    return process.submit(wrapper, **{namespace: {**inputs, "metadata": metadata}},
                          metadata={"label": label, "call_link_label": label})


def define_code_ports(spec, code_help: str) -> None:
    """The ``code`` (gracemaker, described by ``code_help``) and ``driver_code`` ports of a training work chain."""
    from aiida import orm

    spec.input("code", valid_type=orm.AbstractCode, help=code_help)
    spec.input("driver_code", valid_type=orm.AbstractCode,
               help="The aiida-grace driver on the same computer (grace.evaluate, dataset conversion).")

"""Small helpers shared by the WorkChains."""

from __future__ import annotations


def failure_reason(node) -> str:
    """Why a child process did not finish ok, in words for an exit message."""
    if node.is_excepted:
        return "excepted"
    if node.is_killed:
        return "killed"
    return f"exit status {node.exit_status}: {node.exit_message}"

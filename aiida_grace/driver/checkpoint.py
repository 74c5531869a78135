"""Before ``gracemaker -rl``: make sure the checkpoint it will load is whole.

gracemaker overwrites ``checkpoints/checkpoint`` (every checkpoint_freq epochs) and
``checkpoints/checkpoint.best_test_loss`` (when the test loss improves). TensorFlow replaces the ``.index`` and
``.data-*`` files of a checkpoint one after the other, so a job stopped between the two (a walltime, a node
failure) leaves a checkpoint whose index and data disagree, and the restart dies with ``DataLossError:
Checksum does not match``. The two checkpoints are written at different moments, so at most one is broken:
when the regular one does not read back, the best-test-loss one replaces it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

REGULAR, BEST = "checkpoint", "checkpoint.best_test_loss"


def checkpoint_error(prefix: Path) -> str | None:
    """Why the checkpoint at ``prefix`` cannot be read back (every tensor, checksums included), or None."""
    import tensorflow as tf

    if not Path(f"{prefix}.index").is_file():
        return "missing"
    try:
        reader = tf.train.load_checkpoint(str(prefix))
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as exception:  # noqa: BLE001 - whatever TF raises, the checkpoint is unusable
        return f"{type(exception).__name__}: {str(exception).splitlines()[0][:200]}"
    return None


def _files(folder: Path, prefix: str) -> list[Path]:
    return [p for p in folder.glob(f"{prefix}.*") if p.name == f"{prefix}.index" or
            p.name.startswith(f"{prefix}.data-")]


def repair(folder: str | Path) -> int:
    """Check ``folder``'s regular checkpoint; replace it by the best-test-loss one when it is broken.

    Returns 0 when the regular checkpoint reads back (now), 1 otherwise; prints what it found and did.
    """
    folder = Path(folder)
    error = checkpoint_error(folder / REGULAR)
    if error is None:
        print(f"checkpoint: {folder / REGULAR} reads back", flush=True)
        return 0
    best_error = checkpoint_error(folder / BEST)
    if best_error is not None:
        print(f"checkpoint: {folder / REGULAR} unreadable ({error}) and {BEST} too ({best_error})", flush=True)
        return 1
    for path in _files(folder, REGULAR):
        path.unlink()
    for path in _files(folder, BEST):
        shutil.copyfile(path, folder / (REGULAR + path.name[len(BEST):]))
    print(f"checkpoint: {folder / REGULAR} unreadable ({error}); replaced by {BEST}", flush=True)
    return 0

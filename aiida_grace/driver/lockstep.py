"""Many relaxations in lockstep: one padded forward pass per optimizer step serves every running relaxation.

A relaxation asks for forces hundreds of times, and for a small cell each ``TPCalculator`` call is mostly
per-call overhead. Here each structure's optimizer (the same ASE code as a one-by-one relaxation: FIRE or BFGS,
cell filter, ``FixSymmetry``) runs in a worker thread whose calculator hands its cell to a shared
:class:`LockstepEvaluator`; when every running relaxation has asked, the evaluator labels them all in forward
passes of :mod:`.batched` (the labels equal ``TPCalculator``'s to round-off) and wakes them. Workers take the
next structure when theirs is done, so a job of thousands of cells keeps ``max_concurrent`` of them in flight.

Padded shapes are powers of two in atoms and bonds, and a pass reuses the smallest shape already compiled that
holds it unless that wastes more than ``REUSE_WASTE`` × the bonds: a few compilations per job (each ~1 s), while a
few stragglers do not pay for the whole batch's padding.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterator

from ase.calculators.calculator import Calculator, all_changes

from .batched import BATCH_BONDS, forward

MAX_CONCURRENT = 256  # relaxations in flight at once (threads)
REUSE_WASTE = 4  # reuse a compiled shape of up to this many times the bonds a pass needs
MIN_SLOTS = (64, 1024)  # smallest padded shape (atoms, bonds)


class LockstepEvaluator:
    """Collects the force requests of ``workers`` threads and serves them with batched forward passes."""

    def __init__(self, calc, workers: int, *, compute_stress: bool = True, max_bonds: int = BATCH_BONDS):
        self.calc, self.compute_stress, self.max_bonds = calc, compute_stress, max_bonds
        self.builder = calc.data_builders[0]
        self.condition = threading.Condition()
        self.running = workers  # workers that may still ask
        self.pending: dict[int, object] = {}  # ticket → Atoms waiting for labels
        self.results: dict[int, object] = {}
        self.error: BaseException | None = None
        self.shapes: set[tuple[int, int]] = set()  # (atom slots, bond slots) compiled so far
        self._tickets = 0

    def labels(self, atoms) -> dict:
        """``energy`` (eV), ``forces`` (eV/Å) and, for a periodic cell, ``stress`` (eV/Å³, ASE Voigt) of
        ``atoms``, computed in the next batched pass; blocks until then."""
        with self.condition:
            self._tickets += 1
            ticket = self._tickets
            self.pending[ticket] = atoms.copy()
            self._serve_if_all_waiting()
            while ticket not in self.results and self.error is None:
                self.condition.wait()
            if self.error is not None:
                raise RuntimeError("the batched forward pass failed") from self.error
            return self.results.pop(ticket)

    def leave(self) -> None:
        """A worker has no more structures: the others no longer wait for it."""
        with self.condition:
            self.running -= 1
            self._serve_if_all_waiting()

    def _serve_if_all_waiting(self) -> None:
        if not self.pending or len(self.pending) < self.running:
            return
        try:
            self._serve()
        except BaseException as exception:  # every waiting worker raises it
            self.error = exception
        self.pending.clear()
        self.condition.notify_all()

    def _serve(self) -> None:
        from tensorpotential import constants

        tickets = list(self.pending)
        structures = [self.pending[t] for t in tickets]
        data = [self.builder.extract_from_ase_atoms(atoms) for atoms in structures]
        sizes = [(int(d[constants.N_ATOMS_BATCH_REAL]), int(d[constants.N_NEIGHBORS_REAL])) for d in data]
        for group in self._groups(sizes):
            shape = self._shape_for([sizes[i] for i in group])
            _, labelled, _ = forward(structures, [(i, data[i]) for i in group], self.calc, shape,
                                     self.compute_stress)
            for i, result in zip(group, labelled):
                self.results[tickets[i]] = result.calc.results

    def _groups(self, sizes: list[tuple[int, int]]) -> list[list[int]]:
        """Indices cut into passes of at most ``max_bonds`` bonds each (a bigger cell gets a pass alone)."""
        groups, current, bonds = [], [], 0
        for index, (_, n_bonds) in enumerate(sizes):
            if current and bonds + n_bonds > self.max_bonds:
                groups.append(current)
                current, bonds = [], 0
            current.append(index)
            bonds += n_bonds
        if current:
            groups.append(current)
        return groups

    def _shape_for(self, sizes: list[tuple[int, int]]) -> tuple[int, int]:
        """The padded (atom slots, bond slots) of a pass of cells of ``sizes`` (atoms, bonds) each."""
        atoms, bonds = sum(s[0] for s in sizes) + 1, sum(s[1] for s in sizes)
        fitting = [shape for shape in self.shapes if shape[0] >= atoms and shape[1] >= bonds]
        if fitting:
            best = min(fitting, key=lambda shape: shape[1])
            if best[1] <= REUSE_WASTE * max(bonds, MIN_SLOTS[1]):
                return best
        shape = (power_of_two(atoms, MIN_SLOTS[0]), power_of_two(bonds, MIN_SLOTS[1]))
        self.shapes.add(shape)
        return shape


def power_of_two(count: int, smallest: int) -> int:
    """The smallest power of two ≥ ``count`` and ≥ ``smallest``."""
    return max(smallest, 1 << max(0, int(count - 1).bit_length()))


class LockstepCalculator(Calculator):
    """An ASE calculator of one worker thread: each calculation is a request to the shared evaluator."""

    implemented_properties = ("energy", "free_energy", "forces", "stress")

    def __init__(self, evaluator: LockstepEvaluator):
        super().__init__()
        self.evaluator = evaluator

    def calculate(self, atoms=None, properties=("energy", "forces"), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        results = self.evaluator.labels(self.atoms)
        self.results = {"energy": results["energy"], "free_energy": results["energy"],
                        "forces": results["forces"].copy()}
        if results.get("stress") is not None:
            self.results["stress"] = results["stress"].copy()


def relax_in_lockstep(structures: list, indices: list[int], calc, relax_one: Callable, *,
                      compute_stress: bool = True, max_concurrent: int = MAX_CONCURRENT
                      ) -> Iterator[tuple[int, object]]:
    """Yield ``(index, result)`` as each relaxation ``relax_one(structures[index], calculator)`` finishes, at most
    ``max_concurrent`` at once, all sharing one :class:`LockstepEvaluator` over the batchable ``calc``."""
    todo: queue.Queue = queue.Queue()
    for index in indices:
        todo.put(index)
    workers = min(max_concurrent, len(indices))
    evaluator = LockstepEvaluator(calc, workers, compute_stress=compute_stress)
    finished: queue.Queue = queue.Queue()

    def work():
        try:
            while True:
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    finished.put((index, relax_one(structures[index], LockstepCalculator(evaluator))))
                except BaseException as exception:  # noqa: BLE001 (handed to the main thread)
                    finished.put((index, exception))
        finally:
            evaluator.leave()

    threads = [threading.Thread(target=work, daemon=True, name=f"relax-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for _ in indices:
        index, result = finished.get()
        if isinstance(result, BaseException):
            raise result
        yield index, result
    for thread in threads:
        thread.join()

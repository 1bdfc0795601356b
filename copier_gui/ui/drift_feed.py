"""The drift view's data: the journal's new entries folded into a DriftLedger, and each slave's
figures over a period, computed on one worker thread so the window never waits for the journal.

A round reads only what came after the last entry the ledger has (oldest first, in chunks), folds
it, then computes the figures. The Qt side starts a round and later takes its result; only the
worker thread touches the ledger, one round at a time.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from copier_gui.core.drift_ledger import DriftLedger, Marks, SlaveDrift
from copier_gui.core.journal import Journal, JournalError

log = logging.getLogger("copier_gui.ui.drift")

CHUNK = 2000  # entries per read: each read and its JSON decoding stay a few milliseconds
ROUND_LIMIT = 50_000  # entries folded per round at most, so a long journal shows figures early


@dataclass(frozen=True)
class Figures:
    """What one round found: every slave's drift over [start, end), or why there is none."""

    drifts: dict[str, SlaveDrift]  # empty when the round only read (nothing was shown)
    start: float | None
    end: float
    computed: bool
    caught_up: bool  # False: more entries were waiting when the round ended
    entries: int  # entries folded so far, over every round
    error: str = ""
    slaves: list[str] = field(default_factory=list)  # every slave the journal names


class DriftFeed:
    """Keeps a DriftLedger up with a journal and computes figures from it, off the calling thread."""

    def __init__(self, journal: Journal, *, chunk: int = CHUNK, round_limit: int = ROUND_LIMIT) -> None:
        if chunk < 1 or round_limit < chunk:
            raise ValueError(f"chunk must be >= 1 and round_limit >= chunk, got {chunk} and {round_limit}")
        self._journal = journal
        self._chunk = chunk
        self._round_limit = round_limit
        self._ledger = DriftLedger()
        self._entries = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="copier_gui-drift")
        self._job: Future[Figures] | None = None
        self._closed = False
        # (after_seq, entries read) per read, the latest few: what tests and a curious reader check.
        self.reads: deque[tuple[int, int]] = deque(maxlen=64)

    @property
    def busy(self) -> bool:
        return self._job is not None

    def start_round(self, *, start: float | None, end: float, marks: Marks | None = None,
                    compute: bool = True, now: bool = False) -> bool:
        """Read what is new and, with ``compute``, the figures over [start, end), open trades
        valued at ``marks`` over the journal's own; False if a round is still running.

        ``now``: the period ends now, so it reaches the last entry read when that came after
        ``end`` (journaled while the round started); else a copy filled meanwhile would be after
        the end, neither held nor refused there, and listed as not valued."""
        if self._job is not None or self._closed:
            return False
        self._job = self._executor.submit(self._round, start, end, marks or {}, compute, now)
        return True

    def take(self) -> Figures | None:
        """The finished round's figures, once; None while it runs or when none was started."""
        job = self._job
        if job is None or not job.done():
            return None
        self._job = None
        return job.result()  # _round catches everything: a result, never an exception

    def wait(self, timeout: float = 30.0) -> Figures | None:
        """Block until the running round ends and take it (tests, and an export that needs it)."""
        job = self._job
        if job is None:
            return None
        job.result(timeout=timeout)
        return self.take()

    def close(self) -> None:
        """Stop: a round under way ends on its own, and nothing new starts."""
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ---------------------------------------------------------------- the worker thread
    def _round(self, start: float | None, end: float, live: Marks, compute: bool, now: bool) -> Figures:
        ledger = self._ledger
        try:
            caught_up = self._read()
            if now and ledger.last_wall >= end:
                end = ledger.last_wall + 1e-3  # [start, end): just past the last entry read
            drifts = {}
            if compute:
                marks = _overlay(ledger.marks_at(end), live)
                drifts = ledger.drift(start=start, end=end, marks=marks)
            return Figures(drifts, start, end, compute, caught_up, self._entries, slaves=list(ledger.slaves))
        except JournalError as exc:
            return Figures({}, start, end, False, True, self._entries, error=f"the journal cannot be read: {exc}",
                           slaves=list(ledger.slaves))
        except Exception as exc:  # a bug here must not end the view's updates, nor reach the user raw
            log.exception("computing drift from the journal failed")
            return Figures({}, start, end, False, True, self._entries,
                           error=f"drift could not be computed: {exc}", slaves=list(ledger.slaves))

    def _read(self) -> bool:
        """Fold what came after the ledger's last entry; True once nothing more is waiting."""
        ledger = self._ledger
        read = 0
        while read < self._round_limit:
            # What drift needs is recorded on the copier's loop, so it commits in sequence order
            # and never lands behind an entry already read.
            after = ledger.last_seq
            entries = self._journal.entries(after_seq=after, limit=self._chunk, newest_first=False)
            self.reads.append((after, len(entries)))
            ledger.feed(entries)
            read += len(entries)
            self._entries += len(entries)
            if len(entries) < self._chunk:
                return True
        return False


def _overlay(journaled: Marks, live: Marks) -> dict[str, dict[str, dict[str, float]]]:
    """The journal's latest marks with the live ones over them: a position the live snapshots no
    longer show (closed just now, its exit not read yet) keeps its last journaled price."""
    out: dict[str, dict[str, dict[str, float]]] = {
        account: {symbol: dict(sides) for symbol, sides in symbols.items()}
        for account, symbols in journaled.items()
    }
    for account, symbols in live.items():
        mine = out.setdefault(account, {})
        for symbol, sides in symbols.items():
            if isinstance(sides, Mapping):
                mine.setdefault(symbol, {}).update(sides)
    return out

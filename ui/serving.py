"""Serving releases to a running app: verified private copies, and the last good one kept.

Streamlit-free (pages/_common.py holds one ``ReleaseKeeper`` per process in ``st.cache_resource``).

Why a private copy. A published release folder can be deleted, truncated or overwritten while the
app runs (an operator's mistake, a full disk, a half-finished manual copy). Keeping only the
``Release`` object would not help: its reads go to the Parquet file on every query. Keeping the
whole table in memory would cost each process the decompressed size of every release (only the
overall results of the release being served, about a third of its rows and what every rerun
reads, are held in memory, by ``ui/reader.py``, loaded from the verified copy). So the
first time a process serves a release it copies the folder into a private cache directory
(``$SIPAS_CACHE`` or the system temp dir; removed at exit), verifies every checksum of the
*copy* against the copied manifest, and serves reads from that copy. Whatever then happens to
the published folder, the process keeps answering from verified bytes. Disk cost: one copy of
each served release per process.

Per rerun the keeper only ``stat``s the published manifest and Parquet files (size, mtime,
inode); when that signature changes it takes a new verified copy once. If the new state is
unreadable (missing, truncated, bad checksum) the failure is remembered for that signature (no
checksum per rerun), the last good copy keeps being served, and ``get`` returns a problem text
for the page to show. A release that never verified in this process is never served.
"""
from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sipas_data.release import INDICES, MANIFEST, UNITS, Release, ReleaseError, read_manifest, valid_release_id

log = logging.getLogger("sipas.serving")

_WATCHED = (MANIFEST, INDICES, UNITS)


def signature(folder: Path) -> tuple | None:
    """A cheap fingerprint of a published release folder's state (None when it is gone)."""
    out = []
    for name in _WATCHED:
        try:
            st = os.stat(folder / name)
        except OSError:
            return None
        out.append((st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(out)


@dataclass
class Snapshot:
    release: Release          # reads go to the private copy
    source_sig: tuple          # the published folder's signature when it was copied
    taken: float               # time.time() of the copy


class ReleaseKeeper:
    """Verified private copies of the releases under ``root``, one per release id."""

    def __init__(self, root: str | Path, cache_dir: str | Path | None = None):
        self.root = Path(root)
        base = Path(cache_dir or os.environ.get("SIPAS_CACHE") or tempfile.gettempdir())
        base.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="sipas-serving-", dir=base))
        atexit.register(shutil.rmtree, self.dir, True)
        self._lock = threading.Lock()
        self._good: dict[str, Snapshot] = {}              # release id -> snapshot being served
        self._retired: list[Snapshot] = []                # replaced snapshots, deleted a little later
        self._bad: dict[tuple[str, tuple], str] = {}      # (id, signature) -> problem

    # -----------------------------------------------------------------------------------------
    def kept_ids(self) -> list[str]:
        return list(self._good)

    def by_fingerprint(self, release_id: str, fingerprint: str) -> Release:
        """The served copy with this fingerprint (for cache functions keyed by fingerprint)."""
        for snap in [self._good.get(release_id), *self._retired]:
            if snap and snap.release.id == release_id and snap.release.fingerprint == fingerprint:
                return snap.release
        raise ReleaseError(f"release '{release_id}' ({fingerprint[:12]}) is no longer held")

    def get(self, release_id: str) -> tuple[Release, str | None]:
        """The release to serve for ``release_id`` and, when it is the last good copy because
        the published folder is gone or damaged, a short problem text (else None).
        Raises ReleaseError when no good copy of it was ever taken in this process."""
        if not valid_release_id(release_id):
            raise ReleaseError(f"'{release_id[:60]}' is not a release id")
        sig = signature(self.root / release_id)
        snap = self._good.get(release_id)
        if snap is not None and sig == snap.source_sig:
            return snap.release, None                       # the fast path: three stat calls
        problem = "the published folder is gone" if sig is None else self._bad.get((release_id, sig))
        if problem is None:
            with self._lock:
                snap = self._good.get(release_id)
                if snap is not None and sig == snap.source_sig:
                    return snap.release, None
                problem = self._bad.get((release_id, sig))
                if problem is None:
                    try:
                        new = self._take(release_id, sig)
                    except ReleaseError as exc:
                        problem = str(exc)
                        self._bad[(release_id, sig)] = problem
                        log.warning("release %s cannot be served from its folder: %s", release_id, problem)
                    else:
                        self._replace(release_id, new)
                        return new.release, None
        if snap is not None:
            return snap.release, problem
        raise ReleaseError(f"{release_id}: {problem}")

    # -----------------------------------------------------------------------------------------
    def _take(self, release_id: str, sig: tuple) -> Snapshot:
        src = self.root / release_id
        dst = self.dir / f"{release_id}-{uuid.uuid4().hex[:8]}" / release_id
        try:
            shutil.copytree(src, dst)
        except (OSError, shutil.Error) as exc:
            shutil.rmtree(dst.parent, ignore_errors=True)
            raise ReleaseError(f"could not be copied ({exc.__class__.__name__})") from None
        try:
            manifest = read_manifest(dst)
            release = Release(release_id, dst, manifest)
            problems = release.verify()
            if problems:
                raise ReleaseError("; ".join(problems))
            if signature(src) != sig:
                raise ReleaseError("it changed while being copied")
        except ReleaseError:
            shutil.rmtree(dst.parent, ignore_errors=True)
            raise
        log.info("serving release %s from a verified copy (%s)", release_id, release.fingerprint[:12])
        return Snapshot(release, sig, time.time())

    def _replace(self, release_id: str, new: Snapshot) -> None:
        old = self._good.get(release_id)
        self._good[release_id] = new
        if old is not None:
            self._retired.append(old)
        # keep the previous copy of each id for a while: sessions mid-run may still read it
        while len(self._retired) > 4:
            gone = self._retired.pop(0)
            shutil.rmtree(gone.release.path.parent, ignore_errors=True)

"""Serving releases to a running app: verified private copies, and the last good one kept.

Streamlit-free (pages/_common.py holds one ``ReleaseKeeper`` per process in ``st.cache_resource``).

Why a private copy. A published release folder can be deleted, truncated or overwritten while the
app runs (an operator's mistake, a full disk, a half-finished manual copy). Keeping only the
``Release`` object would not help: its reads go to the Parquet file on every query. Keeping the
whole table in memory would cost each process the decompressed size of every release (only the
overall results of the release being served, about a third of its rows and what every rerun
reads, are held in memory, by ``serving/reader.py``, loaded from the verified copy). So the
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

When no private copy can be made (the cache folder is full or unwritable: a fault of this
process's disk, not of the release), the published folder is verified in place and served
directly, with a warning in the log; the copy is tried again on a call at least ``retry_after``
seconds later, so the keeper recovers by itself once there is room, and the served ``Release``
object then reads from the new copy. Such a failure is never remembered as the release's fault.
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
from dataclasses import dataclass, field
from pathlib import Path

from sipas_data.release import INDICES, MANIFEST, UNITS, Release, ReleaseError, read_manifest, valid_release_id

log = logging.getLogger("sipas.serving")

_WATCHED = (MANIFEST, INDICES, UNITS)
RETRY_COPY_AFTER = 30.0  # seconds between attempts to copy a release served from its published folder


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
    release: Release          # reads go to the private copy (or to the published folder: see private)
    source_sig: tuple          # the published folder's signature when it was copied
    taken: float               # time.time() of the copy
    private: bool = True       # False: no copy could be made; served from the published folder
    retry_at: float = field(default=0.0)  # when not private: time.time() after which to try copying again


class CopyFailed(ReleaseError):
    """No private copy could be made: the cache folder's fault (full, unwritable), not the release's."""


class ReleaseKeeper:
    """Verified private copies of the releases under ``root``, one per release id."""

    def __init__(self, root: str | Path, cache_dir: str | Path | None = None, *,
                 retry_after: float | None = None):
        self.root = Path(root)
        self.base = Path(cache_dir or os.environ.get("SIPAS_CACHE") or tempfile.gettempdir())
        self.retry_after = RETRY_COPY_AFTER if retry_after is None else retry_after
        self.dir: Path | None = None                      # made on the first copy (see _cache)
        self._lock = threading.Lock()
        self._good: dict[str, Snapshot] = {}              # release id -> verified private copy being served
        self._direct: dict[str, Snapshot] = {}            # release id -> served from its published folder
        self._retired: list[Snapshot] = []                # replaced snapshots, deleted a little later
        self._bad: dict[tuple[str, tuple], str] = {}      # (id, signature) -> problem

    def _cache(self) -> Path:
        """The process's private cache folder, made when first needed (and again if it was removed)."""
        if self.dir is None or not self.dir.is_dir():
            self.base.mkdir(parents=True, exist_ok=True)
            self.dir = Path(tempfile.mkdtemp(prefix="sipas-serving-", dir=self.base))
            atexit.register(shutil.rmtree, self.dir, True)
        return self.dir

    # -----------------------------------------------------------------------------------------
    def kept_ids(self) -> list[str]:
        return list(self._good)

    def by_fingerprint(self, release_id: str, fingerprint: str) -> Release:
        """The served copy with this fingerprint (for cache functions keyed by fingerprint)."""
        for snap in [self._good.get(release_id), self._direct.get(release_id), *self._retired]:
            if snap and snap.release.id == release_id and snap.release.fingerprint == fingerprint:
                return snap.release
        raise ReleaseError(f"release '{release_id}' ({fingerprint[:12]}) is no longer held")

    def get(self, release_id: str) -> tuple[Release, str | None]:
        """The release to serve for ``release_id`` and, when it is the last good copy because
        the published folder is gone or damaged, a short problem text (else None).
        Raises ReleaseError when no good copy of it was ever taken in this process (and its
        published folder, when no copy can be made, does not verify either)."""
        if not valid_release_id(release_id):
            raise ReleaseError(f"'{release_id[:60]}' is not a release id")
        sig = signature(self.root / release_id)
        snap = self._good.get(release_id)
        if snap is not None and sig == snap.source_sig:
            return snap.release, None                       # the fast path: three stat calls
        if self._direct_ok(release_id, sig):
            return self._direct[release_id].release, None   # no copy yet, and not time to retry
        problem = "the published folder is gone" if sig is None else self._bad.get((release_id, sig))
        if problem is None:
            with self._lock:
                snap = self._good.get(release_id)
                if snap is not None and sig == snap.source_sig:
                    return snap.release, None
                if self._direct_ok(release_id, sig):
                    return self._direct[release_id].release, None
                problem = self._bad.get((release_id, sig))
                if problem is None:
                    try:
                        try:
                            new = self._take(release_id, sig)
                        except CopyFailed as exc:
                            new = self._in_place(release_id, sig, str(exc))
                    except ReleaseError as exc:
                        problem = str(exc)
                        self._bad[(release_id, sig)] = problem
                        log.warning("release %s cannot be served from its folder: %s", release_id, problem)
                    else:
                        if new.private:
                            self._replace(release_id, new)
                        return new.release, None
        if snap is not None:
            return snap.release, problem
        raise ReleaseError(f"{release_id}: {problem}")

    def _direct_ok(self, release_id: str, sig: tuple | None) -> bool:
        direct = self._direct.get(release_id)
        return direct is not None and sig == direct.source_sig and time.time() < direct.retry_at

    def _in_place(self, release_id: str, sig: tuple, why: str) -> Snapshot:
        """Serve the published folder itself, verified where it is, when no copy can be made."""
        now = time.time()
        direct = self._direct.get(release_id)
        if direct is None or direct.source_sig != sig:  # verified once per state of the folder
            src = self.root / release_id
            release = Release(release_id, src, read_manifest(src))
            problems = release.verify()
            if problems:
                raise ReleaseError("; ".join(problems))
            if signature(src) != sig:
                raise ReleaseError("it changed while being verified")
            direct = self._direct[release_id] = Snapshot(release, sig, now, private=False)
        direct.retry_at = now + self.retry_after
        log.warning("release %s: no private copy can be made (%s); serving it from the published folder, "
                    "verified in place; the copy is tried again in %.0f s", release_id, why, self.retry_after)
        return direct

    # -----------------------------------------------------------------------------------------
    def _take(self, release_id: str, sig: tuple) -> Snapshot:
        src = self.root / release_id
        try:
            dst = self._cache() / f"{release_id}-{uuid.uuid4().hex[:8]}" / release_id
        except OSError as exc:
            raise CopyFailed(f"the cache folder cannot be made: {exc.strerror or exc.__class__.__name__}") from None
        try:
            shutil.copytree(src, dst)
        except (OSError, shutil.Error) as exc:
            shutil.rmtree(dst.parent, ignore_errors=True)
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc.__class__.__name__
            raise CopyFailed(f"the copy into {self.base} failed: {why}") from None
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
        direct = self._direct.pop(release_id, None)
        if direct is not None and direct.release.manifest == new.release.manifest:
            # the same release, served from its published folder until now: whoever holds that
            # Release object (the app's caches are keyed by fingerprint) reads the copy from now on
            direct.release.path = new.release.path
            direct.release.__dict__.pop("_file", None)
            new.release = direct.release
        old = self._good.get(release_id)
        self._good[release_id] = new
        if old is not None:
            self._retired.append(old)
        # keep the previous copy of each id for a while: sessions mid-run may still read it
        while len(self._retired) > 4:
            gone = self._retired.pop(0)
            shutil.rmtree(gone.release.path.parent, ignore_errors=True)

"""Publishing a folder in one step, and putting the old one back when a replacement was cut short.

Releases (``sipas_data/release.py``) and installed boundary layers (``geo/boundaries.py``) are
folders that readers must see whole: the old one or the new one, never half of either. Both are
written the same way, beside their final place::

    <parent>/.tmp-<name>-<random>/   being written (:func:`new_tmp_dir`)
    <parent>/.old-<name>-<random>/   the folder being replaced, between the two renames
    <parent>/.<name>.lock            held by whoever replaces <name>, where writers lock (releases)

:func:`atomic_replace_dir` then gives the finished folder the published modes (folders 0755,
files 0644 whatever the umask: the account that serves the app reads what the publishing account
wrote), flushes every file and folder to disk, moves the current ``<name>`` (if any) aside to
``.old-<name>-<random>``, renames the new folder to ``<name>``, flushes the parent (so the
renames survive a power cut) and removes the old folder. A process that dies between the two
renames leaves no ``<name>``, only its ``.old-`` folder: :func:`restore_interrupted` puts it
back, and whoever lists or replaces those folders calls it first (never while the writer of that
name holds its lock, when writers take one: it is between the two renames on purpose).

Standard library only, and imports nothing of the project: ``sipas_data`` and ``geo`` both use
it without importing each other.
"""
from __future__ import annotations

import errno
import fcntl
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

DIR_MODE = 0o755   # published folders and files are world-readable, whatever the umask
FILE_MODE = 0o644
TMP_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (names made or renamed in it) to disk; errors are ignored."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def make_public(folder: Path) -> None:
    """Give ``folder`` and everything in it the published modes (0755 folders, 0644 files)."""
    os.chmod(folder, DIR_MODE)
    for p in folder.rglob("*"):
        os.chmod(p, DIR_MODE if p.is_dir() else FILE_MODE)


def new_tmp_dir(final: Path) -> Path:
    """A new hidden folder beside ``final`` to write its replacement in (``.tmp-<name>-<random>``)."""
    return Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{final.name}-", dir=final.parent))


def leftover_name(entry: str) -> str | None:
    """The name a ``.tmp-<name>-<random>`` or ``.old-<name>-<random>`` folder was written for."""
    for prefix in (TMP_PREFIX, OLD_PREFIX):
        if entry.startswith(prefix) and "-" in entry[len(prefix):]:
            return entry[len(prefix):].rsplit("-", 1)[0]
    return None


def try_lock(parent: Path, name: str, *, wait: bool = False) -> int | None:
    """Take the exclusive lock on ``<parent>/.<name>.lock``: an open descriptor that holds it
    (close it to release), or None when another process holds it (``wait``: block until it is
    free instead). Raises OSError when the lock file can be neither created nor opened (a reading
    account, before anything was written)."""
    path = parent / f".{name}.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except PermissionError:
        fd = os.open(path, os.O_RDONLY)  # flock needs no write access
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    try:
        os.fchmod(fd, FILE_MODE)  # so a reading account can tell whether a writer is running
    except OSError:
        pass
    return fd


def _fsync_tree(folder: Path) -> None:
    """Flush every file, then every folder below ``folder`` and ``folder`` itself, to disk."""
    folders = []
    for p in folder.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
        elif p.is_dir():
            folders.append(p)
    for d in (*folders, folder):
        fsync_dir(d)


def atomic_replace_dir(tmp: Path, final: Path) -> None:
    """Publish the finished folder ``tmp`` as ``final`` (same parent), replacing what is there.

    Readers see the old folder or the new one, never a mix. The caller removes ``tmp`` if this
    raises (and holds ``final``'s lock, where writers take one: :func:`try_lock`). Should the
    second rename fail, the old folder is put back at once; should the process die between the
    renames, :func:`restore_interrupted` puts it back later."""
    tmp, final = Path(tmp), Path(final)
    make_public(tmp)  # mkdtemp made it 0700: unreadable by the account that serves the app
    _fsync_tree(tmp)
    old = None
    if final.exists():
        old = final.parent / f"{OLD_PREFIX}{final.name}-{uuid.uuid4().hex[:8]}"
        os.rename(final, old)
    try:
        os.rename(tmp, final)
    except BaseException:
        if old is not None and not final.exists():
            os.rename(old, final)
        raise
    fsync_dir(final.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def restore_interrupted(parent: Path, complete: str, *, valid: Callable[[str], bool] = bool,
                        lock: bool = True) -> list[str]:
    """Put back every folder in ``parent`` that a replacement moved aside and never replaced:
    ``.old-<name>-*`` holding the file ``complete`` (its writer writes that file last), while
    ``<name>`` is missing. ``valid``: which names are this folder's. ``lock``: writers of these
    folders hold ``<parent>/.<name>.lock`` while they replace one, so a name whose lock is held
    is left alone (its writer is between the two renames). Returns the names put back."""
    parent = Path(parent)
    restored = []
    try:
        olds = [p for p in parent.iterdir() if p.name.startswith(OLD_PREFIX)]
    except OSError:
        return restored
    for old in olds:
        name = leftover_name(old.name)
        if name is None or not valid(name):
            continue
        target = parent / name
        if target.exists() or not (old / complete).exists():
            continue
        fd = None
        if lock:
            try:
                fd = try_lock(parent, name)
            except OSError:
                continue
            if fd is None:
                continue  # its writer is between the two renames
        try:
            if not target.exists():
                os.rename(old, target)
                restored.append(name)
        except OSError:
            pass
        finally:
            if fd is not None:
                os.close(fd)
    return restored

"""Published releases: written atomically, listed, opened and sliced.

A release is a folder::

    releases/<id>/
        manifest.json        id, title, publisher, created, methodologies, inputs and their
                             checksums, row counts, the demo flag, and a checksum per file
        indices.parquet      the long table (schema.INDEX_COLUMNS), clustered by indicator, then
                             year, level, parent, service, so a filtered read touches few row groups
        units.parquet        the units the release names, with names and parents (per vintage)
        methodology/*.json   the scheme definitions the engine used, as they were

It is written to a hidden temporary folder beside its final place and moved into place with a
rename, so a reader never sees half a release. Replacing an existing release takes two renames
(old out of the way, new in); if the process dies between them, the next listing restores the
old one (``atomic.py`` does both, for installed boundary layers too). Folders whose name starts
with a dot are never listed.

Published data is public: a release's folders are made 0755 and its files 0644 whatever the
writer's umask, so the account that serves the app can read what the publishing account wrote.
A build holds an exclusive lock on ``<root>/.<id>.lock`` while it writes ``<id>``; a second build
of the same id fails at once. Temporary folders left by an interrupted build are removed once no
build holds their lock (see :func:`remove_stale`).
"""
from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from atomic import DIR_MODE, atomic_replace_dir, leftover_name, new_tmp_dir, restore_interrupted, try_lock

from .contracts import Manifest
from .parquet_parts import Stitcher
from .scheme import Scheme, get_scheme, parse_scheme

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
INDICES = "indices.parquet"
UNITS = "units.parquet"
# Rows per Parquet row group: small enough that a map's slice skips nearly all of the file by
# the row groups' statistics, large enough to keep the writer's per-group work down (and
# slices read no slower than with smaller groups).
ROW_GROUP_SIZE = 65_536
# Batches computed ahead of the file (waiting for, or in, their encoding). The build has work
# between runs of batches (a scheme's restated series is computed after its pooled cells are
# handed over, the next scheme's grain after that): with room for a run of batches the encoders
# keep encoding meanwhile instead of waiting. A batch is one indicator's
# numbers (its keys are shared with the others): about 10 MB at most for a million forms.
PENDING_BATCHES = 16
# Threads encoding batches of the index file at once (one per core of the machines it is built on).
ENCODERS = 2
# The index columns that differ between the indicators of a scheme; the rest (the units' keys and
# the scheme's constant texts) are handed over as the very same arrays for every indicator whose
# cells are all published, and are encoded once for a run of batches sharing them.
INDICATOR_COLUMNS = frozenset({"indicator", "value", "n", "ci_low", "ci_high", "suppressed", "rank"})
# Key sets held with their encoding: an indicator with suppressed or missing cells has keys of
# its own between runs of indicators sharing theirs, and the run goes on after it.
KEY_SETS_HELD = 4
# The index file is flushed to disk each time this many bytes more are written (by the thread
# writing it, which mostly waits for the encoders), so the flush of the whole release before it
# is published, after the last batch, has little of it left to write.
FLUSH_EVERY = 16 << 20
RELEASE_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")
# A temporary or replaced folder whose build lock is free is removed once it is this old (seconds);
# the build of the same id removes its own leftovers at once, since it holds their lock.
STALE_AFTER = 3600


class ReleaseError(RuntimeError):
    """A release is missing, incomplete or does not match its manifest."""


def default_root() -> Path:
    """Where releases live: $SIPAS_RELEASES, else ``releases/`` at the project root."""
    env = os.environ.get("SIPAS_RELEASES")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "releases"


def valid_release_id(release_id: str) -> bool:
    """Release ids are plain folder names: no path separators, no dot-folders, nothing odd."""
    return (bool(release_id) and len(release_id) <= 100 and not release_id.startswith(".")
            and set(release_id.lower()) <= RELEASE_ID_CHARS)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _parquet_options() -> dict:
    """The index file's writer options, the same for every part of it."""
    from .engine import PUBLISH_SCHEMA  # the build's module; readers of releases never load it

    # Dictionary arrays in, plain strings in the file: without the Arrow schema stored, readers
    # see the text columns as the strings they are. Only text is worth a dictionary (numbers
    # nearly all differ), and only the columns a slice filters on need min/max statistics; both
    # spare the writer work that buys nothing. Counts and ranks are small whole numbers:
    # bit-packed deltas hand zstd a fraction of the bytes (less work for the writer, and a
    # slightly smaller file). A row group's values go to the encoders in one batch rather than
    # the writer's default of 1,024 rows: the statistics of a dictionary column are worked out
    # per batch (its distinct codes, then their texts), so a small batch repeats that work many
    # times. The file is the same: a batch only says how often the writer checks whether a page
    # or a dictionary is full (1 MB each), and neither fills within a row group here (65,536
    # values of at most 8 bytes; a dictionary of every commune's code is about 100 KB).
    return dict(schema=PUBLISH_SCHEMA, compression="zstd", store_schema=False,
                use_dictionary=[f.name for f in PUBLISH_SCHEMA if pa.types.is_dictionary(f.type)],
                write_statistics=FILTER_COLUMNS,
                column_encoding=dict.fromkeys(DELTA_COLUMNS, "DELTA_BINARY_PACKED"),
                write_batch_size=ROW_GROUP_SIZE)


def _column_options(options: dict, names: list[str]) -> dict:
    """The writer options of ``options`` for the columns ``names`` alone."""
    return dict(options, schema=pa.schema([options["schema"].field(name) for name in names]),
                use_dictionary=[name for name in options["use_dictionary"] if name in names],
                write_statistics=[name for name in options["write_statistics"] if name in names],
                column_encoding={name: how for name, how in options["column_encoding"].items() if name in names})


def _layout(table: pa.Table) -> tuple:
    """Where a table's arrays lie in memory: two tables with the same layout hold the same values
    (Arrow arrays do not change once made), and comparing it costs nothing next to the values."""
    def where(array: pa.Array) -> tuple:
        # a dictionary array's buffers are its indices': its dictionary lies apart
        dictionary = where(array.dictionary) if pa.types.is_dictionary(array.type) else None
        buffers = tuple(None if buf is None else buf.address for buf in array.buffers())
        return array.offset, len(array), buffers, dictionary

    return tuple(where(chunk) for column in table.columns for chunk in column.chunks)


def _encode_part(batch: pa.Table | None, options: dict) -> pa.Buffer:
    """``batch`` as a Parquet file of its own, in memory (None: the file of no rows)."""
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(sink, **options) as out:
        if batch is not None:
            out.write_table(batch.cast(options["schema"]), row_group_size=ROW_GROUP_SIZE)
    return sink.getvalue()


def _write_parquet(path: Path, batches: Iterable[pa.Table]) -> tuple[str, int]:
    """Write the index rows to ``path`` as they come; return the file's sha256 and size.

    Encoding Parquet costs about as much as computing the rows, and one writer uses one core: so
    each batch is encoded apart, as a file of its own in memory, on :data:`ENCODERS` threads, and
    a third thread joins the parts in batch order into the file one writer would have written
    (:mod:`sipas_data.parquet_parts`), hashing the bytes as they go. A batch's key columns are
    encoded apart from its :data:`INDICATOR_COLUMNS`, and only when they are not the very arrays
    of a batch shortly before (most indicators of a scheme share them). All of them release Python's
    lock while they work; up to :data:`PENDING_BATCHES` batches wait between the caller and the
    file (as futures of their encoding)."""
    options = _parquet_options()
    names = options["schema"].names
    keys = [name for name in names if name not in INDICATOR_COLUMNS]
    values = [name for name in names if name in INDICATOR_COLUMNS]
    key_options, value_options = _column_options(options, keys), _column_options(options, values)
    columns = [(0, keys.index(name)) if name in keys else (1, values.index(name)) for name in names]
    encoders = ThreadPoolExecutor(max_workers=ENCODERS, thread_name_prefix="parquet-encoder")
    pending: queue.Queue = queue.Queue(maxsize=PENDING_BATCHES)
    failed: list[BaseException] = []
    written: list[tuple[str, int]] = []

    def writer() -> None:
        try:
            with open(path, "wb") as f:
                file = Stitcher(f, template=_encode_part(None, options))
                flushed = 0
                while (parts := pending.get()) is not None:
                    file.add_columns([part.result() for part in parts], columns)
                    if file.size - flushed >= FLUSH_EVERY:
                        f.flush()
                        os.fsync(f.fileno())
                        flushed = file.size
                file.finish()
            written.append((file.sha256.hexdigest(), file.size))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            failed.append(exc)

    def hand_over(item) -> None:
        while thread.is_alive():
            try:
                pending.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=writer, name="parquet-writer", daemon=True)
    thread.start()
    try:
        # the key columns last encoded, by layout, with their encoding; held, so that their memory
        # is not reused while compared with
        encoded_keys: dict[tuple, tuple[pa.Table, Future]] = {}
        for batch in batches:
            if failed:
                break
            batch_keys = batch.select(keys)
            layout = _layout(batch_keys)
            if layout in encoded_keys:
                encoded_keys[layout] = encoded_keys.pop(layout)  # the last used, the last let go
            else:
                if len(encoded_keys) == KEY_SETS_HELD:
                    del encoded_keys[next(iter(encoded_keys))]
                encoded_keys[layout] = (batch_keys, encoders.submit(_encode_part, batch_keys, key_options))
            keys_part = encoded_keys[layout][1]
            hand_over((keys_part, encoders.submit(_encode_part, batch.select(values), value_options)))
    finally:
        hand_over(None)
        thread.join()
        encoders.shutdown(wait=True, cancel_futures=True)
    if failed:
        raise failed[0]
    return written[0]


def _lock(root: Path, release_id: str) -> int | None:
    """Take the build lock of ``release_id`` in ``root`` (``<root>/.<id>.lock``) without waiting:
    an open descriptor that holds it, or None when another process holds it (see
    :func:`atomic.try_lock`)."""
    return try_lock(root, release_id)


def _leftover_id(name: str) -> str | None:
    """The release id of a ``.tmp-<id>-<random>`` or ``.old-<id>-<random>`` folder name."""
    release_id = leftover_name(name)
    return release_id if release_id is not None and valid_release_id(release_id) else None


def remove_stale(root: str | Path, *, only: str | None = None, held: int | None = None,
                 older_than: float = STALE_AFTER) -> list[str]:
    """Remove temporary folders (``.tmp-<id>-*``) that interrupted builds left in ``root``, and
    replaced releases (``.old-<id>-*``) whose id is in place again; return their names.

    A folder goes only when no build holds its id's lock and it is older than ``older_than``
    seconds, or at once when the caller holds that lock (``held``, with ``only`` its id; a build
    clears its own leftovers). Errors (a reading account may not delete) are ignored."""
    root = Path(root)
    removed = []
    try:
        names = sorted(p.name for p in root.iterdir() if p.name.startswith((".tmp-", ".old-")))
    except OSError:
        return removed
    now = time.time()
    for name in names:
        release_id = _leftover_id(name)
        if release_id is None or (only is not None and release_id != only):
            continue
        path = root / name
        try:
            st = path.lstat()
        except OSError:
            continue
        if name.startswith(".old-") and not (root / release_id / MANIFEST).exists():
            continue  # the only copy of its release: _recover puts it back
        mine = held is not None and release_id == only
        if not mine and now - st.st_mtime < older_than:
            continue
        fd = None
        if not mine:
            try:
                fd = _lock(root, release_id)
            except OSError:
                continue
            if fd is None:
                continue  # a build of this id is running
        try:
            shutil.rmtree(path)
            removed.append(name)
        except OSError:
            pass
        finally:
            if fd is not None:
                os.close(fd)
    return removed


def write_release(out: str | Path, indices: "pa.Table | Iterable[pa.Table]",
                  units: "pd.DataFrame | Callable[[], pd.DataFrame]", *,
                  methodologies: list[Scheme], title: str, publisher: str,
                  inputs: list[dict], counts: dict, demo: bool = False,
                  threshold: int | None = None, created: str | None = None,
                  _fail_after_files: bool = False) -> Path:
    """Write a release to ``out`` atomically and return its path.

    ``indices`` is an Arrow table, or an iterable of Arrow tables written one after another as
    they come (the build's path: the long table is never held in memory whole). ``units`` is a
    table, or a function called once the indices are written (so it can name what they used).

    The build holds an exclusive lock (``<root>/.<id>.lock``) from start to end. A second build of
    the same id meanwhile does not wait: it fails at once with a ReleaseError ("another build is
    writing releases/<id>; ..."), so two builds never both report success while one silently
    replaces the other. Leftovers of interrupted builds of this id are removed first.
    Folders are written 0755 and files 0644 whatever the umask (published data is public)."""
    out = Path(out)
    release_id = out.name
    if not valid_release_id(release_id):
        raise ReleaseError(f"release id '{release_id}' should use only letters, digits, '-', '_' and '.'")
    if not out.parent.is_dir():
        out.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(out.parent, DIR_MODE)
    lock = _lock(out.parent, release_id)
    if lock is None:
        raise ReleaseError(f"another build is writing {out.parent.name}/{release_id}; "
                           "try again when it has finished")
    try:
        remove_stale(out.parent, only=release_id, held=lock)
        return _write_locked(out, release_id, indices, units, methodologies=methodologies, title=title,
                             publisher=publisher, inputs=inputs, counts=counts, demo=demo,
                             threshold=threshold, created=created, _fail_after_files=_fail_after_files)
    finally:
        os.close(lock)


def _write_locked(out: Path, release_id: str, indices, units, *, methodologies, title, publisher, inputs,
                  counts, demo, threshold, created, _fail_after_files) -> Path:
    tmp = new_tmp_dir(out)
    try:
        batches = [indices] if isinstance(indices, pa.Table) else indices
        years: set[int] = set()
        cells = 0

        def counted():
            nonlocal cells
            for batch in batches:
                cells += batch.num_rows
                years.update(int(y) for y in pc.unique(batch.column("year")).to_pylist())
                yield batch

        indices_sha256, indices_bytes = _write_parquet(tmp / INDICES, counted())
        years = sorted(years)
        if callable(units):
            units = units()
        pq.write_table(pa.Table.from_pandas(units, preserve_index=False), tmp / UNITS, compression="zstd")
        (tmp / "methodology").mkdir()
        for m in methodologies:
            (tmp / "methodology" / f"{m.id}.json").write_text(
                json.dumps(m.source, ensure_ascii=False, indent=1), encoding="utf-8")
        if _fail_after_files:  # lets tests interrupt a write at its worst moment
            raise KeyboardInterrupt("interrupted while writing the release")
        # The index file was hashed as it was written (it is most of the release's bytes).
        files = {p.relative_to(tmp).as_posix(): (
                     {"sha256": indices_sha256, "bytes": indices_bytes} if p.name == INDICES and p.parent == tmp
                     else {"sha256": _sha256(p), "bytes": p.stat().st_size})
                 for p in sorted(tmp.rglob("*")) if p.is_file()}
        manifest = Manifest(
            format_version=FORMAT_VERSION, id=release_id, title=title, publisher=publisher,
            created=created or datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
            demo=bool(demo), methodologies=[m.id for m in methodologies],
            suppression_threshold=threshold, years=years, inputs=inputs,
            counts={**counts, "cells": cells}, files=files)
        (tmp / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        atomic_replace_dir(tmp, out)  # published modes, flushed to disk, swapped in
        return out
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# The columns :func:`slice_filters` filters on: their Parquet statistics let a read skip row groups.
FILTER_COLUMNS = ["basis", "year", "level", "parent_code", "unit_code", "service", "indicator", "breakdown", "source"]
DELTA_COLUMNS = ["n", "rank"]


def slice_filters(*, year=None, level=None, parent=None, unit=None, service=None, indicator=None,
                  breakdown=None, source=None, restated: bool | None = None) -> list[tuple]:
    """Parquet filters for :meth:`Release.read`'s arguments (``None`` = any; a list = any of)."""
    filters = []
    if restated is not None:
        filters.append(("basis", "=" if restated else "!=", "restated"))
    for col, val in (("year", year), ("level", level), ("parent_code", parent), ("unit_code", unit),
                     ("service", service), ("indicator", indicator), ("breakdown", breakdown),
                     ("source", source)):
        if val is None:
            continue
        if isinstance(val, (list, tuple, set)):
            filters.append((col, "in", list(val)))
        else:
            filters.append((col, "=", val))
    return filters


def _recover(root: Path) -> None:
    """Put back a release whose replacement was interrupted between its two renames (never while
    a build of that id runs: it is between them on purpose)."""
    restore_interrupted(root, MANIFEST, valid=valid_release_id)


@dataclass(frozen=True)
class ReleaseInfo:
    id: str
    path: Path
    manifest: Manifest

    @property
    def created(self) -> str:
        return self.manifest.created


def read_manifest(path: Path) -> Manifest:
    """The release's manifest (a :class:`sipas_data.contracts.Manifest`, also readable as the
    JSON object it was read from), once it names this release, each field has the type it is
    written with, and every file it lists is there; else a ReleaseError saying which."""
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"{path.name}: no readable manifest ({exc.__class__.__name__})") from None
    if not isinstance(data, dict) or data.get("id") != path.name:
        raise ReleaseError(f"{path.name}: the manifest does not name this release")
    try:
        manifest = Manifest.from_dict(data)
    except ValueError as exc:
        raise ReleaseError(f"{path.name}: {exc}") from None
    for name in manifest.files:
        if not (path / name).is_file():
            raise ReleaseError(f"{path.name}: {name} is missing")
    return manifest


def list_releases(root: str | Path | None = None) -> list[ReleaseInfo]:
    """Complete releases under ``root``, newest first. Incomplete folders are skipped; leftovers of
    interrupted builds are put back or removed on the way (see :func:`remove_stale`)."""
    root = Path(root) if root else default_root()
    if not root.is_dir():
        return []
    _recover(root)
    remove_stale(root)
    out = []
    for path in root.iterdir():
        if not path.is_dir() or not valid_release_id(path.name):
            continue
        try:
            out.append(ReleaseInfo(path.name, path, read_manifest(path)))
        except ReleaseError:
            continue
    return sorted(out, key=lambda r: (r.created, r.id), reverse=True)


def open_release(release_id: str | None = None, root: str | Path | None = None, *,
                 verify: bool = False) -> "Release":
    """Open a release by id, or the newest one. ``verify`` checks every file's checksum."""
    root = Path(root) if root else default_root()
    if release_id is None:
        releases = list_releases(root)
        if not releases:
            raise ReleaseError(f"no release in {root.name}/ (build one: python -m sipas_data demo)")
        info = releases[0]
    else:
        if not valid_release_id(release_id):
            raise ReleaseError(f"'{release_id}' is not a release id")
        path = root / release_id
        if not path.is_dir():
            raise ReleaseError(f"no release named '{release_id}'")
        info = ReleaseInfo(release_id, path, read_manifest(path))
    release = Release(info.id, info.path, info.manifest)
    if verify:
        problems = release.verify()
        if problems:
            raise ReleaseError("; ".join(problems))
    return release


class Release:
    """Read access to one release. Reads are filtered at the Parquet level (row-group
    statistics), so a map's slice never loads the whole table."""

    def __init__(self, release_id: str, path: Path, manifest: Manifest | dict):
        self.id = release_id
        self.path = path
        if not isinstance(manifest, Manifest):
            try:
                manifest = Manifest.from_dict(manifest)
            except ValueError as exc:
                raise ReleaseError(f"{release_id}: {exc}") from None
        self.manifest = manifest

    def __repr__(self) -> str:
        return f"Release({self.id!r})"

    @property
    def title(self) -> str:
        return self.manifest.get("title", self.id)

    @property
    def publisher(self) -> str:
        return self.manifest.get("publisher", "")

    @property
    def created(self) -> str:
        return self.manifest.created

    @property
    def is_demo(self) -> bool:
        return self.manifest.demo

    @property
    def years(self) -> list[int]:
        return list(self.manifest.years)

    @property
    def fingerprint(self) -> str:
        """Changes whenever the release's content does: a cache key for the app."""
        return self.manifest.files.get(INDICES, {}).get("sha256", self.id)

    def verify(self) -> list[str]:
        """Problems found by checking every file against the manifest (empty when sound)."""
        problems = []
        for name, meta in self.manifest.files.items():
            p = self.path / name
            if not p.is_file():
                problems.append(f"{name} is missing")
            elif p.stat().st_size != meta.get("bytes") or _sha256(p) != meta.get("sha256"):
                problems.append(f"{name} does not match its checksum")
        return problems

    @cached_property
    def _file(self) -> pq.ParquetFile:
        return pq.ParquetFile(self.path / INDICES)

    def read(self, *, year: int | None = None, level: str | None = None,
             parent: str | list[str] | None = None, unit: str | list[str] | None = None,
             service: str | list[str] | None = "all", indicator: str | list[str] | None = "sipas",
             breakdown: str | None = "all", source: str | None = None, restated: bool | None = False,
             columns: list[str] | None = None) -> pd.DataFrame:
        """A filtered slice of the indices table. ``None`` means "any" for a filter.

        ``restated=False`` (the default) gives cells on the units of their own year;
        ``restated=True`` only the pre-2025 results restated on the 2025 units (basis
        ``restated``); ``None`` both."""
        filters = slice_filters(year=year, level=level, parent=parent, unit=unit, service=service,
                                indicator=indicator, breakdown=breakdown, source=source, restated=restated)
        table = pq.read_table(self.path / INDICES, filters=filters or None, columns=columns)
        return table.to_pandas()

    def units(self) -> pd.DataFrame:
        return pd.read_parquet(self.path / UNITS)

    def scheme(self, scheme_id: str) -> Scheme:
        p = self.path / "methodology" / f"{scheme_id}.json"
        if p.is_file():
            return parse_scheme(json.loads(p.read_text(encoding="utf-8")), p.name)
        return get_scheme(scheme_id)

    def full_path(self) -> Path:
        return self.path / INDICES

"""``curator doctor``: find unreadable files in a workspace and quarantine them.

Checks every Parquet file a workspace reads (sample and reject shards, embedding vectors,
2-D maps, subsets, manifests), JSON metadata, leftovers of interrupted writes, and sample
ids stored twice. ``repair`` moves each unreadable file to ``WS/quarantine/`` (same relative
path, nothing deleted), removes the leftovers, and leaves the rest of the workspace
readable; a re-run of the command that wrote a quarantined shard writes it again.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curator.fileio import TMP_PREFIX
from curator.results import ResultMixin
from curator.store import Workspace

QUARANTINE = "quarantine"
_TMP = TMP_PREFIX
_TRASH = ".trash-"
#: Temp files younger than this may belong to a write still running (an embedding, an
#: export): ``repair`` leaves them alone.
STALE_SECONDS = 600.0


@dataclass
class DoctorReport(ResultMixin):
    """What :func:`check_workspace` found and, with ``repair``, did."""

    root: Path
    checked: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    temp_files: int = 0
    recent_temp_files: int = 0
    duplicate_ids: int = 0

    def __post_init__(self) -> None:
        self.root = Path(self.root)  # a str when read back from JSON

    @property
    def healthy(self) -> bool:
        return not self.problems and not self.duplicate_ids

    def __str__(self) -> str:
        lines = [f"checked {self.checked:,} file(s) in {self.root}"]
        for p in self.problems:
            lines.append(f"  {p['problem']}: {p['path']} ({p['detail']})")
        if self.duplicate_ids:
            lines.append(f"  {self.duplicate_ids:,} sample id(s) stored more than once")
        if self.temp_files:
            lines.append(f"  {self.temp_files} leftover temp file(s) or folder(s) of "
                         "interrupted writes")
        if self.recent_temp_files:
            lines.append(f"  {self.recent_temp_files} recent temp file(s) or folder(s) left "
                         "alone (a write may be running)")
        for q in self.quarantined:
            lines.append(f"  quarantined {q}")
        if self.duplicate_ids:
            lines.append("sample ids stored twice are not repaired automatically: reads see "
                         "both rows; please report how the workspace was written")
        elif self.healthy and not self.quarantined:
            lines.append("healthy")
        elif self.quarantined:
            lines.append("repaired: re-run the command that wrote a quarantined file to write "
                         "it again")
        else:
            lines.append("run `curator doctor --repair` to quarantine the unreadable files")
        return "\n".join(lines)


def _walk(root: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """One pass over the workspace: its Parquet files, its JSON files, and the leftovers of
    interrupted writes (temp files; staging and trash folders, listed but not entered).
    The quarantine is not entered either."""
    parquet: list[Path] = []
    jsons: list[Path] = []
    leftovers: list[Path] = []
    for top, dirs, files in os.walk(root):
        here = Path(top)
        for name in list(dirs):
            if name.startswith((_TMP, _TRASH)):
                leftovers.append(here / name)
                dirs.remove(name)
            elif here == root and name == QUARANTINE:
                dirs.remove(name)
        for name in files:
            if name.startswith((_TMP, _TRASH)):
                leftovers.append(here / name)
            elif name.endswith(".parquet"):
                parquet.append(here / name)
            elif name.endswith(".json"):
                jsons.append(here / name)
    return sorted(parquet), sorted(jsons), sorted(leftovers)


def _newest_mtime(path: Path) -> float:
    """A file's mtime; a folder's newest among itself and everything inside."""
    try:
        if not path.is_dir():
            return path.stat().st_mtime
        times = [path.stat().st_mtime]
    except OSError:  # gone meanwhile: a write that just finished
        return time.time()
    for p in path.rglob("*"):
        try:
            times.append(p.stat().st_mtime)
        except OSError:
            continue
    return max(times)


def _check_parquet(path: Path, deep: bool) -> str | None:
    """None if readable, else what is wrong."""
    try:
        meta = pq.read_metadata(path)
        if deep:
            handle = pq.ParquetFile(path)
            for i in range(meta.num_row_groups):
                handle.read_row_group(i)
    except (pa.ArrowException, OSError) as exc:
        return str(exc).splitlines()[0][:200]
    return None


def check_workspace(ws: Workspace, *, repair: bool = False, deep: bool = False
                    ) -> DoctorReport:
    """Check (and with ``repair``, quarantine) the workspace's files.

    ``deep`` reads every row group, not only each file's footer (slower; finds corrupt
    pages inside an intact file).
    """
    root = ws.root
    report = DoctorReport(root)
    parquet, jsons, leftovers = _walk(root)
    for path in parquet:
        report.checked += 1
        problem = _check_parquet(path, deep)
        if problem:
            report.problems.append({"path": str(path.relative_to(root)),
                                    "problem": "unreadable Parquet", "detail": problem})
    for path in jsons:
        report.checked += 1
        try:
            json.loads(path.read_text())
        except (ValueError, OSError) as exc:
            report.problems.append({"path": str(path.relative_to(root)),
                                    "problem": "unreadable JSON", "detail": str(exc)[:200]})
    now = time.time()
    temps, recent = [], []
    for p in leftovers:
        (recent if now - _newest_mtime(p) < STALE_SECONDS else temps).append(p)
    report.temp_files, report.recent_temp_files = len(temps), len(recent)
    bad = {root / p["path"] for p in report.problems}
    report.duplicate_ids = _duplicate_ids(ws, bad)
    if repair:
        with ws.write_lock():
            for path in sorted(bad):
                target = root / QUARANTINE / path.relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                path.rename(target)
                report.quarantined.append(str(target.relative_to(root)))
            for path in temps:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        report.problems = []
    return report


def _duplicate_ids(ws: Workspace, unreadable: set[Path]) -> int:
    """Sample ids found in more than one readable shard row (appends skip known ids, so
    any are a fault)."""
    shards = [p for p in ws.samples.shards() if p not in unreadable]
    if not shards:
        return 0
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    ids = ds.dataset([str(p) for p in shards], format="parquet").to_table(
        columns=["sample_id"])["sample_id"]
    counts = pc.value_counts(ids)
    return int(pc.sum(pc.greater(counts.field("counts"), 1)).as_py() or 0)

"""Compare two demo workspaces file by file, ignoring only what differs between any two runs.

Two builds of the same code differ in the workspace's random id and name, wall-clock
timestamps (``created_at``, ``ingested_at``), timings, shard and temp-file suffixes, and the
content hashes that fold those in (a manifest's id). Everything else - every sample's bytes
and metadata, subsets, manifests' rows, embeddings, indexes, experiment runs, reports and
exports, tune studies - must match exactly. Exit status 0 when the two builds are the same, 1 otherwise.

    python scripts/compare_demo.py data/demo-workspace /tmp/other-demo-workspace
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

# Keys whose values are wall-clock times, durations or the workspace's random identity.
VOLATILE_KEYS = {"created_at", "ingested_at", "workspace_id", "started_at", "finished_at",
                 "updated_at"}


def volatile(key: str) -> bool:
    """Times, durations and process identities (an Optuna journal's ``worker_id``)."""
    return (key in VOLATILE_KEYS or key == "worker_id" or key.startswith("datetime_")
            or key.endswith(("seconds", "_s")))
# Names that end in a random or identity-derived suffix: compare them without it.
SUFFIXES = [
    (re.compile(r"^(part-\d{8})-[0-9a-f]{8}(\.parquet)$"), r"\1\2"),
    (re.compile(r"^(.+)-[0-9a-f]{16}(\.parquet)$"), r"\1-#\2"),
]
SKIP_NAMES = {".lock"}
SKIP_SUFFIXES = (".lock",)


def canonical_name(rel: Path) -> str:
    parts = []
    for part in rel.parts:
        for pattern, repl in SUFFIXES:
            part = pattern.sub(repl, part)
        parts.append(part)
    return "/".join(parts)


def scrub(value: Any, names: tuple[str, ...]) -> Any:
    """Drop volatile keys and replace the workspace's own name and path by a placeholder."""
    if isinstance(value, dict):
        return {k: scrub(v, names) for k, v in value.items() if not volatile(k)}
    if isinstance(value, list):
        return [scrub(v, names) for v in value]
    if isinstance(value, str):
        return re.sub(r"\b[0-9a-f]{16}\b(?=\.parquet)", "#", replace_names(value, names))
    return value


def replace_names(text: str, names: tuple[str, ...]) -> str:
    """Each of ``names`` replaced by a placeholder where it stands as a whole token (a
    short workspace name like ``d2`` must not match inside a hex hash)."""
    for name in names:
        text = re.sub(rf"(?<![0-9A-Za-z_]){re.escape(name)}(?![0-9A-Za-z_])", "<WS>", text)
    return text


def _json_text(text: str, names: tuple[str, ...]) -> str:
    return json.dumps(scrub(json.loads(text), names), sort_keys=True)


def digest_parquet(path: Path, names: tuple[str, ...]) -> str:
    return digest_arrow(pq.read_table(path), names)


def digest_arrow(table: pa.Table, names: tuple[str, ...]) -> str:
    """Schema metadata (scrubbed) and every column's bytes but the volatile ones."""
    meta = table.schema.metadata or {}
    h = hashlib.sha256()
    for key in sorted(meta):
        if key == b"pandas":
            continue
        value = meta[key].decode()
        try:
            value = _json_text(value, names)
        except ValueError:
            pass
        h.update(key + b"=" + value.encode() + b"\n")
    keep = [n for n in table.column_names if not volatile(n)]
    table = table.select(keep).replace_schema_metadata(None)
    for name in keep:  # column by column: a difference names its column
        sink = pa.BufferOutputStream()
        column = table.column(name)
        with pa.ipc.new_stream(sink, pa.schema([pa.field(name, column.type)])) as writer:
            writer.write_table(pa.table({name: column}))
        h.update(name.encode() + hashlib.sha256(sink.getvalue().to_pybytes()).digest())
    return h.hexdigest()


def digest_file(path: Path, names: tuple[str, ...]) -> str:
    if path.suffix == ".parquet":
        return digest_parquet(path, names)
    data = path.read_bytes()
    if path.suffix in (".json", ".html", ".md", ".yaml", ".log"):
        text = data.decode()
        if path.suffix == ".json":
            text = _json_text(text, names)
        elif path.name == "journal.log":  # Optuna's journal: one JSON operation per line
            text = "\n".join(_json_text(line, names) for line in text.splitlines() if line)
        else:
            text = replace_names(text, names)
        data = text.encode()
    return hashlib.sha256(data).hexdigest()


def manifest_hashes(root: Path) -> tuple[str, ...]:
    """Manifest ids: content hashes that fold in the workspace id, so differ run to run."""
    out = []
    for path in sorted((root / "manifests").glob("*.parquet")):
        header = json.loads(pq.read_schema(path).metadata[b"curator.manifest"])
        out.append(header["hash"])
    return tuple(out)


# Sharded tables: how rows are cut into shards depends on timing (a generate run flushes a
# shard every WRITE_SECONDS), so each table is compared as one, rows ordered by their key.
SHARDED = re.compile(
    r"^(samples|rejects|embeddings/[^/]+/vectors)/part-\d{8}-[0-9a-f]{8}\.parquet$")


def digest_table(paths: list[Path], names: tuple[str, ...]) -> str:
    table = pa.concat_tables([pq.read_table(p) for p in paths], promote_options="default")
    keys = [k for k in ("sample_id", "item", "reason") if k in table.column_names]
    if keys:
        table = table.sort_by([(k, "ascending") for k in keys])
    return digest_arrow(table, names)


def tree_digests(root: Path) -> dict[str, str]:
    marker = json.loads((root / "workspace.json").read_text())
    names = (str(root.resolve()), root.resolve().name, marker["workspace_id"],
             *manifest_hashes(root))
    out: dict[str, str] = {}
    tables: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name in SKIP_NAMES or path.name.endswith(SKIP_SUFFIXES):
            continue
        rel = path.relative_to(root)
        if rel.parts[0] == "workspace.json" or any(p.startswith(".tmp-") for p in rel.parts):
            continue
        if SHARDED.match(rel.as_posix()):
            tables.setdefault(f"{rel.parent.as_posix()}/(all rows)", []).append(path)
            continue
        out[canonical_name(rel)] = digest_file(path, names)
    for name, paths in tables.items():
        out[name] = digest_table(paths, names)
    return out


def compare(a: Path, b: Path) -> list[str]:
    """Lines describing each difference (empty when the builds match)."""
    da, db = tree_digests(a), tree_digests(b)
    lines = [f"only in {a}: {k}" for k in sorted(da.keys() - db.keys())]
    lines += [f"only in {b}: {k}" for k in sorted(db.keys() - da.keys())]
    lines += [f"differs: {k}" for k in sorted(da.keys() & db.keys()) if da[k] != db[k]]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    for root in (args.a, args.b):
        if not (root / "workspace.json").is_file():
            parser.error(f"{root} is not a curator workspace (no workspace.json)")
    diffs = compare(args.a, args.b)
    n = len(tree_digests(args.a))
    if diffs:
        print("\n".join(diffs))
        print(f"{len(diffs)} difference(s) in {n} files")
        return 1
    print(f"identical: {n} files compared (samples, subsets, manifests, embeddings, "
          "indexes, experiments, reports, exports)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

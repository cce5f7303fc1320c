"""``curator manifest create|list|show|diff`` and ``curator export``: curations that
training loads exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curator.cli.common import WorkspaceOpt, console, errors_as_messages, progress_bar
from curator.store import open_workspace

manifest_app = typer.Typer(
    help="Immutable, content-addressed manifests of a curation (WS/manifests/NAME-HASH"
    ".parquet): create from a subset, list, show, diff.", no_args_is_help=True)


@manifest_app.command("create")
def create(
    subset: Annotated[str, typer.Argument(help="Saved subset to freeze (curator subsets "
                                          "list).")],
    workspace: WorkspaceOpt = Path("."),
    name: Annotated[str | None, typer.Option("--name", help="Manifest name (default: the "
                                             "subset's).")] = None,
) -> None:
    """Freeze a saved subset as a manifest (the same curation gives the same file)."""
    from curator.manifest import manifest_from_subset

    with errors_as_messages():
        ws = open_workspace(workspace)
        m = manifest_from_subset(ws, subset, name=name)
        console.print(f"manifest {m.path} ({len(m.frame):,} samples, hash {m.hash})",
                      highlight=False)


@manifest_app.command("list")
def list_(workspace: WorkspaceOpt = Path(".")) -> None:
    """The workspace's manifests: name, hash, samples."""
    from curator.manifest import ManifestError, list_manifests, read_manifest

    with errors_as_messages():
        ws = open_workspace(workspace)
        paths = list_manifests(ws)
        if not paths:
            console.print("no manifests yet (curator manifest create SUBSET)")
        for p in paths:
            try:
                m = read_manifest(p)
            except ManifestError as exc:
                console.print(f"{p.name}  unreadable: {exc}", highlight=False, markup=False)
                continue
            console.print(f"{p.name}  {m.header['rows']:,} samples", highlight=False)


@manifest_app.command("show")
def show(manifest: Annotated[str, typer.Argument(help="Manifest file, or name (newest).")],
         workspace: WorkspaceOpt = Path(".")) -> None:
    """A manifest's header and its counts by source, label and split."""
    import json

    from curator.manifest import find_manifest, read_manifest

    with errors_as_messages():
        ws = open_workspace(workspace)
        m = read_manifest(find_manifest(ws, manifest))
        console.print(json.dumps(m.header, indent=2, sort_keys=True, default=str),
                      highlight=False, markup=False)
        counts = m.frame.groupby(["source", "label", "split"], dropna=False).size().rename(
            "samples")
        console.print(counts.to_string(), highlight=False)


@manifest_app.command("diff")
def diff(a: Annotated[str, typer.Argument(help="The older manifest (file or name).")],
         b: Annotated[str, typer.Argument(help="The newer manifest (file or name).")],
         workspace: WorkspaceOpt = Path("."),
         limit: Annotated[int, typer.Option("--limit", min=0, help="Ids shown per change.")
                          ] = 5) -> None:
    """What changed between two curations: samples added and removed, labels, splits and
    weights changed, config keys that differ."""
    from curator.manifest import diff_manifests, find_manifest, read_manifest

    with errors_as_messages():
        ws = open_workspace(workspace)
        d = diff_manifests(read_manifest(find_manifest(ws, a)),
                           read_manifest(find_manifest(ws, b)))
        console.print(f"{d['a']['name']} ({d['a']['hash']}, {d['a']['rows']:,}) -> "
                      f"{d['b']['name']} ({d['b']['hash']}, {d['b']['rows']:,})",
                      highlight=False)
        if d["same"]:
            console.print("identical: same samples, labels, weights and config")
            return
        for what in ("added", "removed"):
            ids = d[what]
            more = f" e.g. {', '.join(ids[:limit])}" if ids else ""
            console.print(f"{what}: {len(ids):,}{more}", highlight=False)
        for col, rows in d["changed"].items():
            if rows:
                eg = "; ".join(f"{r['sample_id']}: {r['from']} -> {r['to']}"
                               for r in rows[:limit])
                console.print(f"{col} changed: {len(rows):,} ({eg})", highlight=False)
        for key, v in d["config"].items():
            console.print(f"config {key}: {v['from']} -> {v['to']}", highlight=False,
                          markup=False)


def export(
    manifest: Annotated[str, typer.Argument(help="Manifest file or name, or a saved "
                                            "subset's name (frozen into a manifest "
                                            "first).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to create (it must not "
                                      "exist, unless --force).")],
    workspace: WorkspaceOpt = Path("."),
    fmt: Annotated[str, typer.Option("--format", "-f", help="parquet, jsonl (manifest + "
                                     "images/), folder (one folder per class), coco "
                                     "(annotations.json with boxes and RLE masks), hf "
                                     "(a Hugging Face datasets folder).")] = "parquet",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out "
                                        "folder.")] = False,
    link: Annotated[bool, typer.Option("--link", help="Hard-link image files stored under "
                                       "the workspace instead of copying them (saves disk; "
                                       "editing an exported image then edits the "
                                       "workspace's).")] = False,
) -> None:
    """Export a curation for training, atomically, and verify it reads back exactly.

    Example: curator export mix-1to2 --format coco --out exports/mix-coco -w WS
    """
    from curator.export import export_manifest
    from curator.manifest import ManifestError, find_manifest, manifest_from_subset

    with errors_as_messages():
        ws = open_workspace(workspace)
        try:
            path = find_manifest(ws, manifest)
        except ManifestError:
            from curator.subsets import list_subsets

            if manifest not in list_subsets(ws):
                raise
            path = manifest_from_subset(ws, manifest).path
        with progress_bar(f"export {fmt}") as progress:
            summary = export_manifest(ws, path, out, fmt, force=force, link=link,
                                      progress=progress)
        console.print(str(summary), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(manifest_app, name="manifest")
    app.command("export")(export)


def demo_export(ws) -> None:
    """The demo's export step: the 1:1 digits mix frozen as a manifest and exported."""
    from curator.export import export_manifest
    from curator.manifest import manifest_from_subset

    console.rule("[bold]12. manifests and exports: the 1:1 digits mix, frozen and exported")
    name = "demo-digits-mix-1to1"
    m = manifest_from_subset(ws, name)
    console.print(f"manifest {m.path} ({len(m.frame):,} samples, hash {m.hash})",
                  highlight=False)
    for fmt in ("parquet", "folder", "coco", "hf"):
        out = ws.root / "exports" / f"{name}-{fmt}"
        console.print(str(export_manifest(ws, m, out, fmt, force=True)), highlight=False)

"""Generation runs: render a recipe's samples in worker processes and append them to a workspace.

Sample ``i`` of a run with seed ``s`` always gets the same per-sample seed, so output does
not depend on the worker count, and a killed run re-run with the same seed renders only
the indices not yet in the workspace.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc

from curator.errors import CuratorError
from curator.hashing import config_hash, text_id
from curator.images import decode_bytes
from curator.results import ResultMixin
from curator.schema import CORE_COLUMNS
from curator.validation import check_scalar
from generators.assets import AssetCatalog
from generators.errors import GeneratorError, RecipeError
from generators.frame import Frame
from generators.recipe import GENERATOR_VERSION, Recipe
from generators.rows import encode_frame, rows_to_table
from generators.scene import class_names, resolve_assets, sample_scene, sample_seed, stream

Progress = Callable[[int, int], None]  # (done, total)
WRITE_ROWS = 4096  # rows buffered before an atomic append
WRITE_SECONDS = 30.0  # ... or this long since the last append, whichever comes first


@dataclass
class GenerateSummary(ResultMixin):
    """What a run did; renders in notebooks and prints in the CLI."""

    recipe: str
    config_hash: str
    seed: int
    ablated: str
    requested: int
    already_present: int
    rendered: int = 0
    written: int = 0
    duplicates: int = 0
    small_objects: int = 0
    workers: int = 1
    seconds: float = 0.0

    @property
    def images_per_s(self) -> float:
        return self.rendered / self.seconds if self.seconds > 0 else 0.0

    def result_title(self) -> str:
        return f"generate {self.recipe}"

    def result_fields(self) -> dict[str, Any]:
        return {**asdict(self), "images_per_s": round(self.images_per_s, 1)}


# -- one sample (runs inside a worker) -------------------------------------------------------
@dataclass
class _WorkerContext:
    recipe: Recipe
    assets: dict[str, list[Any]]
    classes: list[str]
    pool: Sequence[np.ndarray]
    renderer: Any
    run_hash: str
    split: str


@dataclass(frozen=True)
class _Job:
    """Everything a worker needs to render some indices of a run (picklable)."""

    recipe_data: dict[str, Any]
    enabled: tuple[str, ...]
    ablated: tuple[str, ...]
    catalog: AssetCatalog
    asset_root: str | None
    pool: Sequence[np.ndarray]
    run_hash: str
    split: str
    run_seed: int
    indices: tuple[int, ...] = ()
    extra: tuple[tuple[str, Any], ...] = ()  # columns every row of the run carries


# Per process: one renderer (one GL context) and the contexts of recent runs, so repeated
# runs (an ablation series) reuse the context, geometry and GL buffers.
_RENDERER: Any = None
_CONTEXTS: dict[tuple[str, str], _WorkerContext] = {}


def _context(job: _Job) -> _WorkerContext:
    global _RENDERER
    key = (job.run_hash, job.split)
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        from generators.render import SceneRenderer

        if _RENDERER is None:
            _RENDERER = SceneRenderer(job.catalog, asset_root=job.asset_root, threads=0)
        _RENDERER.catalog, _RENDERER.asset_root = job.catalog, job.asset_root
        recipe = Recipe(job.recipe_data["name"], job.recipe_data, job.enabled, job.ablated)
        assets = resolve_assets(recipe, job.catalog)
        if len(_CONTEXTS) >= 16:
            _CONTEXTS.pop(next(iter(_CONTEXTS)))
        ctx = _CONTEXTS[key] = _WorkerContext(recipe, assets, class_names(assets), job.pool,
                                              _RENDERER, job.run_hash, job.split)
    return ctx


def _init_worker() -> None:
    from generators.gl import load_pyrender

    load_pyrender(threads=0)  # rasterise in the worker's own thread: cores are the unit
    # (local pool workers also leave when their parent dies: curator.executors.local)


def render_frame(ctx: _WorkerContext, run_seed: int, index: int) -> tuple[Any, Frame, int]:
    """Scene, labelled frame (before the sensor stage) and seed of sample ``index``."""
    from generators.labels import frame_from_buffers

    recipe = ctx.recipe
    seed = sample_seed(run_seed, index)
    spec = sample_scene(recipe, ctx.assets, seed, background_pool=len(ctx.pool),
                        asset_root=ctx.renderer.asset_root)
    buffers = ctx.renderer.render(spec)
    labels = recipe.config["labels"]
    frame = frame_from_buffers(spec, buffers, min_pixels=labels["min_pixels"],
                               occluded_below=labels["occluded_below"],
                               background_pool=ctx.pool)
    return spec, frame, seed


def finish_frame(recipe: Recipe, spec: Any, frame: Frame, seed: int) -> Frame:
    """The sensor stage, then the output format: what is stored for a rendered frame."""
    from generators.output import format_frame
    from generators.sensor import apply_sensor

    frame = frame.with_image(apply_sensor(frame.image, spec.sensor, stream(seed, "sensor-noise")))
    out = recipe.config["output"]
    if out["size"] or out["grayscale"] or out["levels"] or out["invert"] or out.get("chain"):
        frame = format_frame(frame, size=out["size"], grayscale=out["grayscale"],
                             levels=out["levels"], invert=out["invert"], chain=out.get("chain"),
                             min_pixels=recipe.config["labels"]["min_pixels"])
    return frame


def render_sample(ctx: _WorkerContext, run_seed: int, index: int,
                  extra: Sequence[tuple[str, Any]] = ()) -> dict[str, Any]:
    """Render, label, post-process and encode sample ``index`` of a run as a row."""
    recipe = ctx.recipe
    spec, frame, seed = render_frame(ctx, run_seed, index)
    frame = finish_frame(recipe, spec, frame, seed)
    row = encode_frame(frame)
    # A generated sample is its pixels *and* where they came from: an ablation run keeps
    # its rows even where the held randomizer made no visible difference. Exact pixel
    # duplicates are found by selection (deduplicate), not dropped here.
    row["sample_id"] = text_id("generated", row["sample_id"], ctx.run_hash, str(run_seed),
                               str(index))
    primary = next((o.label for o in frame.objects), None)
    row.update(
        source="synthetic", label=primary if primary is not None else spec.targets[0].label,
        split=ctx.split, origin=f"{recipe.name}#seed={run_seed}&index={index}",
        generator=f"generators.{recipe.name}", generator_version=GENERATOR_VERSION,
        config_hash=ctx.run_hash, seed=seed, parent_ids=[],
    )
    row.update(spec.attributes)
    first = frame.objects[0] if frame.objects else None
    row.update(gen_recipe=recipe.name, gen_seed=int(run_seed), gen_index=int(index),
               gen_ablated=",".join(recipe.ablated) or "none", gen_n_small=int(frame.n_small),
               visibility=float(first.visibility) if first else None)
    row.update(dict(extra))
    return row


def render_preview(recipe: Recipe, n: int, *, seed: int = 0,
                   catalog: AssetCatalog | None = None, asset_root: str | Path | None = None,
                   finished: bool = False) -> list[Frame]:
    """Render samples ``0..n-1`` of a run in this process and return their frames; nothing
    is written. ``finished`` applies the sensor stage and output format (what ``generate``
    stores, same seed same pixels); otherwise the frames are as rendered."""
    catalog = catalog or AssetCatalog.builtin()
    root = None if asset_root is None else str(asset_root)
    key = config_hash({"recipe": recipe.config_hash, "catalog": catalog.config(), "root": root})
    job = _Job(recipe.config, recipe.enabled, recipe.ablated, catalog, root, [],
               f"preview-{key}", "preview", seed)
    ctx = _context(job)
    ctx.renderer.catalog, ctx.renderer.asset_root = catalog, root
    frames = []
    for i in range(n):
        spec, frame, sample = render_frame(ctx, seed, i)
        frames.append(finish_frame(recipe, spec, frame, sample) if finished else frame)
    return frames


def _render_job(job: _Job) -> list[dict[str, Any]]:
    ctx = _context(job)
    # The renderer is shared by every run this process serves; point it at this run's assets.
    ctx.renderer.catalog, ctx.renderer.asset_root = job.catalog, job.asset_root
    return [render_sample(ctx, job.run_seed, i, job.extra) for i in job.indices]


def _render_batch(jobs: tuple[_Job, ...]) -> list[dict[str, Any]]:
    """One task on the executor: a chunk of one run, or many small runs (pinned recipes)
    together. Jobs of a batch share their catalog and background pool objects, which
    pickle once per batch."""
    return [row for job in jobs for row in _render_job(job)]


def shutdown_workers() -> None:
    """Stop the local render worker processes (they are restarted on the next run)."""
    from curator.executors import shutdown_pools

    shutdown_pools()


# -- a run -----------------------------------------------------------------------------------
def background_pool(ws: Any, size: tuple[int, int], limit: int) -> tuple[list[np.ndarray], str]:
    """Up to ``limit`` real images (lowest sample ids first) as RGB arrays, and their hash."""
    ids = ws.to_table(columns=["sample_id"], filters=pc.field("source") == "real")["sample_id"]
    if len(ids) == 0:
        return [], ""
    chosen = pc.sort_indices(ids)[:limit]  # ids first: only the chosen images are read
    table = ws.to_table(columns=["sample_id", "image_bytes", "image_uri"],
                        filters=pc.field("sample_id").isin(ids.take(chosen)))
    table = table.take(pc.sort_indices(table, [("sample_id", "ascending")]))
    from PIL import Image

    pool = []
    for row in table.to_pylist():
        decoded = decode_bytes(ws.image_bytes(row), where=f"sample {row['sample_id']}")
        img = Image.fromarray(decoded.pixels).convert("RGB").resize((size[1], size[0]),
                                                                   Image.BILINEAR)
        pool.append(np.asarray(img))
    return pool, config_hash(table["sample_id"].to_pylist())


def _chunks(indices: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(indices), size):
        yield indices[start:start + size]


def _batches(jobs: list[_Job], size: int) -> list[tuple[_Job, ...]]:
    """Consecutive jobs packed into tasks of at most ``size`` samples."""
    out: list[tuple[_Job, ...]] = []
    batch: list[_Job] = []
    count = 0
    for job in jobs:
        if batch and count + len(job.indices) > size:
            out.append(tuple(batch))
            batch, count = [], 0
        batch.append(job)
        count += len(job.indices)
    if batch:
        out.append(tuple(batch))
    return out


@dataclass(frozen=True)
class RunSpec:
    """One run of :func:`generate_many`: samples ``0..n-1`` of ``recipe`` with ``seed``, and
    the columns every row of the run carries (see :func:`generate`)."""

    recipe: Recipe
    n: int
    seed: int = 0
    extra_columns: Mapping[str, Any] | None = None


def _check_run(run: RunSpec) -> tuple[tuple[str, Any], ...]:
    n, seed = run.n, run.seed
    check_scalar(n, "n", min_val=0, error=RecipeError,
                 message="{name} must be a non-negative whole number of samples, got {value!r}")
    check_scalar(seed, "seed", min_val=0, error=RecipeError,
                 message="{name} must be a non-negative whole number, got {value!r}")
    extra = tuple(sorted((run.extra_columns or {}).items()))
    core = [k for k, _ in extra if k in CORE_COLUMNS and k != "parent_ids"]
    if core:
        raise RecipeError(f"extra_columns may set parent_ids and attributes, not the core "
                          f"column(s) {core}")
    from generators.requests import COLUMN_PARAMS

    own = [k for k, _ in extra
           if k.startswith("gen_") or k == "visibility" or k in COLUMN_PARAMS]
    if own:
        raise RecipeError(f"extra_columns cannot set {own}: every rendered row records them "
                          "itself (its run, index and scene parameters)")
    return extra


def _existing(ws: Any, hashes: Sequence[str]) -> dict[tuple[str, int], set[int]]:
    """Indices already in the workspace per (config hash, run seed), in one read."""
    types = ws.attribute_types()
    if not hashes or "gen_index" not in types or "gen_seed" not in types:
        return {}
    table = ws.to_table(columns=["config_hash", "gen_seed", "gen_index"],
                        filters=pc.field("config_hash").isin(sorted(set(hashes))))
    found: dict[tuple[str, int], set[int]] = {}
    for h, s, i in zip(*(table[c].to_pylist() for c in table.column_names), strict=True):
        if s is not None and i is not None:
            found.setdefault((h, int(s)), set()).add(int(i))
    return found


def generate(ws: Any, recipe: Recipe, n: int, *, seed: int = 0, workers: int | None = None,
             executor: str | None = None,
             catalog: AssetCatalog | None = None, asset_root: str | Path | None = None,
             split: str = "train", chunk_size: int = 32, background_pool_size: int = 64,
             write_rows: int = WRITE_ROWS, progress: Progress | None = None,
             extra_columns: Mapping[str, Any] | None = None) -> GenerateSummary:
    """Render samples ``0..n-1`` of ``recipe`` with ``seed`` into workspace ``ws``.

    ``extra_columns`` go on every row of the run: lineage (``parent_ids``) and attributes
    such as an interpolation weight; other core columns cannot be set this way.

    Indices already present for this recipe hash and seed are skipped (resume). Rendering
    runs in ``workers`` processes (default: all cores) on the ``executor`` (local pool, or
    Ray); rows are appended in atomic shards of up to ``write_rows`` rows, so a killed run
    loses at most the rows not yet written.
    """
    return generate_many(ws, [RunSpec(recipe, n, seed, extra_columns)], workers=workers,
                         executor=executor, catalog=catalog, asset_root=asset_root,
                         split=split, chunk_size=chunk_size,
                         background_pool_size=background_pool_size, write_rows=write_rows,
                         progress=progress)[0]


def generate_many(ws: Any, runs: Sequence[RunSpec], *, workers: int | None = None,
                  executor: str | None = None, catalog: AssetCatalog | None = None,
                  asset_root: str | Path | None = None, split: str = "train",
                  chunk_size: int = 32, background_pool_size: int = 64,
                  write_rows: int = WRITE_ROWS,
                  progress: Progress | None = None) -> list[GenerateSummary]:
    """:func:`generate` for many runs at once, on one executor: their samples are packed
    into tasks of up to ``chunk_size``, so a thousand one-sample runs (pinned recipes, as
    parameter-space oversampling makes) spread over the workers like one big run.

    Returns one summary per run, in order; each run resumes on its own. A run repeating an
    earlier one (same hash and seed) renders nothing twice.
    """
    check_scalar(workers, "workers", min_val=1, error=RecipeError, allow_none=True,
                 message="{name} must be a positive whole number, got {value!r}")
    runs = list(runs)
    extras = [_check_run(run) for run in runs]
    if catalog is None:
        from generators.workspace_assets import load_catalog

        catalog = load_catalog(ws)
        asset_root = ws.root if asset_root is None else asset_root
    root = None if asset_root is None else str(asset_root)
    pools: dict[tuple[int, int], tuple[list[np.ndarray], str]] = {}
    hashes: list[str] = []
    run_pools: list[list[np.ndarray]] = []  # one list object per size: pickled once a batch
    for run in runs:
        recipe = run.recipe
        assets = resolve_assets(recipe, catalog)  # unknown classes fail here, before rendering
        # The run's hash covers the recipe and every asset it may draw (a re-registered mesh
        # or an edited catalog makes a new run, not a silent mix).
        used = sorted({a.asset_id: a.to_dict() for group in assets.values() for a in group}.items())
        run_hash = config_hash({"recipe": recipe.config_hash, "assets": used})
        bg = recipe.params("background")["kinds"]
        if recipe.is_enabled("background") and "workspace" in bg["range"]:
            size = tuple(recipe.size)
            if size not in pools:
                pools[size] = background_pool(ws, recipe.size, background_pool_size)
            pool, pool_hash = pools[size]
            if not pool:
                raise RecipeError("background kind 'workspace' needs real images in the "
                                  "workspace; ingest some first or drop 'workspace' from "
                                  "background.kinds")
            run_hash = config_hash({"recipe": run_hash, "backgrounds": pool_hash})
        else:
            pool = []
        hashes.append(run_hash)
        run_pools.append(pool)
    done = _existing(ws, hashes)
    summaries: list[GenerateSummary] = []
    # Who renders what: runs of one (hash, seed) share its indices; each index goes to the
    # first run asking for it, and its rows count there.
    by_key: dict[tuple[str, int], list[tuple[GenerateSummary, list[int]]]] = {}
    extra_of: dict[tuple[str, int], str] = {}  # hash of each key's extra columns
    jobs: list[_Job] = []
    chunk_size = max(1, min(chunk_size, write_rows))
    for number, (run, run_hash, pool, extra) in enumerate(zip(runs, hashes, run_pools, extras,
                                                               strict=True)):
        recipe, key = run.recipe, (run_hash, run.seed)
        extra_hash = config_hash(dict(extra))
        if extra_of.setdefault(key, extra_hash) != extra_hash:
            raise RecipeError(f"run {number} renders the same samples as an earlier run (same "
                              "recipe and seed) with other extra_columns; give it another "
                              "seed")
        claimed = done.setdefault(key, set())  # present, or rendered by an earlier run here
        todo = [i for i in range(run.n) if i not in claimed]
        claimed.update(todo)
        summary = GenerateSummary(recipe.name, run_hash, run.seed,
                                  ",".join(recipe.ablated) or "none", run.n,
                                  already_present=run.n - len(todo))
        summaries.append(summary)
        if not todo:
            continue
        by_key.setdefault(key, []).append((summary, todo))
        base = _Job(recipe.config, recipe.enabled, recipe.ablated, catalog, root, pool,
                    run_hash, split, run.seed, extra=extra)
        jobs.extend(replace(base, indices=tuple(chunk)) for chunk in _chunks(todo, chunk_size))
    total = sum(len(job.indices) for job in jobs)
    if not jobs:
        return summaries
    batches = _batches(jobs, chunk_size)
    from curator.executors import abandon, executor_name, resolve_executor

    where = executor_name(executor)
    # Locally no more processes than tasks; on Ray, unset workers means the cluster's CPUs.
    n_workers = workers if where == "ray" else max(1, min(workers or os.cpu_count() or 1,
                                                            len(batches)))
    start = time.perf_counter()
    buffer: list[dict[str, Any]] = []
    last_write = time.monotonic()
    rendered = 0

    shared = {key: {j: summary for summary, todo in owners for j in todo}
              for key, owners in by_key.items() if len(owners) > 1}

    def owner(row: Mapping[str, Any]) -> GenerateSummary:
        key = (row["config_hash"], int(row["gen_seed"]))
        table = shared.get(key)
        return by_key[key][0][0] if table is None else table[int(row["gen_index"])]

    def flush() -> None:
        nonlocal buffer, last_write
        if not buffer:
            return
        new = set(ws.append_new_samples(rows_to_table(buffer)).to_pylist())
        for row in buffer:
            summary = owner(row)
            if row["sample_id"] in new:
                summary.written += 1
            else:
                summary.duplicates += 1  # a row another run wrote already
        buffer = []
        last_write = time.monotonic()

    def consume(rows: list[dict[str, Any]]) -> None:
        nonlocal rendered
        buffer.extend(rows)
        rendered += len(rows)
        for row in rows:
            summary = owner(row)
            summary.rendered += 1
            summary.small_objects += row["gen_n_small"]
        if progress:
            progress(rendered, total)
        if len(buffer) >= write_rows or time.monotonic() - last_write > WRITE_SECONDS:
            flush()

    # In this process, spawned local workers, or Ray tasks: in order, the same rows either way.
    runner = resolve_executor(where, n_workers, initializer=_init_worker)
    for summary in summaries:
        summary.workers = runner.workers
    results = runner.map(_render_batch, batches)
    try:
        for rows in results:
            consume(rows)
    except CuratorError:
        abandon(results)
        flush()  # what was rendered before the failure is kept; a re-run resumes after it
        raise
    except Exception as exc:
        abandon(results)  # a failed run leaves no busy workers behind
        flush()
        raise GeneratorError(
            f"rendering failed ({type(exc).__name__}: {exc}); rows rendered before it are "
            "kept and a re-run resumes. If this is an EGL/OpenGL error, install Mesa's EGL "
            "drivers (`make sysdeps`) and keep PYOPENGL_PLATFORM=egl") from exc
    except BaseException:
        abandon(results)  # interrupted: stop the workers too
        raise
    flush()
    seconds = time.perf_counter() - start
    for summary in summaries:
        if summary.rendered:
            summary.seconds = seconds
    return summaries

"""Build the workspace report: load once, run every analysis, gather sections and requests.

This is the I/O edge of the report: it reads the workspace and an embedding, then calls the
pure analyses in ``curator`` (balance, bias, label quality, gap, coverage, de-duplication).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from curator.embed import list_embeddings, load_embedding
from curator.errors import CuratorError
from curator.hashing import config_hash
from curator.neighbors import NeighborIndex
from curator.provenance import ablation_arm, is_main_synthetic, is_real
from curator.requests import GenerationRequest, requests_frame
from curator.results import AnalysisResult, Finding, new_figure
from curator.select import Selection, parse_target
from curator.stats import attribute_columns
from curator.store import Workspace
from curator.strata import parse_by, stratum_keys
from curator.validation import check_scalar
from reports.document import ReportDocument, Section

#: Section keys in report order (``--sections`` takes a subset).
SECTIONS = ("balance", "bias", "label_quality", "gap", "coverage", "duplicates", "ablation",
            "synthetic_helps")

#: Neighbours per sample in the one k-NN graph the balance, label-quality and duplicates
#: sections share (searched once over the embedding).
SHARED_K = 10

#: Fewer embedded samples than this and the vector-based sections say so instead of running.
MIN_EMBEDDED = 12

@dataclass
class ReportConfig:
    """Everything that changes the report's numbers (hashed into its metadata)."""

    embedding: str | None = None  # None: "pixels" if present, else the first embedding
    label: str = "label"
    sections: tuple[str, ...] = SECTIONS
    targets: tuple[str, ...] = ()  # attribute boxes to check, "pose_yaw_deg=30..60,..."
    target_count: int = 20  # samples wanted inside each target box
    by: str | None = None  # extra gap strata besides label, e.g. "label,pose_yaw_deg:4"
    n_boot: int = 100
    n_permutations: int = 200
    k: int = 5
    max_samples: int = 20_000
    random_state: int = 0

    def __post_init__(self) -> None:
        unknown = [s for s in self.sections if s not in SECTIONS]
        if unknown:
            raise CuratorError(f"unknown report section(s) {unknown}; choose from "
                               f"{', '.join(SECTIONS)}")
        for name in ("n_boot", "n_permutations", "k", "max_samples", "target_count"):
            check_scalar(getattr(self, name), name, min_val=1,
                         message="{name} must be >= 1, got {value!r}")

    @property
    def config_hash(self) -> str:
        return config_hash(asdict(self))


@dataclass
class ReportData:
    """The workspace's rows (no pixel columns) and one embedding aligned with ``embedded``."""

    frame: pd.DataFrame
    embedding: str | None = None
    embedded: pd.DataFrame | None = None  # rows of ``frame`` that have a vector, in order
    vectors: np.ndarray | None = None
    fingerprint: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    _knn: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def shared_k(self) -> int:
        """Neighbours in the shared graph: :data:`SHARED_K`, fewer for tiny embeddings."""
        return max(1, min(SHARED_K, len(self.vectors) - 1))

    def self_knn(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The exact self-excluded k-NN graph of ``vectors``, searched once and shared by
        the sections that need it (balance, label quality, duplicates)."""
        if self._knn is None or self._knn[0].shape[1] < k:
            self._knn = NeighborIndex(k).fit(self.vectors).kneighbors()
        return self._knn[0][:, :k], self._knn[1][:, :k]


def load_report_data(ws: Workspace, embedding: str | None = None) -> ReportData:
    """Rows and (optionally) vectors of ``ws``. ``embedding=None`` picks ``pixels`` when it
    exists, else the first embedding, else none (embedding-based sections are skipped)."""
    frame = ws.to_pandas(ws.scalar_columns())
    if frame.empty:
        raise CuratorError(f"workspace {ws.root} has no samples; ingest or generate some first")
    names = list_embeddings(ws)
    if embedding is None:
        embedding = "pixels" if "pixels" in names else (names[0] if names else None)
    elif embedding not in names:
        raise CuratorError(f"no embedding {embedding!r} in {ws.root}; available: "
                           f"{', '.join(names) or 'none (run `curator embed` first)'}")
    if embedding is None:
        return ReportData(frame)
    emb = load_embedding(ws, embedding)
    pos = pd.Series(np.arange(len(frame)), index=frame["sample_id"].to_numpy())
    rows = pos.reindex(emb.ids).to_numpy()
    keep = ~np.isnan(rows)
    if keep.all() and len(rows) == len(frame) and np.array_equal(rows, np.arange(len(rows))):
        # Every sample embedded, in workspace order (the usual case): no copies of the
        # frame or the vectors (sections only read them).
        return ReportData(frame, embedding, frame, emb.vectors, emb.fingerprint)
    embedded = frame.iloc[rows[keep].astype(np.int64)].reset_index(drop=True)
    return ReportData(frame, embedding, embedded, emb.vectors[keep], emb.fingerprint)


def selection_result(sel: Selection, title: str) -> AnalysisResult:
    """A selection (de-duplication, coverage) as a report result."""
    tables = dict(sel.tables)
    if sel.summary is not None:
        tables = {"summary": sel.summary, **tables}
    return AnalysisResult(title=title, summary={"selected": len(sel), **sel.stats},
                          tables=tables, params=dict(sel.params))


# -- sections -------------------------------------------------------------------------------
def _shared_labels(frame: pd.DataFrame, label: str, a: np.ndarray, b: np.ndarray
                   ) -> np.ndarray:
    """Rows whose label occurs on both sides (real digits vs synthetic digits, not chairs)."""
    shared = set(frame.loc[a, label].dropna()) & set(frame.loc[b, label].dropna())
    return frame[label].isin(shared).to_numpy()


def _recipe_of(frame: pd.DataFrame, mask: np.ndarray) -> str | None:
    if "gen_recipe" not in frame or not mask.any():
        return None
    counts = frame.loc[mask, "gen_recipe"].dropna().value_counts()
    return str(counts.index[0]) if len(counts) else None


def _balance(data: ReportData, cfg: ReportConfig) -> Section:
    from curator.balance import balance_report

    whole = _needs_vectors(data) is None and len(data.embedded) == len(data.frame)
    frame = data.embedded if whole else data.frame
    overall = balance_report(frame, label=cfg.label, attributes=[],
                             k=data.shared_k if whole else SHARED_K,
                             vectors=data.vectors if whole else None,
                             neighbors=data.self_knn(data.shared_k) if whole else None,
                             random_state=cfg.random_state)
    overall.title = "Balance: all samples"
    results = [overall]
    # Attributes per group: a yaw range means one thing in one recipe and another elsewhere,
    # and mixing recipes would report their difference as a bias.
    for name, group in _recipe_groups(data.frame):
        if any(attribute_columns(group, exclude=(cfg.label,))):
            result = balance_report(group, label=cfg.label, random_state=cfg.random_state)
            result.title = f"Attribute balance: {name}"
            results.append(result)
    return Section("Balance", "Counts and shares per label, source and split; minority "
                   "classes and sparse regions of the embedding; then, for real data and per "
                   "recipe, attribute bins, one-sided attributes and empty attribute regions.",
                   results)


def _recipe_groups(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Real rows, then rendered rows (not ablation variants) per recipe: an attribute means
    different things in different recipes, and real data has its own biases."""
    groups = []
    real = frame[frame["source"] == "real"]
    if len(real):
        groups.append(("real", real))
    # Augmented and oversampled rows carry their parents' generator attributes: counting the
    # copies as samples would make every chance hole or association look significant. An
    # ablation variant holds a randomizer fixed on purpose: a spike, not a bias.
    rest = frame[is_main_synthetic(frame)]
    if "gen_recipe" not in rest:
        return groups + ([("synthetic", rest)] if len(rest) else [])
    recipe = rest["gen_recipe"]
    groups += [(f"recipe {name}", g) for name, g in rest[recipe.notna()].groupby(
        "gen_recipe", sort=True)]
    if recipe.isna().any():
        groups.append(("synthetic without a recipe", rest[recipe.isna()]))
    return groups


def _bias(data: ReportData, cfg: ReportConfig, requests: list[GenerationRequest]) -> Section:
    from curator.bias import association_report, decorrelate

    results: list[AnalysisResult] = []
    for name, group in _recipe_groups(data.frame):
        if group[cfg.label].nunique() < 2 or not any(attribute_columns(group)):
            continue
        assoc = association_report(group, label=cfg.label, n_permutations=cfg.n_permutations,
                                   random_state=cfg.random_state)
        assoc.title = f"{assoc.title}: {name}"
        results.append(assoc)
        flagged = [f.subject for f in assoc.findings if f.kind == "confounder"][:2]
        for attribute in flagged:
            fix = decorrelate(group, attribute, label=cfg.label, method="weights",
                              random_state=cfg.random_state,
                              recipe=name.removeprefix("recipe ") if name.startswith(
                                  "recipe ") else None)
            fix.title = f"{fix.title} ({name})"
            results.append(fix)
            requests.extend(fix.requests)
    return Section("Bias and confounders", "How strongly each generator attribute predicts "
                   "the label, per recipe (Cramér's V, mutual information, permutation "
                   "p-value), for real data and per recipe; flagged confounders get reweighing "
                   "and the generation requests that would make them independent of the "
                   "label.", results,
                   skipped=None if results else "no recipe group with two or more labels")


def _needs_vectors(data: ReportData) -> str | None:
    if data.vectors is None:
        return "no embedding in this workspace (run `curator embed pixels`)"
    if len(data.vectors) < MIN_EMBEDDED:
        return (f"only {len(data.vectors)} sample(s) in embedding {data.embedding!r}; "
                f"neighbour-based sections need {MIN_EMBEDDED} or more")
    return None


def _label_quality(data: ReportData, cfg: ReportConfig) -> Section:
    from curator.label_quality import label_quality_report

    title = "Label quality"
    intro = ("Likely mislabelled samples (confident learning on out-of-fold probabilities, "
             "and nearest-neighbour label disagreement) with the suggested label; outliers "
             f"far from every neighbour. Embedding: {data.embedding}.")
    if (why := _needs_vectors(data)) is not None:
        return Section(title, intro, skipped=why)
    frame = data.embedded
    labelled = frame[cfg.label].notna().to_numpy()
    if frame.loc[labelled, cfg.label].nunique() < 2:
        return Section(title, intro, skipped="fewer than two labels")
    if labelled.sum() < MIN_EMBEDDED:
        return Section(title, intro, skipped=f"only {int(labelled.sum())} labelled samples "
                       "with vectors")
    k = min(data.shared_k, int(labelled.sum()) - 1)
    result = label_quality_report(
        data.vectors[labelled], frame.loc[labelled, cfg.label].astype(str).to_numpy(),
        frame.loc[labelled, "sample_id"].to_numpy(), k=k,
        random_state=cfg.random_state, frame=frame.loc[labelled, ["source"]].reset_index(
            drop=True), neighbors=data.self_knn(k) if labelled.all() else None)
    return Section(title, intro, [result])


def _real_vs_synthetic(data: ReportData, cfg: ReportConfig
                       ) -> tuple[np.ndarray, np.ndarray, str | None]:
    frame = data.embedded
    real, syn = is_real(frame), is_main_synthetic(frame)
    if not real.any():
        return real, syn, "no real samples with vectors"
    if not syn.any():
        return real, syn, "no synthetic samples with vectors"
    shared = _shared_labels(frame, cfg.label, real, syn)
    if not shared.any():
        return real, syn, "real and synthetic samples share no label"
    real, syn = real & shared, syn & shared
    if min(real.sum(), syn.sum()) < MIN_EMBEDDED // 2:
        return real, syn, (f"too few samples to compare: {int(real.sum())} real and "
                           f"{int(syn.sum())} synthetic with a shared label and vectors")
    return real, syn, None


def _gap(data: ReportData, cfg: ReportConfig) -> Section:
    from curator.gap import LINEAGE_COLUMNS, gap_report
    from curator.schema import CORE_COLUMNS

    title = "Real vs synthetic gap"
    intro = ("How far synthetic samples are from real ones, overall and per label, each with "
             "a bootstrap interval: Fréchet distance, KID, precision/recall/density/coverage, "
             "a classifier two-sample test, and per-attribute distances. Only labels present "
             "in both; ablation variants are compared in their own section.")
    if (why := _needs_vectors(data)) is not None:
        return Section(title, intro, skipped=why)
    real, syn, why = _real_vs_synthetic(data, cfg)
    if why:
        return Section(title, intro, skipped=why)
    both = real | syn
    # Only the columns the gap reads (ids, label, lineage, strata, attributes): at a million
    # rows the core text columns (origin, config_hash, ...) would be copied for nothing.
    needed = {"sample_id", cfg.label, *LINEAGE_COLUMNS, *(c for c, _ in parse_by(cfg.by))}
    keep = [c for c in data.embedded.columns if c not in CORE_COLUMNS or c in needed]
    frame = data.embedded.loc[both, keep].reset_index(drop=True)
    strata = stratum_keys(frame, cfg.by) if cfg.by else None
    vectors = data.vectors if both.all() else data.vectors[both]
    result = gap_report(vectors, syn[both], ids=frame["sample_id"].to_numpy(),
                        labels=frame[cfg.label].astype(str).to_numpy(), strata=strata,
                        frame=frame, k=cfg.k,
                        n_boot=cfg.n_boot, max_samples=cfg.max_samples,
                        random_state=cfg.random_state)
    return Section(title, intro, [result])


def _as_text(value: Any) -> str:
    """A target value as written: ``parse_target`` reads ``3`` as ``3.0``; a text column
    (labels, recipe names) means ``"3"``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def target_coverage(frame: pd.DataFrame, targets: Sequence[str], *, wanted: int,
                    recipe: str | None) -> tuple[AnalysisResult, list[GenerationRequest]]:
    """How many samples fall inside each attribute box; a request for any shortfall."""
    rows, requests, findings = [], [], []
    for text in targets:
        spec = parse_target(text)
        target_recipe = spec.pop("gen_recipe", recipe)  # "gen_recipe=objects" picks the recipe
        target_recipe = None if target_recipe is None else _as_text(target_recipe)
        if target_recipe is not None:
            inside_recipe = (frame["gen_recipe"] == target_recipe).to_numpy() \
                if "gen_recipe" in frame else np.zeros(len(frame), bool)
        else:
            inside_recipe = np.ones(len(frame), bool)
        inside = np.ones(len(frame), bool)
        for col, value in list(spec.items()):
            if col not in frame:
                raise CuratorError(f"target {text!r}: no column {col!r} in the workspace")
            v = frame[col]
            numeric = pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v)
            if isinstance(value, tuple):
                if not numeric:
                    raise CuratorError(f"target {text!r}: {col!r} holds text; a range lo..hi "
                                       f"needs a numeric column (write {col}=value)")
                inside &= v.between(*value).to_numpy()
            elif numeric:
                if not isinstance(value, float):
                    raise CuratorError(f"target {text!r}: {col!r} is numeric; write a number "
                                       f"or a range lo..hi, not {value!r}")
                inside &= (v == value).to_numpy()
                spec[col] = (value, value)  # an exact number is a one-point range to render
            else:
                spec[col] = value = _as_text(value)
                inside &= (v.astype(str) == value).to_numpy() & v.notna().to_numpy()
        label = spec.pop("label", None)  # the request's label, not an attribute to narrow
        if isinstance(label, tuple):
            label = _as_text(label[0])
        inside &= inside_recipe
        n_in = int(inside.sum())
        rows.append({"target": text, "samples_inside": n_in, "wanted": wanted,
                     "missing": max(0, wanted - n_in)})
        if n_in < wanted:
            ranges = {c: v for c, v in spec.items() if isinstance(v, tuple)}
            values = {c: [str(v)] for c, v in spec.items() if not isinstance(v, tuple)}
            req = GenerationRequest(wanted - n_in, label, ranges, values, target_recipe,
                                    f"target {text}: {n_in} of {wanted} wanted samples inside")
            requests.append(req)
            findings.append(Finding("target_gap", text, f"{n_in} sample(s) inside {text} "
                                    f"(wanted {wanted}): request {req.describe()}",
                                    "alert" if n_in == 0 else "warning",
                                    {"inside": n_in, "wanted": wanted}))
    tables = {"targets": pd.DataFrame(rows)}
    if requests:
        tables["generation_requests"] = requests_frame(requests)
    return AnalysisResult("Target shots", {"targets": len(targets)}, tables, findings,
                          {"wanted": wanted, "recipe": recipe}), requests


def _coverage(data: ReportData, cfg: ReportConfig, requests: list[GenerationRequest]) -> Section:
    from curator.coverage import coverage_gaps

    title = "Coverage gaps"
    intro = ("Regions of the real distribution with no synthetic neighbour within the typical "
             "real-to-real radius, and attribute boxes (targets) with too few samples, each "
             "turned into a generation request `curator fill` can render.")
    results: list[AnalysisResult] = []
    skipped = None
    if (why := _needs_vectors(data)) is None:
        real, syn, why = _real_vs_synthetic(data, cfg)
    if why is None:
        frame = data.embedded
        result = coverage_gaps(data.vectors[real], data.vectors[syn],
                               frame[real].reset_index(drop=True),
                               k=min(cfg.k, int(real.sum()) - 1), label=cfg.label,
                               recipe=_recipe_of(frame, syn), random_state=cfg.random_state)
        results.append(result)
        requests.extend(result.requests)
    else:
        skipped = f"real-to-synthetic coverage: {why}"
    if cfg.targets:
        result, reqs = target_coverage(data.frame, cfg.targets, wanted=cfg.target_count,
                                       recipe=None)
        results.append(result)
        requests.extend(reqs)
    return Section(title, intro, results, skipped=skipped)


def _duplicates(data: ReportData, cfg: ReportConfig) -> Section:
    from curator.select import select_deduplicated

    title = "Duplicates and leakage"
    intro = ("Near-duplicate groups in the embedding (threshold 0.2 x the median "
             "nearest-neighbour distance) and pairs that leak from training into test/val.")
    if (why := _needs_vectors(data)) is not None:
        return Section(title, intro, skipped=why)
    frame = data.embedded
    priority = np.where(frame["split"].isin(("test", "val")), 0, 1) + np.where(
        frame["source"] == "real", 0, 2)
    sel = select_deduplicated(data.vectors, ids=frame["sample_id"].to_numpy(),
                              splits=frame["split"].to_numpy(), priority=priority,
                              k=data.shared_k, neighbors=data.self_knn(data.shared_k))
    result = selection_result(sel, "Near-duplicates")
    nearest = data.self_knn(data.shared_k)[0][:, 0]
    result.plot_fns.append(functools.partial(_plot_nearest, nearest=nearest,
                                             threshold=float(sel.stats["threshold"])))
    leaks = sel.tables.get("leakage")
    if leaks is not None and len(leaks):
        result.findings.append(Finding("leakage", "train→eval", f"{len(leaks)} near-duplicate "
                                       "pair(s) cross from training into an evaluation split",
                                       "alert", {"pairs": len(leaks)}))
    removed = int(sel.stats.get("removed", 0))
    if removed:
        result.findings.append(Finding("duplicates", "embedding", f"{removed} sample(s) are "
                                       f"near-duplicates of a kept one "
                                       f"({sel.stats.get('groups', 0)} groups)", "info",
                                       {"removed": removed}))
    return Section(title, intro, [result])


def _plot_nearest(result: AnalysisResult, *, nearest: np.ndarray, threshold: float) -> Any:
    """Histogram of nearest-neighbour distances with the duplicate threshold."""
    fig, ax = new_figure(6.0, 2.6)
    positive = nearest[nearest > 0]
    low = max(float(positive.min()) if positive.size else 1e-6, threshold / 100, 1e-9)
    values = np.clip(nearest, low, None)
    ax.hist(values, bins=np.geomspace(low, max(float(values.max()), low * 10), 60),
            color="#4c72b0")
    ax.axvline(threshold, color="#c44e52", linestyle="--", label=f"threshold {threshold:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("distance to the nearest other sample (zero drawn at the left edge)")
    ax.set_ylabel("samples")
    ax.legend(frameon=False)
    return fig


def _ablation(data: ReportData, cfg: ReportConfig, experiments: Path | None) -> Section:
    from curator.gap import ablation_gaps
    from curator.workflows.experiments import saved_experiments

    title = "Ablations and experiments"
    intro = ("Each ablation variant (one randomizer held at its default) against real data: "
             "the randomizer whose removal widens the gap most matters most. Then the "
             "experiments saved in the workspace, scored on real held-out data: which "
             "real:synthetic mix trains best per real budget, and which randomizations "
             "(and augmentation) change the held-out score.")
    results: list[AnalysisResult] = []
    skipped = None
    if (why := _needs_vectors(data)) is None:
        frame = data.embedded
        real = is_real(frame)
        syn = (frame["source"] == "synthetic").to_numpy()
        if "gen_ablated" not in frame or not real.any() or not syn.any() \
                or frame.loc[syn, "gen_ablated"].nunique() < 2:
            why = "no ablation series (generate with --ablate NAME for each randomizer)"
        else:
            shared = _shared_labels(frame, cfg.label, real, syn)
            real, syn = real & shared, syn & shared
            both = real | syn
        if why is None and (real.sum() < MIN_EMBEDDED // 2
                            or frame.loc[syn, "gen_ablated"].nunique() < 2):
            why = "no ablation series on the labels real and synthetic samples share"
        if why is None:
            results.append(ablation_gaps(
                data.vectors[both], syn[both],
                ablation_arm(frame)[both].astype(str),
                n_boot=cfg.n_boot, max_samples=cfg.max_samples, random_state=cfg.random_state))
    if why:
        skipped = why
    saved = saved_experiments(experiments) if experiments is not None else []
    if saved:
        results.extend(saved)
        skipped = None
        if why:
            results[0].notes.append(f"Ablation gaps not computed: {why}.")
    else:
        note = ("No ratio experiments in this workspace yet (curator experiment ratio / "
                "ablation).")
        if results:
            results[-1].notes.append(note)
        else:
            skipped = f"{skipped}. {note}" if skipped else note
    return Section(title, intro, results, skipped=skipped)


def _synthetic_helps(experiments: Path | None) -> Section:
    from curator.experiments import compare_synthetic_sets
    from curator.workflows.experiments import saved_experiments

    title = "Does synthetic help?"
    intro = ("Real held-out accuracy against the real budget: real-only training, and each "
             "synthetic set's best mix (any regime), with the paired 95% interval of its "
             "difference to real only and a verdict per budget: helps (interval above 0), "
             "within noise, or hurts (interval below 0).")
    saved = saved_experiments(experiments) if experiments is not None else []
    result = compare_synthetic_sets([r for r in saved if "recommendations" in r.tables])
    if result is None:
        return Section(title, intro, [], skipped=(
            "needs two or more ratio experiments over different synthetic sets on the same "
            "real data (curator experiment ratio --synthetic-where ...)"))
    return Section(title, intro, [result])


def build_report(ws: Workspace, config: ReportConfig | None = None, *,
                 progress: Callable[[int, int], None] | None = None) -> ReportDocument:
    """Run every configured section over ``ws`` and assemble the document.

    A section that cannot run on this workspace (no embedding, no real data) says why
    instead of failing the report; bad parameters raise :class:`CuratorError`.
    """
    cfg = config or ReportConfig()
    data = load_report_data(ws, cfg.embedding)
    return assemble_report(data, cfg, name=ws.root.name, experiments=ws.root / "experiments",
                           progress=progress)


def assemble_report(data: ReportData, cfg: ReportConfig, *, name: str = "data",
                    experiments: Path | None = None,
                    progress: Callable[[int, int], None] | None = None,
                    timings: dict[str, float] | None = None) -> ReportDocument:
    """The report over already loaded rows and vectors (``timings`` collects seconds per
    section when given: the benchmark's hook)."""
    if cfg.by:  # a misspelt stratum column fails before any section runs
        stratum_keys(data.frame.head(1), cfg.by)
    requests: list[GenerationRequest] = []
    builders: dict[str, Callable[[], Section]] = {
        "balance": lambda: _balance(data, cfg),
        "bias": lambda: _bias(data, cfg, requests),
        "label_quality": lambda: _label_quality(data, cfg),
        "gap": lambda: _gap(data, cfg),
        "coverage": lambda: _coverage(data, cfg, requests),
        "duplicates": lambda: _duplicates(data, cfg),
        "ablation": lambda: _ablation(data, cfg, experiments),
        "synthetic_helps": lambda: _synthetic_helps(experiments),
    }
    sections = []
    todo = [s for s in SECTIONS if s in cfg.sections]
    for i, key in enumerate(todo):
        if progress:
            progress(i, len(todo))
        start = time.perf_counter()
        sections.append(builders[key]())
        if timings is not None:
            timings[key] = time.perf_counter() - start
    if progress:
        progress(len(todo), len(todo))
    meta = {"workspace": name, "samples": len(data.frame),
            "embedding": data.embedding or "none",
            "embedding_fingerprint": data.fingerprint or "-",
            "random_state": cfg.random_state, "report_config": cfg.config_hash}
    return ReportDocument(f"Data report: {name}", meta, sections, requests)

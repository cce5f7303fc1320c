"""Coverage gaps: regions of the real distribution with no synthetic sample nearby, turned
into generation requests (label, attribute ranges, counts) the generator recipes can take.

All neighbour questions go through :class:`curator.neighbors.NeighborIndex`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from curator.neighbors import NeighborIndex, as_float32
from curator.requests import GenerationRequest, RequestsResult, requests_frame
from curator.results import Finding, decode, encode, new_figure
from curator.stats import AnalysisError, attribute_columns
from curator.validation import check_scalar

#: A region's label is requested when at least this share of its members carry it.
LABEL_SHARE = 0.8
#: A numeric attribute goes into a request when the region's 5-95% range is narrower than
#: this share of the real 5-95% range (otherwise the region does not depend on it).
NARROW_RANGE = 0.5
#: A categorical attribute goes into a request when this share of the region holds one
#: value that fewer than ``COMMON_VALUE`` of all real samples hold.
VALUE_SHARE = 0.8
COMMON_VALUE = 0.5
EXAMPLES = 5


@dataclass
class CoverageResult(RequestsResult):
    """:func:`coverage_gaps`'s result: the analysis, the generation requests it proposes and
    each real sample's distance to its nearest synthetic one (what its figure draws)."""

    nearest_synthetic_distance: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self, max_rows: int | None = 1000) -> dict[str, Any]:
        out = super().to_dict(max_rows)
        # Only the complete form carries the per-sample distances (to redraw the figure).
        if max_rows is None and self.nearest_synthetic_distance is not None:
            out["nearest_synthetic_distance"] = encode(self.nearest_synthetic_distance)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CoverageResult:
        result = super().from_dict(data)
        if "nearest_synthetic_distance" in data:
            result.nearest_synthetic_distance = decode(data["nearest_synthetic_distance"])
        return result


def _attribute_kinds(frame: pd.DataFrame, attributes: Sequence[str] | None,
                     label: str) -> tuple[list[str], list[str]]:
    if attributes is None:
        return attribute_columns(frame, exclude=[label])
    numeric, categorical = [], []
    for col in attributes:
        if col not in frame.columns:
            raise AnalysisError(f"attribute {col!r} is not a column of real_frame; columns are "
                                f"{list(frame.columns)}")
        dtype = frame[col].dtype
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            numeric.append(col)
        else:
            categorical.append(col)
    return numeric, categorical


def _describe_region(members: np.ndarray, frame: pd.DataFrame, labels: pd.Series | None,
                     numeric: list[str], categorical: list[str]) -> dict[str, Any]:
    """Label make-up and the attribute ranges/values that set the region apart."""
    out: dict[str, Any] = {"label": None, "label_share": np.nan, "label_counts": "",
                           "ranges": {}, "values": {}, "spans": []}
    if labels is not None:
        counts = labels.iloc[members].astype(object).fillna("∅").astype(str).value_counts()
        if len(counts):
            out["label_counts"] = ", ".join(f"{v}: {c}" for v, c in counts.items())
            share = counts.iloc[0] / counts.sum()
            out["label_share"] = float(share)
            if share >= LABEL_SHARE and counts.index[0] != "∅":
                out["label"] = str(counts.index[0])
    for col in numeric:
        inside = pd.to_numeric(frame[col].iloc[members], errors="coerce").dropna()
        everyone = pd.to_numeric(frame[col], errors="coerce").dropna()
        if inside.empty or everyone.empty:
            continue
        lo, hi = (float(v) for v in inside.quantile([0.05, 0.95]))
        all_lo, all_hi = (float(v) for v in everyone.quantile([0.05, 0.95]))
        out["spans"].append(f"{col} {lo:.4g}..{hi:.4g}")
        if all_hi > all_lo and hi - lo < NARROW_RANGE * (all_hi - all_lo):
            out["ranges"][col] = (lo, hi)
    for col in categorical:
        inside = frame[col].iloc[members].dropna().astype(str)
        if inside.empty:
            continue
        shares = inside.value_counts(normalize=True)
        value, share = shares.index[0], float(shares.iloc[0])
        out["spans"].append(f"{col} mostly {value} ({share:.0%})")
        overall = float((frame[col].dropna().astype(str) == value).mean())
        if share >= VALUE_SHARE and overall < COMMON_VALUE:
            out["values"][col] = [value]
    return out


def coverage_gaps(real_vectors: Any, fake_vectors: Any, real_frame: pd.DataFrame, *,
                  k: int = 5, radius: float | None = None,
                  attributes: Sequence[str] | None = None, label: str = "label",
                  min_region: int = 5, max_regions: int = 10, recipe: str | None = None,
                  per_real: float = 1.0,
                  random_state: int = 0) -> CoverageResult:
    """Regions of the real distribution that no synthetic sample comes near, as requests.

    A real sample is *uncovered* when its nearest synthetic sample is farther than
    ``radius``; by default the typical radius, the median distance of a real sample to its
    k-th nearest real neighbour (the scale at which real samples have neighbours at all).
    Uncovered samples are grouped into regions, the connected components of the real k-NN
    graph restricted to uncovered samples; regions under ``min_region`` samples, and those
    past the ``max_regions`` largest, are counted (finding ``scattered_gaps``) but get no
    request. Each region becomes a :class:`GenerationRequest` for
    ``ceil(per_real x n_real)`` samples: its label when at least 80% of it shares one,
    the 5-95% range of each numeric attribute on which it is narrower than half the real
    5-95% range, the dominant value of a categorical attribute that sets it apart. A region
    with no dominant label gets one request per label in it (each label's share of the
    count), so every request names what to render.

    Tables: ``regions``, ``uncovered``, ``generation_requests``. Findings: ``coverage_gap``
    (one per region).
    """
    real = as_float32(real_vectors, what="real_vectors", allow_empty=False)
    fake = as_float32(fake_vectors, what="fake_vectors")
    if len(real_frame) != len(real):
        raise AnalysisError(f"real_frame has {len(real_frame)} rows for {len(real)} real "
                            "vectors; pass the rows the vectors belong to, in the same order")
    if len(fake) and fake.shape[1] != real.shape[1]:
        raise AnalysisError(f"real vectors have {real.shape[1]} features and fake vectors "
                            f"{fake.shape[1]}; compare vectors of the same embedding")
    check_scalar(k, "k", min_val=1, max_val=len(real) - 1, error=AnalysisError,
                 message="{name} must be {expected} (fewer than the real samples), got {value!r}")
    check_scalar(radius, "radius", Real, min_val=0, max_val=math.inf, closed="neither",
                 allow_none=True, error=AnalysisError)
    check_scalar(per_real, "per_real", Real, min_val=0, closed="neither", error=AnalysisError)
    check_scalar(min_region, "min_region", min_val=1, error=AnalysisError)
    check_scalar(max_regions, "max_regions", min_val=1, error=AnalysisError)
    frame = real_frame.reset_index(drop=True)
    labels = frame[label] if label in frame.columns else None
    ids = frame["sample_id"].to_numpy() if "sample_id" in frame.columns \
        else np.arange(len(frame))
    numeric, categorical = _attribute_kinds(frame, attributes, label)

    centre = real.mean(axis=0, dtype=np.float64)  # smaller norms: less float32 search error
    real = (real - centre).astype(np.float32)
    knn_dist, knn_ind = NeighborIndex(k, random_state=random_state).fit(real).kneighbors()
    typical = float(np.median(knn_dist[:, -1]))
    r = typical if radius is None else float(radius)
    if len(fake):
        fake = (fake - centre).astype(np.float32)
        nearest = NeighborIndex(1, random_state=random_state).fit(fake).kneighbors(
            real, n_neighbors=1)[0][:, 0]
    else:
        nearest = np.full(len(real), np.inf)
    uncovered = nearest > r

    n = len(real)
    src = np.repeat(np.arange(n), k)
    dst = knn_ind.ravel()
    keep = uncovered[src] & uncovered[dst]
    graph = csr_matrix((np.ones(int(keep.sum()), np.int8), (src[keep], dst[keep])), shape=(n, n))
    _, component = connected_components(graph, directed=True, connection="weak")
    members_of = pd.Series(np.flatnonzero(uncovered)).groupby(
        component[uncovered], sort=False).agg(list)
    # Largest region first; ties by the first member's row, so the order is deterministic.
    regions = sorted((np.array(m) for m in members_of if len(m) >= min_region),
                     key=lambda m: (-len(m), m[0]))
    n_small = sum(1 for m in members_of if len(m) < min_region)
    # Past the largest few, regions are scattered holes, not a place to render into: they
    # are counted, and the gap section says how far the synthetic set is overall.
    n_beyond = max(0, len(regions) - max_regions)
    scattered = int(sum(len(m) for m in regions[max_regions:])) + int(
        sum(len(m) for m in members_of if len(m) < min_region))
    regions = regions[:max_regions]

    region_of = np.full(n, -1)
    rows, requests, findings, subjects = [], [], [], set()
    for i, members in enumerate(regions):
        region_of[members] = i
        info = _describe_region(members, frame, labels, numeric, categorical)
        reason = (f"coverage gap: {len(members)} real samples with no synthetic neighbour "
                  f"within {r:.4g}")
        request = GenerationRequest(
            n=int(math.ceil(per_real * len(members))), label=info["label"],
            ranges=info["ranges"], values=info["values"], recipe=recipe, reason=reason)
        region_requests = [request]
        if info["label"] is None and labels is not None:
            # A mixed region: one request per label in it, so each names what to render.
            counts = labels.iloc[members].dropna().astype(str).value_counts(sort=False)
            region_requests = [GenerationRequest(int(math.ceil(per_real * c)), str(lab),
                                                 info["ranges"], info["values"], recipe, reason)
                               for lab, c in sorted(counts.items())] or region_requests
        requests += region_requests
        asked = "; ".join(r.describe() for r in region_requests[:3]) + (
            f"; and {len(region_requests) - 3} more" if len(region_requests) > 3 else "")
        subject = request.describe().split(" x ", 1)[1].removeprefix("any label, ")
        if subject in subjects:
            subject = f"{subject} (region {i})"
        subjects.add(subject)
        example = members[np.argsort(-nearest[members], kind="stable")[:EXAMPLES]]
        rows.append({"region": i, "n_real": len(members), "label": info["label"],
                     "label_share": info["label_share"], "label_counts": info["label_counts"],
                     "attributes": "; ".join(info["spans"]),
                     "median_nearest_synthetic": float(np.median(nearest[members])),
                     "example_ids": ", ".join(str(v) for v in ids[example])})
        share = len(members) / n
        findings.append(Finding(
            "coverage_gap", subject,
            f"{len(members)} real samples ({share:.1%}) around {subject} have no synthetic "
            f"sample within {r:.3g}; request {asked}",
            "alert" if share >= 0.05 else "warning",
            {"region": i, "n_real": len(members), "share": share, "radius": r,
             "requests": [q.to_dict() for q in region_requests]}))

    region_table = pd.DataFrame(rows, columns=[
        "region", "n_real", "label", "label_share", "label_counts", "attributes",
        "median_nearest_synthetic", "example_ids"])
    unc = np.flatnonzero(uncovered)
    # By region (samples of unlisted small regions last), farthest from synthetic first.
    unc = unc[np.lexsort((-nearest[unc], np.where(region_of[unc] >= 0, region_of[unc], n)))]
    uncovered_table = pd.DataFrame({
        "sample_id": ids[unc], "label": labels.to_numpy()[unc] if labels is not None else None,
        "nearest_synthetic_distance": nearest[unc], "region": region_of[unc]})
    summary = {"radius": r, "typical_radius": typical, "k": int(k), "n_real": n,
               "n_synthetic": len(fake), "n_uncovered": int(uncovered.sum()),
               "share_uncovered": float(uncovered.mean()), "n_regions": len(regions),
               "n_small_regions": n_small, "n_unlisted_regions": n_beyond,
               "n_scattered": scattered,
               "n_requested": int(sum(req.n for req in requests))}
    params = {"k": k, "radius": radius, "attributes": list(attributes) if attributes else None,
              "label": label, "min_region": min_region, "max_regions": max_regions,
              "recipe": recipe,
              "per_real": per_real, "random_state": random_state}
    notes = [f"radius {r:.4g}: " + ("given" if radius is not None else
                                   f"median distance of a real sample to its {k}-th nearest "
                                   "real neighbour"),
             f"regions: connected components of the real {k}-NN graph among uncovered "
             f"samples; {n_small} regions under {min_region} samples and {n_beyond} beyond the "
             f"largest {max_regions} not listed ({scattered} scattered uncovered samples)"]
    if scattered:
        findings.append(Finding(
            "scattered_gaps", "real distribution",
            f"{scattered} more uncovered real samples ({scattered / n:.1%}) lie in "
            f"{n_small + n_beyond} small or minor regions: no single place to render into; "
            "the synthetic distribution is narrower than the real one there", "info",
            {"samples": scattered, "regions": n_small + n_beyond}))
    return CoverageResult(
        title="Coverage gaps", summary=summary,
        tables={"regions": region_table, "uncovered": uncovered_table,
                "generation_requests": requests_frame(requests)},
        findings=findings, params=params, notes=notes,
        plot_fns=[plot_nearest_synthetic], requests=requests, nearest_synthetic_distance=nearest)


def plot_nearest_synthetic(result: CoverageResult) -> Any:
    """Histogram of each real sample's distance to its nearest synthetic one, and the
    radius beyond which it counts as uncovered."""
    nearest, radius = result.nearest_synthetic_distance, result.summary["radius"]
    fig, ax = new_figure()
    finite = nearest[np.isfinite(nearest)]
    if finite.size:
        ax.hist(finite, bins=50, color="#8aa6cf")
    ax.axvline(radius, color="#c44e52", linewidth=1.2, label=f"radius {radius:.3g}")
    ax.set_xlabel("distance to nearest synthetic sample")
    ax.set_ylabel("real samples")
    ax.legend(fontsize=8)
    ax.set_title("Real samples by distance to the synthetic set")
    return fig

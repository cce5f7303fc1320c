"""Browsing a workspace: pages of samples, one sample's detail, nearest neighbours.

What the app and the CLI show, computed here (the surfaces only lay it out). Reads only the
columns asked for; image bytes are read for the ids on screen, never for the whole table.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from curator.errors import CuratorError
from curator.results import ResultMixin
from curator.select import Selection
from curator.store import Workspace
from curator.validation import check_scalar

#: Label planes a rendered sample may carry, shown beside its image.
PLANES = ("mask_bytes", "class_mask_bytes", "matte_bytes", "depth_bytes", "normals_bytes")


@dataclass
class Page(ResultMixin):
    """One page of samples: the rows (scalar columns) and how many match in all."""

    rows: pd.DataFrame
    total: int
    page: int
    pages: int

    def to_frame(self) -> pd.DataFrame:
        return self.rows

    def result_title(self) -> str:
        return f"page {self.page + 1} of {self.pages} ({self.total:,} samples)"


def sample_page(ws: Workspace, *, filters: Any = None, page: int = 0, per_page: int = 24,
                columns: Sequence[str] = ("sample_id", "source", "label", "split")) -> Page:
    """Page ``page`` (from 0) of the samples matching ``filters``, in sample-id order."""
    check_scalar(per_page, "per_page", min_val=1, message="{name} must be >= 1, got {value}")
    ids = ws.to_pandas(["sample_id"], filters)["sample_id"].sort_values(kind="stable")
    total = len(ids)
    pages = max(1, -(-total // per_page))
    page = min(max(0, page), pages - 1)
    chosen = ids.iloc[page * per_page:(page + 1) * per_page].tolist()
    if not chosen:
        return Page(pd.DataFrame(columns=list(columns)), total, page, pages)
    from curator.subsets import rows_for

    return Page(rows_for(ws, chosen, columns), total, page, pages)


def thumbnails(ws: Workspace, ids: Sequence[str]) -> dict[str, bytes]:
    """Encoded image bytes of ``ids`` (those that have a readable image)."""
    from curator.subsets import rows_for

    rows = rows_for(ws, ids, ["image_bytes", "image_uri"])
    out = {}
    for row in rows.to_dict(orient="records"):
        row = {k: None if _missing(v) else v for k, v in row.items()}
        if row["image_bytes"] is not None or row["image_uri"]:
            try:
                out[row["sample_id"]] = ws.image_bytes(row)
            except (CuratorError, OSError):
                continue  # a missing media file costs its thumbnail, not the page
    return out


@dataclass
class SampleDetail(ResultMixin):
    """Everything about one sample: image, label planes, boxes, attributes, lineage."""

    sample_id: str
    core: dict[str, Any]
    attributes: dict[str, Any]
    lineage: dict[str, Any]
    image: bytes | None
    planes: dict[str, bytes] = field(default_factory=dict)
    objects: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, image and plane bytes as base64 (:meth:`from_dict` decodes them)."""
        data = super().to_dict()
        data["image"] = _b64encode(self.image)
        data["planes"] = {name: _b64encode(b) for name, b in self.planes.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SampleDetail:
        data = {**data, "image": _b64decode(data.get("image")),
                "planes": {k: _b64decode(v) for k, v in (data.get("planes") or {}).items()}}
        return super().from_dict(data)

    def result_title(self) -> str:
        return f"sample {self.sample_id}"

    def result_fields(self) -> dict[str, Any]:
        """What it says in a table: core columns, attributes, lineage, planes, objects."""
        return {**self.core, **self.attributes, **{f"lineage.{k}": v for k, v in
                                                   self.lineage.items()},
                "planes": ", ".join(self.planes), "objects": len(self.objects)}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"value": pd.Series(self.result_fields(), dtype=object)})

    def plane_images(self) -> dict[str, np.ndarray]:
        """The label planes as 8-bit images a browser shows: instance and class masks in
        colours over the image, depth scaled (near = bright), matte and normals as they are."""
        from curator.images import decode_bytes

        base = None
        if self.image is not None:
            base = _rgb8(decode_bytes(self.image, where="image"))
        out = {}
        instance_like = {"class_mask"} | ({"mask"} if self.core.get("mask_kind") != "matte"
                                          else set())
        for name, data in self.planes.items():
            px = decode_bytes(data, where=name).pixels
            if name in instance_like:
                colours = _palette(int(px.max()) + 1)[px]
                if base is not None and base.shape[:2] == px.shape:
                    on = (px > 0)[..., None]
                    colours = np.where(on, (0.45 * base + 0.55 * colours), base)
                out[f"{name} overlay"] = colours.astype(np.uint8)
            elif name == "depth":
                d = px.astype(np.float64)
                valid = d > 0
                scaled = np.zeros(d.shape, np.uint8)
                if valid.any():
                    lo, hi = d[valid].min(), d[valid].max()
                    scaled[valid] = (255 - 200 * (d[valid] - lo) / max(hi - lo, 1e-9)).astype(
                        np.uint8)
                out[name] = scaled
            else:
                out[name] = _to_uint8(px)
        return out

    def boxes_overlay(self) -> bytes | None:
        """The image with each object's box and label drawn on it (PNG), if any."""
        if self.image is None or self.objects.empty or "bbox_xywh" not in self.objects:
            return None
        from PIL import Image, ImageDraw

        img = Image.open(io.BytesIO(self.image)).convert("RGB")
        draw = ImageDraw.Draw(img)
        for obj in self.objects.itertuples():
            x, y, w, h = (float(v) for v in obj.bbox_xywh)
            draw.rectangle([x, y, x + w, y + h], outline=(255, 64, 64))
            draw.text((x + 1, y + 1), str(obj.label), fill=(255, 255, 0))
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return buf.getvalue()


def sample_detail(ws: Workspace, sample_id: str) -> SampleDetail:
    """One sample's detail (reads that one row)."""
    from curator.schema import CORE_COLUMNS
    from curator.subsets import rows_for

    names = ws.samples.schema().names
    row = {k: None if _missing(v) else v
           for k, v in rows_for(ws, [sample_id], names).iloc[0].to_dict().items()}
    image = ws.image_bytes(row) if row["image_bytes"] is not None or row["image_uri"] \
        else None
    planes = {p.removesuffix("_bytes"): row[p] for p in PLANES if row.get(p) is not None}
    objects = pd.DataFrame(list(row["objects"])) if row.get("objects") is not None else \
        pd.DataFrame()
    lineage_keys = ("origin", "generator", "generator_version", "config_hash", "seed",
                    "parent_ids", "ingested_at")
    lineage = {k: _plain(row.get(k)) for k in lineage_keys if k in row}
    core = {k: _plain(row.get(k)) for k in ("sample_id", "source", "label", "split", "width",
                                            "height", "mode", "mask_kind")}
    skip = set(CORE_COLUMNS) | set(PLANES) | {"image_bytes", "objects"}
    attributes = {k: _plain(v) for k, v in row.items()
                  if k not in skip and not _missing(v)}
    return SampleDetail(sample_id, core, attributes, lineage, image, planes,
                        objects.drop(columns=[c for c in ("polygons", "rle_json")
                                              if c in objects]))


def _to_uint8(px: np.ndarray) -> np.ndarray:
    """8-bit for display: 16-bit and float planes scaled by their maximum, not wrapped."""
    if px.dtype == np.uint8:
        return px
    top = float(px.max()) if px.size else 0.0
    return np.rint(px.astype(np.float64) * (255.0 / top)).astype(np.uint8) if top > 0 \
        else np.zeros(px.shape, np.uint8)


def _rgb8(img: Any) -> np.ndarray:
    """A decoded image as (H, W, 3) uint8, whatever its mode (L, LA, I;16, RGBA, ...)."""
    px = _to_uint8(np.asarray(img.pixels))
    if px.ndim == 2:
        return np.repeat(px[..., None], 3, axis=2)
    if px.shape[2] == 2:  # grey + alpha
        return np.repeat(px[..., :1], 3, axis=2)
    return px[..., :3]


def _palette(n: int) -> np.ndarray:
    """``n`` distinct colours (id 0, the background, black), seeded."""
    rng = np.random.default_rng(7)
    colours = rng.integers(60, 256, (max(n, 1), 3)).astype(np.uint8)
    colours[0] = 0
    return colours


def _b64encode(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _b64decode(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return None if _missing(v) else v


def nearest_by_source(ws: Workspace, embedding: str, sample_id: str, *, k: int = 5
                      ) -> pd.DataFrame:
    """The ``k`` nearest samples of each source to one sample in ``embedding``:
    ``source, sample_id, distance, label, split`` (the sample itself left out). Each source
    is searched on its own, so a far-away source still shows its nearest ``k``."""
    from curator.embed import load_embedding
    from curator.neighbors import NeighborIndex

    emb = load_embedding(ws, embedding)
    q = emb.vectors[emb.positions([sample_id])]
    rows = ws.to_pandas(["sample_id", "source", "label", "split"]).drop_duplicates(
        "sample_id").set_index("sample_id")
    sources = rows["source"].reindex(emb.ids).to_numpy()
    parts = []
    for source in sorted(set(sources[pd.notna(sources)].tolist())):
        members = np.flatnonzero((sources == source) & (emb.ids != sample_id))
        if not len(members):
            continue
        kk = min(k, len(members))
        dist, ind = NeighborIndex(kk).fit(emb.vectors[members]).kneighbors(q, kk)
        ids = emb.ids[members[ind[0]]]
        parts.append(pd.DataFrame({"source": source, "sample_id": ids, "distance": dist[0],
                                   "label": rows.loc[ids, "label"].to_numpy(),
                                   "split": rows.loc[ids, "split"].to_numpy()}))
    columns = ["source", "sample_id", "distance", "label", "split"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(
        columns=columns)


def map_box(ws: Workspace, embedding: str, x: tuple[float, float], y: tuple[float, float]
            ) -> Selection:
    """Every sample whose 2-D map position (:func:`curator.embed.map2d.embedding_map`) lies
    in the box ``x`` x ``y`` (the whole map, not a plotted sample of it)."""
    from curator.embed.map2d import embedding_map

    xy = embedding_map(ws, embedding)
    (x0, x1), (y0, y1) = sorted(x), sorted(y)
    inside = xy[xy.x.between(x0, x1) & xy.y.between(y0, y1)]
    frame = pd.DataFrame({"sample_id": inside["sample_id"].to_numpy(), "distance": 0.0,
                          "reason": f"map box x {x0:.4g}..{x1:.4g}, y {y0:.4g}..{y1:.4g}"})
    return Selection("map", frame, params={"embedding": embedding, "x": [x0, x1],
                                           "y": [y0, y1]}, stats={"samples": len(frame)})


def nearest_to_attributes(ws: Workspace, targets: Sequence[str | Mapping[str, Any]], *,
                          k: int = 5, steps: int = 3, filters: Any = None,
                          max_total: int | None = None) -> Selection:
    """The ``k`` nearest samples per attribute target ("yaw 45, 3200 K" as
    ``"pose_yaw_deg=45,color_temp_k=3200"``, ranges ``lo..hi``), matched on the attributes
    the targets name (angles that wrap are compared on the circle); no sample is reused."""
    from curator.embed import AttributeEmbedder
    from curator.select import parse_target, select_nearest_to_targets, target_points

    specs = [parse_target(t) if isinstance(t, str) else dict(t) for t in targets]
    if not specs:
        raise CuratorError("give at least one attribute target")
    points, quotas = target_points(specs, steps=steps, k=k)
    cols = sorted({c for s in specs for c in s})
    known = set(ws.samples.schema().names)
    unknown = [c for c in cols if c not in known]
    if unknown:
        raise CuratorError(f"unknown attribute(s) {unknown} in the target")
    rows = ws.to_pandas(["sample_id", *cols], filters)
    if rows.empty:
        raise CuratorError(f"no candidate samples match {filters}")
    enc = AttributeEmbedder(columns=cols, cyclic_deg=[
        c for c in cols if c.endswith("yaw_deg") or c.endswith("azimuth_deg")])
    C = enc.fit(rows).transform(rows)
    T = enc.transform(points.reindex(columns=cols))
    sel = select_nearest_to_targets(C, T, quotas=quotas, max_total=max_total,
                                    candidate_ids=rows.sample_id, target_names=points.target)
    sel.params.update({"attributes": cols, "targets": json.loads(json.dumps(
        [{k: list(v) if isinstance(v, tuple) else v for k, v in s.items()} for s in specs]))})
    return sel

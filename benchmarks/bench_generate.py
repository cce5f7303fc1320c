"""Benchmark: labelled-image throughput of ``generators.run.generate`` vs a naive pyrender loop.

For ``objects`` at 128 and 256 px and for ``digits3d``, in the same run:

* ours: ``generate`` into a fresh workspace with all cores (worker processes, reused GL
  context and geometry, colour-only read-backs), and with one worker (per-core rate);
* baseline: one process that, for every image, builds a new ``OffscreenRenderer`` and new
  ``pyrender.Mesh.from_trimesh`` meshes, renders the same labels (lit colour + depth,
  instance ids, normals + matte, an unoccluded pass per labelled object) and encodes the
  same PNGs at Pillow's default level; rows are not written.

Both render the same scene descriptions (same recipe and seeds). Prints images/s and the
ratio ours/baseline. Targets: >= 1.8x the baseline on 2 cores; >= 60 labelled 128-px
images/s per core.

Usage: ``python benchmarks/bench_generate.py [--n N] [--baseline-n M]``
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image

from curator import init_workspace
from generators.assets import AssetCatalog, build_mesh
from generators.gl import load_pyrender
from generators.recipe import load_recipe
from generators.render import _light_pose, encode_normals
from generators.run import generate, shutdown_workers
from generators.scene import resolve_assets, sample_scene, sample_seed


def naive_images_per_s(recipe_name: str, overrides: dict, n: int) -> float:
    """The obvious loop: a fresh renderer and fresh meshes for every image."""
    pr = load_pyrender(threads=None)  # let Mesa use every core, as a plain script would
    recipe = load_recipe(recipe_name, overrides)
    catalog = AssetCatalog.builtin()
    assets = resolve_assets(recipe, catalog)
    start = time.perf_counter()
    for i in range(n):
        spec = sample_scene(recipe, assets, sample_seed(0, i))
        renderer = pr.OffscreenRenderer(spec.width, spec.height)
        scene = pr.Scene(bg_color=(0, 0, 0, 0), ambient_light=(spec.ambient,) * 3)
        cam = np.asarray(spec.camera.pose)
        scene.add(pr.PerspectiveCamera(yfov=spec.camera.yfov), pose=cam)
        for light in spec.lights:
            scene.add(pr.DirectionalLight(color=np.asarray(light.rgb),
                                          intensity=light.intensity),
                      pose=_light_pose(np.asarray(light.direction)))
        lit, label = [], []
        for obj in spec.objects:
            mesh = build_mesh(catalog.get(obj.asset_id)) if obj.asset_id != "ground" else None
            if mesh is None:
                import trimesh

                mesh = trimesh.creation.box((60, 0.01, 60))
            material = pr.MetallicRoughnessMaterial(baseColorFactor=(*obj.material.rgb, 1.0))
            lit.append(scene.add(pr.Mesh.from_trimesh(mesh, material=material, smooth=False),
                                 pose=np.asarray(obj.pose)))
            flat = mesh.copy()
            flat.unmerge_vertices()
            rot = np.asarray(obj.pose)[:3, :3] / obj.scale
            normals = flat.vertex_normals @ (cam[:3, :3].T @ rot).T
            colors = np.concatenate([encode_normals(normals),
                                     np.full((len(normals), 1), 255, np.uint8)], axis=1)
            flat.visual.vertex_colors = colors
            node = scene.add(pr.Mesh.from_trimesh(flat, smooth=False), pose=np.asarray(obj.pose))
            node.mesh.is_visible = False
            label.append(node)
        color, depth = renderer.render(scene, flags=pr.RenderFlags.RGBA)
        for node in lit:
            node.mesh.is_visible = False
        for node in label:
            node.mesh.is_visible = True
        normal_img, _ = renderer.render(scene, flags=pr.RenderFlags.FLAT | pr.RenderFlags.RGBA)
        for node in label:
            node.mesh.is_visible = False
        for node in lit:
            node.mesh.is_visible = True
        seg_map = {node: (obj.instance_id, 0, 0) for node, obj in zip(lit, spec.objects,
                                                                       strict=True)}
        seg, _ = renderer.render(scene, flags=pr.RenderFlags.SEG, seg_node_map=seg_map)
        for node, obj in zip(lit, spec.objects, strict=True):
            if obj.role == "target":
                renderer.render(scene, flags=pr.RenderFlags.SEG, seg_node_map={node: (255,) * 3})
        for pixels in (color[..., :3], seg[..., 0], normal_img[..., 3], normal_img[..., :3],
                       (depth * 1000).astype(np.uint16)):
            Image.fromarray(pixels).save(io.BytesIO(), format="PNG")
        renderer.delete()
    return n / (time.perf_counter() - start)


def in_fresh_process(fn, *args):
    """Run ``fn`` in a new process: the baseline's renderers must not share our EGL display."""
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def ours_images_per_s(recipe_name: str, overrides: dict, n: int, workers: int,
                      warm: bool) -> float:
    recipe = load_recipe(recipe_name, overrides)
    shutdown_workers()
    with tempfile.TemporaryDirectory() as tmp:
        ws = init_workspace(os.path.join(tmp, "ws"))
        if warm:  # start the worker processes and fill their caches outside the timing
            generate(ws, recipe, 4 * workers, seed=99, workers=workers, chunk_size=4)
        start = time.perf_counter()
        summary = generate(ws, recipe, n, seed=0, workers=workers)
        elapsed = time.perf_counter() - start
    assert summary.rendered == n
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=600, help="images per timed run of ours")
    parser.add_argument("--baseline-n", type=int, default=100, help="images for the baseline")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    cases = [("objects 128 px", "objects", {"size": 128}),
             ("objects 256 px", "objects", {"size": 256}),
             ("digits3d (64 px -> 8x8)", "digits3d", {})]
    print(f"{cores} cores; labelled images/s (masks, matte, depth, normals, boxes, visibility;"
          " rows written to a workspace for ours)")
    print("cold = a fresh process pool (start-up counted); warm = pool already running")
    header = (f"{'case':<26}{'baseline':>10}{'ours 1 proc':>13}{f'{cores} cold':>9}"
              f"{f'{cores} warm':>9}{'ratio':>8}{'warm/core':>11}")
    print(header)
    print("-" * len(header))
    for name, recipe, overrides in cases:
        base = in_fresh_process(naive_images_per_s, recipe, overrides, args.baseline_n)
        one = ours_images_per_s(recipe, overrides, args.n // 2, 1, warm=True)
        cold = ours_images_per_s(recipe, overrides, args.n, cores, warm=False)
        warm = ours_images_per_s(recipe, overrides, args.n, cores, warm=True)
        print(f"{name:<26}{base:>10.1f}{one:>13.1f}{cold:>9.1f}{warm:>9.1f}"
              f"{cold / base:>7.2f}x{warm / cores:>11.1f}")
    shutdown_workers()
    print("\nratio = cold / baseline. targets: ratio >= 1.8x on 2 cores; "
          ">= 60 labelled 128-px images/s per core")


if __name__ == "__main__":
    main()

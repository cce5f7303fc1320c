"""The renderer: a :class:`~generators.scene.SceneSpec` in, raw GL buffers out (pyrender, EGL).

Three passes per scene (lit colour + depth; flat normals + label matte; exact instance
ids), plus an unoccluded-silhouette pass for each target that something may hide. One
:class:`SceneRenderer` per process; it keeps its GL context and asset geometry between scenes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from generators.assets import AssetCatalog, build_mesh
from generators.gl import load_pyrender
from generators.glyphs import shaped_glyph_mesh
from generators.scene import GlyphShape, SceneObject, SceneSpec, world_corners
from generators.textures import make_texture

GROUND_SIZE_M = 60.0
TEXTURE_PX = 64


@dataclass
class RenderBuffers:
    """What the GL passes return, before any labelling logic."""

    color: np.ndarray  # H×W×4 uint8, premultiplied over a transparent background
    depth: np.ndarray  # H×W float32 metres, 0 where nothing was hit
    normals: np.ndarray  # H×W×4 uint8: rgb = encoded camera-frame normal, a = target matte
    ids: np.ndarray  # H×W uint16 instance ids (0: background or unlabelled geometry)
    amodal_area: dict[int, int]  # pixels each target would cover with nothing in front


@dataclass(frozen=True)
class _Geometry:
    positions: np.ndarray  # (3F, 3) float32, unmerged so each face has its own normal
    normals: np.ndarray  # (3F, 3) float32 face normals
    uv: np.ndarray  # (3F, 2) float32 planar projection along each face's dominant axis
    bounds: np.ndarray  # 2×3 object-space box


def _geometry_from_mesh(vertices: np.ndarray, faces: np.ndarray,
                        face_normals: np.ndarray) -> _Geometry:
    positions = vertices[faces].reshape(-1, 3).astype(np.float32)
    normals = np.repeat(face_normals, 3, axis=0).astype(np.float32)
    axis = np.argmax(np.abs(normals), axis=1)
    keep = np.array([[1, 2], [0, 2], [0, 1]])[axis]
    uv = np.take_along_axis(positions, keep, axis=1) + 0.5
    bounds = np.stack([vertices.min(axis=0), vertices.max(axis=0)])
    return _Geometry(positions, normals, uv.astype(np.float32), bounds)


@lru_cache(maxsize=256)
def _ground_geometry() -> _Geometry:
    h = GROUND_SIZE_M / 2
    vertices = np.array([[-h, 0, -h], [h, 0, -h], [h, 0, h], [-h, 0, h]], dtype=np.float64)
    faces = np.array([[0, 2, 1], [0, 3, 2]])
    geo = _geometry_from_mesh(vertices, faces, np.tile([0.0, 1.0, 0.0], (2, 1)))
    return _Geometry(geo.positions, geo.normals, geo.uv / 4.0, geo.bounds)


@lru_cache(maxsize=16)
def _shaped_geometry(asset, shape: GlyphShape) -> _Geometry:
    """GL-ready geometry of a glyph drawn with ``shape`` (one scene uses it several times)."""
    mesh = shaped_glyph_mesh(asset, shape)
    return _geometry_from_mesh(np.asarray(mesh.vertices), np.asarray(mesh.faces),
                               np.asarray(mesh.face_normals))


def encode_normals(normals_cam: np.ndarray) -> np.ndarray:
    """Unit normals → uint8 colour, 128 = 0 so MSAA blends with the background shrink them."""
    return np.clip(np.round(normals_cam * 127.5 + 127.5), 0, 255).astype(np.uint8)


class SceneRenderer:
    """Renders scenes offscreen with pyrender; create one per worker process."""

    def __init__(self, catalog: AssetCatalog, *, asset_root: str | Path | None = None,
                 threads: int | None = 0) -> None:
        self.catalog = catalog
        self.asset_root = asset_root
        self._pr = load_pyrender(threads)
        self._renderer = None
        self._size: tuple[int, int] | None = None
        self._geometry: dict[str, _Geometry] = {}
        self._geo_by_id: dict[str, _Geometry] = {}
        self._geo_by_id_for: tuple[str, str] | None = None
        #: Skip the unoccluded pass of objects nothing can cover (off: always render it).
        self.skip_unneeded_passes = True
        # Lit meshes are reused across scenes (only their material changes), so their
        # vertex buffers stay on the GL side instead of being uploaded for every scene.
        self._lit_pool: dict[str, list] = {}
        self._flag_materials: dict[int, object] | None = None
        self._programs = None

    def close(self) -> None:
        """Free this renderer's GL resources and context (other renderers keep working)."""
        if self._renderer is None:
            return
        renderer, self._renderer, self._size = self._renderer, None, None
        self._lit_pool.clear()
        self._programs = None
        platform = renderer._platform
        from OpenGL import EGL

        # Not OffscreenRenderer.delete(): it also eglTerminate()s the display, which is
        # shared by every context in the process and would break the other renderers.
        platform.make_current()
        renderer._renderer.delete()
        EGL.eglMakeCurrent(platform._egl_display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE,
                           EGL.EGL_NO_CONTEXT)
        EGL.eglDestroyContext(platform._egl_display, platform._egl_context)

    def _geo_of(self, obj: SceneObject) -> _Geometry:
        """The object's geometry: its asset's, or its glyph drawn with the sampled shape."""
        if obj.shape is None:
            return self._geo(obj.asset_id)
        return _shaped_geometry(self.catalog.get(obj.asset_id), obj.shape)

    def _geo(self, asset_id: str) -> _Geometry:
        if asset_id == "ground":
            return _ground_geometry()
        # Fast path by id, valid while the catalog content and root stay the same.
        owner = (self.catalog.fingerprint(), str(self.asset_root))
        if self._geo_by_id_for != owner:
            self._geo_by_id, self._geo_by_id_for = {}, owner
        geo = self._geo_by_id.get(asset_id)
        if geo is None:
            geo = self._geo_by_id[asset_id] = self._geo_for(self.catalog.get(asset_id))
        return geo

    def _geo_for(self, asset) -> _Geometry:
        key = json.dumps([asset.to_dict(), str(self.asset_root)], sort_keys=True)
        geo = self._geometry.get(key)
        if geo is None:
            mesh = build_mesh(asset, root=self.asset_root)
            geo = _geometry_from_mesh(np.asarray(mesh.vertices), np.asarray(mesh.faces),
                                      np.asarray(mesh.face_normals))
            self._geometry[key] = geo
        return geo

    def _gl(self, height: int, width: int):
        if self._renderer is None:
            self._renderer = self._pr.OffscreenRenderer(width, height)
        elif self._size != (height, width):  # same context; pyrender remakes its framebuffers
            self._renderer.viewport_width, self._renderer.viewport_height = width, height
        self._size = (height, width)
        return self._renderer

    def _texture(self, kind: str, seed: int):
        pixels = make_texture(kind, TEXTURE_PX, np.random.default_rng(seed))
        return self._pr.Texture(source=pixels, source_channels="RGB")

    def _lit_mesh(self, obj: SceneObject, geo: _Geometry, used: dict[str, int]):
        pr = self._pr
        m = obj.material
        textured = bool(m.texture)
        kwargs = {}
        if m.texture:
            kwargs["baseColorTexture"] = self._texture(m.texture, m.texture_seed)
        material = pr.MetallicRoughnessMaterial(
            baseColorFactor=(*(float(c) for c in m.rgb), 1.0), metallicFactor=float(m.metallic),
            roughnessFactor=float(m.roughness), **kwargs)
        if obj.shape is not None:  # a mesh of its own for this scene (pyrender frees it after)
            return pr.Mesh([pr.Primitive(positions=geo.positions, normals=geo.normals,
                                         texcoord_0=geo.uv if textured else None,
                                         material=material)])
        key = f"{obj.asset_id}|{textured}"
        pool = self._lit_pool.setdefault(key, [])
        slot = used.get(key, 0)
        used[key] = slot + 1
        if slot < len(pool):
            mesh = pool[slot]
            mesh.primitives[0].material = material
            return mesh
        prim = pr.Primitive(positions=geo.positions, normals=geo.normals,
                            texcoord_0=geo.uv if textured else None, material=material)
        mesh = pr.Mesh([prim])
        pool.append(mesh)
        return mesh

    def render(self, spec: SceneSpec) -> RenderBuffers:
        pr = self._pr
        flags = pr.RenderFlags
        renderer = self._gl(spec.height, spec.width)
        scene = _ordered_scene_class(pr)(bg_color=(0.0, 0.0, 0.0, 0.0),
                                         ambient_light=(spec.ambient,) * 3)
        cam_pose = np.asarray(spec.camera.pose)
        camera = pr.PerspectiveCamera(yfov=spec.camera.yfov, znear=spec.camera.znear,
                                      zfar=spec.camera.zfar,
                                      aspectRatio=spec.width / spec.height)
        scene.add(camera, pose=cam_pose)
        nodes = []
        used: dict[str, int] = {}
        poses = np.asarray([obj.pose for obj in spec.objects])
        scales = np.asarray([obj.scale for obj in spec.objects])
        # Passing rotation/translation/scale skips pyrender's slow matrix decomposition;
        # one vectorised call turns every rotation into a quaternion (x, y, z, w).
        quats = Rotation.from_matrix(poses[:, :3, :3] / scales[:, None, None]).as_quat()
        for i, obj in enumerate(spec.objects):
            geo = self._geo_of(obj)
            mesh = self._lit_mesh(obj, geo, used)
            node = pr.Node(name=f"{i:05d}", mesh=mesh, rotation=quats[i],
                           translation=poses[i, :3, 3].copy(), scale=np.full(3, scales[i]))
            scene.add_node(node)
            nodes.append(node)
        for i, light in enumerate(spec.lights):
            scene.add(pr.DirectionalLight(color=np.asarray(light.rgb), intensity=light.intensity),
                      name=f"light-{i:03d}", pose=_light_pose(np.asarray(light.direction)))

        color, depth = renderer.render(scene, flags=flags.RGBA)
        # The label pass leaves the flag materials on the meshes: the id passes below do
        # not read materials, and the next scene sets its own.
        normals = self._label_pass(scene, nodes, spec)
        seg_map = {node: _id_color(obj.instance_id)
                   for node, obj in zip(nodes, spec.objects, strict=True)}
        seg = self._color_pass(scene, flags.SEG, seg_map)
        ids = (seg[..., 0].astype(np.uint16) | (seg[..., 1].astype(np.uint16) << 8))

        amodal: dict[int, int] = {}
        boxes = self._screen_boxes(spec)
        counts = np.bincount(ids.ravel(), minlength=len(spec.objects) + 1)  # one pass
        for i, (node, obj) in enumerate(zip(nodes, spec.objects, strict=True)):
            if obj.role != "target":
                continue
            visible = int(counts[obj.instance_id])
            # Only something in front of it whose screen box overlaps it can hide it.
            if self.skip_unneeded_passes and not any(
                    _overlap(boxes[i], boxes[j]) and boxes[j][4] < boxes[i][5]
                    for j, other in enumerate(spec.objects)
                    if j != i and other.role != "ground"):
                amodal[obj.instance_id] = visible  # nothing can cover it
                continue
            alone = self._color_pass(scene, flags.SEG, {node: (255, 255, 255)})
            amodal[obj.instance_id] = max(int(np.count_nonzero(alone[..., 0])), visible)
        return RenderBuffers(np.ascontiguousarray(color), depth.astype(np.float32),
                             np.ascontiguousarray(normals), ids, amodal)

    def _label_pass(self, scene, nodes: list, spec: SceneSpec) -> np.ndarray:
        """Camera-frame normals (rgb) and the labelled objects' coverage (alpha), one pass.

        Uses our fragment shader on the same meshes; each mesh temporarily gets a material
        whose alpha says whether it is labelled.
        """
        pr = self._pr
        if self._flag_materials is None:
            self._flag_materials = {
                flag: pr.MetallicRoughnessMaterial(baseColorFactor=(1.0, 1.0, 1.0, float(flag)))
                for flag in (0, 1)}
        for node, obj in zip(nodes, spec.objects, strict=True):
            node.mesh.primitives[0].material = self._flag_materials[int(obj.role == "target")]
        inner = self._renderer._renderer
        default_programs, inner._program_cache = inner._program_cache, self._label_programs()
        bg = scene.bg_color
        scene.bg_color = np.array([0.5, 0.5, 0.5, 0.0])  # the zero normal, no coverage
        try:
            return self._color_pass(scene, pr.RenderFlags.FLAT | pr.RenderFlags.RGBA)
        finally:
            scene.bg_color = bg
            inner._program_cache = default_programs

    def _label_programs(self):
        if self._programs is None:
            self._programs = _label_program_cache(self._pr)
        return self._programs

    def _color_pass(self, scene, flags, seg_node_map=None) -> np.ndarray:
        """Render and read back colour only: pyrender would also read and linearise depth."""
        inner = self._renderer._renderer
        inner._read_main_framebuffer = self._read_color  # instance attribute, removed below
        try:
            color, _ = self._renderer.render(scene, flags=flags, seg_node_map=seg_node_map)
        finally:
            del inner._read_main_framebuffer
        return color

    def _read_color(self, scene, flags) -> tuple[np.ndarray, None]:
        from OpenGL import GL

        inner = self._renderer._renderer
        width, height = inner._main_fb_dims
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, inner._main_fb_ms)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, inner._main_fb)
        GL.glBlitFramebuffer(0, 0, width, height, 0, 0, width, height,
                             GL.GL_COLOR_BUFFER_BIT, GL.GL_LINEAR)
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, inner._main_fb)
        rgba = bool(flags & self._pr.RenderFlags.RGBA)
        channels = 4 if rgba else 3
        buf = GL.glReadPixels(0, 0, width, height, GL.GL_RGBA if rgba else GL.GL_RGB,
                              GL.GL_UNSIGNED_BYTE)
        image = np.frombuffer(buf, dtype=np.uint8).reshape(height, width, channels)
        return np.flip(image, axis=0), None

    def _screen_boxes(self, spec: SceneSpec) -> list[tuple[float, ...]]:
        """Conservative (x0, y0, x1, y1, nearest, farthest) of every object on screen."""
        view = np.linalg.inv(np.asarray(spec.camera.pose))
        f = 1.0 / math.tan(spec.camera.yfov / 2)
        aspect = spec.width / spec.height
        out = []
        for obj in spec.objects:
            world = world_corners(self._geo_of(obj).bounds, obj.pose)
            cam = world @ view[:3, :3].T + view[:3, 3]
            depth = -cam[:, 2]
            if np.any(depth < 1e-6):  # crosses the camera plane: assume it covers all
                out.append((-np.inf, -np.inf, np.inf, np.inf, -np.inf, np.inf))
                continue
            x = f / aspect * cam[:, 0] / depth
            y = f * cam[:, 1] / depth
            out.append((x.min(), y.min(), x.max(), y.max(), depth.min(), depth.max()))
        return out


def _label_program_cache(pr):
    """pyrender's shader cache, with our label shader in place of flat.frag."""
    from importlib import resources

    from pyrender.shader_program import ShaderProgramCache

    ours = str(resources.files("generators.shaders").joinpath("normals.frag"))

    class LabelPrograms(ShaderProgramCache):
        def get_program(self, vertex_shader, fragment_shader, geometry_shader=None,
                        defines=None):
            if fragment_shader == "flat.frag":
                fragment_shader = ours  # absolute: os.path.join keeps it as it is
            return super().get_program(vertex_shader, fragment_shader, geometry_shader,
                                       defines)

    return LabelPrograms()


@lru_cache(maxsize=1)
def _ordered_scene_class(pr):
    """A pyrender Scene that hands its lights and meshes over in a fixed order.

    pyrender keeps nodes in sets, so the order light contributions are summed in and meshes
    are drawn in (the last bit of a pixel, and which of two equally deep surfaces wins)
    would change from process to process: same seed, different bytes.
    """

    class OrderedScene(pr.Scene):
        @property
        def light_nodes(self):
            return sorted(super().light_nodes, key=lambda n: n.name or "")

        @property
        def mesh_nodes(self):
            return sorted(super().mesh_nodes, key=lambda n: n.name or "")

        # Every pass asks for each node's world pose several times; nodes do not move
        # while a scene renders, so remember them (changing the graph forgets them).
        def get_pose(self, node):
            cache = self.__dict__.setdefault("_pose_cache", {})
            pose = cache.get(node)
            if pose is None:
                pose = cache[node] = super().get_pose(node)
                pose.setflags(write=False)
            return pose

        def add_node(self, node, parent_node=None):
            self.__dict__.pop("_pose_cache", None)
            return super().add_node(node, parent_node=parent_node)

        def remove_node(self, node):
            self.__dict__.pop("_pose_cache", None)
            return super().remove_node(node)

        def set_pose(self, node, pose):
            self.__dict__.pop("_pose_cache", None)
            return super().set_pose(node, pose)

    return OrderedScene


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _id_color(instance_id: int) -> tuple[int, int, int]:
    return (instance_id & 255, (instance_id >> 8) & 255, 0)


def _light_pose(travel: np.ndarray) -> np.ndarray:
    """A pose whose -Z axis points along ``travel`` (pyrender's directional-light convention)."""
    z = -travel / np.linalg.norm(travel)
    helper = np.array([0.0, 1.0, 0.0]) if abs(z[1]) < 0.99 else np.array([1.0, 0.0, 0.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([x, y, z], axis=1)
    return pose

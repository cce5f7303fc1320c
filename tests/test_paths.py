"""Path safety: relative paths stay inside their root; escapes are refused."""

from __future__ import annotations

import pytest

from curator.errors import PathEscapeError
from curator.paths import resolve_inside


@pytest.fixture
def root(tmp_path):
    (tmp_path / "root" / "sub").mkdir(parents=True)
    (tmp_path / "root" / "sub" / "a.png").write_bytes(b"x")
    (tmp_path / "outside.png").write_bytes(b"y")
    return tmp_path / "root"


def test_relative_paths_inside_resolve(root):
    assert resolve_inside(root, "sub/a.png") == (root / "sub" / "a.png").resolve()
    assert resolve_inside(root, "sub/../sub/a.png") == (root / "sub" / "a.png").resolve()


@pytest.mark.parametrize("bad", ["../outside.png", "sub/../../outside.png", "/etc/passwd",
                                 "C:\\Windows\\win.ini", "\\\\server\\share\\x.png", "", "  "])
def test_escapes_and_absolute_paths_are_refused(root, bad):
    with pytest.raises(PathEscapeError) as info:
        resolve_inside(root, bad, what="image path")
    assert info.value.reason == "path_escape"
    assert "image path" in str(info.value)


def test_symlink_out_is_refused_and_symlink_in_is_allowed(root):
    (root / "link_out.png").symlink_to(root.parent / "outside.png")
    (root / "link_in.png").symlink_to(root / "sub" / "a.png")
    with pytest.raises(PathEscapeError, match="outside"):
        resolve_inside(root, "link_out.png")
    assert resolve_inside(root, "link_in.png") == (root / "sub" / "a.png").resolve()

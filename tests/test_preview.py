"""Contact sheets: layout, id colours and ignore regions."""

from __future__ import annotations

import numpy as np
import pytest

from generators.frame import IGNORE_ID, Frame
from generators.preview import PANELS, contact_sheet, panel


def _frame() -> Frame:
    ids = np.zeros((10, 20), np.uint16)
    ids[2:5, 3:8] = 1
    ids[6:9, 10:15] = 2
    ids[0, 0] = IGNORE_ID
    depth = np.where(ids > 0, 2.0, 0.0).astype(np.float32)
    depth[6:9, 10:15] = 4.0
    return Frame(image=np.full((10, 20), 77, np.uint8), instance_mask=ids,
                 class_mask=np.minimum(ids, 255).astype(np.uint8), depth=depth,
                 matte=(ids > 0).astype(np.float32))


def test_panels_colour_ids_apart_and_show_ignore_in_grey():
    pic = panel(_frame(), "instance")
    assert pic[0, 1].tolist() == [0, 0, 0]  # background
    assert pic[3, 4].tolist() != pic[7, 12].tolist()  # two objects, two colours
    assert pic[0, 0].tolist() == [128, 128, 128]  # ignore region
    depth = panel(_frame(), "depth")
    assert depth[3, 4, 0] > depth[7, 12, 0] > 0  # nearer is brighter, background black
    assert depth[0, 5, 0] == 0


def test_sheet_layout_and_unknown_panel():
    sheet = contact_sheet([_frame(), _frame()], min_side_px=30)
    # 10 px high frames scaled x3; 2 px gaps between cells.
    assert sheet.shape == (2 * 30 + 2, len(PANELS) * 60 + (len(PANELS) - 1) * 2, 3)
    with pytest.raises(ValueError, match="unknown panel"):
        panel(_frame(), "albedo")
    with pytest.raises(ValueError, match="no frames"):
        contact_sheet([])

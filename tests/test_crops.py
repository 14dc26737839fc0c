import numpy as np
import pytest

from vlt_mini.data.crops import context_side, crop, search_window, template_window


def test_context_side_is_pysots():
    # w=40, h=20: p = 30, sqrt(70 * 50)
    assert context_side(40, 20) == pytest.approx(np.sqrt(70 * 50))


def test_crop_geometry_round_trip_and_content():
    image = np.zeros((120, 160, 3), np.uint8)
    image[40:60, 70:110] = 255  # a white 40×20 box at x=70, y=40
    box = np.array([70.0, 40.0, 40.0, 20.0])
    window = template_window(box, 63)
    patch = crop(image, window)
    assert patch.shape == (63, 63, 3)
    x1, y1, x2, y2 = window.frame_to_crop(box)
    assert (x1 + x2) / 2 == pytest.approx(31.0) and (y1 + y2) / 2 == pytest.approx(31.0)
    inside = patch[int(y1) + 2:int(y2) - 2, int(x1) + 2:int(x2) - 2]
    assert inside.min() > 200 and patch[2, 2].max() < 50
    np.testing.assert_allclose(window.crop_to_frame(window.frame_to_crop(box)), box)
    search = search_window((90.0, 50.0), (40.0, 20.0), 63, 127)
    assert search.side == pytest.approx(window.side * 127 / 63)


def test_outside_pixels_take_the_mean_colour():
    image = np.full((50, 50, 3), (10, 20, 30), np.uint8)
    patch = crop(image, template_window((0, 0, 10, 10), 31))
    np.testing.assert_array_equal(patch[0, 0], (10, 20, 30))

"""The /stylize API takes a mask and returns the run's time-lapse as a file."""
from __future__ import annotations

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from test_app import images, server  # noqa: F401  (the real app; tiny test images)


def _file(value) -> str:
    return value["value"] if isinstance(value, dict) else value


def test_a_mask_keeps_the_style_inside_and_the_time_lapse_comes_back(server, images, tmp_path):  # noqa: F811
    mask = Image.new("L", (64, 48))
    mask.paste(255, (0, 0, 32, 48))
    mask.save(tmp_path / "mask.png")
    client = Client(server, verbose=False)
    out = client.predict(handle_file(images["photo"]), handle_file(images["paint"]), size=64, steps=40,
                         pyramid=False, mask=handle_file(str(tmp_path / "mask.png")), mask_mode="inside",
                         api_name="/stylize")
    painted = np.asarray(Image.open(out[0]).convert("RGB"), float)
    photo = np.asarray(Image.open(images["photo"]).convert("RGB").resize((64, 48)), float)
    change = np.abs(painted - photo).mean(2)
    assert change[:, :28].mean() > 2 * change[:, 36:].mean()
    movie = Image.open(_file(out[-1]))
    assert movie.format == "WEBP" and movie.is_animated and movie.size == (64, 48)


@pytest.mark.parametrize("mask_size, mode, words", [
    ((48, 48), "inside", "The mask is 48x48 px but the photo is 64x48"),
    ((64, 48), "split", "needs exactly 2 paintings"),
    ((64, 48, 0), "inside", "The mask is empty"),
    ((64, 48), "outside", "not in the list of choices: ['inside', 'split']"),
])
def test_bad_masks_get_a_sentence(server, images, tmp_path, mask_size, mode, words):  # noqa: F811
    Image.new("L", mask_size[:2], mask_size[2] if len(mask_size) > 2 else 255).save(tmp_path / "m.png")
    with pytest.raises(AppError) as err:
        Client(server, verbose=False).predict(
            handle_file(images["photo"]), handle_file(images["paint"]), size=64, steps=5,
            mask=handle_file(str(tmp_path / "m.png")), mask_mode=mode, api_name="/stylize")
    assert words in str(err.value) and "Traceback" not in str(err.value)

"""captioning/image_utils.py: local files, file:// URLs, loopback HTTP, the cache."""

import io

import numpy as np
import pytest
from _data_helpers import SYNTHETIC, LocalServer, Served, closed_port_url, source_module
from PIL import Image

pytestmark = pytest.mark.timeout(60)

image_utils = source_module("image_utils")
coco_utils = source_module("coco_utils")

PICTURE = SYNTHETIC / "images" / "val_00000.png"


def png_bytes():
    buffer = io.BytesIO()
    Image.fromarray(np.full((5, 7, 3), 200, dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def test_local_path_gives_an_rgb_uint8_array():
    img = image_utils.image_from_url(str(PICTURE))
    assert img.dtype == np.uint8 and img.shape == (48, 48, 3)


def test_file_url_gives_the_same_picture():
    np.testing.assert_array_equal(
        image_utils.image_from_url(PICTURE.as_uri()), image_utils.image_from_url(str(PICTURE))
    )


def test_urls_of_the_synthetic_set_load_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = coco_utils.load_coco_data(str(SYNTHETIC))
    assert image_utils.image_from_url(data["train_urls"][0]).shape == (48, 48, 3)


def test_missing_file_gives_none_and_one_line_on_stdout(tmp_path, capsys):
    assert image_utils.image_from_url(str(tmp_path / "nope.png")) is None
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and "nope.png" in out and err == ""


def test_unreachable_url_gives_none_and_a_message(tmp_path, capsys):
    url = closed_port_url()
    assert image_utils.image_from_url(url, timeout=5, cache_dir=str(tmp_path)) is None
    out, err = capsys.readouterr()
    assert url in out and err == ""


def test_http_error_gives_none(tmp_path, capsys):
    with LocalServer() as server:
        url = server.url("/gone.jpg")
        assert image_utils.image_from_url(url, cache_dir=str(tmp_path)) is None
    assert "HTTP error 404" in capsys.readouterr().out


def test_slow_server_times_out(tmp_path, capsys):
    with LocalServer() as server:
        server.files["/slow.png"] = Served(png_bytes(), delay=3)
        url = server.url("/slow.png")
        assert image_utils.image_from_url(url, timeout=0.3, cache_dir=str(tmp_path)) is None
    assert url in capsys.readouterr().out


def test_not_an_image_gives_none(tmp_path, capsys):
    with LocalServer() as server:
        server.files["/text.png"] = Served(b"not a picture")
        assert image_utils.image_from_url(server.url("/text.png"), cache_dir=str(tmp_path)) is None
    assert "Cannot load image" in capsys.readouterr().out


def test_download_is_cached(tmp_path):
    with LocalServer() as server:
        server.files["/a.png"] = Served(png_bytes())
        url = server.url("/a.png")
        first = image_utils.image_from_url(url, cache_dir=str(tmp_path))
        second = image_utils.image_from_url(url, cache_dir=str(tmp_path))
        assert len(server.requests) == 1
    np.testing.assert_array_equal(first, second)
    assert first.shape == (5, 7, 3)
    assert [p.suffix for p in tmp_path.iterdir()] == [".png"]  # no temporary file left


def test_default_cache_dir_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert image_utils.default_cache_dir().startswith(str(tmp_path))

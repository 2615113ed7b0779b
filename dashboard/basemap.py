"""The map's basemap: Carto's light style by default, any XYZ tile server with MAP_TILES_URL,
and, when the basemap cannot load, a light grid of 1 km squares and a 5 km scale drawn by the
app itself, so the map still gives a sense of place and distance.

Streamlit's deck.gl chart takes the basemap style as a URL only, so a tile template becomes a
style document in a `data:` URL (one raster source). Whether the basemap loads is checked from
the dashboard's server, with one request (the style, or the tile under the view's centre)."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import pydeck as pdk

CARTO_LIGHT = pdk.map_styles.CARTO_LIGHT
EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180
GRID_M = 1_000
GRID_HALF_WIDTH_M = 30_000
SCALE_M = 5_000
GRID_COLOUR = [120, 120, 120, 70]
PROBE_ZOOM = 11


@dataclass(frozen=True)
class Basemap:
    style: str  # what deck.gl's `map_style` gets
    probe: str  # one URL whose answer says whether the basemap loads
    source: str  # what the page names when it cannot load (host only: never a query string)


def basemap(tiles_url: str | None, centre: tuple[float, float]) -> Basemap:
    """The basemap for MAP_TILES_URL (None: Carto), probed at `centre` (lat, lon)."""
    if not tiles_url:
        return Basemap(CARTO_LIGHT, CARTO_LIGHT, _host(CARTO_LIGHT))
    return Basemap(raster_style(tiles_url), tile_url(tiles_url, *centre), _host(tiles_url))


def raster_style(tiles_url: str) -> str:
    """A style document with one raster source of XYZ tiles, as a `data:` URL."""
    style = {
        "version": 8,
        "sources": {
            "tiles": {
                "type": "raster",
                "tiles": [tiles_url.replace("{s}", "a")],
                "tileSize": 256,
                "maxzoom": 19,
            }
        },
        "layers": [{"id": "tiles", "type": "raster", "source": "tiles"}],
    }
    return "data:application/json," + urllib.parse.quote(json.dumps(style, separators=(",", ":")))


def tile_xy(lat: float, lon: float, zoom: int) -> tuple[int, int]:
    """The XYZ (Web Mercator) tile holding a point."""
    n = 2**zoom
    lat = max(min(lat, 85.0511), -85.0511)
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tile_url(template: str, lat: float, lon: float, zoom: int = PROBE_ZOOM) -> str:
    x, y = tile_xy(lat, lon, zoom)
    return (
        template.replace("{s}", "a")
        .replace("{z}", str(zoom))
        .replace("{x}", str(x))
        .replace("{y}", str(y))
    )


def loads(url: str, timeout: float = 2.0) -> bool:
    """The I/O edge: does `url` answer 2xx within `timeout`?"""
    if url.startswith("data:"):
        return True
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - http(s) only
            return 200 <= answer.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or "the tile server"


def grid_lines(centre: tuple[float, float]) -> list[dict]:
    """Lines every GRID_M metres, GRID_HALF_WIDTH_M either side of `centre` (lat, lon)."""
    lat0, lon0 = centre
    dlat = GRID_M / METRES_PER_DEGREE
    dlon = dlat / math.cos(math.radians(lat0))
    steps = GRID_HALF_WIDTH_M // GRID_M
    south, north = lat0 - steps * dlat, lat0 + steps * dlat
    west, east = lon0 - steps * dlon, lon0 + steps * dlon
    lines = []
    for i in range(-steps, steps + 1):
        lines.append({"from": [lon0 + i * dlon, south], "to": [lon0 + i * dlon, north]})
        lines.append({"from": [west, lat0 + i * dlat], "to": [east, lat0 + i * dlat]})
    return lines


def scale_bar(centre: tuple[float, float], offset_m: tuple[float, float] = (-7_000, -10_000)):
    """A SCALE_M line on the ground south-west of `centre`, and its label."""
    lat0, lon0 = centre
    lat = lat0 + offset_m[0] / METRES_PER_DEGREE
    per_lon = METRES_PER_DEGREE * math.cos(math.radians(lat0))
    west = lon0 + offset_m[1] / per_lon
    east = west + SCALE_M / per_lon
    bar = [{"from": [west, lat], "to": [east, lat]}]
    label = [{"position": [(west + east) / 2, lat], "text": f"{SCALE_M // 1000} km"}]
    return bar, label


def fallback_layers(centre: tuple[float, float]) -> list[pdk.Layer]:
    """The app's own sense of place: a light 1 km grid and a 5 km scale."""
    bar, label = scale_bar(centre)
    return [
        pdk.Layer(
            "LineLayer",
            id="grid",
            data=grid_lines(centre),
            get_source_position="from",
            get_target_position="to",
            get_color=GRID_COLOUR,
            get_width=1,
        ),
        pdk.Layer(
            "LineLayer",
            id="scale",
            data=bar,
            get_source_position="from",
            get_target_position="to",
            get_color=[30, 30, 30, 230],
            get_width=4,
        ),
        pdk.Layer(
            "TextLayer",
            id="scale-label",
            data=label,
            get_position="position",
            get_text="text",
            get_size=14,
            get_color=[30, 30, 30, 255],
            get_pixel_offset=[0, -14],
        ),
    ]

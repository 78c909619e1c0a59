"""The report as one self-contained HTML page: the jinja2 templates beside this module
(``templates/report.html.j2`` and the sections it includes), autoescaped, the figures
inline as data: URIs, no external URL."""

from __future__ import annotations

import base64

from jinja2 import Environment, PackageLoader, StrictUndefined


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


ENVIRONMENT = Environment(
    loader=PackageLoader(__package__, "templates"),
    autoescape=True,  # every value is escaped unless it is Markup (the highlighted code)
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
ENVIRONMENT.filters["png_data_uri"] = png_data_uri
ENVIRONMENT.filters["g"] = lambda value: f"{value:g}"  # a number as Python's :g prints it


def render(context: dict) -> str:
    """The page, from what ``build`` gathered (the names the templates use)."""
    return ENVIRONMENT.get_template("report.html.j2").render(context)

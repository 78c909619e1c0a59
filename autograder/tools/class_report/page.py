"""The report as one self-contained HTML page: figures inline, no external URL."""

from __future__ import annotations

import base64
import html

from markupsafe import Markup

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { padding: 0.2em 0.7em; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.6em 1em; }
.check { margin: 1em 0 1.5em; } .check h3 { margin: 0.2em 0; font-size: 1.05em; }
.mistake { margin: 0.2em 0 0.2em 1em; } .count { display: inline-block; min-width: 3em; font-weight: bold; }
details { margin: 0.5em 0; } summary { cursor: pointer; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 0.5em; }
pre { font-size: 11px; background: #fafafa; border: 1px solid #ddd; padding: 0.5em; overflow-x: auto; max-height: 40em; }
mark { background: #ffd0d0; }
.muted { color: #777; }
"""


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode()
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def table(headers, rows) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value):
    if isinstance(value, Markup):
        return f"<td>{value}</td>"
    if isinstance(value, (int, float)):
        return f'<td class="n">{value:g}</td>'
    return f"<td>{esc(value)}</td>"


def document(title: str, sections) -> str:
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body><h1>{esc(title)}</h1>\n{body}\n</body></html>\n"
    )

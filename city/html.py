"""Server-rendered HTML: one layout (menu, print CSS), tables and forms. No external JS/CSS."""

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

CSS = """
:root { --ink: #1b2a3a; --muted: #5b6b7b; --line: #d5dde5; --accent: #0b6e99; --warn: #b5462f; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 "BIZ UDGothic", "Noto Sans CJK JP", system-ui, sans-serif;
       color: var(--ink); background: #f6f8fa; }
header { background: var(--ink); color: #fff; padding: 8px 18px; display: flex; gap: 18px;
         align-items: center; flex-wrap: wrap; }
header a { color: #fff; text-decoration: none; }
header a.here { border-bottom: 2px solid #7fd0f5; }
header .who { margin-left: auto; color: #c8d6e2; }
header form { display: inline; }
main { padding: 16px 22px; max-width: 1200px; }
h1 { font-size: 22px; margin: 4px 0 12px; }
h2 { font-size: 17px; margin: 18px 0 8px; }
table { border-collapse: collapse; background: #fff; margin: 6px 0 14px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.muted, .note { color: var(--muted); }
.error { color: var(--warn); font-weight: bold; }
.card { background: #fff; border: 1px solid var(--line); padding: 10px 14px; margin: 8px 0; }
form.filters { display: flex; gap: 12px; align-items: end; flex-wrap: wrap; margin: 8px 0; }
label { display: flex; flex-direction: column; font-size: 13px; color: var(--muted); }
button, select, input { font: inherit; padding: 3px 6px; }
svg text { font-family: inherit; }
.bad { color: var(--warn); } .ok { color: #2e7d32; }
@media print {
  header, form.filters, .noprint { display: none; }
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; padding: 0; }
  .card, table { break-inside: avoid; }
}
"""


def esc(value: Any) -> str:
    return escape("" if value is None else str(value))


def page(request: Any, title: str, body: str) -> str:
    """The layout around a page's body; `request` is a city.web.Request (its user, path and
    the app's menu)."""
    user = request.user
    links = []
    if user is not None:
        for path, label, role in request.app.menu:
            if user.may(role):
                here = " class=here" if request.path == path else ""
                links.append(f'<a href="{path}"{here}>{esc(label)}</a>')
        links.append(f'<span class=who>{esc(user.name)} ({esc(user.role)})</span>'
                     '<form method=post action="/logout"><button id=logout>Log out</button>'
                     '</form>')
    else:
        links.append('<a href="/open-data">Open data</a><a href="/login" class=who>Log in</a>')
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width, initial-scale=1'>"
            f"<title>{esc(title)} - Walkway city</title><style>{CSS}</style></head><body>"
            f"<header><strong>Walkway city</strong>{''.join(links)}</header>"
            f"<main><h1>{esc(title)}</h1>{body}</main></body></html>")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], table_id: str = "",
          numeric: Iterable[int] = ()) -> str:
    nums = set(numeric)
    head = "".join(f"<th{' class=n' if i in nums else ''}>{esc(h)}</th>"
                   for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{' class=n' if i in nums else ''}>{cell(v)}</td>"
                         for i, v in enumerate(r)) + "</tr>" for r in rows)
    ident = f" id={table_id}" if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def cell(value: Any) -> str:
    if value is None:
        return "<span class=muted>no data</span>"
    if isinstance(value, float):
        return esc(f"{value:,.1f}")
    if isinstance(value, int):
        return esc(f"{value:,}")
    return esc(value)


def select(name: str, options: Sequence[tuple[str, str]], chosen: str, label: str) -> str:
    opts = "".join(f"<option value='{esc(v)}'{' selected' if v == chosen else ''}>{esc(t)}"
                   "</option>" for v, t in options)
    return f"<label>{esc(label)}<select name={name} id=f-{name}>{opts}</select></label>"


def filters(action: str, *fields: str) -> str:
    return (f"<form class=filters method=get action='{esc(action)}'>{''.join(fields)}"
            "<button id=apply>Show</button></form>")

"""`walkway city serve`: a small stdlib web app (ThreadingHTTPServer and a tiny router).

Pages and APIs are registered by the modules in PAGE_MODULES, each with `register(app)`:
`app.route(method, pattern, handler, role=...)` adds a route (pattern: a regex matched on the
whole path; named groups become keyword arguments), `app.nav(path, label, role)` a menu item.
A later feature adds a module to PAGE_MODULES (or calls `register` itself) and nothing else.
role None: public (login, open data); "viewer": any logged-in user; "operator": operators.
"""

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from city.auth import Sessions, User
from walkway.places import PlaceModel

log = logging.getLogger(__name__)

PAGE_MODULES: tuple[str, ...] = ("city.pages_auth", "city.pages_map", "city.pages_place",
                                 "city.pages_compare", "city.pages_fleet", "city.pages_report",
                                 "city.pages_open")
COOKIE = "walkway_session"
DEFAULT_PORT = 8150


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    user: User | None
    token: str | None
    app: "App"

    def arg(self, name: str, default: str = "") -> str:
        return self.query.get(name, default)


@dataclass
class Response:
    body: bytes | str
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, default=str), status,
                    "application/json; charset=utf-8")


def redirect(location: str, headers: dict[str, str] | None = None) -> Response:
    return Response("", 303, headers={"Location": location, **(headers or {})})


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Route:
    method: str
    pattern: re.Pattern
    handler: Callable[..., Response]
    role: str | None


class App:
    def __init__(self, storage: Any, model: PlaceModel, users_file: Path) -> None:
        self.storage = storage
        self.model = model
        self.sessions = Sessions(users_file)
        self.routes: list[Route] = []
        self.menu: list[tuple[str, str, str]] = []
        # One storage connection shared by the server's threads: queries take turns.
        self.db_lock = threading.Lock()

    def route(self, method: str, pattern: str, handler: Callable[..., Response],
              role: str | None = "viewer") -> None:
        self.routes.append(Route(method, re.compile(pattern + r"\Z"), handler, role))

    def nav(self, path: str, label: str, role: str = "viewer") -> None:
        self.menu.append((path, label, role))

    def handle(self, request: Request) -> Response:
        for route in self.routes:
            match = route.pattern.match(request.path)
            if match is None or route.method != request.method:
                continue
            if route.role is not None:
                if request.user is None:
                    if request.path.startswith("/api/"):
                        return json_response({"error": "log in first"}, 401)
                    return redirect(f"/login?next={request.path}")
                if not request.user.may(route.role):
                    return self.refuse(request, route.role)
            try:
                with self.db_lock:
                    return route.handler(request, **match.groupdict())
            except HttpError as exc:
                if request.path.startswith("/api/"):
                    return json_response({"error": str(exc)}, exc.status)
                from city.html import page

                return Response(page(request, "Error", f"<p class=error>{exc}</p>"), exc.status)
        return json_response({"error": f"no such page: {request.path}"}, 404)

    def refuse(self, request: Request, role: str) -> Response:
        text = f"This page needs the {role} role; you are logged in as a {request.user.role}."
        if request.path.startswith("/api/"):
            return json_response({"error": text}, 403)
        from city.html import page

        return Response(page(request, "Not allowed", f"<p class=error id=refused>{text}</p>"),
                        403)


def build_app(storage: Any, model: PlaceModel, users_file: Path) -> App:
    import importlib

    app = App(storage, model, users_file)
    for name in PAGE_MODULES:
        importlib.import_module(name).register(app)
    return app


def make_handler(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "walkway-city"

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("%s " + fmt, self.address_string(), *args)

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            form: dict[str, str] = {}
            if method == "POST":
                length = min(int(self.headers.get("Content-Length") or 0), 64 * 1024)
                body = self.rfile.read(length).decode("utf-8", "replace")
                form = {k: v[-1] for k, v in parse_qs(body).items()}
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
            token = cookie[COOKIE].value if COOKIE in cookie else None
            request = Request(method, parts.path, query, form, app.sessions.user(token), token,
                              app)
            try:
                response = app.handle(request)
            except Exception:  # noqa: BLE001 (the server's one boundary: a page, not the process)
                log.exception("%s %s failed", method, parts.path)
                response = json_response({"error": "internal error (logged)"}, 500)
            body = response.body.encode() if isinstance(response.body, str) else response.body
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Security-Policy",
                             "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:;"
                             " form-action 'self'; frame-ancestors 'none'")
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

    return Handler


def serve(app: App, host: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(app))
    server.daemon_threads = True
    return server

"""Log in and out (session cookie, HttpOnly, SameSite=Strict)."""

from html import escape

from city.html import page
from city.web import COOKIE, App, Request, Response, redirect


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


def login_form(request: Request) -> Response:
    nxt = escape(_safe_next(request.arg("next", "/")))
    failed = "<p class=error id=login-failed>Wrong name or password.</p>" \
        if request.arg("failed") else ""
    return Response(page(request, "Log in", failed + (
        f"<form method=post action='/login' class=card><input type=hidden name=next"
        f" value='{nxt}'><label>Name<input name=name id=name autocomplete=username></label>"
        "<label>Password<input type=password name=password id=password"
        " autocomplete=current-password></label><button id=login>Log in</button></form>")))


def login(request: Request) -> Response:
    token = request.app.sessions.login(request.form.get("name", ""),
                                       request.form.get("password", ""))
    nxt = _safe_next(request.form.get("next", "/"))
    if token is None:
        return redirect(f"/login?failed=1&next={nxt}")
    return redirect(nxt, {"Set-Cookie": f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"})


def logout(request: Request) -> Response:
    request.app.sessions.logout(request.token)
    return redirect("/login", {"Set-Cookie": f"{COOKIE}=; Max-Age=0; Path=/"})


def register(app: App) -> None:
    app.route("GET", "/login", login_form, role=None)
    app.route("POST", "/login", login, role=None)
    app.route("POST", "/logout", logout, role=None)

"""`walkway fleet register|list|env|tag` through the real balena-sdk, against a local HTTP
server standing in for the balena API.

The SDK finds the server through its OWN settings: a balena.cfg with `api_endpoint` in
$BALENA_SETTINGS_HOME_DIRECTORY/.balena/. That variable is read when balena is imported, so
each command runs in a fresh `python -m walkway` process; nothing in the SDK is patched.
"""

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "user-api-key-0123456789abcdef"
PROVISIONING_KEY = "provisioning-key-fedcba9876543210"
DEVICE_KEY = "device-api-key-5555aaaa"
UUID = "0123456789abcdef0123456789abcdef"
APP = {"id": 5, "is_for__device_type": [
    {"slug": "raspberrypi4-64", "is_of__cpu_architecture": [{"slug": "aarch64"}]}]}
SECRETS = (API_KEY, PROVISIONING_KEY, DEVICE_KEY)


class FakeBalena(BaseHTTPRequestHandler):
    """Just enough of the balena API (pine v7, actor, api-key, device register)."""

    def _reply(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(size)) if size else None
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        auth = self.headers.get("Authorization")
        self.server.requests.append((self.command, parts.path, query, auth, body))
        tags = self.server.tags
        route = (self.command, parts.path)
        if auth not in (f"Bearer {API_KEY}", f"Bearer {PROVISIONING_KEY}"):
            self._reply(401, "Unauthorized")
        elif route == ("GET", "/actor/v1/whoami"):
            self._reply(200, {"id": 7, "actorType": "user", "actorTypeId": 3,
                              "email": "ops@walkway.example", "username": "ops"})
        elif route == ("GET", "/v7/application"):
            found = "'sapporo/walkway'" in query.get("$filter", "")
            self._reply(200, {"d": [APP] if found else []})
        elif route == ("POST", "/api-key/v1/"):
            self._reply(200, PROVISIONING_KEY)
        elif route == ("POST", "/device/register"):
            self._reply(201, {"id": 99, "uuid": body["uuid"], "api_key": DEVICE_KEY})
        elif route == ("GET", "/v7/device"):
            self._reply(200, {"d": [
                {"id": 99, "uuid": UUID, "device_name": "n1", "is_online": True,
                 "overall_status": "idle", "device_tag": [
                     {"tag_key": "walkway-site", "value": "chikaho"},
                     {"tag_key": "location", "value": "Chi-Ka-Ho north"}]},
                {"id": 100, "uuid": "f" * 32, "device_name": "n2", "is_online": False,
                 "overall_status": "offline", "device_tag": []},
            ]})
        elif route == ("GET", f"/v7/device(uuid='{UUID}')"):
            self._reply(200, {"d": [{"id": 99}]})
        elif route == ("POST", "/v7/device_tag") and body["tag_key"] in tags:
            self._reply(409, "Unique key constraint violated")  # SDK then PATCHes
        elif self.command == "POST":
            if parts.path == "/v7/device_tag":
                tags.add(body["tag_key"])
            self._reply(201, {"id": 1, **body})
        elif self.command in ("PATCH", "DELETE"):
            self._reply(200, "OK")
        else:
            self._reply(404, "Not found")

    do_GET = do_POST = do_PATCH = do_DELETE = _handle

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeBalena)
    server.requests, server.tags = [], {"walkway-site"}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def balena_home(tmp_path: Path, api) -> Path:
    """The SDK's own settings file, pointing it at the fake API."""
    home = tmp_path / "balena-home"
    data = home / ".balena"
    data.mkdir(parents=True)
    endpoint = f"http://127.0.0.1:{api.server_address[1]}/"
    (data / "balena.cfg").write_text(
        "[Settings]\n"
        "balena_host = balena.invalid\n"
        f"api_endpoint = {endpoint}\n"
        f"builder_url = {endpoint}\n"
        f"pine_endpoint = {endpoint}v7/\n"
        "api_version = v7\n"
        "device_actions_endpoint_version = v1\n"
        f"data_directory = {data}\n"
        f"cache_directory = {data / 'cache'}\n"
        "image_cache_time = 604800000\n"
        "token_refresh_interval = 3600000\n"
        "timeout = 30000\n"
        "request_limit_interval = 60\n"
        "retry_rate_limited_request = false\n"
    )
    return home


def walkway(balena_home: Path, *argv: str, api_key: str | None = API_KEY):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BALENA", "RESIN"))}
    env.update(BALENA_SETTINGS_HOME_DIRECTORY=str(balena_home), HOME=str(balena_home))
    if api_key:
        env["BALENA_API_KEY"] = api_key
    proc = subprocess.run([sys.executable, "-m", "walkway", "-v", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    for secret in SECRETS:
        assert secret not in proc.stdout + proc.stderr, f"a key leaked by {argv}"
    return proc


def calls(api) -> list[tuple[str, str]]:
    return [(method, path) for method, path, *_ in api.requests]


def test_register_makes_the_sdks_requests_and_prints_no_key(balena_home, api, tmp_path):
    key_file = tmp_path / "device.key"
    proc = walkway(balena_home, "fleet", "register", "--fleet", "sapporo/walkway",
                   "--site", "chikaho", "--node", "n1", "--uuid", UUID, "--location",
                   "Chi-Ka-Ho north", "--lat", "43.0621", "--lon", "141.3544",
                   "--env", "WALKWAY_LOG=debug", "--device-key-out", str(key_file))
    assert proc.returncode == 0, proc.stderr
    assert f"uuid {UUID}" in proc.stdout
    assert calls(api) == [
        ("GET", "/actor/v1/whoami"),
        ("GET", "/v7/application"),
        ("POST", "/api-key/v1/"),
        ("GET", "/v7/application"),
        ("POST", "/device/register"),
        ("GET", "/v7/device"),
        ("PATCH", "/v7/device(99)"),
        ("POST", "/v7/device_tag"),  # walkway-site exists: 409 unique violation...
        ("PATCH", "/v7/device_tag"),  # ...so the SDK's upsert patches it
        *[("POST", "/v7/device_tag")] * 4,
        *[("POST", "/v7/device_environment_variable")] * 3,
    ]
    by_call = {(m, p): (q, a, b) for m, p, q, a, b in api.requests}
    query, _, _ = by_call[("GET", "/v7/application")]
    assert "slug eq 'sapporo/walkway'" in query["$filter"]
    _, auth, body = by_call[("POST", "/api-key/v1/")]
    assert auth == f"Bearer {API_KEY}" and body["roles"] == ["provisioning-api-key"]
    _, auth, body = by_call[("POST", "/device/register")]
    assert auth == f"Bearer {PROVISIONING_KEY}"
    assert body == {"user": 3, "application": 5, "uuid": UUID, "device_type": "raspberrypi4-64"}
    assert by_call[("PATCH", "/v7/device(99)")][2] == {"device_name": "n1"}
    tags = {b["tag_key"]: b["value"] for m, p, _, _, b in api.requests
            if (m, p) == ("POST", "/v7/device_tag")}
    assert tags == {"walkway-site": "chikaho", "walkway-node": "n1",
                    "location": "Chi-Ka-Ho north", "lat": "43.0621", "lon": "141.3544"}
    query, _, body = by_call[("PATCH", "/v7/device_tag")]
    assert query["$filter"] == "(device eq 99) and (tag_key eq 'walkway-site')"
    assert body == {"value": "chikaho"}
    env = {b["name"]: b["value"] for m, p, _, _, b in api.requests
           if p == "/v7/device_environment_variable"}
    assert env == {"WALKWAY_SITE": "chikaho", "WALKWAY_NODE": "n1", "WALKWAY_LOG": "debug"}
    assert all(a == f"Bearer {API_KEY}" for _, p, _, a, _ in api.requests
               if p != "/device/register")
    assert key_file.read_text() == DEVICE_KEY and key_file.stat().st_mode & 0o777 == 0o600
    # The SDK kept our settings file and stored no credential in it.
    for path in (balena_home / ".balena").rglob("*"):
        if path.is_file():
            assert not any(s in path.read_text(errors="replace") for s in SECRETS)


def test_list_shows_online_status_and_tags(balena_home, api):
    proc = walkway(balena_home, "fleet", "list", "--fleet", "sapporo/walkway", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [(r["name"], r["online"], r["site"], r["location"]) for r in rows] == [
        ("n1", True, "chikaho", "Chi-Ka-Ho north"), ("n2", False, "", "")]
    method, path, query, auth, _ = api.requests[-1]
    assert (method, path, auth) == ("GET", "/v7/device", f"Bearer {API_KEY}")
    assert query["$filter"] == "belongs_to__application eq 5"
    assert query["$select"] == "uuid,device_name,is_online,overall_status"
    assert query["$expand"] == "device_tag($select=tag_key,value)"
    text = walkway(balena_home, "fleet", "list", "--fleet", "sapporo/walkway").stdout
    assert "online" in text.splitlines()[0] and "offline" in text.splitlines()[1]


def test_tag_sets_site_location_and_coordinates(balena_home, api):
    proc = walkway(balena_home, "fleet", "tag", "--device", UUID, "--location", "Aurora Town",
                   "--lat", "43.058", "--lon", "141.354", "kind=signage")
    assert proc.returncode == 0, proc.stderr
    assert calls(api) == [("GET", f"/v7/device(uuid='{UUID}')")] + [
        ("POST", "/v7/device_tag")] * 4
    assert {(b["device"], b["tag_key"], b["value"]) for *_, b in api.requests[1:]} == {
        (99, "location", "Aurora Town"), (99, "lat", "43.058"), (99, "lon", "141.354"),
        (99, "kind", "signage")}
    bad = walkway(balena_home, "fleet", "tag", "--device", UUID, "--lat", "95")
    assert bad.returncode == 2 and "--lat: expected a latitude" in bad.stderr


def test_env_sets_and_unsets_without_printing_values(balena_home, api):
    secret_value = "mqtt-password-do-not-print"
    proc = walkway(balena_home, "fleet", "env", "--device", UUID,
                   f"BROKER_PASSWORD={secret_value}", "--unset", "OLD_VAR")
    assert proc.returncode == 0, proc.stderr
    assert secret_value not in proc.stdout + proc.stderr and "BROKER_PASSWORD" in proc.stdout
    assert calls(api) == [("GET", f"/v7/device(uuid='{UUID}')"),
                          ("POST", "/v7/device_environment_variable"),
                          ("DELETE", "/v7/device_environment_variable")]
    assert api.requests[1][4] == {"device": 99, "name": "BROKER_PASSWORD", "value": secret_value}
    assert api.requests[2][2]["$filter"] == "(device eq 99) and (name eq 'OLD_VAR')"


def test_missing_api_key_is_a_clear_error_without_requests(balena_home, api):
    proc = walkway(balena_home, "fleet", "list", "--fleet", "sapporo/walkway", api_key=None)
    assert proc.returncode == 2 and "BALENA_API_KEY" in proc.stderr
    assert api.requests == []


def test_api_errors_are_one_line_and_name_the_fleet(balena_home, api):
    proc = walkway(balena_home, "fleet", "register", "--fleet", "nobody/nothing",
                   "--site", "s1", "--node", "n1")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "balena: register in fleet nobody/nothing")
    assert "Traceback" not in proc.stderr
    wrong_key = walkway(balena_home, "fleet", "list", "--fleet", "sapporo/walkway",
                        api_key="not-a-valid-key")
    assert wrong_key.returncode == 2 and "not-a-valid-key" not in wrong_key.stderr

"""City staff accounts: a users file with scrypt-hashed passwords, roles, and sessions.

The users file is JSON, written by `walkway city add-user`:
    {"users": {"aiko": {"role": "operator", "scrypt": "N$r$p$SALT_HEX$HASH_HEX"}}}
Roles: "viewer" (every dashboard page and API) and "operator" (also fleet health, which
shows the nodes' internals). Sessions live in the server's memory only (a restart logs
everyone out) and expire after SESSION_S.
"""

import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from walkway.errors import ConfigError, UsageError

ROLES = ("viewer", "operator")
SESSION_S = 8 * 3600
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
USER_NAME = r"[a-z0-9_.-]{1,40}"


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            dklen=32)
    return f"{SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(bytes.fromhex(digest)))
    except ValueError:
        return False
    return hmac.compare_digest(got, bytes.fromhex(digest))


@dataclass(frozen=True)
class User:
    name: str
    role: str

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def load_users(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        users = data["users"]
        for name, entry in users.items():
            if entry.get("role") not in ROLES or not isinstance(entry.get("scrypt"), str):
                raise ValueError(f"users.{name}: expected role viewer|operator and scrypt")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError([f"{path}: not a walkway users file: {exc}"]) from exc
    return users


def add_user(path: Path, name: str, role: str, password: str) -> None:
    import re

    if not re.fullmatch(USER_NAME, name):
        raise UsageError(f"user name: expected {USER_NAME}, got {name!r}")
    if role not in ROLES:
        raise UsageError(f"--role: expected viewer or operator, got {role!r}")
    if len(password) < 8:
        raise UsageError("password: expected at least 8 characters")
    users = load_users(path)
    users[name] = {"role": role, "scrypt": hash_password(password)}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".users-")
    with os.fdopen(fd, "w") as handle:
        json.dump({"users": users}, handle, indent=1, sort_keys=True)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class Sessions:
    def __init__(self, users_file: Path, clock: Callable[[], float] = time.time) -> None:
        self.users_file = users_file
        self.clock = clock
        self._lock = threading.Lock()
        self._by_token: dict[str, tuple[User, float]] = {}

    def login(self, name: str, password: str) -> str | None:
        entry = load_users(self.users_file).get(name)
        # Hash even for an unknown name, so timing does not tell which names exist.
        stored = entry["scrypt"] if entry else hash_password("x")
        if not check_password(password, stored) or entry is None:
            return None
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._by_token[token] = (User(name, entry["role"]), self.clock() + SESSION_S)
        return token

    def user(self, token: str | None) -> User | None:
        if not token:
            return None
        with self._lock:
            found = self._by_token.get(token)
            if found is None:
                return None
            if found[1] < self.clock():
                del self._by_token[token]
                return None
            return found[0]

    def logout(self, token: str | None) -> None:
        with self._lock:
            self._by_token.pop(token or "", None)

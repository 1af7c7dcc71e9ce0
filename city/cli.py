"""Commands: `walkway city serve | add-user | open-data`."""

import argparse
import getpass
import json
import logging
import sys
from pathlib import Path

from walkway.errors import UsageError

log = logging.getLogger(__name__)
DEFAULT_USERS = Path("city-users.json")
DB_HELP = "collector database: a SQLite file path or a postgresql:// URL"


def load_model(args: argparse.Namespace, storage: object) -> object:
    from walkway.places import auto_places, load_places

    if args.places:
        return load_places(args.places)
    return auto_places(storage)


def _serve(args: argparse.Namespace) -> int:
    import signal

    from city.auth import load_users
    from city.web import build_app, serve
    from cloud_bridge.collector_store import open_storage

    users = load_users(args.users)  # a broken users file stops here, with its one line
    storage = open_storage(args.db, must_exist=True)
    app = build_app(storage, load_model(args, storage), args.users)
    if not users:
        print(f"walkway city: no users in {args.users} yet: add one with"
              f" `walkway city add-user NAME --users {args.users}`", file=sys.stderr)
    server = serve(app, args.host, args.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # unwinds serve_forever
    print(f"walkway city: http://{args.host}:{server.server_port}/ (users: {args.users})",
          flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
        storage.close()
    return 0


def _add_user(args: argparse.Namespace) -> int:
    from city.auth import add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise UsageError("the two passwords differ")
    add_user(args.users, args.name, args.role, password)
    print(f"{args.users}: {args.name} ({args.role})")
    return 0


def _open_data(args: argparse.Namespace) -> int:
    from city.open_data import RULE, open_rows, to_csv
    from cloud_bridge.cli import stdout_closed_quietly
    from cloud_bridge.collector_store import open_storage

    storage = open_storage(args.db, must_exist=True)
    try:
        rows = open_rows(storage, load_model(args, storage), args.days)
        with stdout_closed_quietly():
            if args.format == "json":
                json.dump({"rule": RULE, "rows": rows}, sys.stdout, ensure_ascii=False)
                sys.stdout.write("\n")
            else:
                sys.stdout.write(to_csv(rows))
            sys.stdout.flush()
    finally:
        storage.close()
    return 0


def register(subparsers: argparse._SubParsersAction, groups: dict) -> None:
    city = subparsers.add_parser("city", help="the city's dashboard, reports and open data")
    sub = city.add_subparsers(dest="city_command", metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", required=True, help=DB_HELP)
        p.add_argument("--places", type=Path,
                       help="places file (TOML/JSON); default: one place per node, unplaced")

    serve = sub.add_parser("serve", help="the web app for city staff")
    common(serve)
    serve.add_argument("--users", type=Path, default=DEFAULT_USERS,
                       help=f"users file (default ./{DEFAULT_USERS})")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8150, help="port (default 8150; 0: any)")
    serve.set_defaults(handler=_serve)

    add = sub.add_parser("add-user", help="add or update a dashboard user")
    add.add_argument("name")
    add.add_argument("--role", choices=["viewer", "operator"], default="viewer")
    add.add_argument("--users", type=Path, default=DEFAULT_USERS,
                     help=f"users file (default ./{DEFAULT_USERS})")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of stdin")
    add.set_defaults(handler=_add_user)

    od = sub.add_parser("open-data", help="coarsened hourly people per place, to stdout")
    common(od)
    od.add_argument("--days", type=int, default=7, help="days back from the newest hour")
    od.add_argument("--format", choices=["csv", "json"], default="csv")
    od.set_defaults(handler=_open_data)

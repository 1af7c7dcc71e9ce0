"""The sign shows its check-in QR by itself, and a walked route earns points (issue 16).

A real Player (pygame offscreen) with a check-in key plays its playlist; the `checkin` scene
comes round with the current window's code, decoded from the screen's pixels with cv2 and
redeemed through the city app's API. The interactive sign hands off a route whose URL carries
the sign's route token; a check-in at the destination sign awards points by its length."""

import argparse
import os
from pathlib import Path

import pytest
from support.qr import decode_qr
from test_checkin import Clock, checkin_city, redeem

from city.pages_checkin import configure_checkin
from city.route_points import POINTS_CAP
from city.web import build_app
from cloud_bridge.collector_store import open_storage
from walkway.checkin import CHECKIN_URL_PREFIX, ROUTE_FRAGMENT, make_route_token
from walkway.places import PlaceModel

CONTENT = Path(__file__).resolve().parents[1] / "signage_player" / "example_content" / "sapporo"
T0 = 1_769_300_000.0  # 2026-01-25 09:13:20 JST
SIZE = (960, 540)
ORIGIN, GOAL = "chikaho-sign", "susukino-sign"  # signs at chikaho (the default) and susukino


@pytest.fixture(scope="module")
def screen():
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame

    pygame.display.init()
    yield pygame.display.set_mode(SIZE)
    pygame.display.quit()


@pytest.fixture()
def city(tmp_path):
    with checkin_city(tmp_path, (ORIGIN, GOAL),
                      f'[signs]\n{ORIGIN} = "chikaho"\n{GOAL} = "susukino"\n') as running:
        yield running


def player(node, key, clock, location=""):
    from signage_player.checkin_qr import CheckinSigner
    from signage_player.config import SignageConfig
    from signage_player.content import load_package
    from signage_player.fonts import FontBook
    from signage_player.player import Player
    from signage_player.render import Renderer
    from signage_player.style import metrics

    cfg = SignageConfig(content=None, state_dir=Path("."), transition_s=0, location=location,
                        languages=("ja", "en"))
    renderer = Renderer(FontBook(), metrics(*SIZE), languages=cfg.languages, location=location)
    signer = CheckinSigner(node, key) if key is not None else None
    p = Player(cfg, renderer, load_package(CONTENT), clock=clock, checkin=signer)
    p.next_check = float("inf")  # no state folder to poll: this test drives the frames
    return p


def decode(surface) -> str:
    import cv2
    import numpy as np
    import pygame

    pixels = np.ascontiguousarray(pygame.surfarray.array3d(surface).transpose(1, 0, 2))
    return decode_qr(cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY))


def until_checkin_scene(p, screen, clock, limit=200) -> list[str]:
    """Play the playlist (each scene its dwell) until the check-in scene shows; the scene
    types seen on the way."""
    seen = []
    for _ in range(limit):
        p.frame(screen)
        seen.append(p.slot.spec.type)
        if p.slot.spec.type == "checkin":
            return seen
        clock.now += p.slot.dwell
    return seen


def test_the_sign_plays_its_checkin_qr_rotating_and_it_is_redeemed(city, screen) -> None:
    url, keys, clock, _ = city
    sign = player(GOAL, keys[GOAL], clock)
    seen = until_checkin_scene(sign, screen, clock)
    assert seen[-1] == "checkin" and len(seen) > 1  # it comes round in the playlist
    first = decode(screen)
    assert first.startswith(CHECKIN_URL_PREFIX + f"{int(clock.now // 30)}.{GOAL}.")
    clock.now += 30  # the next window, the scene still showing: a new code
    second = decode_next(sign, screen)
    assert second != first and second.startswith(CHECKIN_URL_PREFIX)  # a new window's code
    status, body = redeem(url, second, GOAL)
    assert status == 200 and body["points"] == 10
    assert redeem(url, second, GOAL, "replaying-account-1234")[1]["reason"] == "replayed"
    clock.now += 60  # the first code, two windows later: refused
    assert redeem(url, first, GOAL, "late-account-12345678")[1]["reason"] == "expired"


def test_a_sign_without_a_key_never_plays_the_checkin_scene(screen) -> None:
    clock = Clock(T0)
    seen = until_checkin_scene(player(GOAL, None, clock), screen, clock, limit=60)
    assert "checkin" not in seen and len(set(seen)) > 3


def handed_off_route(key, clock, screen, goal="susukino") -> str:
    """Tap the origin sign into its interactive mode, open the route to `goal`, read the
    hand-off QR from the screen's pixels."""
    p = player(ORIGIN, key, clock)
    p.frame(screen)
    p.touch(10, 10)  # the first tap opens the home screen
    visit = p.visit
    assert visit.press("open:routes", clock.now)
    for _ in range(10):
        if visit.press(f"item:{goal}", clock.now):
            break
        assert visit.press("page:next", clock.now)
    shown = visit.screen()
    assert shown.qr and ROUTE_FRAGMENT in shown.qr
    assert decode(shown.surface) == shown.qr
    return shown.qr


def test_a_walked_route_earns_points_by_its_length_once(city, screen) -> None:
    url, keys, clock, _ = city
    handoff = handed_off_route(keys[ORIGIN], clock, screen)
    assert "from:chikaho;" in handoff and "to:susukino;" in handoff
    token = handoff.rsplit(ROUTE_FRAGMENT, 1)[1]
    assert token.split(".")[2:6] == [ORIGIN, "chikaho", "susukino", "720"]  # 270+120+330 m
    dest = player(GOAL, keys[GOAL], clock)
    clock.now += 600  # ten minutes' walk
    until_checkin_scene(dest, screen, clock)
    code = decode(screen)
    status, body = redeem(url, code, GOAL, route=handoff)
    assert status == 200, body
    assert body["checkin_points"] == 10 and body["route"]["points"] == 7
    assert body["route"]["length_m"] == 720 and body["points"] == 17 and body["total"] == 17
    # the same route token again, by someone else: the check-in counts, the route does not
    clock.now += 30
    code = decode_next(dest, screen)
    status, body = redeem(url, code, GOAL, "second-account-123456", route=handoff)
    assert status == 200 and body["route"]["refused"] == "route-replayed" and body["points"] == 10
    # the same account, a fresh hand-off of the same route the same day: once per route/day
    again = make_route_token(ORIGIN, keys[ORIGIN], clock.now - 600, "chikaho", "susukino", 720)
    clock.now += 30
    status, body = redeem(url, decode_next(dest, screen), GOAL, route=again)
    assert status == 400 and body["reason"] == "route-already-today"


def decode_next(sign, screen) -> str:
    sign.slot.dwell = 1e9  # stay on the check-in scene: the next window's code
    sign.frame(screen)
    return decode(screen)


def test_route_refusals_and_the_cap(city, screen) -> None:
    url, keys, clock, _ = city
    dest = player(GOAL, keys[GOAL], clock)
    until_checkin_scene(dest, screen, clock)
    cases = [
        ("too-fast-account-123456", make_route_token(ORIGIN, keys[ORIGIN], clock.now - 60,
                                                     "chikaho", "susukino", 720),
         "route-too-fast"),
        ("wrong-dest-account-1234", make_route_token(ORIGIN, keys[ORIGIN], clock.now - 900,
                                                     "chikaho", "odori", 270),
         "route-wrong-destination"),
        ("forged-account-12345678", make_route_token(ORIGIN, keys[GOAL], clock.now - 900,
                                                     "chikaho", "susukino", 720),
         "route-forged"),
        ("old-route-account-12345", make_route_token(ORIGIN, keys[ORIGIN], clock.now - 4 * 3600,
                                                     "chikaho", "susukino", 720),
         "route-expired"),
        ("bad-route-account-12345", "R.1.x", "route-malformed"),
    ]
    for account, route, reason in cases:
        clock.now += 30
        status, body = redeem(url, decode_next(dest, screen), GOAL, account, route=route)
        assert status == 200 and body["checkin_points"] == 10, (reason, body)
        assert body["route"]["refused"] == reason and body["points"] == 10, body
    far = make_route_token(ORIGIN, keys[ORIGIN], clock.now - 3600, "chikaho", "susukino", 8000)
    clock.now += 30
    status, body = redeem(url, decode_next(dest, screen), GOAL, "far-walker-account-1234",
                          route=far)
    assert body["route"]["points"] == POINTS_CAP == 30 and body["points"] == 40


def test_checkin_key_command_bad_keys_and_signs_file(tmp_path, capsys) -> None:
    from signage_player.checkin_qr import load_signer
    from signage_player.config import SignageConfig
    from walkway.cli import main
    from walkway.errors import ConfigError

    key, pub = tmp_path / "k.pem", tmp_path / "pub"
    assert main(["signage", "checkin-key", "--node", GOAL, "--key", str(key),
                 "--public-dir", str(pub)]) == 0
    assert key.stat().st_mode & 0o777 == 0o600 and (pub / f"{GOAL}.pub.pem").is_file()
    before = key.read_bytes()
    assert main(["signage", "checkin-key", "--node", GOAL, "--key", str(key),
                 "--public-dir", str(pub)]) == 2
    assert "already exists" in capsys.readouterr().err and key.read_bytes() == before
    signer, problem = load_signer(SignageConfig(content=None, state_dir=tmp_path,
                                                checkin_key=key), GOAL)
    assert signer is not None and problem == ""
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    signer, problem = load_signer(SignageConfig(content=None, state_dir=tmp_path,
                                                checkin_key=bad), GOAL)
    assert signer is None and problem.startswith("check-ins off: checkin_key: ") and \
        str(bad) in problem
    (pub / "signs.toml").write_text('[signs]\nsusukino-sign = "Not A Place"\n')
    storage = open_storage(str(tmp_path / "c.db"))
    try:
        app = build_app(storage, PlaceModel(), tmp_path / "users.json")
        with pytest.raises(ConfigError) as info:
            configure_checkin(app, argparse.Namespace(checkin_keys=pub))
        assert "signs.toml: signs.susukino-sign: expected a place id" in str(info.value)
    finally:
        storage.close()


def test_tokens_with_non_ascii_digits_are_malformed_not_a_crash() -> None:
    from walkway.checkin import CheckinRefused, parse_route_token, parse_token

    # str.isdigit() says yes to "²" and int() then raises ValueError: the old check crashed
    sig = "A" * 86
    for bad in (f"²5.{GOAL}.{sig}", f"R.²5.a.b.c.1.{sig}", f"R.5.a.b.c.².{sig}"):
        with pytest.raises(CheckinRefused) as info:
            (parse_route_token if bad.startswith("R.") else parse_token)(bad)
        assert info.value.reason in ("malformed", "route-malformed")

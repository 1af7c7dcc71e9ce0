"""`--to tag:NAME` from the fleet's own registry: `walkway provision node --tag` and
`walkway provision tag` keep tags in CA_DIR/tags.json; a revoked node drops out of its
groups; an unknown tag or a bad tag name is one line and a non-zero exit."""

import json

import pytest

from cloud_bridge.content_dist import resolve_targets
from provisioning.ca import load_registry
from provisioning.tags import load_tags
from walkway.cli import main


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


@pytest.fixture
def ca(tmp_path, capsys):
    ca = tmp_path / "ca"
    assert run(capsys, "provision", "ca", "init", "--ca-dir", str(ca))[0] == 0
    for site, node, tags in (("s1", "n1", ["aurora", "underground"]), ("s1", "n2", ["aurora"]),
                             ("s2", "n3", []), ("s2", "n4", ["aurora"])):
        flags = [a for t in tags for a in ("--tag", t)]
        code, out = run(capsys, "provision", "node", "--ca-dir", str(ca), "--site", site,
                        "--node", node, "--out", str(tmp_path / node), *flags)
        assert code == 0, out
    return ca


def _targets(ca, *specs):
    return resolve_targets(list(specs), load_registry(ca), load_tags(ca))


def test_tags_choose_the_targets_across_sites(ca, capsys):
    assert json.loads((ca / "tags.json").read_text())["nodes"]["n1"] == ["aurora", "underground"]
    assert _targets(ca, "tag:aurora") == [("s1", "n1"), ("s1", "n2"), ("s2", "n4")]
    assert _targets(ca, "tag:underground", "s2") == [("s1", "n1"), ("s2", "n3"), ("s2", "n4")]
    code, out = run(capsys, "provision", "tag", "--ca-dir", str(ca), "--node", "n3",
                    "--add", "aurora", "--remove", "nothing")
    assert code == 0 and "n3: tags aurora" in out
    code, out = run(capsys, "provision", "tag", "--ca-dir", str(ca), "--node", "n1",
                    "--remove", "aurora")
    assert code == 0 and "n1: tags underground" in out
    assert _targets(ca, "tag:aurora") == [("s1", "n2"), ("s2", "n3"), ("s2", "n4")]
    code, out = run(capsys, "provision", "tag", "--ca-dir", str(ca))
    assert code == 0 and out.splitlines()[0].split() == ["n1", "underground"]
    # A revoked node is in no group any more (its tags stay for a re-issued certificate).
    assert run(capsys, "provision", "revoke", "--ca-dir", str(ca), "--node", "n2")[0] == 0
    assert _targets(ca, "tag:aurora") == [("s2", "n3"), ("s2", "n4")]


def test_unknown_tags_and_bad_names_are_one_line(ca, capsys, tmp_path):
    pkg = tmp_path / "pkg"  # what the command checks before it resolves the targets
    pkg.mkdir()
    (pkg / "manifest.json").write_text('{"id": "p", "version": "1"}')
    (pkg / "manifest.sig").write_text("x")
    code, out = run(capsys, "fleet", "publish-content", str(pkg), "--to", "tag:nobody",
                    "--key", "k", "--ca-dir", str(ca))
    assert code == 2 and out.count("\n") == 1
    assert out.startswith("--to tag:nobody: no live node carries tag 'nobody'")
    code, out = run(capsys, "provision", "tag", "--ca-dir", str(ca), "--node", "n1",
                    "--add", "Bad Tag")
    assert code == 2 and out.strip().startswith("tag: expected a name matching")
    code, out = run(capsys, "provision", "tag", "--ca-dir", str(ca), "--node", "n9",
                    "--add", "aurora")
    assert code == 2 and "'n9' is not a node in the CA registry" in out
    (ca / "tags.json").write_text('{"nodes": {"n1": "aurora"}}')
    code, out = run(capsys, "provision", "tag", "--ca-dir", str(ca))
    assert code == 2 and out.strip().endswith("tags.json: nodes: expected an object of node "
                                              "id -> list of tags")


def test_no_broker_is_one_line(capsys):
    from support.mosquitto import free_port

    url = f"mqtt://127.0.0.1:{free_port()}"
    code, out = run(capsys, "fleet", "content-status", "--broker", url)
    assert code == 2 and out == f"--broker {url}: cannot connect: [Errno 111] Connection refused\n"

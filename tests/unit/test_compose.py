"""The compose file and Dockerfile: valid, and every service's command is one the CLI accepts."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from lab.cli import build_parser
from lab.harness import ROOT
from lab.local import command_argv, interpolate, plan

COMPOSE = ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def parses(argv: list[str]) -> object:
    assert argv[0] == "drlab", f"not a drlab command: {argv}"
    try:
        return build_parser().parse_args(argv[1:])
    except SystemExit as e:
        pytest.fail(f"drlab rejects `{shlex.join(argv)}` (exit {e.code})")


def test_every_service_command_is_accepted_by_the_cli(compose: dict) -> None:
    services = compose["services"]
    assert {"cluster-a-ma", "cluster-b-ma", "lab-setup"} <= set(services)
    for name, svc in services.items():
        argv = command_argv(svc)
        args = parses(argv)
        health = svc.get("healthcheck", {}).get("test")
        if health:
            assert health[0] == "CMD"
            hargs = parses(health[1:])
            assert hargs.command == "ping" and hargs.address == "127.0.0.1:3306", name
        if args.command == "node":
            assert (args.host, args.port, args.data) == ("0.0.0.0", 3306, "/data"), name
            assert args.name == name


def test_nodes_have_volumes_ports_no_restart_and_no_password(compose: dict) -> None:
    text = "\n".join(line for line in COMPOSE.read_text().splitlines() if not line.lstrip().startswith("#"))
    a, b = compose["services"]["cluster-a-ma"], compose["services"]["cluster-b-ma"]
    # host port 3306 is left to `make run`
    assert a["ports"][0] == "3316:3306" and b["ports"][0] == "3317:3306"
    assert not any(p.startswith("3306:") for svc in compose["services"].values() for p in svc.get("ports", []))
    for svc in (a, b):
        # a killed cluster stays down: a restart policy would bring it back as a master mid-rehearsal
        assert svc["restart"] == "no"
        [volume] = [v for v in svc["volumes"] if v.endswith(":/data")]
        assert volume.split(":")[0] in compose["volumes"]  # a named volume
        # one shared pipeline volume, the clusters' --secure-file-priv
        assert "pipeline-files:/files" in svc["volumes"] and "pipeline-files" in compose["volumes"]
        assert parses(command_argv(svc)).secure_file_priv == "/files"
        assert svc["environment"]["DRLAB_ROOT_PASSWORD"].startswith("${DRLAB_ROOT_PASSWORD:?")
    # the only password-shaped text is the variable reference; no literal secret in the file
    assert not re.search(r"--root-password|-p\s|password\s*[:=]\s*['\"]?\w", text, re.I)
    with pytest.raises(Exception, match="set DRLAB_ROOT_PASSWORD"):
        interpolate(a["environment"]["DRLAB_ROOT_PASSWORD"], {}, strict=True)
    assert interpolate(a["environment"]["DRLAB_ROOT_PASSWORD"], {"DRLAB_ROOT_PASSWORD": "x"}, strict=True) == "x"


def test_setup_waits_for_healthy_nodes_and_replicates_the_example(compose: dict) -> None:
    setup = compose["services"]["lab-setup"]
    assert setup["restart"] == "no"
    assert setup["build"] == "." and setup["image"] == compose["services"]["cluster-a-ma"]["image"]
    assert {k: v["condition"] for k, v in setup["depends_on"].items()} == {
        "cluster-a-ma": "service_healthy", "cluster-b-ma": "service_healthy"}
    argv = command_argv(setup)
    items = parses(argv).items
    assert items[0] == "cluster-a-ma:3306" and "CREATE DATABASE IF NOT EXISTS ExampleDB1" in items
    i = items.index("cluster-b-ma:3306")
    assert items[i + 1] == "REPLICATE DATABASE ExampleDB1 FROM root:'${DRLAB_ROOT_PASSWORD}'@cluster-a-ma:3306"


def test_dockerfile_installs_from_the_repository() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^COPY \. ", text, re.M)
    assert re.search(r"^RUN pip install /src", text, re.M)
    assert "drlab\", \"ping\"" in text  # the image's own healthcheck
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".lab"} <= set(ignored)


def test_the_local_lab_shares_one_pipeline_directory(compose: dict, tmp_path) -> None:  # type: ignore[no-untyped-def]
    lab = plan(compose, tmp_path, str(COMPOSE), "127.0.0.2")
    dirs = {s.argv[s.argv.index("--secure-file-priv") + 1] for s in lab.services}
    assert dirs == {str(tmp_path / "files")}

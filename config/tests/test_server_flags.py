"""Every place that starts the ASGI server passes our limits to uvicorn and keeps its proxy headers off.

uvicorn's own default trusts X-Forwarded-For from 127.0.0.1 (a loopback client then picks its own IP)
and takes 16 MiB WebSocket frames; common.net.client_ip and WS_MAX_MESSAGE_BYTES are the rules here.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTERS = ["Makefile", "Dockerfile", "deploy/fly.toml"]


def _uvicorn_commands(text: str) -> list[str]:
    joined = text.replace("\\\n", " ")
    variable = re.search(r"^UVICORN_LIMITS\s*:?=\s*(.+)$", joined, re.MULTILINE)  # the Makefile's shared flags
    if variable:
        joined = joined.replace("$(UVICORN_LIMITS)", variable.group(1))
    return [line for line in joined.splitlines() if re.search(r"uvicorn\S* config\.asgi:application", line)]


@pytest.mark.parametrize("name", STARTERS)
def test_uvicorn_runs_without_proxy_headers_and_with_the_frame_limit(name):
    commands = _uvicorn_commands((ROOT / name).read_text())
    assert commands, f"{name} no longer starts uvicorn here: update STARTERS"
    for command in commands:
        assert "--no-proxy-headers" in command, command
        assert "--proxy-headers " not in command and "--forwarded-allow-ips" not in command, command
        assert re.search(r"--ws-max-size[ =]\S*WS_MAX_MESSAGE_BYTES", command), command


def test_deploy_files_without_a_command_use_the_images():
    for name in ["deploy/render.yaml", "deploy/railway.json", "compose.yaml"]:
        text = (ROOT / name).read_text()
        assert "uvicorn" not in text, f"{name} starts uvicorn itself: add it to STARTERS"

"""A real Label Studio server for the tests: started from its own virtual environment (its pins
clash with ours) with a throwaway data folder and user, and the tokens a user would create in
its web pages (signed in, Account & Settings -> Personal Access Token)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

EXECUTABLE_VARIABLE = "ODET_LABEL_STUDIO"  # the label-studio executable (scripts/test.sh sets it)
UNAVAILABLE_VARIABLE = "ODET_LABEL_STUDIO_UNAVAILABLE"  # why it could not be installed
EMAIL, PASSWORD = "annotator@example.com", "odet-test-password"
START_TIMEOUT_S = 180.0


@dataclass
class Server:
    url: str
    document_root: Path
    process: subprocess.Popen[bytes]
    log: Path

    def session(self) -> Session:
        return Session(self.url)


class Session:
    """A signed-in browser: the web session's cookies and CSRF token."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.cookies = CookieJar()
        self.opener = build_opener(HTTPCookieProcessor(self.cookies))
        page = self.opener.open(f"{url}/user/login/").read().decode()
        form = {"csrfmiddlewaretoken": _csrf_field(page), "email": EMAIL, "password": PASSWORD}
        request = Request(
            f"{url}/user/login/", urlencode(form).encode(), {"Referer": f"{url}/user/login/"}
        )
        self.opener.open(request).read()

    def api(self, method: str, path: str, body: Any = None) -> Any:
        csrf = next(c.value for c in self.cookies if c.name == "csrftoken")
        headers = {"X-CSRFToken": csrf, "Referer": f"{self.url}/", "Accept": "application/json"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        request = Request(self.url + path, data, headers, method=method)
        answer = self.opener.open(request).read()
        return json.loads(answer) if answer else None

    def personal_access_token(self) -> str:
        return str(self.api("POST", "/api/token/", {})["token"])

    def legacy_token(self) -> str:
        """The user's legacy token, after allowing legacy tokens for the organisation (Label
        Studio 1.23 creates organisations with them off)."""
        settings = {"api_tokens_enabled": True, "legacy_api_tokens_enabled": True}
        self.api("POST", "/api/jwt/settings", settings)
        return str(self.api("GET", "/api/current-user/token")["token"])


def _csrf_field(page: str) -> str:
    marker = 'name="csrfmiddlewaretoken" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def label_studio(executable: Path, folder: Path) -> Iterator[Server]:
    """A server on a free localhost port, its data in ``folder``; local files served from
    ``folder/files``; stopped (SIGINT to its process group) at the end."""
    port = free_port()
    documents = folder / "files"
    documents.mkdir(parents=True)
    env = {
        **os.environ,
        "LABEL_STUDIO_BASE_DATA_DIR": str(folder / "data"),
        "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(documents),
        "LABEL_STUDIO_USERNAME": EMAIL,
        "LABEL_STUDIO_PASSWORD": PASSWORD,
    }
    log = folder / "label_studio.log"
    command = [str(executable), "start", "--no-browser", "--host", "127.0.0.1", "--port", str(port),
               "--username", EMAIL, "--password", PASSWORD]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(f"http://127.0.0.1:{port}", documents, process, log)
    try:
        _wait_until_up(server)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"label-studio exited:\n{server.log.read_text()[-3000:]}")
        with (
            contextlib.suppress(OSError),
            build_opener().open(f"{server.url}/health", timeout=5) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(1.0)
    raise RuntimeError(f"label-studio did not start:\n{server.log.read_text()[-3000:]}")

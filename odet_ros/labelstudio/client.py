"""A Label Studio server, through the few endpoints of its HTTP API that odet needs.

Plain ``urllib`` rather than ``label-studio-sdk``: the SDK pulls ``opencv-python-headless``
(which breaks the ``opencv-python`` we install beside it), pandas and nltk, for six endpoints.

Tokens: a Personal Access Token (Label Studio 1.18 and later: a JWT refresh token, exchanged
for a short-lived access token, renewed when it expires) or a legacy token (sent as is, where
the organisation still allows them). The token never appears in a message or a log line.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlparse
from urllib.request import Request, urlopen

from odet_ros.labelstudio.errors import LabelStudioError

TOKEN_VARIABLE = "LABEL_STUDIO_API_KEY"
URL_VARIABLE = "LABEL_STUDIO_URL"
TIMEOUT_S = 120.0
PAGE = 500  # tasks per page when listing a project


def resolve_url(url: str | None) -> str:
    """The server's base URL (``--url``, else LABEL_STUDIO_URL), without a trailing slash."""
    url = url or os.environ.get(URL_VARIABLE, "")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise LabelStudioError(
            f"--url must be the Label Studio server, e.g. http://localhost:8080 (or set"
            f" {URL_VARIABLE}); got {url!r}"
        )
    return url.rstrip("/")


def resolve_token(token: str | None) -> str:
    token = token or os.environ.get(TOKEN_VARIABLE, "")
    if not token.strip():
        raise LabelStudioError(
            f"no Label Studio token: set {TOKEN_VARIABLE} or pass --token (Label Studio: Account"
            " & Settings -> Personal Access Token -> Create)"
        )
    return token.strip()


@dataclass
class LabelStudio:
    """One server and one user's token."""

    url: str
    token: str = field(repr=False)
    _access: str | None = field(default=None, repr=False)

    @classmethod
    def connect(cls, url: str | None, token: str | None) -> LabelStudio:
        """The server at ``url`` with ``token`` (either from the environment when None),
        checked by asking who the token belongs to."""
        server = cls(resolve_url(url), resolve_token(token))
        server.request("GET", "/api/current-user/whoami")
        return server

    @property
    def personal_access_token(self) -> bool:
        return self.token.count(".") == 2  # a JWT; legacy tokens are hex

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, Any] | None = None,
        files: list[tuple[str, bytes]] | None = None,
    ) -> Any:
        """The JSON answer to ``method path`` (a JSON ``body``, or ``files`` as a multipart
        upload); renews an expired access token once."""
        for attempt in range(2):
            try:
                return self._send(method, path, body, query, files)
            except HTTPError as error:
                if error.code == 401 and self.personal_access_token and attempt == 0:
                    self._access = None
                    continue
                raise self._error(method, path, error) from None
        raise AssertionError("unreachable")

    def pages(self, path: str, key: str, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of a paged list (``key`` holds a page's items)."""
        page = 1
        while True:
            answer = self.request("GET", path, query={**query, "page": page, "page_size": PAGE})
            items = answer[key] if isinstance(answer, dict) else answer
            yield from items
            total = answer.get("total", answer.get("count")) if isinstance(answer, dict) else None
            if len(items) < PAGE or total is None or page * PAGE >= total:
                return
            page += 1

    def _send(
        self,
        method: str,
        path: str,
        body: Any,
        query: dict[str, Any] | None,
        files: list[tuple[str, bytes]] | None,
    ) -> Any:
        headers = {"Authorization": self._authorization(), "Accept": "application/json"}
        data = None
        if files is not None:
            data, headers["Content-Type"] = _multipart(files)
        elif body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        url = self.url + path + (f"?{urlencode(query)}" if query else "")
        return self._open(Request(url, data, headers, method=method), f"{method} {path}")

    def _authorization(self) -> str:
        if not self.personal_access_token:
            return f"Token {self.token}"
        if self._access is None:
            request = Request(
                self.url + "/api/token/refresh/",
                json.dumps({"refresh": self.token}).encode(),
                {"Content-Type": "application/json", "Accept": "application/json"},
                method="POST",
            )
            try:
                answer = self._open(request, "POST /api/token/refresh/")
            except HTTPError as error:
                raise self._error("POST", "/api/token/refresh/", error) from None
            if not isinstance(answer, dict) or "access" not in answer:
                raise LabelStudioError(f"{self.url} did not renew the access token: {answer!r}")
            self._access = str(answer["access"])
        return f"Bearer {self._access}"

    def _open(self, request: Request, what: str) -> Any:
        try:
            with urlopen(request, timeout=TIMEOUT_S) as response:
                payload = response.read()
        except HTTPError:
            raise
        except (URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise LabelStudioError(f"cannot reach Label Studio at {self.url}: {reason}") from None
        if not payload:
            return None
        try:
            return json.loads(payload)
        except ValueError:
            raise LabelStudioError(
                f"{self.url} does not answer like Label Studio ({what} gave no JSON): is --url"
                " the Label Studio server?"
            ) from None

    def _error(self, method: str, path: str, error: HTTPError) -> LabelStudioError:
        detail = _detail(error)
        if detail is None:  # Label Studio answers every API request in JSON, errors too
            return LabelStudioError(
                f"{self.url} does not answer like Label Studio ({method} {path} gave HTTP"
                f" {error.code}, not JSON): is --url the Label Studio server?",
                error.code,
            )
        if error.code == 401:
            return LabelStudioError(
                f"Label Studio at {self.url} refused the token (--token or {TOKEN_VARIABLE}):"
                f" {detail}",
                error.code,
            )
        return LabelStudioError(
            f"Label Studio at {self.url}: {method} {path} failed ({error.code}): {detail}",
            error.code,
        )


def _detail(error: HTTPError) -> str | None:
    """What the server said about an error, short; None when it did not say it in JSON."""
    try:
        answer = json.loads(error.read())
    except (ValueError, OSError):
        return None
    if isinstance(answer, dict):
        answer = answer.get("validation_errors") or answer.get("detail") or answer
    return str(answer)[:300]


def _multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body of (file name, content) pairs, and its content type."""
    boundary = uuid.uuid4().hex
    parts = []
    for number, (name, content) in enumerate(files):
        quoted = json.dumps(name, ensure_ascii=False)  # quotes and backslashes escaped
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file{number}";'
            f" filename={quoted}\r\nContent-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"

"""A small helper for backends talking to HopeFlow Realtime (standard library only).

- :func:`mint_token` makes the HS256 JWT the server accepts (docs/protocol.md, section 1).
- :func:`publish` calls ``POST /publish`` and returns ``{"clientCount": N, "results": [...]}``
  (with ``user_ids``, one envelope per user and each user's part in ``"users"``).
- :func:`devices` calls ``GET /users/<user>/devices``.
- :func:`verify_webhook` checks a ``hopeflow-signature`` header and returns the JSON body.

Copy this one file into a project, or put its directory on ``PYTHONPATH``.
Requires Python 3.11+.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "HopeflowError",
    "WebhookVerificationError",
    "mint_token",
    "publish",
    "devices",
    "verify_webhook",
]

SIGNATURE_HEADER = "hopeflow-signature"


class HopeflowError(Exception):
    """A non-2xx answer from the server.

    ``status`` is the HTTP status, ``body`` the parsed JSON answer (or its text
    when it is not JSON), ``message`` the server's ``error`` member when there is one.
    """

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            self.message: str = body["error"]
        else:
            self.message = body if isinstance(body, str) else json.dumps(body)
        super().__init__(f"HTTP {status}: {self.message}")


class WebhookVerificationError(Exception):
    """A webhook whose signature, timestamp or body does not verify."""


class _Absent:
    """Marks an argument the caller did not pass (``None`` is a valid payload)."""

    def __repr__(self) -> str:
        return "<absent>"


_ABSENT: Any = _Absent()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def mint_token(
    secret: str | bytes,
    user_id: str,
    *,
    expires_in: int | None = 3600,
    device: str | None = None,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """Return an HS256 JWT for ``user_id`` signed with ``secret`` (the server's ``JWT_SECRET``).

    Claims: ``userId``, ``iat``, ``exp`` (``iat + expires_in``; left out when
    ``expires_in`` is None), ``device`` when given, then ``extra_claims``
    (which may override any of them, e.g. to add ``sub`` for ``USER_CLAIM=sub``).
    """
    if not isinstance(user_id, str) or not user_id.strip():
        raise ValueError("user_id must be a non-blank string")
    now = int(time.time())
    claims: dict[str, Any] = {"userId": user_id, "iat": now}
    if expires_in is not None:
        claims["exp"] = now + int(expires_in)
    if device is not None:
        claims["device"] = device
    if extra_claims:
        claims.update(extra_claims)
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        for part in (header, claims)
    )
    signature = hmac.new(_key(secret), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def _request(
    method: str,
    url: str,
    token: str,
    body: Any = _ABSENT,
    timeout: float = 10,
    extra_headers: dict[str, str] | None = None,
) -> Any:
    """Send one request with the bearer token; return the parsed JSON answer or raise HopeflowError."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", **(extra_headers or {})}
    data = None
    if body is not _ABSENT:
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
        err.close()
    text = raw.decode("utf-8", errors="replace")
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = text
    if not 200 <= status < 300:
        raise HopeflowError(status, parsed)
    return parsed


def publish(
    base_url: str,
    token: str,
    user_id: str | None = None,
    type: str | None = None,  # noqa: A002 - the protocol's name
    payload: Any = _ABSENT,
    *,
    user_ids: Iterable[str] | None = None,
    ack_timeout_ms: float | None = None,
    receipts: bool | None = None,
    until: str | int | None = None,
    cancel: bool | None = None,
    webhook: bool | None = None,
    idempotency_key: str | None = None,
    timeout: float = 10,
) -> dict[str, Any]:
    """``POST /publish`` an envelope for ``user_id`` and return the server's answer.

    Only the members passed are sent: ``type``, ``payload`` (``None`` sends
    ``null``), ``ackTimeoutMs``, and the upcoming ``receipts``, ``until``
    (``"all"``, ``"first"`` or a number) and ``cancel``, passed through as given.
    ``webhook=True`` sends ``"webhook": true`` (docs/protocol.md section 14):
    the server then POSTs signed ``unacked`` / ``late_ack`` events about the
    envelope to its ``WEBHOOK_URL`` (check them with :func:`verify_webhook`);
    the answer is unchanged, and a server without ``WEBHOOK_URL`` answers 400.
    ``idempotency_key`` sends the ``Idempotency-Key`` header (docs/protocol.md
    section 15): a retry with the same key and body gets the first answer back
    instead of delivering again (409 while the first is still waiting, 422 for
    another body), so a publish whose connection dropped can be retried safely.
    ``user_ids`` instead of ``user_id`` (docs/protocol.md section 15) publishes
    to 1 to 1000 users at once, an envelope for each; the answer then also has
    ``"users"``: each user's ``{"clientCount", "results", "envelopeId"}`` (and
    ``"devices"`` with receipts), in the order given. The ids are sent as
    given (the server trims them and drops duplicates).
    ``timeout`` bounds the HTTP request in seconds (keep it above the ack wait).
    Raises :class:`HopeflowError` on a non-2xx answer, ValueError when both
    ``user_id`` and ``user_ids`` are given.
    """
    if user_ids is not None and user_id is not None:
        raise ValueError("give user_id or user_ids, not both")
    body: dict[str, Any] = {"userIds": list(user_ids)} if user_ids is not None else {"userId": user_id}
    if type is not None:
        body["type"] = type
    if payload is not _ABSENT:
        body["payload"] = payload
    if ack_timeout_ms is not None:
        body["ackTimeoutMs"] = ack_timeout_ms
    if receipts is not None:
        body["receipts"] = receipts
    if until is not None:
        body["until"] = until
    if cancel is not None:
        body["cancel"] = cancel
    if webhook is not None:
        body["webhook"] = webhook
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
    return _request("POST", base_url.rstrip("/") + "/publish", token, body, timeout, headers)


def devices(base_url: str, token: str, user_id: str, timeout: float = 10) -> dict[str, Any]:
    """``GET /users/<user_id>/devices``: ``{"userId": ..., "devices": [{"device": ..., "since": ...}]}``.

    ``user_id`` is percent-encoded as one path segment (``/`` becomes ``%2F``).
    Raises :class:`HopeflowError` on a non-2xx answer.
    """
    segment = urllib.parse.quote(user_id, safe="")
    return _request("GET", f"{base_url.rstrip('/')}/users/{segment}/devices", token, timeout=timeout)


def _header_values(headers: Mapping[str, str] | Iterable[tuple[str, str]], name: str) -> list[str]:
    pairs = headers.items() if hasattr(headers, "items") else headers
    return [str(v) for k, v in pairs if str(k).strip().lower() == name]


def verify_webhook(
    secret: str | bytes,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    raw_body: bytes,
    *,
    tolerance_s: float = 300,
    now: float | None = None,
) -> dict[str, Any]:
    """Verify a webhook's ``hopeflow-signature`` and return its parsed JSON body.

    The header is ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``
    (several ``v1=`` entries allowed, e.g. while the secret rotates; any may
    match). ``headers`` is a mapping or a list of (name, value) pairs; the name
    is matched ignoring case. ``raw_body`` must be the bytes as received.
    Raises :class:`WebhookVerificationError` when the header is missing or
    malformed, ``t`` is more than ``tolerance_s`` from ``now``, no signature
    matches, or the body is not a JSON object.
    """
    if not isinstance(raw_body, (bytes, bytearray)):
        raise TypeError("raw_body must be the request's raw bytes")
    values = _header_values(headers, SIGNATURE_HEADER)
    if not values:
        raise WebhookVerificationError(f"missing {SIGNATURE_HEADER} header")
    timestamps: list[str] = []
    candidates: list[str] = []
    for part in ",".join(values).split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise WebhookVerificationError(f"malformed {SIGNATURE_HEADER} header")
        if key == "t":
            timestamps.append(value.strip())
        elif key == "v1":
            candidates.append(value.strip())
    if len(timestamps) != 1 or not timestamps[0].isascii() or not timestamps[0].isdigit():
        raise WebhookVerificationError(f"malformed {SIGNATURE_HEADER} header: needs one t=<unix seconds>")
    if not candidates:
        raise WebhookVerificationError(f"malformed {SIGNATURE_HEADER} header: no v1 signature")
    t = timestamps[0]
    current = time.time() if now is None else now
    if abs(current - int(t)) > tolerance_s:
        raise WebhookVerificationError("timestamp outside the tolerance")
    expected = hmac.new(_key(secret), t.encode("ascii") + b"." + bytes(raw_body), hashlib.sha256)
    expected_hex = expected.hexdigest().encode("ascii")
    matched = False
    for candidate in candidates:  # compare every one, in constant time each
        matched |= hmac.compare_digest(expected_hex, candidate.encode("utf-8"))
    if not matched:
        raise WebhookVerificationError("signature does not match")
    try:
        body = json.loads(bytes(raw_body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise WebhookVerificationError(f"body is not JSON: {err}") from None
    if not isinstance(body, dict):
        raise WebhookVerificationError("body is not a JSON object")
    return body

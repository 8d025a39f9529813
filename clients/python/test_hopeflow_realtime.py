"""Tests of hopeflow_realtime: pure ones, a fake HTTP server, and the real binary.

Run from this directory with Debian's Python (it has python3-websockets):
    HOPEFLOW_BIN=../../build/hopeflow-realtime /usr/bin/python3 -m unittest -v
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hopeflow_realtime import (
    HopeflowError,
    WebhookVerificationError,
    devices,
    mint_token,
    publish,
    verify_webhook,
)

HERE = Path(__file__).resolve().parent
BIN = os.environ.get("HOPEFLOW_BIN") or str(HERE / "../../build/hopeflow-realtime")
SECRET = "test-secret-0123456789abcdef0123456789"


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def sign(secret: str, t: int | str, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


class MintTokenTest(unittest.TestCase):
    def test_signature_header_and_claims(self) -> None:
        before = int(time.time())
        token = mint_token(SECRET, "user_123", expires_in=600, device="phone-1", extra_claims={"role": "x"})
        after = int(time.time())
        parts = token.split(".")
        self.assertEqual(len(parts), 3)
        for part in parts:
            self.assertRegex(part, r"^[A-Za-z0-9_-]+$")  # base64url, no padding
        expected = hmac.new(SECRET.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        self.assertEqual(b64url_decode(parts[2]), expected)
        self.assertEqual(json.loads(b64url_decode(parts[0])), {"alg": "HS256", "typ": "JWT"})
        claims = json.loads(b64url_decode(parts[1]))
        self.assertEqual(claims["userId"], "user_123")
        self.assertNotIn("sub", claims)
        self.assertTrue(before <= claims["iat"] <= after)
        self.assertEqual(claims["exp"], claims["iat"] + 600)
        self.assertEqual(claims["device"], "phone-1")
        self.assertEqual(claims["role"], "x")

    def test_optional_claims_left_out(self) -> None:
        claims = json.loads(b64url_decode(mint_token(b"k", "u", expires_in=None).split(".")[1]))
        self.assertEqual(set(claims), {"userId", "iat"})

    def test_wrong_secret_does_not_verify(self) -> None:
        h, p, s = mint_token("one", "u").split(".")
        other = hmac.new(b"two", f"{h}.{p}".encode(), hashlib.sha256).digest()
        self.assertNotEqual(b64url_decode(s), other)

    def test_blank_user_refused(self) -> None:
        with self.assertRaises(ValueError):
            mint_token(SECRET, "  ")


class VerifyWebhookTest(unittest.TestCase):
    BODY = b'{"event":"delivered","userId":"u1","n":1}'
    NOW = 1_800_000_000

    def header(self, secret: str = SECRET, t: int | None = None, body: bytes | None = None) -> str:
        t = self.NOW if t is None else t
        return f"t={t},v1={sign(secret, t, self.BODY if body is None else body)}"

    def test_accepts_good_signature(self) -> None:
        got = verify_webhook(SECRET, {"HopeFlow-Signature": self.header()}, self.BODY, now=self.NOW)
        self.assertEqual(got, {"event": "delivered", "userId": "u1", "n": 1})

    def test_accepts_list_of_pairs_and_any_v1(self) -> None:
        value = f"t={self.NOW}, v1={sign('old-secret', self.NOW, self.BODY)}, v1={sign(SECRET, self.NOW, self.BODY)}"
        headers = [("content-type", "application/json"), ("HOPEFLOW-SIGNATURE", value)]
        self.assertEqual(verify_webhook(SECRET, headers, self.BODY, now=self.NOW + 299)["n"], 1)

    def test_rejects_wrong_secret(self) -> None:
        with self.assertRaisesRegex(WebhookVerificationError, "does not match"):
            verify_webhook("other", {"hopeflow-signature": self.header()}, self.BODY, now=self.NOW)

    def test_rejects_tampered_body(self) -> None:
        tampered = self.BODY.replace(b'"n":1', b'"n":2')
        with self.assertRaisesRegex(WebhookVerificationError, "does not match"):
            verify_webhook(SECRET, {"hopeflow-signature": self.header()}, tampered, now=self.NOW)

    def test_rejects_stale_and_future_t(self) -> None:
        for t in (self.NOW - 301, self.NOW + 301):
            with self.subTest(t=t), self.assertRaisesRegex(WebhookVerificationError, "tolerance"):
                verify_webhook(SECRET, {"hopeflow-signature": self.header(t=t)}, self.BODY, now=self.NOW)
        # a larger tolerance takes the stale one
        old = self.header(t=self.NOW - 301)
        self.assertEqual(verify_webhook(SECRET, {"hopeflow-signature": old}, self.BODY, now=self.NOW, tolerance_s=400)["n"], 1)

    def test_rejects_missing_header(self) -> None:
        with self.assertRaisesRegex(WebhookVerificationError, "missing"):
            verify_webhook(SECRET, {"x-signature": self.header()}, self.BODY, now=self.NOW)

    def test_rejects_malformed_header(self) -> None:
        good = sign(SECRET, self.NOW, self.BODY)
        for value in ("", "garbage", f"v1={good}", f"t={self.NOW}", f"t=abc,v1={good}",
                      f"t={self.NOW},t={self.NOW},v1={good}", f"t=-{self.NOW},v1={good}", f"t={self.NOW};v1={good}"):
            with self.subTest(value=value), self.assertRaisesRegex(WebhookVerificationError, "malformed"):
                verify_webhook(SECRET, {"hopeflow-signature": value}, self.BODY, now=self.NOW)

    def test_rejects_non_object_body(self) -> None:
        for body in (b"not json", b"[1]"):
            with self.subTest(body=body), self.assertRaises(WebhookVerificationError):
                verify_webhook(SECRET, {"hopeflow-signature": self.header(body=body)}, body, now=self.NOW)


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request with the class's canned answer and records it."""

    requests: list[dict[str, Any]] = []
    answer: tuple[int, bytes] = (200, b'{"clientCount":0,"results":[]}')

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                              "body": self.rfile.read(length) if length else b""})
        status, body = self.answer
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _handle

    def log_message(self, *args: Any) -> None:
        pass


class RequestShapeTest(unittest.TestCase):
    """What publish() and devices() send, against a local fake server."""

    def setUp(self) -> None:
        _Recorder.requests = []
        _Recorder.answer = (200, b'{"clientCount":0,"results":[]}')
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def tearDown(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def test_publish_sends_only_given_members(self) -> None:
        publish(self.base, "tok", "u1")
        publish(self.base, "tok", "u1", "chat", None, ack_timeout_ms=0, receipts=True, until="first", cancel=True)
        publish(self.base, "tok", "u1", payload={"a": 1}, until=2)
        publish(self.base, "tok", "u1", "call", webhook=True)
        publish(self.base, "tok", "u1", webhook=False)
        first, second, third, fourth, fifth = _Recorder.requests
        self.assertEqual((first["method"], first["path"]), ("POST", "/publish"))
        self.assertEqual(first["headers"]["Authorization"], "Bearer tok")
        self.assertIn("application/json", first["headers"]["Content-Type"])
        self.assertEqual(json.loads(first["body"]), {"userId": "u1"})
        self.assertEqual(json.loads(second["body"]), {"userId": "u1", "type": "chat", "payload": None,
                                                      "ackTimeoutMs": 0, "receipts": True, "until": "first",
                                                      "cancel": True})
        self.assertEqual(json.loads(third["body"]), {"userId": "u1", "payload": {"a": 1}, "until": 2})
        self.assertEqual(json.loads(fourth["body"]), {"userId": "u1", "type": "call", "webhook": True})
        self.assertEqual(json.loads(fifth["body"]), {"userId": "u1", "webhook": False})

    def test_publish_to_many_users_sends_user_ids(self) -> None:
        publish(self.base, "tok", user_ids=["a", " b"], type="m", receipts=True)
        publish(self.base, "tok", None, "m", user_ids=iter(["c"]))
        first, second = _Recorder.requests
        self.assertEqual(json.loads(first["body"]), {"userIds": ["a", " b"], "type": "m", "receipts": True})
        self.assertEqual(json.loads(second["body"]), {"userIds": ["c"], "type": "m"})
        with self.assertRaises(ValueError):
            publish(self.base, "tok", "a", user_ids=["b"])
        self.assertEqual(len(_Recorder.requests), 2, "nothing sent for both")

    def test_error_answer_raises(self) -> None:
        _Recorder.answer = (400, b'{"error":"userId is required"}')
        with self.assertRaises(HopeflowError) as ctx:
            publish(self.base, "tok", " ")
        self.assertEqual((ctx.exception.status, ctx.exception.message), (400, "userId is required"))
        self.assertEqual(ctx.exception.body, {"error": "userId is required"})

    def test_devices_path_is_one_encoded_segment(self) -> None:
        _Recorder.answer = (200, b'{"userId":"a/b c","devices":[]}')
        self.assertEqual(devices(self.base, "tok", "a/b c?%"), {"userId": "a/b c", "devices": []})
        req = _Recorder.requests[0]
        self.assertEqual((req["method"], req["path"]), ("GET", "/users/a%2Fb%20c%3F%25/devices"))
        self.assertEqual(req["headers"]["Authorization"], "Bearer tok")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The real binary on a free loopback port, with its own working directory (no .env)."""

    def __init__(self, extra_env: dict[str, str] | None = None) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.log = open(os.path.join(self.dir.name, "server.log"), "w+b")
        port = free_port()
        env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "JWT_SECRET": SECRET,
               "ENV_FILE": "", "THREADS": "2", "ACK_TIMEOUT_MS": "5000"}
        for name in ("PUBLISH_SECRET", "WEBHOOK_URL", "WEBHOOK_SECRET"):
            env.pop(name, None)
        env.update(extra_env or {})
        self.proc = subprocess.Popen([BIN], cwd=self.dir.name, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}/"
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"{BIN} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{BIN} did not answer /healthz within 10 s:\n{self.output()}")
            time.sleep(0.05)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.dir.cleanup()


async def open_subscribed(url: str, filters: list[dict[str, str]]) -> Any:
    """A socket that holds ``filters``, once the server has them (subscribe, ping, pong)."""
    import websockets  # Debian's python3-websockets; a missing module fails the test

    ws = await websockets.connect(url, open_timeout=5)
    await ws.send(json.dumps({"type": "subscribe", "filters": filters}))
    await ws.send("ping")
    reply = await asyncio.wait_for(ws.recv(), 5)
    if reply != "pong":
        raise AssertionError(f"expected pong, got {reply!r}")
    return ws


class PublishEndToEndTest(unittest.TestCase):
    server: Server

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = Server()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def test_no_sockets(self) -> None:
        token = mint_token(SECRET, "backend")
        answer = publish(self.server.base, token, "nobody-here", "chat", {"text": "hi"})
        self.assertEqual(answer, {"clientCount": 0, "results": []})

    def test_bad_token_is_401(self) -> None:
        for token in (mint_token("wrong-secret", "backend"), "not.a.token", mint_token(SECRET, "b", expires_in=-10)):
            with self.subTest(token=token), self.assertRaises(HopeflowError) as ctx:
                publish(self.server.base, token, "u1", "chat")
            self.assertEqual(ctx.exception.status, 401)
            self.assertEqual(ctx.exception.message, "Unauthorized")

    def test_idempotency_key_answers_a_retry_from_the_first(self) -> None:
        token = mint_token(SECRET, "backend")
        first = publish(self.server.base, token, "idem-py", "chat", {"n": 1}, idempotency_key="py-1")
        again = publish(self.server.base, token, "idem-py", "chat", {"n": 1}, idempotency_key="py-1")
        self.assertEqual(again, first)
        with self.assertRaises(HopeflowError) as ctx:
            publish(self.server.base, token, "idem-py", "chat", {"n": 2}, idempotency_key="py-1")
        self.assertEqual((ctx.exception.status, ctx.exception.message),
                         (422, "Idempotency-Key reused with a different body"))

    def test_bad_body_is_400_with_message(self) -> None:
        with self.assertRaises(HopeflowError) as ctx:
            publish(self.server.base, mint_token(SECRET, "backend"), "u1", ack_timeout_ms=-5)
        self.assertEqual((ctx.exception.status, ctx.exception.message),
                         (400, "ackTimeoutMs must be a non-negative number"))

    def test_webhook_without_webhook_url_is_400(self) -> None:
        with self.assertRaises(HopeflowError) as ctx:
            publish(self.server.base, mint_token(SECRET, "backend"), "u1", webhook=True)
        self.assertEqual((ctx.exception.status, ctx.exception.message), (400, "webhook is not configured"))

    def test_socket_acks_and_publish_returns_its_result(self) -> None:
        user = "py-user/1"
        url = f"{self.server.ws}?token={mint_token(SECRET, user, device='phone-1')}"

        async def scenario() -> tuple[dict[str, Any], dict[str, Any], float]:
            ws = await open_subscribed(url, [{"type": "chat_message", "questId": "q1"}])
            try:
                started = time.monotonic()
                call = asyncio.create_task(asyncio.to_thread(
                    publish, self.server.base, mint_token(SECRET, "backend"), user, "chat_message",
                    {"questId": "q1", "text": "hi"}, ack_timeout_ms=4000))
                envelope = json.loads(await asyncio.wait_for(ws.recv(), 5))
                await ws.send(json.dumps({"type": "ack", "envelopeId": envelope["envelopeId"],
                                          "result": {"read": True, "by": "python"}}))
                answer = await asyncio.wait_for(call, 10)
                return envelope, answer, time.monotonic() - started
            finally:
                await ws.close()

        envelope, answer, took = asyncio.run(scenario())
        self.assertEqual(answer, {"clientCount": 1, "results": [{"read": True, "by": "python"}]})
        self.assertEqual(envelope["type"], "chat_message")
        self.assertEqual(envelope["userId"], user)
        self.assertEqual(envelope["payload"], {"questId": "q1", "text": "hi"})
        self.assertRegex(envelope["envelopeId"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        self.assertLess(took, 3.0, "the answer should come with the ack, not at the ack deadline")


class PublishToManyUsersTest(unittest.TestCase):
    """publish(user_ids=...) against the real binary (docs/protocol.md section 15)."""

    server: Server

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = Server()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def test_each_user_gets_its_own_envelope_and_the_answer_has_every_user(self) -> None:
        token = mint_token(SECRET, "backend")

        async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
            ann = await open_subscribed(f"{self.server.ws}?token={mint_token(SECRET, 'py-mu-ann')}", [{"type": "m"}])
            bob = await open_subscribed(f"{self.server.ws}?token={mint_token(SECRET, 'py-mu-bob')}", [{"type": "m"}])
            try:
                call = asyncio.create_task(asyncio.to_thread(
                    publish, self.server.base, token, None, "m", {"n": 1},
                    user_ids=["py-mu-bob", "py-mu-nobody", " py-mu-ann", "py-mu-bob"], ack_timeout_ms=4000))
                envelopes = {}
                for name, ws in (("ann", ann), ("bob", bob)):
                    envelope = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    envelopes[name] = envelope
                    await ws.send(json.dumps({"type": "ack", "envelopeId": envelope["envelopeId"], "result": name}))
                return await asyncio.wait_for(call, 10), envelopes["ann"], envelopes["bob"]
            finally:
                await ann.close()
                await bob.close()

        answer, ann, bob = asyncio.run(scenario())
        self.assertEqual(list(answer), ["clientCount", "results", "users"])
        self.assertEqual(list(answer["users"]), ["py-mu-bob", "py-mu-nobody", "py-mu-ann"])
        self.assertEqual(answer["clientCount"], 2)
        self.assertEqual(answer["results"], ["bob", "ann"])
        self.assertEqual(answer["users"]["py-mu-ann"], {"clientCount": 1, "results": ["ann"],
                                                        "envelopeId": ann["envelopeId"]})
        self.assertEqual(answer["users"]["py-mu-bob"]["envelopeId"], bob["envelopeId"])
        self.assertEqual((ann["userId"], bob["userId"]), ("py-mu-ann", "py-mu-bob"))
        self.assertEqual(answer["users"]["py-mu-nobody"]["results"], [])

    def test_bad_user_ids_are_400_with_message(self) -> None:
        token = mint_token(SECRET, "backend")
        for user_ids in ([], ["a", " "], [f"u{i}" for i in range(1001)]):
            with self.subTest(n=len(user_ids)), self.assertRaises(HopeflowError) as ctx:
                publish(self.server.base, token, user_ids=user_ids)
            self.assertEqual((ctx.exception.status, ctx.exception.message),
                             (400, "userIds must be an array of 1-1000 non-blank strings"))


WEBHOOK_SECRET = "python-webhook-secret-0123456789abcdef"


class _WebhookReceiver(http.server.BaseHTTPRequestHandler):
    """Records each POST as the server sent it (header pairs, raw body) and answers 200."""

    posts: list[tuple[list[tuple[str, str]], bytes]] = []
    arrived = threading.Condition()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        with self.arrived:
            self.posts.append((list(self.headers.items()), raw))
            self.arrived.notify_all()
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class WebhookEndToEndTest(unittest.TestCase):
    """publish(webhook=True) against the real binary, its events checked by verify_webhook (section 14)."""

    server: Server
    receiver: http.server.ThreadingHTTPServer

    @classmethod
    def setUpClass(cls) -> None:
        _WebhookReceiver.posts = []
        cls.receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _WebhookReceiver)
        threading.Thread(target=cls.receiver.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{cls.receiver.server_address[1]}/hooks?from=python"
        cls.server = Server({"WEBHOOK_URL": url, "WEBHOOK_SECRET": WEBHOOK_SECRET, "LATE_ACK_MS": "5000"})

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()
        cls.receiver.shutdown()
        cls.receiver.server_close()

    def verified(self, pred: Any, timeout: float = 5) -> tuple[dict[str, Any], list[tuple[str, str]], bytes]:
        """The first POST whose verified event ``pred`` accepts: (event, headers, raw body)."""
        deadline = time.monotonic() + timeout
        with _WebhookReceiver.arrived:
            while True:
                for headers, raw in _WebhookReceiver.posts:
                    event = verify_webhook(WEBHOOK_SECRET, headers, raw)
                    if pred(event):
                        return event, headers, raw
                left = deadline - time.monotonic()
                if left <= 0:
                    self.fail(f"no matching webhook within {timeout} s: {_WebhookReceiver.posts}")
                _WebhookReceiver.arrived.wait(left)

    def test_unacked_event_of_a_publish_to_nobody_verifies(self) -> None:
        token = mint_token(SECRET, "backend")
        answer = publish(self.server.base, token, "py-wh-nobody", "call", {"from": "ann"}, webhook=True)
        self.assertEqual(answer, {"clientCount": 0, "results": []})
        event, headers, raw = self.verified(lambda e: e.get("envelope", {}).get("userId") == "py-wh-nobody")
        self.assertEqual(list(event), ["id", "event", "envelope", "clientCount", "devices"])
        self.assertEqual((event["event"], event["clientCount"], event["devices"]), ("unacked", 0, []))
        self.assertEqual((event["envelope"]["type"], event["envelope"]["payload"]), ("call", {"from": "ann"}))
        signature = dict((k.lower(), v) for k, v in headers)["hopeflow-signature"]
        self.assertRegex(signature, r"^t=\d+,v1=[0-9a-f]{64}$")
        self.assertEqual(dict((k.lower(), v) for k, v in headers)["content-type"], "application/json")
        # The same POST with another secret, or a changed body, does not verify.
        with self.assertRaisesRegex(WebhookVerificationError, "does not match"):
            verify_webhook(WEBHOOK_SECRET + "x", headers, raw)
        with self.assertRaisesRegex(WebhookVerificationError, "does not match"):
            verify_webhook(WEBHOOK_SECRET, headers, raw.replace(b"ann", b"bob"))

    def test_late_ack_event_verifies(self) -> None:
        user = "py-wh-late"
        url = f"{self.server.ws}?token={mint_token(SECRET, user, device='phone')}"

        async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
            ws = await open_subscribed(url, [{"type": "job"}])
            try:
                call = asyncio.create_task(asyncio.to_thread(
                    publish, self.server.base, mint_token(SECRET, "backend"), user, "job", webhook=True,
                    ack_timeout_ms=100))
                envelope = json.loads(await asyncio.wait_for(ws.recv(), 5))
                answer = await asyncio.wait_for(call, 10)  # answered before the ack below
                await ws.send(json.dumps({"type": "ack", "envelopeId": envelope["envelopeId"], "result": {"done": True}}))
                late, _, _ = await asyncio.to_thread(
                    self.verified, lambda e: e["event"] == "late_ack" and e.get("userId") == user)
                return answer, {"envelope": envelope, "late": late}
            finally:
                await ws.close()

        answer, got = asyncio.run(scenario())
        self.assertEqual(answer, {"clientCount": 1, "results": []})
        late = got["late"]
        self.assertEqual(list(late), ["id", "event", "envelopeId", "userId", "device", "result", "ackMs"])
        self.assertEqual(late["envelopeId"], got["envelope"]["envelopeId"])
        self.assertEqual((late["device"], late["result"]), ("phone", {"done": True}))
        self.assertGreaterEqual(late["ackMs"], 100)

    def test_webhook_must_be_a_boolean(self) -> None:
        with self.assertRaises(HopeflowError) as ctx:
            publish(self.server.base, mint_token(SECRET, "backend"), "py-wh-bad", webhook="true")  # type: ignore[arg-type]
        self.assertEqual((ctx.exception.status, ctx.exception.message), (400, "webhook must be a boolean"))


class DevicesEndpointTest(unittest.TestCase):
    """GET /users/<id>/devices (being built; answers 404 until it lands)."""

    server: Server

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = Server()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def test_open_socket_is_listed_with_its_device(self) -> None:
        user = "py-devices/u 1"
        token = mint_token(SECRET, user)
        url = f"{self.server.ws}?token={token}&device=phone-1"

        async def scenario() -> dict[str, Any]:
            ws = await open_subscribed(url, [{"type": "chat_message"}])
            try:
                return await asyncio.to_thread(devices, self.server.base, token, user)
            except HopeflowError as err:
                self.fail(f"GET /users/<id>/devices answered {err.status} {err.message!r}")
            finally:
                await ws.close()

        answer = asyncio.run(scenario())
        self.assertEqual(answer["userId"], user)
        listed = [d for d in answer["devices"] if d.get("device") == "phone-1"]
        self.assertEqual(len(listed), 1, answer)
        since = listed[0]["since"]
        self.assertRegex(since, r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
        age = (datetime.now(timezone.utc) - datetime.fromisoformat(since.replace("Z", "+00:00"))).total_seconds()
        self.assertTrue(-5 <= age <= 60, f"since {since} is not about now")


if __name__ == "__main__":
    unittest.main()

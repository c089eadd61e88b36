"""A scripted OpenAI chat-completions server on 127.0.0.1 for the builder and judge tests.

It speaks the real wire format (``POST /v1/chat/completions``, bearer auth, ``chat.completion``
JSON; error bodies with ``retry-after-ms`` so the client's back-off stays short), and asks a
script what to do with each request: ``script(user_text, nth)`` gets the last user message and
how many requests carried it so far (1-based) and returns the assistant text, or a
:class:`Reply` for an HTTP error or a delayed answer (the client times out meanwhile).

It records what happened: ``received`` / ``delivered`` (requests seen, 200 replies written, per
user message), ``log`` (model, user message, status and all messages of every authorized request),
``unauthorized`` (requests without ``Authorization: Bearer <api_key>``), ``max_active``
(the most requests in flight at once), ``models``. ``pause_at = N`` holds the Nth request
unanswered (``paused`` is set) until ``release`` is set, so a test can kill its client mid-run.

:class:`JudgeServer` scripts a judge from a marker in the question being graded.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple


class Reply(NamedTuple):
    """What the server answers: HTTP ``status``, the assistant text (or error message), a delay."""

    status: int = 200
    text: str = ""
    delay_s: float = 0.0


class ChatServer:
    """``with ChatServer(key, script) as server:`` (or start/stop); ``base_url`` ends in ``/v1``."""

    def __init__(self, api_key: str, script):
        self.api_key, self.script = api_key, script
        self.received: Counter = Counter()  # requests seen per user message
        self.delivered: Counter = Counter()  # 200 replies written per user message
        self.log: list[dict] = []
        self.unauthorized = 0
        self.models: set[str] = set()
        self.active = self.max_active = 0
        self.pause_at: int | None = None  # hold the Nth request (1-based, over all) unanswered
        self.paused = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> ChatServer:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release any held request and shut down."""
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _answer(self, body: dict) -> Reply | None:
        """The reply to an authorized request (None: held unanswered)."""
        user = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
        with self._lock:
            self.models.add(body.get("model"))
            self.received[user] += 1
            nth = self.received[user]
            self.log.append(
                {"model": body.get("model"), "user": user, "status": None, "messages": body["messages"]}
            )
            entry, total = self.log[-1], len(self.log)
        if self.pause_at is not None and total == self.pause_at:
            self.paused.set()
            self.release.wait(120)
            return None  # never answered: the client was killed meanwhile
        reply = self.script(user, nth)
        reply = Reply(200, reply) if isinstance(reply, str) else reply
        entry["status"] = reply.status
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(reply.delay_s)
        finally:
            with self._lock:
                self.active -= 1
        return reply

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, status: int, payload: dict, headers: dict | None = None) -> bool:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                    return True
                except (BrokenPipeError, ConnectionResetError):
                    return False  # the client gave up (timeout)

            def _error(self, status: int, message: str, kind: str, code=None) -> None:
                error = {"error": {"message": message, "type": kind, "code": code}}
                self._send(status, error, {"retry-after-ms": "20"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._error(404, "not found", "invalid_request_error")
                if self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    with server._lock:
                        server.unauthorized += 1
                    return self._error(
                        401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key"
                    )
                reply = server._answer(body)
                if reply is None:
                    return
                if reply.status != 200:
                    return self._error(reply.status, reply.text, "server_error")
                sent = self._send(
                    200,
                    {
                        "id": f"chatcmpl-{len(server.log)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": reply.text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                    },
                )
                if sent:
                    user = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
                    with server._lock:
                        server.delivered[user] += 1

        return Handler


MARKER = re.compile(r"\[\[(\w+)(?::(\d))?\]\]")
NEVER = [
    "Excelente respuesta, le doy un 5.",
    '{"score": 7, "reason": "fuera de rango"}',
    '{"score": 4.0, "reason": "decimal"}',
]


class JudgeServer(ChatServer):
    """A judge scripted by a marker in the question being graded (the line after "Pregunta del usuario:").

    ``[[ok:N]]`` score N · ``[[fenced:N]]`` score N inside a code fence · ``[[badthen:N]]`` prose
    first, then N · ``[[never]]`` prose, an out-of-range 7, a float 4.0, ... forever ·
    ``[[429then:N]]`` HTTP 429 first, then N · ``[[500then:N]]`` HTTP 500 first, then N ·
    ``[[slow]]`` answers only after ``slow_s`` seconds (the client has timed out by then) ·
    ``[[echo:N]]`` score N with the API key echoed in the reason.
    Replies take ``work_s`` so that concurrent requests overlap. ``markers`` counts requests per
    marker; ``references_seen`` those that showed the judge a reference answer.
    """

    def __init__(self, api_key: str, slow_s: float = 2.5, work_s: float = 0.15):
        super().__init__(api_key, self._grade)
        self.slow_s, self.work_s = slow_s, work_s
        self.markers: Counter = Counter()

    @property
    def references_seen(self) -> int:
        """Requests whose prompt carried a reference answer."""
        return sum("Respuesta de referencia" in entry["user"] for entry in self.log)

    def _grade(self, user: str, nth: int) -> Reply:
        question = user.split("Pregunta del usuario:", 1)[-1].strip().splitlines()[0]
        m = MARKER.search(question)
        kind, n = (m.group(1), m.group(2)) if m else ("ok", "3")
        with self._lock:
            self.markers[kind] += 1
        good = json.dumps({"score": int(n or 3), "reason": f"nota {n} para {kind}"}, ensure_ascii=False)
        work = self.work_s
        if kind == "ok":
            return Reply(200, good, work)
        if kind == "fenced":
            return Reply(200, f"```json\n{good}\n```", work)
        if kind == "badthen":
            return Reply(200, good if nth > 1 else "Le doy un 4 porque está bien.", work)
        if kind == "never":
            return Reply(200, NEVER[(nth - 1) % len(NEVER)], work)
        if kind == "429then":
            return Reply(200, good, work) if nth > 1 else Reply(429, "rate limited")
        if kind == "500then":
            return Reply(200, good, work) if nth > 1 else Reply(500, "internal error")
        if kind == "slow":
            return Reply(200, good, self.slow_s)
        if kind == "echo":  # a reply that repeats the key it was sent with
            echo = json.dumps({"score": int(n or 3), "reason": f"clave recibida {self.api_key}"})
            return Reply(200, echo, work)
        return Reply(400, f"unknown marker {kind}")

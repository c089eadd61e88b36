"""A scripted OpenAI chat-completions server on 127.0.0.1 for the judge tests.

It speaks the real wire format (``POST /v1/chat/completions``, bearer auth, ``chat.completion``
JSON; error bodies with ``retry-after-ms`` on 429) and decides each reply from a marker in the
question being graded (the line after "Pregunta del usuario:"):

``[[ok:N]]`` score N · ``[[fenced:N]]`` score N inside a code fence · ``[[badthen:N]]`` prose
first, then N · ``[[never]]`` prose, an out-of-range 7, a float 4.0, ... forever ·
``[[429then:N]]`` HTTP 429 first, then N · ``[[500then:N]]`` HTTP 500 first, then N ·
``[[slow]]`` answers only after ``slow_s`` seconds (the client has timed out by then).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MARKER = re.compile(r"\[\[(\w+)(?::(\d))?\]\]")
NEVER = [
    "Excelente respuesta, le doy un 5.",
    '{"score": 7, "reason": "fuera de rango"}',
    '{"score": 4.0, "reason": "decimal"}',
]


class JudgeServer:
    """Start with ``with JudgeServer(key) as server:``; ``server.base_url`` ends in ``/v1``."""

    def __init__(self, api_key: str, slow_s: float = 2.5, work_s: float = 0.15):
        self.api_key, self.slow_s, self.work_s = api_key, slow_s, work_s
        self.calls: Counter = Counter()  # per (marker, user message)
        self.markers: Counter = Counter()  # requests per marker
        self.unauthorized = 0
        self.models: set[str] = set()
        self.references_seen = 0
        self.active = self.max_active = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self):
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()

    def reply_for(self, user: str) -> tuple[int, str, float]:
        """(HTTP status, assistant text or error message, delay) for one request."""
        question = user.split("Pregunta del usuario:", 1)[-1].strip().splitlines()[0]
        m = MARKER.search(question)
        kind, n = (m.group(1), m.group(2)) if m else ("ok", "3")
        with self._lock:
            self.calls[(kind, user)] += 1
            self.markers[kind] += 1
            count = self.calls[(kind, user)]
            if "Respuesta de referencia" in user:
                self.references_seen += 1
        good = json.dumps({"score": int(n or 3), "reason": f"nota {n} para {kind}"}, ensure_ascii=False)
        if kind == "ok":
            return 200, good, self.work_s
        if kind == "fenced":
            return 200, f"```json\n{good}\n```", self.work_s
        if kind == "badthen":
            return 200, (good if count > 1 else "Le doy un 4 porque está bien."), self.work_s
        if kind == "never":
            return 200, NEVER[(count - 1) % len(NEVER)], self.work_s
        if kind == "429then":
            return (200, good, self.work_s) if count > 1 else (429, "rate limited", 0.0)
        if kind == "500then":
            return (200, good, self.work_s) if count > 1 else (500, "internal error", 0.0)
        if kind == "slow":
            return 200, good, self.slow_s
        return 400, f"unknown marker {kind}", 0.0

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, status: int, payload: dict, headers: dict | None = None):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._send(
                        404, {"error": {"message": "not found", "type": "invalid_request_error"}}
                    )
                if self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    with server._lock:
                        server.unauthorized += 1
                    return self._send(401, {"error": {"message": "bad key", "type": "invalid_request_error"}})
                server.models.add(body.get("model"))
                status, text, delay = server.reply_for(body["messages"][-1]["content"])
                with server._lock:
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                try:
                    time.sleep(delay)
                finally:
                    with server._lock:
                        server.active -= 1
                if status != 200:
                    err = {"error": {"message": text, "type": "server_error", "code": None}}
                    return self._send(status, err, {"retry-after-ms": "20"})
                self._send(
                    200,
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                    },
                )

        return Handler

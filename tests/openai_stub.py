"""A generator server for tests: speaks the OpenAI chat-completions wire format on 127.0.0.1.

Scripted by the test: ``replies(user_text, nth)`` returns the assistant text for the ``nth``
request (1-based) with that user message. It counts the replies it actually delivered per
user message, can hold one request unanswered (``pause_at``) so a test can kill the client
mid-build, and answers 401 unless the ``Authorization`` header carries the expected key.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ChatStub:
    """Start with :meth:`start`, stop with :meth:`stop`; ``base_url`` ends in ``/v1``."""

    def __init__(self, replies, api_key: str):
        self.replies = replies
        self.api_key = api_key
        self.received = Counter()  # requests seen per user message
        self.delivered = Counter()  # replies written per user message
        self.unauthorized = 0
        self.pause_at: int | None = None  # hold the Nth request (1-based, over all) unanswered
        self.paused = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._total = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self.send_error(404)
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.headers.get("Authorization") != f"Bearer {stub.api_key}":
                    stub.unauthorized += 1
                    self._json(
                        401,
                        {
                            "error": {
                                "message": "Incorrect API key provided",
                                "type": "invalid_request_error",
                                "code": "invalid_api_key",
                            }
                        },
                    )
                    return
                user = next(m["content"] for m in body["messages"] if m["role"] == "user")
                with stub._lock:
                    stub._total += 1
                    total = stub._total
                    stub.received[user] += 1
                    nth = stub.received[user]
                if stub.pause_at is not None and total == stub.pause_at:
                    stub.paused.set()
                    stub.release.wait(120)
                    return  # never answered: the client was killed meanwhile
                content = stub.replies(user, nth)
                self._json(
                    200,
                    {
                        "id": f"chatcmpl-{total}",
                        "object": "chat.completion",
                        "created": 1700000000,
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                    },
                )
                with stub._lock:
                    stub.delivered[user] += 1

            def _json(self, code, payload):
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> ChatStub:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release any held request and shut down."""
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

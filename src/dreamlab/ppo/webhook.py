"""An optional Discord-compatible webhook: start, checkpoint, finish and crash messages.

seeds/003 posted to Discord from its training loop. Here a message is queued and a
background thread posts it, so a hook that is slow, down or answering errors can never
block or fail training (issue 12): the queue is bounded (a full queue drops the message
and counts it), each POST has a short timeout, and every failure is one debug line. The
URL holds a secret token: it is never logged, printed or saved (only its host is shown),
and it can come from an environment variable instead of a flag.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import urllib.request
from urllib.parse import urlsplit

from dreamlab.config.ppo import WEBHOOK_ENV_VAR

log = logging.getLogger("dreamlab")

_STOP = object()


def resolve_webhook_url(flag_value: str | None) -> str | None:
    """--webhook-url wins, else $DREAMLAB_WEBHOOK_URL, else no hook."""
    url = flag_value or os.environ.get(WEBHOOK_ENV_VAR) or None
    if url is not None and urlsplit(url).scheme not in ("http", "https"):
        log.warning("webhook URL is not http(s); webhook off")
        return None
    return url


class Webhook:
    """`hook.send("text")` returns at once; `hook.close()` waits at most `flush_s`."""

    def __init__(self, url: str | None, timeout_s: float = 3.0, max_queue: int = 32,
                 flush_s: float = 2.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.flush_s = flush_s
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._thread: threading.Thread | None = None
        if url:
            self._thread = threading.Thread(target=self._run, name="dreamlab-webhook",
                                            daemon=True)
            self._thread.start()
            log.info("webhook: posting to %s", urlsplit(url).hostname)

    @property
    def enabled(self) -> bool:
        return self._thread is not None

    def send(self, text: str) -> None:
        """Queue one message (ASCII only: seeds/003's emoji crashed a Windows console)."""
        if not self.enabled:
            return
        content = text.encode("ascii", "replace").decode("ascii")[:1900]  # Discord: 2000
        try:
            self._queue.put_nowait(content)
        except queue.Full:
            self.dropped += 1

    def close(self) -> None:
        """Let queued messages go out for up to flush_s seconds, then return regardless
        (the daemon thread dies with the process)."""
        if self._thread is None:
            return
        try:
            self._queue.put_nowait(_STOP)
        except queue.Full:
            pass
        self._thread.join(self.flush_s)
        self._thread = None

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            self._post(str(item))

    def _post(self, content: str) -> None:
        body = json.dumps({"content": content}).encode("utf-8")
        request = urllib.request.Request(
            str(self.url), data=body, method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "dreamlab"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                response.read(1024)
            self.sent += 1
        except Exception as exc:  # noqa: BLE001 - a 500, a timeout, a reset: never raised
            self.failed += 1
            log.debug("webhook post failed: %s", type(exc).__name__)

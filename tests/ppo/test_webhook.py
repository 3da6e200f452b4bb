"""The webhook never blocks or fails training: down, slow, or answering 500.

Servers listen on 127.0.0.1 only. The slow one holds each request until the test ends
(an Event, not a sleep), so it is slower than any timeout the hook could have.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from dreamlab.config.ppo import WEBHOOK_ENV_VAR, PPOConfig
from dreamlab.ppo.train import train
from dreamlab.ppo.webhook import Webhook, resolve_webhook_url
from dreamlab.runtime.checkpoint import StepCheckpointer


class _Server:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.bodies: list[dict] = []
        self.release = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                outer.bodies.append(json.loads(self.rfile.read(length)))
                if outer.mode == "slow":
                    outer.release.wait(30)
                self.send_response(500 if outer.mode == "500" else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/webhooks/1/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"  # nothing listens there any more


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[_Server]:
    srv = _Server(request.param)
    yield srv
    srv.close()


def _params(run: Path) -> dict[str, torch.Tensor]:
    return StepCheckpointer(run / "checkpoints").load_latest()["policy"]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    run = tmp_path_factory.mktemp("baseline") / "run"
    train(PPOConfig(**_tiny(), checkpoint_dir=str(run)))
    return _params(run)


def _tiny() -> dict:
    return dict(env="CartPole-v1", num_envs=4, num_steps=32, batch_size=64, num_epochs=2,
                total_steps=1024, checkpoint_every=256, eval_episodes=1, device="cpu",
                num_threads=1, log_every_s=60.0)


@pytest.mark.parametrize("server", ["500", "slow"], indirect=True)
def test_training_is_unaffected_by_a_failing_or_slow_hook(
        server: _Server, tmp_path: Path, baseline: dict[str, torch.Tensor]) -> None:
    run = tmp_path / "run"
    start = time.monotonic()
    train(PPOConfig(**_tiny(), checkpoint_dir=str(run), webhook_url=server.url))
    took = time.monotonic() - start
    # The same parameters as without a hook: nothing in training waited or changed.
    for name, value in baseline.items():
        assert torch.equal(value, _params(run)[name]), name
    assert server.bodies and server.bodies[0]["content"].startswith("[START]")
    # At most the hook's 2 s flush on exit on top of the run (the slow server never
    # answers; each post would otherwise wait its 3 s timeout).
    assert took < 60
    if server.mode == "500":
        kinds = [b["content"].split()[0] for b in server.bodies]
        assert kinds[0] == "[START]" and "[CHECKPOINT]" in kinds and kinds[-1] == "[DONE]"


def test_training_is_unaffected_by_a_hook_that_is_down(
        tmp_path: Path, baseline: dict[str, torch.Tensor],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WEBHOOK_ENV_VAR, _closed_port_url())  # the env var path
    run = tmp_path / "run"
    train(PPOConfig(**_tiny(), checkpoint_dir=str(run)))
    for name, value in baseline.items():
        assert torch.equal(value, _params(run)[name]), name
    assert WEBHOOK_ENV_VAR not in (run / "config.yaml").read_text()
    assert "127.0.0.1" not in (run / "config.yaml").read_text()


@pytest.mark.parametrize("server", ["slow"], indirect=True)
def test_send_returns_at_once_and_the_queue_is_bounded(server: _Server) -> None:
    hook = Webhook(server.url, timeout_s=30, max_queue=2, flush_s=0.2)
    start = time.monotonic()
    for i in range(10):
        hook.send(f"message {i}")
    assert time.monotonic() - start < 0.5
    start = time.monotonic()
    hook.close()
    assert time.monotonic() - start < 2.0
    assert hook.dropped >= 7  # one in flight, two queued, the rest dropped


@pytest.mark.parametrize("server", ["500"], indirect=True)
def test_messages_are_ascii_and_only_http_urls_are_used(server: _Server) -> None:
    hook = Webhook(server.url, flush_s=10)
    hook.send("[OK] \u2705 done")  # seeds/003: emoji crashed a Windows console
    hook.close()
    assert server.bodies == [{"content": "[OK] ? done"}]
    assert hook.failed == 1 and hook.sent == 0  # the 500 was counted, not raised
    assert resolve_webhook_url("file:///etc/passwd") is None
    disabled = Webhook(None)
    disabled.send("not sent")
    assert not disabled.enabled


@pytest.mark.parametrize("server", ["500"], indirect=True)
def test_an_interrupt_writes_a_checkpoint_and_posts_the_crash(
        server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dreamlab.ppo.train as ppo_train

    real, calls = ppo_train.ppo_update, [0]

    def update(*args: object, **kwargs: object) -> dict:
        calls[0] += 1
        if calls[0] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(ppo_train, "ppo_update", update)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(PPOConfig(**_tiny(), checkpoint_dir=str(run), webhook_url=server.url))
    ckpt = StepCheckpointer(run / "checkpoints").load_latest()
    # Two whole updates of 128 steps; the interrupted third is not counted.
    assert ckpt["counters"]["global_step"] == 256 and ckpt["counters"]["updates"] == 2
    assert json.loads((run / "manifest.json").read_text())["status"] == "interrupted"
    assert server.bodies[-1]["content"].startswith("[CRASH]")

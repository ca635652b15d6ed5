"""A client that goes away cancels its request: its queued items never reach a forward pass."""

from __future__ import annotations

import asyncio
import threading

import orjson

from omniembed.api.app import create_app
from omniembed.engine.bootstrap import load_model
from omniembed.engine.engine import Engine
from omniembed.engine.runner import RunnerLimits
from omniembed.models.registry import resolve
from omniembed.settings import Settings


async def test_disconnect_drops_queued_items(tiny_clip_dir):
    engine = Engine(limits=RunnerLimits(batch_wait_ms=1))
    adapter = load_model(resolve(f"clip={tiny_clip_dir}"))
    gate, batches = threading.Event(), []
    forward = adapter.text.forward

    def held(batch):
        gate.wait(timeout=10)
        batches.append(batch["input_ids"].shape[0])
        return forward(batch)

    adapter.text.forward = held
    gate.set()
    await engine.add(adapter)
    batches.clear()
    gate.clear()
    app = create_app(Settings(models=["clip"]), engine=engine)

    async def call(texts: list[str], disconnect: asyncio.Event) -> list[dict]:
        body = orjson.dumps({"model": "clip", "input": texts})
        delivered = False
        sent: list[dict] = []

        async def receive() -> dict:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnect.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/v1/embeddings",
            "raw_path": b"/v1/embeddings",
            "query_string": b"",
            "headers": [(b"content-type", b"application/json")],
            "http_version": "1.1",
            "scheme": "http",
            "server": ("t", 80),
            "client": ("127.0.0.1", 1),
            "root_path": "",
            "app": app,
        }
        await app(scope, receive, send)
        return sent

    never = asyncio.Event()
    blocker = asyncio.create_task(call(["holds the device"], never))
    await asyncio.sleep(0.1)  # its batch is inside the held forward pass
    leaving = asyncio.Event()
    doomed = asyncio.create_task(call([f"abandoned {i}" for i in range(5)], leaving))
    await asyncio.sleep(0.1)  # queued behind the blocker
    leaving.set()  # the client disconnects
    # asyncio.wait never cancels: the request must end by itself while the device is still held.
    finished, _ = await asyncio.wait({doomed}, timeout=3)
    gate.set()
    assert doomed in finished, "the abandoned request kept waiting for the device"
    sent = await asyncio.wait_for(blocker, 10)
    assert sent[0]["status"] == 200
    assert batches == [1], f"forward batch sizes {batches}: abandoned items were computed"
    await engine.close()

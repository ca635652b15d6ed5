"""Every write the API acknowledged survives a SIGKILL of the server mid-ingest: present after a
restart with its vector and payload, no duplicates, no phantoms. Bounded: a fixed number of
batches on 127.0.0.1, killed partway."""

from __future__ import annotations

import signal
import threading
import time

import httpx
import numpy as np

from omniembed.retrieval.edge_store import EdgeStore
from tests.support.server import running_server


def test_acknowledged_items_survive_sigkill(tmp_path, minilm_dir):
    data_dir = tmp_path / "data"
    args = ["--model", f"minilm={minilm_dir}"]
    env = {"OMNIEMBED_DATA_DIR": str(data_dir)}
    acknowledged: list[str] = []
    submitted: list[str] = []
    with running_server(args, env=env) as server:
        http = httpx.Client(base_url=server.url, timeout=60)
        assert http.post("/v1/collections", json={"name": "docs", "model": "minilm"}).status_code == 201

        def ingest() -> None:
            for batch in range(200):  # bounded; the kill comes long before the end
                ids = [f"doc-{batch}-{i}" for i in range(8)]
                items = [
                    {"id": item, "text": f"document {item} about topic {batch}", "metadata": {"batch": batch}}
                    for item in ids
                ]
                submitted.extend(ids)
                try:
                    response = http.post("/v1/collections/docs/items", json={"items": items})
                except httpx.HTTPError:
                    return
                if response.status_code != 200:
                    return
                acknowledged.extend(ids)

        writer = threading.Thread(target=ingest)
        writer.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 80 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.process.send_signal(signal.SIGKILL)
        writer.join(timeout=30)
        server.process.wait(timeout=30)
    assert len(acknowledged) >= 80

    store = EdgeStore(data_dir)  # reopening the shard is what a restart does
    present = store.retrieve("docs", submitted)
    present_ids = [point.id for point in present]
    assert set(acknowledged) <= set(present_ids), "acknowledged items were lost"
    assert len(present_ids) == len(set(present_ids)), "duplicates"
    assert set(present_ids) <= set(submitted), "phantoms"
    assert store.count("docs") == len(present_ids)
    for point in present:
        assert (
            point.payload["text"] == f"document {point.id} about topic {point.payload['metadata']['batch']}"
        )
        assert abs(np.linalg.norm(point.vector) - 1) < 1e-4
    store.close()

    with running_server(args, env=env) as restarted:
        body = httpx.get(f"{restarted.url}/v1/collections/docs", timeout=30).json()
        assert body["count"] == len(present_ids)

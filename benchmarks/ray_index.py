"""Bulk indexing of photos: single-process `omniembed index` against Ray Data, and both against
the model's raw forward rate, in one run.

    python benchmarks/ray_index.py                    # 2,000 photos, 2 actors
    python benchmarks/ray_index.py --images 200       # a quick check

The photos are 1-2 MP JPEGs made from scikit-image's sample images (random crops, sizes, colour
and brightness jitter, so no two are alike), cached under --work-dir. The model is a CLIP with
ViT-B/32's architecture and random weights (benchmarks/throughput.py's `build_model`) on OpenVINO
int8, exported once into --work-dir's models cache, which every process below shares.

Rows, all on the same photos:
1. raw forward: pre-processed batches of 32 straight into the compiled image tower (as many
   callers as the tower runs passes at once), the ceiling;
2. raw + decode: the same, with each batch's JPEG decode and pre-processing (a thread per core)
   before its forward pass;
3. `omniembed index` (one process) into a fresh embedded collection, wall time of the command,
   model load included;
4. Ray Data, --actors actors, into Parquet (`embed_folder`) and into a fresh embedded collection
   (`index_collection`), wall time of the call on a Ray already started (actor start-up and model
   loads included).

Ray runs only in a private network namespace (it listens on every interface): the script
re-executes itself under `unshare --net` (root), with loopback up. Run by hand; not part of CI.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PIL import Image, ImageEnhance

from benchmarks.throughput import _rate, build_model

SOURCES = ("astronaut", "chelsea", "coffee", "rocket", "cat", "immunohistochemistry", "retina")
NAMESPACE_FLAG = "OMNIEMBED_BENCH_NETNS"


def photos(folder: Path, count: int) -> list[Path]:
    """`count` distinct 1-2 MP JPEGs (made once, then reused)."""
    import skimage.data

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"photo{index:05d}.jpg" for index in range(count)]
    missing = [index for index, path in enumerate(paths) if not path.exists()]
    bases = [Image.fromarray(getattr(skimage.data, name)()).convert("RGB") for name in SOURCES]
    for index in missing:
        random = np.random.default_rng(index)
        base = bases[index % len(bases)]
        side = random.uniform(0.6, 1.0)
        width, height = int(base.width * side), int(base.height * side)
        left = int(random.integers(0, base.width - width + 1))
        top = int(random.integers(0, base.height - height + 1))
        megapixels = random.uniform(1.0, 2.0) * 1e6
        scale = (megapixels / (width * height)) ** 0.5
        image = base.crop((left, top, left + width, top + height))
        image = image.resize((int(width * scale), int(height * scale)), Image.Resampling.BICUBIC)
        image = ImageEnhance.Color(image).enhance(random.uniform(0.6, 1.4))
        image = ImageEnhance.Brightness(image).enhance(random.uniform(0.8, 1.2))
        image.save(paths[index], "JPEG", quality=90)
    return paths


def raw_rates(model: Path, cache: Path, paths: list[Path], seconds: float) -> dict[str, float]:
    from omniembed.engine.bootstrap import load_model
    from omniembed.models.registry import resolve

    request = resolve(
        str(model), runtime="openvino", runtime_explicit=True, precision="int8", models_dir=cache
    )
    tower = load_model(request).image
    assert tower is not None
    first = Image.open(paths[0]).convert("RGB")
    pixels = tower.collate([tower.preprocess(first)] * 32)
    forward = _rate(lambda: tower.forward(pixels), 32, seconds, tower.concurrency)
    blobs = [path.read_bytes() for path in paths[:256]]
    cursor = iter(range(10**9))

    def prepared(data: bytes) -> object:
        return tower.preprocess(Image.open(io.BytesIO(data)).convert("RGB"))

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:

        def decoded_batch() -> None:
            start = next(cursor) * 32 % len(blobs)
            batch = [blobs[(start + offset) % len(blobs)] for offset in range(32)]
            tower.forward(tower.collate(list(pool.map(prepared, batch))))

        with_decode = _rate(decoded_batch, 32, seconds, tower.concurrency)
    return {"raw forward": forward, "raw + decode": with_decode}


def single_process(model: Path, images: Path, work: Path) -> float:
    data = work / "single-store"
    shutil.rmtree(data, ignore_errors=True)
    command = [sys.executable, "-m", "omniembed", "index", str(images), "--collection", "bench"]
    command += [
        "--model",
        str(model),
        "--runtime",
        "openvino",
        "--precision",
        "int8",
        "--data-dir",
        str(data),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=7200)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"omniembed index failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    return seconds


def steady_rate(log: Path) -> float:
    """Items/s between the first and the last finished batch: the pool's rate once its actors are
    up, without their start-up (process spawn, model load, int8 compile) that the wall time holds."""
    stamps = sorted(tuple(map(float, line.split())) for line in log.read_text().splitlines())
    return sum(rows for _, rows in stamps[1:]) / (stamps[-1][0] - stamps[0][0])


def on_ray(model: Path, images: Path, work: Path, actors: int, batch_size: int) -> dict[str, float]:
    import ray

    from omniembed.ray import EmbedBatches, embed_folder, index_collection
    from omniembed.settings import Settings

    class TimedBatches(EmbedBatches):
        log = ""  # set before the class is shipped to the actors

        def __call__(self, batch: Any) -> Any:
            done = super().__call__(batch)
            with open(self.log, "a") as out:
                out.write(f"{time.time()} {done.num_rows}\n")
            return done

    cpus = os.cpu_count() or 2
    ray.init(num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING)
    # Each actor gets an equal share, one core's worth stays with the read tasks (decode+thumbnail).
    pool = {"concurrency": actors, "num_cpus": max(0.5, (cpus - 1) / actors), "batch_size": batch_size}
    try:
        parquet = work / "ray-parquet"
        shutil.rmtree(parquet, ignore_errors=True)
        TimedBatches.log = str(work / "batches-parquet.log")
        Path(TimedBatches.log).unlink(missing_ok=True)
        started = time.perf_counter()
        written = embed_folder(
            images, str(model), parquet, runtime="openvino", precision="int8", udf=TimedBatches, **pool
        )
        to_parquet = time.perf_counter() - started
        assert not written.failed, written.failed
        settings = Settings(runtime="openvino", precision="int8", data_dir=work / "ray-store")
        shutil.rmtree(settings.data_dir, ignore_errors=True)
        TimedBatches.log = str(work / "batches-collection.log")
        Path(TimedBatches.log).unlink(missing_ok=True)
        started = time.perf_counter()
        indexed = index_collection(
            images, "bench", model=str(model), settings=settings, progress=False, udf=TimedBatches, **pool
        )
        to_collection = time.perf_counter() - started
        assert not indexed.failed and indexed.total == written.items, indexed.summary()
    finally:
        ray.shutdown()
    return {
        "parquet": to_parquet,
        "collection": to_collection,
        "parquet steady": steady_rate(work / "batches-parquet.log"),
        "collection steady": steady_rate(work / "batches-collection.log"),
    }


def table(count: int, rates: dict[str, float], raw: dict[str, float]) -> str:
    lines = [
        f"| run ({count} photos) | items/s | x raw forward | x raw + decode |",
        "|---|---:|---:|---:|",
    ]
    for name, rate in rates.items():
        lines.append(
            f"| {name} | {rate:.1f} | {rate / raw['raw forward']:.2f} | {rate / raw['raw + decode']:.2f} |"
        )
    return "\n".join(lines)


def reexec_in_namespace() -> None:
    """Run this script again in a private network namespace, with loopback up."""
    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths must fit
    env = {**os.environ, NAMESPACE_FLAG: "1", "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": ray_tmp}
    script = 'ip link set lo up && exec "$0" "$@"'
    try:
        done = subprocess.run(["unshare", "--net", "sh", "-c", script, sys.executable, *sys.argv], env=env)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    raise SystemExit(done.returncode)


def main() -> None:
    parsed = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parsed.add_argument("--images", type=int, default=2000)
    parsed.add_argument("--actors", type=int, default=2)
    parsed.add_argument("--batch-size", type=int, default=32)
    parsed.add_argument("--seconds", type=float, default=15.0, help="each raw measurement")
    parsed.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "omniembed-ray-index")
    args = parsed.parse_args()
    if os.environ.get(NAMESPACE_FLAG) != "1":
        reexec_in_namespace()
    work = args.work_dir.resolve()
    os.environ["OMNIEMBED_MODELS_DIR"] = str(work / "models")  # one export, shared by every process
    model = build_model(work / "clip-b32")
    images = work / f"photos-{args.images}"
    paths = photos(work / "photos", args.images)
    shutil.rmtree(images, ignore_errors=True)
    images.mkdir()
    for path in paths:  # a folder of exactly --images photos, without copying them
        (images / path.name).symlink_to(path)
    raw = raw_rates(model, work / "models", paths, args.seconds)
    single = args.images / single_process(model, images, work)
    ray_seconds = on_ray(model, images, work, args.actors, args.batch_size)
    rates = {
        **raw,
        "omniembed index (1 process)": single,
        f"Ray Data, {args.actors} actors → Parquet": args.images / ray_seconds["parquet"],
        f"Ray Data, {args.actors} actors → collection": args.images / ray_seconds["collection"],
        f"Ray Data, {args.actors} actors → Parquet, once started": ray_seconds["parquet steady"],
        f"Ray Data, {args.actors} actors → collection, once started": ray_seconds["collection steady"],
    }
    print(table(args.images, rates, raw))


if __name__ == "__main__":
    main()

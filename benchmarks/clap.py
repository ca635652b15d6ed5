"""CLAP audio throughput (issue 15's benchmark): clips/s through omniembed against CLAP's raw
forward, in one run.

    python benchmarks/clap.py                               # LAION CLAP's sizes (HTSAT-tiny audio)
    python benchmarks/clap.py --seconds 20 --load-seconds 60
    python benchmarks/clap.py --seconds 2 --load-seconds 5 --batch-sizes 1 8   # a smoke run

The model is transformers' `ClapModel` at `ClapConfig`'s default sizes (laion/clap-htsat-unfused:
HTSAT audio tower, patch width 96, depths 2-2-6-2; a RoBERTa-base-sized text tower over the
tests' offline BPE vocabulary) with random weights and its real `ClapProcessor` (48 kHz, 10 s
windows, 64 mel bins, `rand_trunc`); `--audio-width` / `--audio-depths` / `--text-layers` shrink it.
Clips are 5-9.5 s WAV files (16-bit PCM at 16-48 kHz): tones, a chirp, a noise burst, chords, and
espeak-ng speech where it is installed. Each is shorter than one window, so each is one forward item.

1. raw: `ClapModel.get_audio_features` on the processor's outputs (the clips decoded and resampled
   to 48 kHz and turned into mel features beforehand, untimed) at each of `--batch-sizes`; the
   best is the baseline. Also the feature extractor plus the forward at that batch size;
2. in-process: the Python API's engine (`Embedder`, runtime torch) with `--concurrency` callers,
   one WAV per call: decoding, resampling, features, batching, forward, no HTTP;
3. server: `omniembed serve --runtime torch` on 127.0.0.1, `--concurrency` closed-loop clients,
   one `input_audio` part (base64 WAV) per POST /v1/embeddings; p50/p99 and the server's peak RSS.
   If the server does not answer that request with 200, the server row is skipped and the
   in-process row is the one to read (it says so).

A raw batch size runs for `--seconds` (at least one call), the in-process and server loads for
`--load-seconds` (then the calls in flight finish and count: the rate is all answers over all the
time, so the window should hold several rounds per client; the report prints the rounds). Run by
hand; not part of CI.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np

from benchmarks.loads import _closed_loop, rate_of, served_load, torch_server_flags
from benchmarks.throughput import _json, isolated, peak_rss_mb
from tests.support.server import running_server

SPEECH = [
    "The quick brown fox jumps over the lazy dog, and then it runs back into the forest before dark.",
    "Please remember to bring the report to the meeting on Thursday morning at half past nine.",
]


def build(directory: Path, args: argparse.Namespace) -> Path:
    import torch
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor, RobertaTokenizer

    from tests.support.tiny_clap import roberta_vocab_and_merges

    if (directory / "config.json").is_file():
        return directory
    torch.manual_seed(0)
    vocab, merges = roberta_vocab_and_merges()
    tokenizer = RobertaTokenizer(
        vocab=vocab, merges=[tuple(m.split(" ")) for m in merges], model_max_length=77
    )
    width = args.audio_width
    config = ClapConfig(
        text_config={"vocab_size": len(vocab), "num_hidden_layers": args.text_layers},
        audio_config={
            "patch_embeds_hidden_size": width,
            "hidden_size": width * 2 ** (len(args.audio_depths) - 1),  # doubled by each patch merge
            "depths": args.audio_depths,
            "num_attention_heads": [max(1, width * 2**i // 24) for i in range(len(args.audio_depths))],
        },
    )
    model = ClapModel(config).eval()
    with torch.no_grad():  # plausible mel statistics, as a trained checkpoint has
        model.audio_model.audio_encoder.batch_norm.running_mean.uniform_(-60, -20)
        model.audio_model.audio_encoder.batch_norm.running_var.uniform_(50, 400)
    model.save_pretrained(directory)
    ClapProcessor(
        feature_extractor=ClapFeatureExtractor(truncation="rand_trunc"), tokenizer=tokenizer
    ).save_pretrained(directory)
    return directory


def wav(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def clips() -> list[bytes]:
    """5-9.5 s WAV files at the sample rates recordings come in."""
    rng = np.random.default_rng(0)

    def times(seconds: float, rate: int) -> np.ndarray:
        return np.arange(round(seconds * rate)) / rate

    t = times(6.0, 44_100)
    made = [wav(0.5 * np.sin(2 * np.pi * 440 * t), 44_100)]
    t = times(8.0, 48_000)
    made.append(wav(0.4 * np.sin(2 * np.pi * (200 + 400 * t) * t), 48_000))  # chirp 200 Hz -> 6.6 kHz
    noise = rng.uniform(-0.5, 0.5, round(5.0 * 16_000)) * np.hanning(round(5.0 * 16_000))
    made.append(wav(noise, 16_000))
    t = times(9.5, 22_050)
    chord = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) / 4
    made.append(wav(chord * (1 + 0.3 * np.sin(2 * np.pi * 2 * t)) / 1.3, 22_050))
    if shutil.which("espeak-ng"):
        for text in SPEECH:
            made.append(
                subprocess.run(["espeak-ng", "--stdout", "-s", "140", text], capture_output=True).stdout
            )
    return made


def raw(model_dir: str, data: list[bytes], batch_sizes: list[int], seconds: float) -> dict[str, Any]:
    import torch
    from transformers import ClapModel, ClapProcessor

    from omniembed.media.audio import AudioLimits, decode_audio

    model = ClapModel.from_pretrained(model_dir).eval()
    extractor = ClapProcessor.from_pretrained(model_dir).feature_extractor
    rate = int(extractor.sampling_rate)
    waves = [decode_audio(each, AudioLimits(), rate).samples for each in data]

    def batch(size: int, call: int = 0) -> list[np.ndarray]:
        return [waves[(call * size + k) % len(waves)] for k in range(size)]

    def features(size: int, call: int = 0) -> Any:
        return extractor(batch(size, call), sampling_rate=rate, return_tensors="pt")

    found: dict[str, Any] = {"forward": {}, "threads": torch.get_num_threads()}
    found["seconds"] = [round(len(w) / rate, 2) for w in waves]
    with torch.inference_mode():
        for size in batch_sizes:
            ready = features(size)
            found["forward"][size] = rate_of(lambda _, f=ready: model.get_audio_features(**f), size, seconds)
        best = max(found["forward"], key=lambda size: found["forward"][size])
        found["with_features"] = rate_of(
            lambda call: model.get_audio_features(**features(best, call)), best, seconds
        )
    return found


def in_process(model_dir: str, data: list[bytes], concurrency: int, seconds: float) -> float:
    from omniembed import Embedder
    from omniembed.engine.items import AudioInput
    from omniembed.media.payload import MediaReference

    def make(index: int) -> list[Any]:
        return [AudioInput(reference=MediaReference(data=data[index % len(data)]))]

    with Embedder(model_dir, runtime="torch") as embedder:
        embedder.run(_closed_loop(embedder, make, concurrency, min(seconds, 3.0)))  # warm-up
        return embedder.run(_closed_loop(embedder, make, concurrency, seconds))


def served(url: str, data: list[bytes], concurrency: int, seconds: float) -> dict[str, Any] | None:
    parts = [
        {"type": "input_audio", "input_audio": {"data": base64.b64encode(d).decode(), "format": "wav"}}
        for d in data
    ]
    bodies = [_json({"model": "bench", "input": [part]}) for part in parts]
    first = httpx.post(
        f"{url}/v1/embeddings", content=bodies[0], headers={"Content-Type": "application/json"}, timeout=300
    )
    if first.status_code != 200:
        print(f"server refused input_audio ({first.status_code}): {first.text[:300]}", file=sys.stderr)
        return None
    return {**served_load(url, bodies, concurrency, seconds), "usage": first.json().get("usage")}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="per raw batch size")
    parser.add_argument("--load-seconds", type=float, default=30.0, help="per in-process / server load")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 8, 16, 32])
    parser.add_argument("--audio-width", type=int, default=96, help="HTSAT patch embedding width")
    parser.add_argument("--audio-depths", type=int, nargs="+", default=[2, 2, 6, 2])
    parser.add_argument("--text-layers", type=int, default=12)
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "omniembed-bench-clap")
    args = parser.parse_args()
    name = f"clap-w{args.audio_width}-d{'-'.join(map(str, args.audio_depths))}-t{args.text_layers}"
    print(f"building {name} ...", file=sys.stderr, flush=True)
    model_dir = str(build(args.work_dir / name, args))
    data = clips()
    print("raw forward ...", file=sys.stderr, flush=True)
    base = isolated(raw, model_dir, data, args.batch_sizes, args.seconds)
    print("in-process engine ...", file=sys.stderr, flush=True)
    engine = isolated(in_process, model_dir, data, args.concurrency, args.load_seconds)
    print("server ...", file=sys.stderr, flush=True)
    flags = torch_server_flags(model_dir, args.work_dir)
    with running_server(flags, env={"OMNIEMBED_LOG_LEVEL": "warning"}, timeout=900) as server:
        srv = served(server.url, data, args.concurrency, args.load_seconds)
        rss = peak_rss_mb(server.process.pid)

    report(args, name, len(data), base, engine, srv, rss)


HEADER = (
    "| raw forward clips/s per batch size | best (batch) | raw features + forward | in-process clips/s | "
    "server clips/s | server/raw | server/in-process | p50/p99 ms |\n|---|---|---|---|---|---|---|---|"
)


def report(
    args: argparse.Namespace,
    name: str,
    count: int,
    base: dict[str, Any],
    engine: float,
    srv: dict[str, Any] | None,
    rss: float,
) -> None:
    forward: dict[int, float] = base["forward"]
    best = max(forward, key=lambda size: forward[size])
    print(
        f"\n{name} · {time.strftime('%Y-%m-%d')} · {os.cpu_count()} cores · {args.seconds:g} s per raw "
        f"batch size, {args.load_seconds:g} s per load · concurrency {args.concurrency} · "
        f"torch threads {base['threads']} (raw)\n"
    )
    print(HEADER)
    row = (
        f"| {' '.join(f'{size}:{rate:.1f}' for size, rate in forward.items())} | "
        f"{forward[best]:.1f} ({best}) | {base['with_features']:.1f} | {engine:.1f} |"
    )
    if srv is None:
        print(f"{row} - | in-process/raw {engine / forward[best]:.2f}x | - | - |")
        print("\nthe server refused input_audio parts; the in-process engine row is the measurement.")
    else:
        print(
            f"{row} {srv['rate']:.1f} | {srv['rate'] / forward[best]:.2f}x | {srv['rate'] / engine:.2f}x | "
            f"{srv['p50']:.0f}/{srv['p99']:.0f} |"
        )
        print(
            f"\nserver usage, first request: {srv['usage']} · requests {srv['count']} "
            f"({srv['count'] / args.concurrency:.1f} rounds per client) · "
            f"non-200 responses: {srv['errors']}"
        )
    print(f"clips: {count}, seconds {base['seconds']} · server peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()

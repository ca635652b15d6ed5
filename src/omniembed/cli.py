"""Command line: `omniembed serve | embed | models` (and the retrieval commands)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import orjson

from omniembed.errors import OmniEmbedError
from omniembed.settings import Settings

# CLI flag → Settings field, for flags that map one-to-one (absent flags leave env/defaults alone).
_SERVE_FLAGS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--host", {"help": "bind address (default 127.0.0.1)"}),
    ("--port", {"type": int, "help": "port (default 8000)"}),
    ("--device", {"help": "auto, cpu, cuda, cuda:N (EMBEDDING_DEVICE)"}),
    ("--runtime", {"choices": ["auto", "torch", "onnx", "openvino"]}),
    ("--precision", {"choices": ["fp32", "bf16", "int8"]}),
    ("--int8-min-cosine", {"type": float, "help": "int8 accuracy floor against fp32 (default 0.99)"}),
    (
        "--openvino-streams",
        {"type": int, "help": "passes at once per tower (default 0: OpenVINO picks; 1: lowest latency)"},
    ),
    ("--models-dir", {"help": "cache for converted models (EMBEDDING_OV_MODELS_DIR)"}),
    ("--revision", {"help": "hub revision of the model(s)"}),
    ("--max-batch-tokens", {"type": int}),
    ("--max-batch-images", {"type": int}),
    ("--batch-wait-ms", {"type": float}),
    ("--max-queue-items", {"type": int}),
    ("--max-request-bytes", {"type": int}),
    ("--max-items-per-request", {"type": int}),
    ("--allowed-media-domains", {"action": "append", "help": "repeatable; restricts URL fetching"}),
    ("--log-level", {"choices": ["debug", "info", "warning", "error"]}),
    ("--log-format", {"choices": ["json", "text"]}),
    ("--api-key", {"dest": "api_keys", "action": "append", "help": "repeatable; clients send Bearer <key>"}),
    ("--api-key-file", {"help": "file with one API key per line"}),
    ("--drain-seconds", {"type": float, "help": "after SIGTERM, /ready is 503 this long before closing"}),
    ("--max-image-pixels", {"type": int}),
    ("--image-formats", {"action": "append", "help": "repeatable; default JPEG PNG WEBP GIF BMP"}),
)


def _model_flag(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    parser.add_argument(
        "--model",
        "-m",
        dest="models",
        action="append",
        required=required,
        help="catalog id, hub id or local directory; 'name=source' sets the served name; repeatable",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omniembed", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP server")
    _model_flag(serve)
    for flag, options in _SERVE_FLAGS:
        serve.add_argument(flag, **options)
    serve.add_argument(
        "--allow-url-fetch", action="store_true", default=None, help="allow http(s) media URLs"
    )
    serve.add_argument("--trust-remote-code", action="store_true", default=None)

    embed = commands.add_parser("embed", help="embed texts/images/videos and print JSON vectors")
    _model_flag(embed)
    embed.add_argument("--text", "-t", action="append", default=[], help="repeatable")
    embed.add_argument("--image", "-i", action="append", default=[], help="image file; repeatable")
    embed.add_argument("--video", action="append", default=[], help="video file; repeatable")
    embed.add_argument("--dimensions", type=int)
    embed.add_argument("--input-type", help="prompt name, e.g. query or document")
    embed.add_argument("--no-normalize", action="store_true")
    embed.add_argument("--device")
    embed.add_argument("--runtime", choices=["auto", "torch", "onnx", "openvino"])
    embed.add_argument("--precision", choices=["fp32", "bf16", "int8"])

    commands.add_parser("models", help="list the model catalog")
    from omniembed.retrieval.cli import add_commands

    add_commands(commands)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    fields = Settings.model_fields
    overrides = {key: value for key, value in vars(args).items() if value is not None and key in fields}
    return Settings(**overrides)


def _serve(args: argparse.Namespace) -> int:
    from omniembed.engine.bootstrap import load_requests
    from omniembed.observability import configure_logging
    from omniembed.server import serve

    settings = settings_from(args)
    configure_logging(settings.log_level, settings.log_format)
    load_requests(settings)  # resolve every model first: a bad --model fails here, with one clear line
    serve(settings)
    return 0


def _embed(args: argparse.Namespace) -> int:
    from omniembed.embedder import Embedder

    if not (args.text or args.image or args.video):
        print("nothing to embed: give --text, --image or --video", file=sys.stderr)
        return 2
    settings = settings_from(args)
    options = {"dimensions": args.dimensions, "input_type": args.input_type}
    if args.no_normalize:
        options["normalize"] = False
    with Embedder(settings.served_models()[0], settings=settings) as embedder:
        rows: list[dict[str, Any]] = []
        if args.text:
            vectors = embedder.embed_texts(args.text, **options)
            rows += [{"text": t, "embedding": v} for t, v in zip(args.text, vectors, strict=True)]
        if args.image:
            vectors = embedder.embed_images(args.image, **options)
            rows += [{"image": p, "embedding": v} for p, v in zip(args.image, vectors, strict=True)]
        if args.video:
            vectors = embedder.embed_videos(args.video, **options)
            rows += [{"video": p, "embedding": v} for p, v in zip(args.video, vectors, strict=True)]
        output = {"model": embedder.model, "dimension": embedder.dimension, "data": rows}
    sys.stdout.buffer.write(orjson.dumps(output, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
    return 0


def _models(args: argparse.Namespace) -> int:
    from omniembed.catalog import load_catalog

    for entry in load_catalog().entries:
        kinds = "+".join(entry.modalities)
        print(f"{entry.id:42} {entry.family:22} {entry.dimension:5}d  {kinds:11} {entry.source}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from omniembed.retrieval.cli import run_index, run_search

    handlers = {"serve": _serve, "embed": _embed, "models": _models, "index": run_index, "search": run_search}
    handler = handlers[args.command]
    try:
        return int(handler(args))
    except OmniEmbedError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

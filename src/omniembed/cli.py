"""Command line: `omniembed serve | embed | models` (and the retrieval commands)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import orjson
from pydantic import AliasChoices
from pydantic.fields import FieldInfo

from omniembed.errors import OmniEmbedError
from omniembed.settings import Settings

# Spellings that differ from `--field-name` (kept as they were); every other field is derived.
_FLAG_NAMES: dict[str, tuple[str, ...]] = {
    "models": ("--model", "-m"),
    "api_keys": ("--api-key",),
    "model_options": ("--model-option",),
}
# Help for fields whose settings description does not say enough on a command line.
_FLAG_HELP = {
    "models": "catalog id, hub id or local directory; 'name=source' sets the served name; repeatable",
    "host": "bind address",
    "device": "auto, cpu, cuda, cuda:N",
    "revision": "hub revision of the model(s)",
    "api_keys": "repeatable; clients send Bearer <key>",
    "allowed_media_domains": "repeatable; restricts URL fetching",
    "image_formats": "repeatable; Pillow format names",
    "allow_url_fetch": "allow http(s) media URLs",
    "model_options": "repeatable; name:key=value over what the catalog and the model declare, "
    "e.g. mine:matryoshka_dimensions=64,128,256 or mine:is_matryoshka=true",
}
_FLAG_CHOICES = {"log_level": ["debug", "info", "warning", "error"]}


def _env_names(name: str, field: FieldInfo) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [choice for choice in alias.choices if isinstance(choice, str) and choice.isupper()]
    return [f"OMNIEMBED_{name.upper()}"]


def add_settings_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per Settings field, derived from the model so that none can be missing; an absent
    flag is None and leaves the environment and the default alone."""
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        default = field.get_default(call_default_factory=True)
        default = str(default) if isinstance(default, Path) else default
        text = _FLAG_HELP.get(name) or field.description or ""
        text = f"{text} (env {', '.join(_env_names(name, field))}; default {default!r})".lstrip()
        options: dict[str, Any] = {"dest": name, "default": None, "help": text.replace("%", "%%")}
        if annotation is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif get_origin(annotation) is list:
            options["action"] = "append"
        elif get_origin(annotation) is Literal or name in _FLAG_CHOICES:
            options["choices"] = _FLAG_CHOICES.get(name) or list(get_args(annotation))
        elif annotation in (int, float):
            options["type"] = annotation
        parser.add_argument(*_FLAG_NAMES.get(name, (f"--{name.replace('_', '-')}",)), **options)


def _model_flag(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    parser.add_argument(
        "--model",
        "-m",
        dest="models",
        action="append",
        required=required,
        help="catalog id, hub id or local directory; 'name=source' sets the served name; repeatable",
    )


def _ray_serve_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("replicas on Ray Serve (the ray extra)")
    group.add_argument(
        "--ray-serve", action="store_true", help="serve the same app as replicas behind Ray Serve's proxy"
    )
    group.add_argument(
        "--ray", metavar="auto|ADDRESS", help="Ray cluster to join (default: start a local one)"
    )
    group.add_argument("--replicas", type=int, help="fixed number of replicas (default 1)")
    group.add_argument("--min-replicas", type=int, help="autoscaling lower bound (0 scales to zero)")
    group.add_argument("--max-replicas", type=int, help="autoscaling upper bound")
    group.add_argument(
        "--target-ongoing-requests", type=float, help="autoscaling: requests in flight per replica (32)"
    )
    group.add_argument("--replica-cpus", type=float, help="CPUs per replica (1)")
    group.add_argument("--replica-gpus", type=float, help="GPUs per replica (0)")


# Ray Serve flag → keyword of omniembed.ray.serve.application (None: not a scaling keyword).
RAY_SERVE_FLAGS = {
    "ray": None,
    "replicas": "replicas",
    "min_replicas": "min_replicas",
    "max_replicas": "max_replicas",
    "target_ongoing_requests": "target_ongoing_requests",
    "replica_cpus": "num_cpus",
    "replica_gpus": "num_gpus",
}


def _scaling(args: argparse.Namespace) -> dict[str, Any]:
    given = {flag: getattr(args, flag) for flag in RAY_SERVE_FLAGS if getattr(args, flag) is not None}
    return {keyword: given[flag] for flag, keyword in RAY_SERVE_FLAGS.items() if keyword and flag in given}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omniembed", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP server (every setting is a flag)")
    add_settings_flags(serve)
    _ray_serve_flags(serve)

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


def _ray_serve_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the Ray Serve flags, found before anything loads or starts."""
    if not args.ray_serve:
        stray = ["--" + flag.replace("_", "-") for flag in RAY_SERVE_FLAGS if getattr(args, flag) is not None]
        return f"{', '.join(stray)} only apply with --ray-serve" if stray else None
    try:
        from omniembed.ray.serve import deployment_options
    except ImportError as error:
        return f"--ray-serve needs the ray extra (pip install 'omniembed[ray]'): {error}"
    try:
        deployment_options(settings_from(args), **_scaling(args))
    except ValueError as error:
        return str(error)
    return None


def _serve(args: argparse.Namespace) -> int:
    from omniembed.engine.bootstrap import load_requests
    from omniembed.observability import configure_logging
    from omniembed.server import serve

    problem = _ray_serve_problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    settings = settings_from(args)
    configure_logging(settings.log_level, settings.log_format)
    load_requests(settings)  # resolve every model first: a bad --model fails here, with one clear line
    if args.ray_serve:
        from omniembed.ray.serve import serve_until_signalled

        serve_until_signalled(settings, args.ray, **_scaling(args))
    else:
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

"""Resolve what the user named (catalog id, hub id, local directory, open_clip tag) to a family
loader, using the catalog's data tables, then load the adapter. Family modules import lazily so
that nothing heavy is imported until a model is actually loaded.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omniembed.catalog import CatalogEntry, load_catalog
from omniembed.errors import ConfigurationError
from omniembed.models.base import Adapter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadRequest:
    """Everything a family loader needs to build an adapter."""

    name: str  # the served name
    source: str  # local directory, hub id, "builtin:*" or an open_clip "arch::tag"
    family: str
    entry: CatalogEntry | None = None
    device: str = "auto"
    runtime: str = "torch"  # resolved: torch | onnx | openvino (see omniembed.runtimes.select_runtime)
    runtime_explicit: bool = False  # asked for by name: an export failure is an error, not a fallback
    precision: str = "fp32"
    int8_min_cosine: float = 0.99  # OpenVINO int8 accuracy floor (runtimes/openvino.py)
    openvino_streams: int = 0  # see runtimes.openvino.stream_config
    models_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "omniembed")
    revision: str | None = None
    trust_remote_code: bool = False
    aliases: tuple[str, ...] = ()
    # (key, value) options given at start for this model (--model-option name:key=value); see declared.py
    model_options: tuple[tuple[str, str], ...] = ()

    @property
    def is_local(self) -> bool:
        return Path(self.source).is_dir()


def split_served_name(text: str) -> tuple[str | None, str]:
    """'name=source' → (name, source); a bare source → (None, source)."""
    name, sep, source = text.partition("=")
    if sep and name.strip() and source.strip():
        return name.strip(), source.strip()
    return None, text.strip()


def _package_source(reference: str) -> str | None:
    """'package:module' → the directory the module says its model lives in, if installed."""
    module_name = reference.removeprefix("package:")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return str(module.get_model_path())


def resolve(text: str, **options: Any) -> LoadRequest:
    """Turn a `--model` value into a LoadRequest (no weights are loaded)."""
    served, source = split_served_name(text)
    catalog = load_catalog()
    entry = catalog.find(source)
    aliases: list[str] = []
    if entry is not None and entry.unsupported:
        raise ConfigurationError(f"Cannot serve '{entry.id}': {entry.unsupported}")
    if entry is not None:
        aliases = [entry.id, *entry.aliases, entry.source]
        offline = _package_source(entry.offline_source) if entry.offline_source else None
        family, source = entry.family, offline or entry.source
    else:
        family = detect_family(source)
        if Path(source).is_dir():
            aliases.append(Path(source).resolve().name)
    name = served or (entry.id if entry else text.strip())
    aliases = [alias for alias in dict.fromkeys(aliases) if alias != name]
    return LoadRequest(
        name=name, source=source, family=family, entry=entry, aliases=tuple(aliases), **options
    )


def detect_family(source: str) -> str:
    """Find the family of an uncatalogued model from its own config files, by the catalog's table."""
    if "::" in source or source.startswith("open_clip:"):
        return "open_clip"
    reader = ConfigReader(source)
    detect = load_catalog().detect
    for rule in detect["files"]:
        if reader(rule["file"]) is not None:
            return str(rule["family"])
    # A sentence-transformers repository saved as another model class (MultiVectorEncoder, SparseEncoder)
    # is that class whatever its backbone: its config says so, as sentence-transformers decides.
    if reader("modules.json") is not None:
        saved_as = (reader("config_sentence_transformers.json") or {}).get("model_type")
        by_class = detect.get("sentence_transformers_model_type", {}).get(saved_as)
        if by_class is not None:
            return str(by_class)
    model_type = (reader("config.json") or {}).get("model_type")
    family = detect["model_type"].get(model_type)
    # A sentence-transformers repository is served by its own module stack (pooling, dense layers,
    # normalization) unless the architecture's family reads that stack itself.
    if family not in detect["reads_sentence_transformers"] and reader("modules.json") is not None:
        return "sentence_transformers"
    if family is not None:
        return str(family)
    # A bare transformers sequence classifier (BGE rerankers, ms-marco cross-encoders) is a reranker.
    for architecture in (reader("config.json") or {}).get("architectures") or ():
        for suffix, by_architecture in detect.get("architecture_suffixes", {}).items():
            if str(architecture).endswith(suffix):
                return str(by_architecture)
    for rule in detect["fallback_files"]:
        if reader(rule["file"]) is not None:
            return str(rule["family"])
    if reader.unreachable:
        raise ConfigurationError(
            f"Cannot inspect '{source}': it is not a local directory, not in the local hub cache, and the "
            "hub is unreachable (HF_HUB_OFFLINE or no network). Download it once or pass a local directory."
        )
    supported = ", ".join(load_catalog().family_names())
    found = f"model_type '{model_type}'" if model_type else "no recognizable config"
    raise ConfigurationError(
        f"Cannot serve '{source}': {found}. Supported families: {supported}. "
        "Name a catalog id (see `omniembed models`), a local directory or a hub id of a supported family."
    )


class ConfigReader:
    """Reads a model's JSON config files from a local directory or the hub (or its cache)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.local = Path(source).is_dir()
        self.unreachable = False

    def __call__(self, name: str) -> Any:
        if self.local:
            path = Path(self.source) / name
            return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

        try:
            return json.loads(Path(hf_hub_download(self.source, name)).read_text(encoding="utf-8"))
        except LocalEntryNotFoundError:
            self.unreachable = True
            return None
        except EntryNotFoundError:
            return None
        except Exception as error:
            raise ConfigurationError(
                f"Cannot read '{name}' of '{self.source}' from the hub: {error}"
            ) from error


def load_adapter(request: LoadRequest) -> Adapter:
    """The family's adapter as loaded, on torch; engine/bootstrap.load_model applies the runtime."""
    families = load_catalog().families
    if request.family not in families:
        supported = ", ".join(sorted(families))
        raise ConfigurationError(f"Unknown model family '{request.family}'. Supported families: {supported}.")
    _quiet_progress_bars()
    module_name, _, function_name = families[request.family]["loader"].partition(":")
    loader = getattr(importlib.import_module(module_name), function_name)
    logger.info("loading %s (%s) from %s", request.name, request.family, request.source)
    adapter: Adapter = loader(request)
    return adapter


def _quiet_progress_bars() -> None:
    """Weight-loading progress bars are noise in server logs and in `omniembed embed` output."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    except ImportError:
        pass

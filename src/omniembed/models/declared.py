"""What a model declares about itself, merged with what the catalog and the operator say.

Every family builds its `ModelSpec` Matryoshka sizes and prompts through `spec_facts`, so no family
parses these files on its own. The sources, read once at load:

- the model's `config.json`: `is_matryoshka`, `matryoshka_dimensions`, `task_instructions` (vLLM's keys);
- its `config_sentence_transformers.json`: `prompts` and `truncate_dim`;
- the catalog entry (`catalog/models.json`: `matryoshka_dims`, `prompts`);
- per-model options given at start (`--model-option name:key=value`, `OMNIEMBED_MODEL_OPTIONS`).

Precedence, highest first: **model options > catalog > model files**. An option is the operator's
explicit word for this deployment (an option the catalog silently overrode would be a trap); the
catalog is curated knowledge that corrects or completes what a checkpoint ships; the model's own files
are the default. Matryoshka is decided whole by the first source that says anything about it; prompts
merge key by key in the same order (within the files, sentence-transformers `prompts` over
`task_instructions`).

Matryoshka rules (`ModelSpec.matryoshka_rule`): `"range"` (catalog) allows any size from the smallest
trained one to the full one; `"listed"` (`matryoshka_dimensions`) allows exactly the listed sizes, as
vLLM does; `"any"` (`is_matryoshka: true` alone) allows 1 up to the full size.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omniembed.errors import ConfigurationError
from omniembed.models.base import MatryoshkaRule

if TYPE_CHECKING:
    from omniembed.models.registry import LoadRequest

logger = logging.getLogger(__name__)

OPTION_KEYS = ("is_matryoshka", "matryoshka_dimensions")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Matryoshka:
    """How a model may be truncated: `dims` listed sizes, `rule` range | listed | any (or none)."""

    dims: tuple[int, ...] = ()
    rule: MatryoshkaRule = "none"


@dataclass(frozen=True)
class Declared:
    """The facts a model's own files declare (absent ones are None or empty)."""

    matryoshka: Matryoshka | None = None
    task_instructions: dict[str, str] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)
    truncate_dim: int | None = None


# ----------------------------------------------------------------------------- parsing
def parse_model_option(text: str) -> tuple[str, str, str]:
    """'name:key=value' → (name, key, value); ValueError naming what is wrong."""
    head, sep, value = text.partition("=")
    name, colon, key = head.rpartition(":")
    if not (sep and colon and name.strip() and key.strip()):
        raise ValueError(f"model option {text!r} must look like 'name:key=value'")
    key = key.strip()
    if key not in OPTION_KEYS:
        raise ValueError(f"model option key {key!r} is unknown; known keys: {', '.join(OPTION_KEYS)}")
    option_matryoshka({key: value.strip()})  # the value must parse too
    return name.strip(), key, value.strip()


def _dims(value: Any, where: str) -> tuple[int, ...]:
    items = value.replace(";", ",").split(",") if isinstance(value, str) else value
    try:
        dims = sorted({int(item) for item in items if str(item).strip()})
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where} must be a list of positive integers, not {value!r}") from error
    if not dims or dims[0] < 1:
        raise ValueError(f"{where} must be a list of positive integers, not {value!r}")
    return tuple(dims)


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(f"{where} must be true or false, not {value!r}")


def _matryoshka(is_matryoshka: Any, dimensions: Any, where: str) -> Matryoshka | None:
    """vLLM's reading: listed sizes win; else `is_matryoshka` says any size or none."""
    if dimensions not in (None, "", []):
        return Matryoshka(_dims(dimensions, f"{where} matryoshka_dimensions"), "listed")
    if is_matryoshka is None:
        return None
    return Matryoshka((), "any" if _flag(is_matryoshka, f"{where} is_matryoshka") else "none")


def option_matryoshka(options: Mapping[str, str]) -> Matryoshka | None:
    return _matryoshka(options.get("is_matryoshka"), options.get("matryoshka_dimensions"), "model option")


# ----------------------------------------------------------------------------- model files
def _readable(source: str) -> bool:
    if Path(source).is_dir():
        return True
    return "::" not in source and not source.startswith(("builtin:", "package:", "open_clip:", "hf-hub:"))


def _string_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        logger.warning("ignoring %s: not an object of strings", where)
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def read_declared(source: str) -> Declared:
    """The model's own declarations; unreadable or malformed ones are ignored (with a warning)."""
    if not _readable(source):
        return Declared()
    from omniembed.models.registry import ConfigReader

    reader = ConfigReader(source)
    try:
        config = reader("config.json") or {}
        st_config = reader("config_sentence_transformers.json") or {}
    except ConfigurationError as error:
        logger.warning("cannot read the declarations of %s: %s", source, error.message)
        return Declared()
    return _from_files(
        config if isinstance(config, dict) else {}, st_config if isinstance(st_config, dict) else {}
    )


def _from_files(config: dict[str, Any], st_config: dict[str, Any]) -> Declared:
    matryoshka = None
    try:
        matryoshka = _matryoshka(
            config.get("is_matryoshka"), config.get("matryoshka_dimensions"), "config.json"
        )
    except ValueError as error:
        logger.warning("ignoring the model's Matryoshka declaration: %s", error)
    truncate = st_config.get("truncate_dim")
    if not isinstance(truncate, int) or isinstance(truncate, bool) or truncate < 1:
        truncate = None
    return Declared(
        matryoshka=matryoshka,
        task_instructions=_string_map(config.get("task_instructions") or {}, "task_instructions"),
        prompts=_string_map(st_config.get("prompts") or {}, "sentence-transformers prompts"),
        truncate_dim=truncate,
    )


# ----------------------------------------------------------------------------- merging
@dataclass(frozen=True)
class SpecFacts:
    """The merged facts, ready for ModelSpec(matryoshka_dims=..., matryoshka_rule=..., prompts=...)."""

    matryoshka_dims: tuple[int, ...]
    matryoshka_rule: MatryoshkaRule
    prompts: dict[str, str]

    def fields(self) -> dict[str, Any]:
        return {
            "matryoshka_dims": self.matryoshka_dims,
            "matryoshka_rule": self.matryoshka_rule,
            "prompts": self.prompts,
        }


def merge_matryoshka(
    option: Matryoshka | None, catalog: tuple[int, ...], files: Matryoshka | None, dimension: int
) -> Matryoshka:
    """The first source that says anything decides (options > catalog > files); sizes over the
    served dimension are dropped (a tiny test model, or a truncate_dim)."""
    chosen = option or (Matryoshka(catalog, "range") if catalog else None) or files or Matryoshka()
    dims = tuple(d for d in chosen.dims if d <= dimension)
    if chosen.rule in ("range", "listed") and not dims:
        return Matryoshka()
    return Matryoshka(dims, chosen.rule)


def merge_prompts(catalog: Mapping[str, str], declared: Declared) -> dict[str, str]:
    return {**declared.task_instructions, **declared.prompts, **catalog}


def spec_facts(request: LoadRequest, dimension: int, declared: Declared | None = None) -> SpecFacts:
    """Matryoshka sizes and prompts of the model `request` loads, served at `dimension`."""
    declared = declared if declared is not None else read_declared(request.source)
    entry = request.entry
    try:
        option = option_matryoshka(dict(request.model_options))
    except ValueError as error:
        raise ConfigurationError(f"--model-option for '{request.name}': {error}") from error
    matryoshka = merge_matryoshka(
        option, entry.matryoshka_dims if entry else (), declared.matryoshka, dimension
    )
    prompts = merge_prompts(entry.prompts if entry else {}, declared)
    return SpecFacts(matryoshka.dims, matryoshka.rule, prompts)

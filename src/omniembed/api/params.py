"""Errors name the caller's own parameters.

The engine speaks the neutral names (`dimensions`, `input[3]`, `normalize`); a dialect whose
request calls them something else (`output_dimension`, `texts[3]`, `use_activation`) renames them
in the errors raised under `named_as(...)`, so every dialect names only its own parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from omniembed.errors import OmniEmbedError

_ROOT = re.compile(r"[A-Za-z_]+")


def rename(error: OmniEmbedError, names: Mapping[str, str]) -> None:
    if error.param:
        root = _ROOT.match(error.param)
        if root and root.group() in names:
            error.param = names[root.group()] + error.param[root.end() :]
    message = error.message
    for neutral, own in names.items():
        message = re.sub(rf"(?<![\w.]){re.escape(neutral)}(?=['=\[])", own, message)
    error.message = message
    error.args = (message,)


@contextmanager
def named_as(names: Mapping[str, str], params: Mapping[str, str] | None = None) -> Iterator[None]:
    """`params`: parameters renamed only where the error points (`param`), not in its message, for a
    route that chooses with another field what the engine's message names (vLLM's `task` stands for
    the output kind, and the message still tells what to send elsewhere)."""
    try:
        yield
    except OmniEmbedError as error:
        rename(error, names)
        if params and error.param is not None and error.param in params:
            error.param = params[error.param]
        raise

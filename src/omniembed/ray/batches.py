"""`EmbedBatches`: the callable class `Dataset.map_batches` runs in each actor of a pool.

The model loads once per actor (Ray constructs the class once per actor, then calls it per batch),
through `omniembed.Embedder`, so an actor embeds exactly as the server and the Python API do: same
runtime, precision and input limits. An item the engine refuses becomes that row's `error` rather
than a failed task: Ray would otherwise retry the whole batch and finally abort the job over one
corrupt file in a million.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

import numpy as np
import pyarrow as pa

from omniembed.embedder import Embedder
from omniembed.engine.items import AudioInput, EmbedOptions, ImageInput, Item, TextInput, VideoInput
from omniembed.engine.outputs import check_output, pooled
from omniembed.errors import ConfigurationError, InvalidInputError, OmniEmbedError
from omniembed.media.payload import MediaReference

Kind = Literal["text", "image", "video", "audio"]
KINDS: tuple[str, ...] = get_args(Kind)

logger = logging.getLogger(__name__)
MATRIX = pa.list_(pa.list_(pa.float32()))


def to_item(kind: str, value: object) -> Item:
    """One cell → an engine item. Text cells may be `str` or UTF-8 bytes; media cells are the
    file's bytes (what `ray.data.read_binary_files` yields), never paths a worker may not see."""
    if value is None:
        raise InvalidInputError("The item is empty.")
    if kind == "text":
        if isinstance(value, bytes):
            return TextInput(value.decode("utf-8", errors="replace"))
        if isinstance(value, str):
            return TextInput(value)
        raise InvalidInputError(f"A text item must be a string or bytes, not {type(value).__name__}.")
    if kind not in KINDS:
        raise InvalidInputError(f"Unknown kind '{kind}'; expected one of {', '.join(KINDS)}.")
    if not isinstance(value, bytes):
        raise InvalidInputError(f"A {kind} item must be the file's bytes, not {type(value).__name__}.")
    reference = MediaReference(data=value)
    if kind == "image":
        return ImageInput(reference=reference)
    if kind == "audio":
        return AudioInput(reference=reference)
    return VideoInput(reference)


def as_table(batch: pa.Table | Mapping[str, Any]) -> pa.Table:
    """Ray hands a batch as a pyarrow Table (`batch_format="pyarrow"`) or a dict of numpy arrays
    (the default); both come back as a Table, so the output keeps fixed-size-list vectors."""
    if isinstance(batch, pa.Table):
        return batch
    columns: dict[str, pa.Array] = {}
    for name, values in batch.items():
        array = np.asarray(values)
        if array.ndim > 1:  # a tensor column: keep Ray's own extension type for it
            from ray.data.extensions import ArrowTensorArray

            columns[name] = ArrowTensorArray.from_numpy(array)
        else:
            columns[name] = pa.array(array.tolist())
    return pa.table(columns)


class EmbedBatches:
    """Embed one column of each batch and add an `embedding` column (fixed-size list of float32,
    null on failure) and an `error` column (the reason, null on success).

    >>> ds.map_batches(EmbedBatches, fn_constructor_args=("omniembed/starter",),
    ...                fn_constructor_kwargs={"kind": "image", "runtime": "openvino"},
    ...                batch_format="pyarrow", concurrency=2, num_cpus=4)

    With `options={"output": "multivector"}` (a late-interaction model), each row also gets its
    token matrix in a `multivector` column (list of float32 lists) and `embedding` holds the
    tokens' normalized mean, as a multi-vector collection stores them.

    `kind` is the same for every row, or `kind_column` names a column holding each row's kind
    (text rows may then carry UTF-8 bytes in the same binary column as the media). Rows that arrive
    with a non-null `error` are passed through untouched. `settings` are `omniembed.Settings`
    fields (limits, device, batch budgets); `options` are embed options (`normalize`,
    `dimensions`, `input_type`).
    """

    def __init__(
        self,
        model: str,
        *,
        kind: Kind = "text",
        column: str | None = None,
        kind_column: str | None = None,
        runtime: str | None = None,
        precision: str | None = None,
        device: str | None = None,
        options: Mapping[str, Any] | None = None,
        output_column: str = "embedding",
        error_column: str = "error",
        multivector_column: str = "multivector",
        **settings: Any,
    ) -> None:
        if kind not in KINDS:
            raise ConfigurationError(f"Unknown kind '{kind}'; expected one of {', '.join(KINDS)}.")
        chosen = {"runtime": runtime, "precision": precision, "device": device}
        overrides: dict[str, Any] = {name: value for name, value in chosen.items() if value is not None}
        self.kind: str = kind
        # read_binary_files names its column "bytes"; a text dataset usually has "text".
        self.column = column or ("text" if kind == "text" and kind_column is None else "bytes")
        self.kind_column = kind_column
        self.options = dict(options or {})
        self.output_column = output_column
        self.error_column = error_column
        self.multivector_column = multivector_column
        output = self.options.get("output", "dense")
        if output not in ("dense", "multivector"):
            raise ConfigurationError("EmbedBatches outputs 'dense' vectors or 'multivector' matrices.")
        self.multivector = output == "multivector"
        self.matrices: dict[int, np.ndarray] = {}  # this batch's token matrices, by row
        self.embedder = Embedder(model, **overrides, **settings)
        # Refused here, once, rather than as an error on every row: a sparse model, or a
        # late-interaction model without a pooled vector, has no one vector per item.
        check_output(
            self.embedder.spec, EmbedOptions(output=output, dimensions=self.options.get("dimensions"))
        )
        self.dimension = int(self.options.get("dimensions") or self.embedder.dimension)
        limits = self.embedder.settings
        # One engine call is admitted as a whole: stay inside both per-call limits.
        self.call_size = max(1, min(limits.max_items_per_request, limits.max_queue_items))

    def __call__(self, batch: pa.Table | Mapping[str, Any]) -> pa.Table:
        table = as_table(batch)
        values = table.column(self.column).to_pylist()
        count = len(values)
        kinds = table.column(self.kind_column).to_pylist() if self.kind_column else [self.kind] * count
        errors: list[str | None] = [None] * count
        if self.error_column in table.column_names:
            errors = table.column(self.error_column).to_pylist()
        self.matrices = {}
        vectors = self.embed_rows(kinds, values, errors)
        for name in (self.output_column, self.error_column, self.multivector_column):
            if name in table.column_names:
                table = table.drop_columns([name])
        table = table.append_column(self.output_column, self.vector_array(vectors))
        if self.multivector:
            matrices = [self.matrices[row].tolist() if row in self.matrices else None for row in range(count)]
            table = table.append_column(self.multivector_column, pa.array(matrices, MATRIX))
        return table.append_column(self.error_column, pa.array(errors, type=pa.string()))

    def vectors_of(self, items: list[Item], rows: list[int]) -> list[np.ndarray]:
        """One engine call: each item's vector (the pooled one of a token matrix, kept by row)."""
        result = self.embedder.embed(items, **self.options)
        if not self.multivector:
            return list(result.embeddings)
        matrices = result.multivectors or []
        self.matrices.update(zip(rows, matrices, strict=True))
        return list(pooled(matrices))

    def embed_rows(
        self, kinds: Sequence[str], values: Sequence[object], errors: list[str | None]
    ) -> list[np.ndarray | None]:
        """Fills `errors` in place for the rows that fail; returns one vector (or None) per row."""
        vectors: list[np.ndarray | None] = [None] * len(values)
        items: dict[int, Item] = {}
        for row, (kind, value) in enumerate(zip(kinds, values, strict=True)):
            if errors[row] is not None:
                continue
            try:
                items[row] = to_item(str(kind), value)
            except OmniEmbedError as error:
                errors[row] = error.message
        rows = list(items)
        for start in range(0, len(rows), self.call_size):
            chunk = rows[start : start + self.call_size]
            try:
                embedded = self.vectors_of([items[row] for row in chunk], chunk)
            except Exception:
                # One bad item fails the whole call: embed them one by one to tell which.
                for row in chunk:
                    vectors[row] = self.embed_one(items[row], row, errors)
                continue
            for row, vector in zip(chunk, embedded, strict=True):
                vectors[row] = vector
        return vectors

    def embed_one(self, item: Item, row: int, errors: list[str | None]) -> np.ndarray | None:
        try:
            vector: np.ndarray = self.vectors_of([item], [row])[0]
            return vector
        except OmniEmbedError as error:
            errors[row] = error.message
        except Exception as error:  # a decoder's own exception the media layer did not wrap
            logger.exception("Unexpected error embedding row %d", row)
            errors[row] = f"{type(error).__name__}: {error}"
        return None

    def vector_array(self, vectors: Sequence[np.ndarray | None]) -> pa.FixedSizeListArray:
        flat = np.zeros((len(vectors), self.dimension), dtype=np.float32)
        valid = np.zeros(len(vectors), dtype=bool)
        for row, vector in enumerate(vectors):
            if vector is not None:
                flat[row] = vector
                valid[row] = True
        values = pa.array(flat.reshape(-1), type=pa.float32())
        return pa.FixedSizeListArray.from_arrays(values, self.dimension, mask=pa.array(~valid))

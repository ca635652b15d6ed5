"""The CLIP byte-level BPE vocabulary, as open_clip ships it, in the files CLIPTokenizer reads."""

from __future__ import annotations

import functools
import gzip
import json
import tempfile
from pathlib import Path

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


@functools.cache
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte → printable character table."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, [chr(c) for c in codes], strict=True))


@functools.cache
def write_tokenizer_files(bpe_gz: Path, directory: Path | None = None) -> tuple[Path, Path]:
    """`bpe_simple_vocab_16e6.txt.gz` → (vocab.json, merges.txt), the same table open_clip builds."""
    lines = gzip.decompress(Path(bpe_gz).read_bytes()).decode("utf-8").split("\n")
    merges = lines[1 : 49152 - 256 - 2 + 1]
    base = list(bytes_to_unicode().values())
    vocab = [*base, *(token + "</w>" for token in base), *("".join(m.split()) for m in merges)]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    target = directory or Path(tempfile.mkdtemp(prefix="omniembed-clip-bpe-"))
    target.mkdir(parents=True, exist_ok=True)
    vocab_file, merges_file = target / "vocab.json", target / "merges.txt"
    vocab_file.write_text(json.dumps({token: index for index, token in enumerate(vocab)}), encoding="utf-8")
    merges_file.write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return vocab_file, merges_file

"""MobileCLIP throughput: a real-size MobileCLIP architecture with random weights, measured by
`throughput.py` (raw forward, in-process engine, server) on each runtime:precision given.

    python benchmarks/mobileclip.py                       # MobileCLIP-S2: torch:fp32 and openvino:int8
    python benchmarks/mobileclip.py --architecture MobileCLIP2-S0 --configs torch:fp32 openvino:fp32

The model is built with open_clip's own code from its config (FastViT image tower from timm, the
12-layer text tower) and saved as a local open_clip directory, so the server loads it exactly as it
would load the hub weights (`MobileCLIP/mobileclip_s2`). Run by hand; not part of CI.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def build(architecture: str, directory: Path) -> Path:
    import open_clip
    import torch
    from safetensors.torch import save_file

    if (directory / "open_clip_config.json").is_file():
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = open_clip.create_model(architecture, pretrained=None)
    save_file(
        {key: value.contiguous() for key, value in model.eval().state_dict().items()},
        str(directory / "open_clip_model.safetensors"),
    )
    tag = open_clip.list_pretrained_tags_by_model(architecture)[0]
    pretrained = open_clip.get_pretrained_cfg(architecture, tag)
    preprocess = {
        k: pretrained[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in pretrained
    }
    config = {"model_cfg": open_clip.get_model_config(architecture), "preprocess_cfg": preprocess}
    (directory / "open_clip_config.json").write_text(json.dumps(config))
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--architecture", default="MobileCLIP-S2")
    parser.add_argument("--configs", nargs="*", default=["torch:fp32", "openvino:int8"])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "omniembed-bench-mobileclip"
    )
    args, rest = parser.parse_known_args()
    directory = build(args.architecture, args.work_dir / args.architecture)
    script = Path(__file__).with_name("throughput.py")
    command = [sys.executable, str(script), "--model", str(directory), "--configs", *args.configs]
    command += ["--seconds", str(args.seconds), "--work-dir", str(args.work_dir / "run"), *rest]
    raise SystemExit(subprocess.call(command))


if __name__ == "__main__":
    main()

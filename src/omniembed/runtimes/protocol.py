"""What a compiled runtime hands back: a callable from named input arrays to the output array.

A leaf module, so the runtimes (onnx.py, openvino.py) and the towers that use them (compiled.py)
depend on it and not on each other.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Runner = Callable[[dict[str, np.ndarray]], np.ndarray]

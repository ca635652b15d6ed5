"""BLIP-2 retrieval (`Blip2ForImageTextRetrieval`): Q-Former image and text projections to 256-d.

Text: the Q-Former's [CLS] output through `text_projection` (the reference's `text_embeds`).
Image: the 32 query outputs through `vision_projection`, each normalized (the reference's
`image_embeds`), averaged into one vector. The reference scores an image by its best query; one
vector per image needs a pooling, and the mean of the normalized query embeddings is it.
"""

from __future__ import annotations

import torch
from torch.nn import functional

from omniembed.models.base import Adapter
from omniembed.models.clip import build_dual_encoder
from omniembed.models.registry import LoadRequest
from omniembed.models.torch_towers import hf_load_kwargs, resolve_device, torch_dtype


def load(request: LoadRequest) -> Adapter:
    from transformers import AutoImageProcessor, AutoTokenizer, Blip2ForImageTextRetrieval

    kwargs = hf_load_kwargs(request.revision, request.trust_remote_code)
    device = resolve_device(request.device)
    dtype = torch_dtype(request.precision, request.runtime)
    model = (
        Blip2ForImageTextRetrieval.from_pretrained(request.source, dtype=dtype, **kwargs).eval().to(device)
    )
    tokenizer = AutoTokenizer.from_pretrained(request.source, **kwargs)
    processor = AutoImageProcessor.from_pretrained(request.source, **kwargs)

    def encode_text(t: dict[str, torch.Tensor]) -> torch.Tensor:
        embeddings = model.embeddings(input_ids=t["input_ids"])
        output = model.qformer(query_embeds=embeddings, query_length=0, attention_mask=t["attention_mask"])
        return model.text_projection(output.last_hidden_state[:, 0, :])

    def encode_image(t: dict[str, torch.Tensor]) -> torch.Tensor:
        patches = model.vision_model(pixel_values=t["pixel_values"]).last_hidden_state
        queries = model.query_tokens.expand(patches.shape[0], -1, -1)
        mask = torch.ones(patches.shape[:-1], dtype=torch.long, device=patches.device)
        output = model.qformer(
            query_embeds=queries, encoder_hidden_states=patches, encoder_attention_mask=mask
        )
        projected = functional.normalize(model.vision_projection(output.last_hidden_state), dim=-1)
        return projected.mean(dim=1)

    context = int(model.config.qformer_config.max_position_embeddings)
    return build_dual_encoder(
        request,
        model,
        tokenizer,
        processor,
        family="blip2",
        text_encoder=encode_text,
        image_encoder=encode_image,
        max_text_tokens=context,
        device=device,
        dtype=dtype,
        dimension=int(model.config.image_text_hidden_size),
    )

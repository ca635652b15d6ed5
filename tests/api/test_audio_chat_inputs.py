"""Audio content parts and vLLM's `messages` body: their translation into neutral items, and every
bad shape answered as a 4xx in the route's own dialect (the served models here have no audio)."""

from __future__ import annotations

import base64

import pytest

from omniembed.api.body import validate
from omniembed.api.cohere.protocol import CohereEmbedRequest
from omniembed.api.cohere.serving import to_items as cohere_items
from omniembed.api.content import content_item
from omniembed.api.modality import modality_items
from omniembed.api.multipart import _kind_of
from omniembed.api.openai.protocol import EmbeddingRequest
from omniembed.api.openai.serving import to_items as openai_items
from omniembed.engine.items import AudioInput, ChatInput, ImageInput, InterleavedInput, TextInput
from omniembed.errors import InvalidInputError, UnsupportedMediaTypeError
from omniembed.settings import Settings
from tests.support.media import data_uri, encode, photo

SETTINGS = Settings(models=["unused"])
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "  # a header is enough: nothing is decoded here
WAV_B64 = base64.b64encode(WAV).decode()
WAV_URI = f"data:audio/wav;base64,{WAV_B64}"
JPEG_URI = data_uri(encode(photo("coffee")))


def item(value: object) -> object:
    parsed = validate({"input": [value]}, EmbeddingRequest)
    return openai_items(parsed, SETTINGS)[0]


@pytest.mark.parametrize(
    ("part", "mime"),
    [
        ({"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "wav"}}, "audio/wav"),
        ({"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "mp3"}}, "audio/mpeg"),
        ({"type": "input_audio", "input_audio": {"data": WAV_B64}}, None),
        ({"type": "input_audio", "input_audio": {"data": WAV_URI}}, "audio/wav"),
        ({"type": "audio_url", "audio_url": {"url": WAV_URI}}, "audio/wav"),
        ({"type": "audio_url", "audio_url": WAV_URI}, "audio/wav"),
        ({"type": "audio_url", "audio_url": WAV_B64}, None),
        ({"type": "audio_url", "audio_url": "data:application/ogg;base64,T2dnUw=="}, "application/ogg"),
    ],
)
def test_audio_parts_become_audio_inputs(part, mime):
    got = item(part)
    assert isinstance(got, AudioInput) and got.reference is not None
    assert got.reference.data in (WAV, b"OggS") and got.reference.mime == mime


def test_audio_url_keeps_a_url_to_fetch():
    got = item({"type": "audio_url", "audio_url": {"url": "https://example.com/a.mp3"}})
    assert isinstance(got, AudioInput) and got.reference is not None
    assert got.reference.url == "https://example.com/a.mp3" and got.reference.data is None


def test_mixed_parts_are_one_interleaved_item():
    parts = [
        {"type": "text", "text": "a dog barking"},
        {"type": "image_url", "image_url": JPEG_URI},
        {"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "wav"}},
    ]
    got = item(parts)
    assert isinstance(got, InterleavedInput)
    assert [type(part) for part in got.parts] == [TextInput, ImageInput, AudioInput]


@pytest.mark.parametrize(
    ("part", "error", "param"),
    [
        (
            {"type": "audio_url", "audio_url": "data:image/png;base64,AAAA"},
            UnsupportedMediaTypeError,
            "input[0]",
        ),
        ({"type": "audio_url", "audio_url": "ftp://example.com/a.wav"}, InvalidInputError, "input[0]"),
        ({"type": "audio_url", "audio_url": "!!!"}, InvalidInputError, "input[0]"),
        (
            {"type": "input_audio", "input_audio": {"data": "https://example.com/a.wav"}},
            InvalidInputError,
            "input[0].input_audio.data",
        ),
        (
            {"type": "input_audio", "input_audio": {"data": "  "}},
            InvalidInputError,
            "input[0].input_audio.data",
        ),
    ],
)
def test_bad_audio_values_name_the_part(part, error, param):
    with pytest.raises(error) as raised:
        item(part)
    assert raised.value.param == param


def test_messages_become_one_chat_item():
    body = validate(
        {
            "messages": [
                {"role": "system", "content": "Represent the user's query."},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is this sound?"},
                        {"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "wav"}},
                        {"type": "image_url", "image_url": {"url": JPEG_URI}},
                    ],
                },
                {"role": "assistant", "content": [{"type": "text", "text": "a dog"}]},
            ]
        },
        EmbeddingRequest,
    )
    [chat] = openai_items(body, SETTINGS)
    assert isinstance(chat, ChatInput)
    assert [message.role for message in chat.messages] == ["system", "user", "assistant"]
    assert chat.messages[0].parts == (TextInput("Represent the user's query."),)
    assert [type(part) for part in chat.messages[1].parts] == [TextInput, AudioInput, ImageInput]


def test_chat_parts_count_against_the_item_limit():
    settings = Settings(models=["unused"], max_items_per_request=2)
    body = validate({"messages": [{"role": "user", "content": "a"}] * 3}, EmbeddingRequest)
    with pytest.raises(InvalidInputError):
        openai_items(body, settings)


def test_modality_audio_reads_strings_as_sounds():
    items = modality_items([WAV_URI, "https://example.com/b.flac"], "audio", SETTINGS)
    assert all(isinstance(got, AudioInput) for got in items)
    with pytest.raises(InvalidInputError) as raised:
        modality_items([WAV_URI, 7], "audio", SETTINGS)
    assert raised.value.param == "input[1]"


def test_cohere_inputs_take_audio_parts_as_one_item():
    body = validate(
        {
            "inputs": [
                {
                    "content": [
                        {"type": "text", "text": "a dog"},
                        {"type": "audio_url", "audio_url": {"url": WAV_URI}},
                        {"type": "input_audio", "input_audio": {"data": WAV_B64, "format": "wav"}},
                    ]
                },
                {"content": [{"type": "audio_url", "audio_url": WAV_URI}]},
            ]
        },
        CohereEmbedRequest,
    )
    first, second = cohere_items(body, SETTINGS)
    assert isinstance(first, InterleavedInput)
    assert [type(part) for part in first.parts] == [TextInput, AudioInput, AudioInput]
    assert isinstance(second, InterleavedInput) and isinstance(second.parts[0], AudioInput)


@pytest.mark.parametrize(
    ("name", "mime", "data", "kind"),
    [
        ("file", None, WAV, "audio"),
        ("file", "application/octet-stream", b"fLaC\x00\x00\x00\x22", "audio"),
        ("file", None, b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "audio"),
        ("file", None, b"\x00\x00\x00\x20ftypisom\x00\x00\x00\x00", "video"),
        ("audio", None, b"anything", "audio"),
        ("file", "audio/mpeg", b"anything", "audio"),
        ("file", "image/jpeg", encode(photo("coffee")), "image"),
        ("file", None, encode(photo("coffee")), "image"),
    ],
)
def test_uploads_are_read_as_audio_by_name_type_or_bytes(name, mime, data, kind):
    assert _kind_of(name, mime, data) == kind


def test_content_item_refuses_an_unknown_part():
    with pytest.raises(InvalidInputError):
        content_item(object(), SETTINGS, "input[0]")


# ---------------------------------------------------------------------------------------- routes
MESSAGES = [{"role": "user", "content": "a dog barking"}]


async def test_messages_body_gives_one_vector(client):
    """On a two-tower model a one-message chat is that text's vector (the normalized mean of one)."""
    response = await client.post("/v1/embeddings", json={"model": "minilm", "messages": MESSAGES})
    assert response.status_code == 200, response.text
    [row] = response.json()["data"]
    plain = await client.post("/v1/embeddings", json={"model": "minilm", "input": "a dog barking"})
    assert row["index"] == 0
    assert row["embedding"] == pytest.approx(plain.json()["data"][0]["embedding"], abs=1e-5)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x", "messages": MESSAGES}, "input"),
        ({}, "input"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": "x", "extra": 1}]}, "messages[0].extra"),
        ({"messages": [{"role": "user", "content": []}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": "  "}]}, "messages[0].content"),
        ({"messages": []}, "messages"),
        ({"messages": "hello"}, "messages"),
        (
            {"messages": [{"role": "user", "content": [{"type": "audio", "audio": "x"}]}]},
            "messages[0].content",
        ),
        ({"messages": MESSAGES, "modality": "image"}, "modality"),
        ({"messages": MESSAGES, "add_generation_prompt": True}, "add_generation_prompt"),
        ({"messages": MESSAGES, "continue_final_message": True}, "continue_final_message"),
        ({"messages": MESSAGES, "chat_template": "{{ messages }}"}, "chat_template"),
        ({"messages": MESSAGES, "chat_template_kwargs": {"a": 1}}, "chat_template_kwargs"),
        ({"messages": MESSAGES, "mm_processor_kwargs": {"a": 1}}, "mm_processor_kwargs"),
        ({"messages": MESSAGES, "add_special_tokens": True}, "add_special_tokens"),
    ],
)
async def test_bad_messages_bodies_are_openai_400s(client, body, param):
    response = await client.post("/v1/embeddings", json={"model": "minilm", **body})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    # (a union branch tag may follow the field in a validation error's param)
    assert error["type"] == "invalid_request_error" and error["param"].startswith(param), error


async def test_vllm_chat_defaults_are_accepted(client):
    body = {
        "model": "minilm",
        "messages": MESSAGES,
        "add_special_tokens": False,
        "add_generation_prompt": False,
    }
    response = await client.post("/v1/embeddings", json=body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/embeddings", {"input": [[{"type": "input_audio", "input_audio": {"data": WAV_B64}}]]}),
        (
            "/v1/embeddings",
            {"messages": [{"role": "user", "content": [{"type": "audio_url", "audio_url": WAV_URI}]}]},
        ),
        ("/v1/embeddings/audio", {"input": WAV_URI}),
        ("/v1/score", {"queries": ["a dog"], "documents": [{"type": "audio_url", "audio_url": WAV_URI}]}),
        ("/v1/classify", {"inputs": [{"type": "audio_url", "audio_url": WAV_URI}], "labels": ["dog", "cat"]}),
    ],
)
async def test_audio_on_a_model_without_audio_is_a_400(client, path, body):
    response = await client.post(path, json={"model": "tiny-clip", **body})
    assert response.status_code == 400, response.text
    assert "audio" in response.json()["error"]["message"]


async def test_cohere_audio_on_a_model_without_audio_is_a_cohere_400(client):
    body = {
        "model": "tiny-clip",
        "input_type": "search_document",
        "inputs": [{"content": [{"type": "audio_url", "audio_url": {"url": WAV_URI}}]}],
    }
    response = await client.post("/v2/embed", json=body)
    assert response.status_code == 400, response.text
    assert "audio" in response.json()["message"]  # Cohere's error shape: a top-level message


@pytest.mark.parametrize(
    "body",
    [
        {"input": WAV_URI, "num_frames": 4},
        {"input": []},
        {"input": "data:image/png;base64,AAAA"},
        {"input": WAV_B64, "format": "aiff"},
        {"input": 5},
    ],
)
async def test_bad_audio_route_bodies_are_4xx(client, body):
    response = await client.post("/v1/embeddings/audio", json={"model": "tiny-clip", **body})
    assert 400 <= response.status_code < 500, response.text
    assert "error" in response.json()


async def test_audio_route_multipart_without_a_file_is_a_400(client):
    response = await client.post(
        "/v1/embeddings/audio", data={"model": "tiny-clip"}, files={"x": (None, b"")}
    )
    assert response.status_code == 400, response.text

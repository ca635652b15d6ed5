"""Collections hold sounds like images: audio items are embedded with the collection's audio model,
a text query finds them by vector, a sound finds itself, and `omniembed index` picks audio files
up by suffix."""

from __future__ import annotations

import base64

import httpx
import pytest

from omniembed.api.app import create_app
from omniembed.engine.bootstrap import engine_from_settings, load_models
from omniembed.errors import CapabilityError, InvalidInputError
from omniembed.media.payload import MediaReference
from omniembed.retrieval.ingest import AUDIO_SUFFIXES, IndexReport, index_file, items_for, supported
from omniembed.retrieval.service import CollectionItem, CollectionService
from omniembed.settings import Settings
from tests.support.synthetic_audio import encode_audio, espeak_wav, noise_burst, tone
from tests.support.tiny_clap import build_tiny_clap


@pytest.fixture(scope="module")
async def clap_engine(tmp_path_factory, minilm_dir):
    model = build_tiny_clap(tmp_path_factory.mktemp("models") / "tiny-clap")
    settings = Settings(models=[f"tiny-clap={model}", f"minilm={minilm_dir}"], batch_wait_ms=5.0)
    built = engine_from_settings(settings)
    await load_models(built, settings)
    yield built
    await built.close()


@pytest.fixture
def audio_service(clap_engine, store):
    return CollectionService(clap_engine, store)


@pytest.fixture(scope="module")
def sounds() -> dict[str, bytes]:
    return {
        "speech": espeak_wav("a man is talking"),
        "tone": encode_audio(tone(440, 1.0, 16_000), 16_000, "flac"),
        "noise": encode_audio(noise_burst(1.0, 22_050), 22_050, "mp3"),
    }


def sound(item_id: str, data: bytes) -> CollectionItem:
    return CollectionItem(id=item_id, modality="audio", media=MediaReference(data=data))


async def test_audio_items_are_found_by_text_and_by_sound(audio_service, sounds):
    await audio_service.create("sounds", "tiny-clap")
    items = [sound(name, data) for name, data in sounds.items()]
    items.append(CollectionItem(id="note", modality="text", text="a recording of a man talking"))
    assert await audio_service.add("sounds", items) == ["speech", "tone", "noise", "note"]
    by_text = await audio_service.search("sounds", text="a man talking", mode="dense", modalities=("audio",))
    assert {hit.id for hit in by_text} == {"speech", "tone", "noise"}
    assert all(hit.modality == "audio" for hit in by_text)
    for name, data in sounds.items():
        [top] = await audio_service.search("sounds", audio=MediaReference(data=data), mode="dense", top_k=1)
        assert top.id == name and top.score == pytest.approx(1.0, abs=1e-4)


async def test_audio_items_need_a_model_with_audio(audio_service, sounds):
    await audio_service.create("texts", "minilm")
    with pytest.raises(CapabilityError):
        await audio_service.add("texts", [sound("speech", sounds["speech"])])
    with pytest.raises(InvalidInputError):
        await audio_service.search("texts", text="x", modalities=("smell",))


def test_audio_files_are_indexed_by_suffix(tmp_path, sounds):
    assert {".wav", ".mp3", ".flac", ".ogg", ".opus", ".m4a"} == AUDIO_SUFFIXES
    path = tmp_path / "Speech.WAV"
    path.write_bytes(sounds["speech"])
    assert supported(path)
    [item] = items_for(path, "Speech.WAV", "digest", 200, 40)
    assert item.modality == "audio" and item.media == MediaReference(data=sounds["speech"])


async def test_index_a_folder_of_sounds(audio_service, tmp_path, sounds):
    folder = tmp_path / "recordings"
    folder.mkdir()
    (folder / "speech.wav").write_bytes(sounds["speech"])
    (folder / "tone.flac").write_bytes(sounds["tone"])
    (folder / "noise.mp3").write_bytes(sounds["noise"])
    (folder / "readme.txt").write_text("three recordings: speech, a tone and noise")
    await audio_service.create("recordings", "tiny-clap")
    report = IndexReport()
    for path in sorted(folder.iterdir()):
        await index_file(audio_service, "recordings", path, path.name, report, 200, 40)
    assert report.indexed_files == 4 and not report.failed
    [top] = await audio_service.search(
        "recordings", audio=MediaReference(data=sounds["tone"]), mode="dense", top_k=1
    )
    assert top.id == "tone.flac#0" and top.modality == "audio"


async def test_collection_routes_take_audio_items_and_queries(clap_engine, sounds, tmp_path):
    app = create_app(Settings(models=["unused"], data_dir=tmp_path), engine=clap_engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        created = await http.post("/v1/collections", json={"name": "calls", "model": "tiny-clap"})
        assert created.status_code == 201, created.text
        uri = f"data:audio/wav;base64,{base64.b64encode(sounds['speech']).decode()}"
        items = [{"id": "call-1", "audio": uri}, {"id": "memo", "text": "call the plumber"}]
        added = await http.post("/v1/collections/calls/items", json={"items": items})
        assert added.status_code == 200 and added.json()["count"] == 2, added.text
        body = {"query": {"audio": uri}, "mode": "dense", "top_k": 1}
        hits = (await http.post("/v1/collections/calls/search", json=body)).json()["hits"]
        assert hits[0]["id"] == "call-1" and hits[0]["modality"] == "audio"
        body = {"query": "a phone call", "mode": "dense", "modality": ["audio"]}
        hits = (await http.post("/v1/collections/calls/search", json=body)).json()["hits"]
        assert [hit["id"] for hit in hits] == ["call-1"]
        both = {"items": [{"id": "x", "audio": uri, "text": "y"}]}
        refused = await http.post("/v1/collections/calls/items", json=both)
        assert refused.status_code == 400 and "exactly one of" in refused.text
        wrong = {"items": [{"id": "x", "audio": "data:image/png;base64,AAAA"}]}
        assert (await http.post("/v1/collections/calls/items", json=wrong)).status_code == 415

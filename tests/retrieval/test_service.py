"""Collections on both stores: lifecycle, items of every modality, filters, model binding."""

from __future__ import annotations

import pytest

from omniembed.errors import ConflictError, InvalidInputError, ModelNotFoundError, NotFoundError
from omniembed.media.payload import MediaReference
from omniembed.retrieval.service import CollectionItem
from tests.support.media import encode, photo, video_path


def text(item_id: str, value: str, **metadata) -> CollectionItem:
    return CollectionItem(id=item_id, modality="text", text=value, metadata=metadata)


def image(item_id: str, name: str, **metadata) -> CollectionItem:
    return CollectionItem(
        id=item_id, modality="image", media=MediaReference(data=encode(photo(name))), metadata=metadata
    )


async def test_lifecycle(service):
    config = await service.create("notes", "minilm")
    assert (config.model, config.dimension) == ("minilm", 384)
    assert [c.name for c in await service.list_configs()] == ["notes"]
    with pytest.raises(ConflictError):
        await service.create("notes", "minilm")
    with pytest.raises(InvalidInputError):
        await service.create("../escape", "minilm")
    with pytest.raises(ModelNotFoundError):
        await service.create("other", "no-such-model")
    await service.drop("notes")
    with pytest.raises(NotFoundError):
        await service.describe("notes")


async def test_items_of_every_modality_filters_and_deletes(service):
    await service.create("mixed", "tiny-clip")
    video = CollectionItem(id="v1", modality="video", media=MediaReference(data=video_path().read_bytes()))
    items = [
        text("t1", "a photo of a cat", lang="en"),
        text("t2", "a red car", lang="de"),
        image("i1", "chelsea", lang="en"),
        video,
    ]
    assert await service.add("mixed", items) == ["t1", "t2", "i1", "v1"]
    assert (await service.describe("mixed"))[1] == 4
    hits = await service.search("mixed", text="a photo of a cat", top_k=10, mode="dense")
    assert {hit.id for hit in hits} == {"t1", "t2", "i1", "v1"}
    assert hits[0].id == "t1" and hits[0].score == pytest.approx(1.0, abs=1e-4)
    by_image = await service.search(
        "mixed", image=MediaReference(data=encode(photo("chelsea"))), mode="dense", top_k=1
    )
    assert by_image[0].id == "i1" and by_image[0].modality == "image"
    only_en = await service.search("mixed", text="cat", mode="dense", filter={"lang": "en"})
    assert {hit.id for hit in only_en} == {"t1", "i1"}
    media_only = await service.search("mixed", text="cat", mode="dense", modalities=("image", "video"))
    assert {hit.id for hit in media_only} == {"i1", "v1"}
    either = await service.search("mixed", text="cat", mode="dense", filter={"lang": ["en", "de"]})
    assert {hit.id for hit in either} == {"t1", "t2", "i1"}
    await service.delete_items("mixed", ["t2"])
    assert (await service.describe("mixed"))[1] == 3
    [stored] = await service.retrieve("mixed", ["t1"])
    assert stored.payload["text"] == "a photo of a cat" and len(stored.vector) == 16


async def test_upsert_by_id_replaces(service):
    await service.create("dedup", "minilm")
    await service.add("dedup", [text("a", "first version")])
    await service.add("dedup", [text("a", "second version")])
    assert (await service.describe("dedup"))[1] == 1
    [stored] = await service.retrieve("dedup", ["a"])
    assert stored.payload["text"] == "second version"


async def test_collection_is_bound_to_its_model(service):
    await service.create("bound", "minilm")
    with pytest.raises(InvalidInputError, match="minilm"):
        await service.add("bound", [text("x", "hello")], model="tiny-clip")
    await service.add("bound", [text("x", "hello")], model="minilm")
    with pytest.raises(InvalidInputError):
        await service.add("bound", [text("y", "a"), text("y", "b")])
    with pytest.raises(InvalidInputError, match=r"(?i)keyword"):
        await service.search("bound", image=MediaReference(data=encode(photo())), mode="keyword")


CORPUS = {
    "paris": "The Eiffel Tower is a wrought-iron lattice tower in Paris, completed in 1889.",
    "photosynthesis": "Photosynthesis lets plants turn sunlight, water and CO2 into sugar and oxygen.",
    "python": "Python is a programming language known for its readable syntax and large standard library.",
    "everest": "Mount Everest is Earth's highest mountain above sea level, in the Himalayas.",
    "coffee": "Espresso is brewed by forcing hot water through finely ground coffee beans.",
    "football": "The World Cup is the most watched football tournament, held every four years.",
}
QUERIES = {
    "Which landmark in France was finished in the nineteenth century?": "paris",
    "how do plants make food from light": "photosynthesis",
    "a language for writing software": "python",
    "tallest peak in the world": "everest",
    "how is an espresso made": "coffee",
    "international soccer competition": "football",
}


async def test_semantic_search_with_real_minilm(service):
    await service.create("facts", "minilm")
    await service.add("facts", [text(key, value) for key, value in CORPUS.items()])
    for query, expected in QUERIES.items():
        hits = await service.search("facts", text=query, top_k=3, mode="dense")
        assert hits[0].id == expected, (query, [h.id for h in hits])
        # Hybrid keeps it among the first two: RRF lets a keyword-only match ("world") compete.
        hybrid = await service.search("facts", text=query, top_k=3, mode="hybrid")
        assert expected in [h.id for h in hybrid[:2]], (query, [h.id for h in hybrid])


async def test_hybrid_finds_an_exact_identifier_that_dense_misses(service):
    import random
    import uuid

    generator = random.Random(7)
    ids = [str(uuid.UUID(int=generator.getrandbits(128), version=4)) for _ in range(12)]
    documents = [
        text(f"ticket-{i}", f"Support ticket {value} was escalated to the storage team for review.")
        for i, value in enumerate(ids)
    ]
    documents.append(text("note", "Tickets escalated to the storage team are reviewed every morning."))
    await service.create("tickets", "minilm")
    await service.add("tickets", documents)
    target = 7
    query = ids[target]
    dense = await service.search("tickets", text=query, top_k=1, mode="dense")
    hybrid = await service.search("tickets", text=query, top_k=1, mode="hybrid")
    keyword = await service.search("tickets", text=query, top_k=1, mode="keyword")
    assert dense[0].id != f"ticket-{target}"  # a UUID means nothing to a sentence embedder
    assert hybrid[0].id == f"ticket-{target}" and keyword[0].id == f"ticket-{target}"


async def test_filenames_are_found_by_keyword(service):
    await service.create("files", "minilm")
    await service.add(
        "files",
        [
            text("a", "Quarterly results are in report_2024_q3.pdf on the shared drive."),
            text("b", "Quarterly results are in report_2023_q1.pdf on the shared drive."),
            text("c", "The annual report summarizes revenue for the year."),
        ],
    )
    hits = await service.search("files", text="report_2024_q3.pdf", top_k=1, mode="hybrid")
    assert hits[0].id == "a"

"""Facebook's "Download your information" archive: messages, posts, friends, mojibake."""

from __future__ import annotations

import io
import json

import pytest
from selfdata.box import Box
from selfdata.connectors.facebook import detect
from selfdata.connectors.facebook.mojibake import repair, repair_all
from selfdata.connectors.facebook.records import FRIENDS, MESSAGES, POSTS
from selfdata.connectors.files import detect_source
from selfdata.connectors.sinks import SourceFile

from .file_helpers import counts, documents, ingest, sample, zip_bytes

FB = "facebook"
THREAD = "your_activity_across_facebook/messages/inbox/zoedupre_10158792361234567"


def archive(**extra: bytes) -> bytes:
    """An export in the 2024 layout (folders under your_activity_across_facebook/)."""
    return zip_bytes(
        {
            "personal_information/profile_information/profile_information.json": b"{}",
            f"{THREAD}/message_1.json": sample(FB, "message_1.json"),
            f"{THREAD}/photos/412345678_1234567890123456_n.jpg": b"\xff\xd8\xff\xe0 not really",
            "your_activity_across_facebook/posts/your_posts__check_ins__photos_and_videos_1.json": sample(
                FB, "your_posts__check_ins__photos_and_videos_1.json"
            ),
            "connections/friends/your_friends.json": sample(FB, "your_friends.json"),
            **extra,
        }
    )


@pytest.mark.parametrize(
    ("broken", "fixed"),
    [
        ("Caf\u00c3\u00a9", "Café"),
        ("\u00c3\u00a0 18h", "à 18h"),
        ("\u00f0\u009f\u0098\u0082", "😂"),
        ("\u00e2\u009d\u00a4", "❤"),
        ("it\u00e2\u0080\u0099s", "it’s"),  # U+2019, the typographic apostrophe
        # not mojibake: left exactly as it is
        ("Café déjà", "Café déjà"),  # real Latin-1 range text, not valid UTF-8 as bytes
        ("Zoë 😂", "Zoë 😂"),  # already real Unicode (a code point above U+00FF)
        ("plain ascii", "plain ascii"),
        ("", ""),
    ],
)
def test_mojibake_is_repaired_only_where_it_is_mojibake(broken: str, fixed: str) -> None:
    assert repair(broken) == fixed


def test_repair_walks_keys_lists_and_leaves_numbers() -> None:
    value = json.loads('{"n\\u00c3\\u00a9": ["\\u00c3\\u00a9", 1, null, {"a": true}]}')
    assert repair_all(value) == {"né": ["é", 1, None, {"a": True}]}


async def test_an_archive_comes_in_repaired(box: Box) -> None:
    report = await ingest(box, "facebook-jeandupont-2024-01-06.zip", archive())
    assert report["format"] == "facebook"
    assert counts(report, MESSAGES) == (3, 0, 0)
    assert counts(report, POSTS) == (2, 0, 0)
    assert counts(report, FRIENDS) == (3, 0, 0)
    wheres = sorted(e["message"] for e in report["error_samples"])
    assert wheres == ["no valid timestamp", "no valid timestamp_ms"]

    messages = sorted(await documents(box, MESSAGES), key=lambda m: m["time"])
    first = messages[0]
    assert first["thread"] == "inbox/zoedupre_10158792361234567"
    assert first["sender"] == "Zoë Dupré"
    assert first["text"] == "On se retrouve au café à 18h ? 😂"
    assert first["time"] == "2024-01-05T13:20:00Z"
    assert first["reactions"] == [{"reaction": "❤", "actor": "Jean Dupont"}]
    assert messages[1]["media"][0].endswith("_n.jpg")
    assert messages[2]["link"] == "https://www.lyon.fr/evenement/fete-des-lumieres"

    posts = sorted(await documents(box, POSTS), key=lambda p: p["time"])
    assert posts[0]["title"] == "Jean Dupont était à Parc de la Tête d'Or."
    assert posts[0]["place"]["name"] == "Parc de la Tête d'Or"
    assert posts[1]["text"] == "Fête des Lumières ce soir ✨"
    assert posts[1]["links"] == ["https://www.fetedeslumieres.lyon.fr/"]

    friends = {f["name"]: f for f in await documents(box, FRIENDS)}
    assert set(friends) == {"Zoë Dupré", "Renée Martin", "Café déjà Unicode"}
    assert friends["Renée Martin"]["since"] == "2015-01-01T00:00:00Z"


async def test_the_same_archive_twice_changes_nothing(box: Box) -> None:
    await ingest(box, "fb.zip", archive())
    again = await ingest(box, "fb.zip", archive())
    for doctype, n in ((MESSAGES, 3), (POSTS, 2), (FRIENDS, 3)):
        assert counts(again, doctype) == (0, 0, n)


async def test_the_older_layout_and_friends_list(box: Box) -> None:
    old_friends = json.dumps({"friends": [{"name": "Ren\u00c3\u00a9e", "timestamp": 1420070400}]})
    data = zip_bytes(
        {
            "messages/inbox/zoedupre_ab12cd/message_1.json": sample(FB, "message_1.json"),
            "posts/your_posts_1.json": sample(
                FB, "your_posts__check_ins__photos_and_videos_1.json"
            ),
            "friends/friends.json": old_friends.encode(),
        }
    )
    report = await ingest(box, "facebook-2019.zip", data)
    assert report["format"] == "facebook"
    assert counts(report, MESSAGES)[0] == 3
    assert counts(report, POSTS)[0] == 2
    (friend,) = await documents(box, FRIENDS)
    assert friend["name"] == "Renée"
    assert {m["thread"] for m in await documents(box, MESSAGES)} == {"inbox/zoedupre_ab12cd"}


async def test_hostile_and_broken_members(box: Box) -> None:
    message = sample(FB, "message_1.json")
    data = archive(
        **{
            "../../../home/user/.bashrc": b"evil",
            f"{THREAD}/message_2.json": message[: len(message) // 2],  # truncated
            "connections/friends/friends.json": b'{"something_else": []}',
            "your_activity_across_facebook/messages/inbox/big_1/message_1.json": json.dumps(
                {
                    "messages": [
                        {
                            "sender_name": "x",
                            "timestamp_ms": 1704460800000,
                            "content": "y" * 200_000,
                        }
                    ]
                }
            ).encode(),
        }
    )
    report = await ingest(box, "fb.zip", data)
    messages = " | ".join(f"{e['where']}: {e['message']}" for e in report["error_samples"])
    assert "unsafe entry name" in messages
    assert "message_2.json" in messages
    assert "not valid JSON" in messages
    assert "not a list of friends" in messages
    assert "selfdata.facebook.messages" in messages  # the 200 kB message fails its schema
    # what was good is kept: message_2's first messages, and all of message_1
    assert counts(report, MESSAGES)[0] >= 3


async def test_a_number_wider_than_64_bits_stops_no_thread(box: Box) -> None:
    thread = json.loads(sample(FB, "message_1.json"))
    # shaped by hand: valid JSON that the fast parse cannot hold, in the first message
    thread["messages"][0]["reactions"][0]["timestamp"] = 123456789012345678901234
    report = await ingest(
        box, "fb.zip", archive(**{f"{THREAD}/message_1.json": json.dumps(thread)})
    )
    assert counts(report, MESSAGES) == (3, 0, 0)
    first = min(await documents(box, MESSAGES), key=lambda m: m["time"])
    assert first["reactions"][0]["timestamp"] == 123456789012345678901234  # kept exact


def test_facebook_archives_are_recognised() -> None:
    data = archive()
    assert detect("fb.zip", data[:4096])
    assert detect_source(SourceFile("fb.zip", io.BytesIO(data))) == "facebook"


# --- test data published by facebook-data-miner (samples/facebook/README.md) ---------------

FDM_THREAD = "messages/inbox/foobar_n5fd6gG50h"
FDM_GROUP = "messages/inbox/tokehalfoobardonaldduckand2others_safsdf_fdf3"


def fdm_archive() -> bytes:
    """The fixture author's test export, in its own (2020, top-level) layout."""
    return zip_bytes(
        {
            f"{FDM_THREAD}/message_1.json": sample(FB, "fdm-foobar-message_1.json"),
            f"{FDM_GROUP}/message_1.json": sample(FB, "fdm-group-message_1.json"),
            "friends/friends.json": sample(FB, "fdm-friends.json"),
        }
    )


async def test_a_published_test_export_every_kind_of_message(box: Box) -> None:
    report = await ingest(box, "facebook-foobar.zip", fdm_archive())
    assert report["format"] == "facebook"
    assert report["errors"] == 0
    assert counts(report, MESSAGES) == (15 + 5, 0, 0)
    assert counts(report, FRIENDS) == (9, 0, 0)

    messages = await documents(box, MESSAGES)
    thread = sorted(
        (m for m in messages if m["thread"] == "inbox/foobar_n5fd6gG50h"), key=lambda m: m["time"]
    )
    assert len(thread) == 15
    first, last = thread[0], thread[-1]
    assert (first["sender"], first["time"]) == ("Jenő Rejtő", "2020-02-13T05:15:28Z")
    assert first["text"] == "Lorem lorim.. foo bar 😡😡😡"
    assert (last["text"], last["time"]) == ("OUT! ❤", "2020-08-08T18:22:08Z")
    media = {m["time"]: m["media"] for m in thread if "media" in m}
    assert media["2020-03-09T10:48:48Z"] == [
        "messages/inbox/FooBar_n5fd6gG50h/audio/audioclip15905232600004598_2621787141481389.mp4"
    ]
    assert media["2020-04-25T21:42:08Z"] == [  # the video, not its thumbnail
        "messages/inbox/FooBar_n5fd6gG50h/videos/video1501528035_1573509826004448.mp4"
    ]
    assert media["2020-02-14T03:28:48Z"] == [
        "messages/inbox/FooBar_n5fd6gG50h/files/1810.04805.pdf"
    ]
    assert len(media) == 7  # 2 photos, 2 gifs, a video, an audio clip, a file
    reactions = [r for m in thread for r in m.get("reactions", [])]
    assert reactions == [
        {"reaction": "❤", "actor": "Jenő Rejtő"},
        {"reaction": "😮", "actor": "Foo Bar"},
        {"reaction": "❤", "actor": "Jenő Rejtő"},
    ]


async def test_a_published_group_thread_and_the_older_friends_list(box: Box) -> None:
    await ingest(box, "facebook-foobar.zip", fdm_archive())
    group = [m for m in await documents(box, MESSAGES) if m["thread"].startswith("inbox/tokehal")]
    # two of the five messages share their millisecond: both kept, one document each
    same = sorted(m["sender"] for m in group if m["time"] == "2011-07-17T13:00:32Z")
    assert same == ["Dér Dénes", "Tőke Hal"]
    assert {m["sender"] for m in group} >= {"Facebook User", "Donald Duck", "Foo Bar"}
    friends = {f["name"]: f.get("since") for f in await documents(box, FRIENDS)}
    assert len(friends) == 9
    assert friends["Tőke Hal"] == "2020-02-21T13:07:59Z"
    assert friends["Dér Dénes"] == "2020-02-12T16:01:52Z"
    again = await ingest(box, "facebook-foobar.zip", fdm_archive())
    assert counts(again, MESSAGES) == (0, 0, 20)

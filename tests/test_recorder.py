import asyncio
import threading

import pytest

from shared.recorder import read_events, record


def test_records_nothing_without_a_path(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("AFTERWARD_EVENTS", raising=False)
    record("x", "r")
    assert list(tmp_path.iterdir()) == []


def test_records_thread_and_loop(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    path = tmp_path / "e.jsonl"
    monkeypatch.setenv("AFTERWARD_EVENTS", str(path))

    async def on_loop() -> None:
        record("loop", "r")

    asyncio.run(on_loop())
    t = threading.Thread(target=record, args=("thread", "r"))
    t.start()
    t.join()
    loop_event, thread_event = read_events(path)
    assert loop_event["on_loop"] is True and thread_event["on_loop"] is False
    assert loop_event["thread_id"] != thread_event["thread_id"]
    assert loop_event["seq"] < thread_event["seq"]


def test_a_partly_written_last_line_is_left_for_later(tmp_path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"event": "a"}\n{"event": "b"')
    assert [e["event"] for e in read_events(path)] == ["a"]

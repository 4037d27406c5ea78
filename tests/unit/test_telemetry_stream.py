"""Telemetry read as a stream: any split of the bytes gives the same track, and errors
name the same line, as reading the text whole would."""

from __future__ import annotations

import numpy as np
import pytest

from clearance.domain.airspace import telemetry
from clearance.domain.airspace.telemetry import TrackReader, parse_track_csv
from clearance.domain.airspace.tracks import Track
from clearance.domain.errors import InputError


def csv_text(points: int, *, quoted: bool = False, crlf: bool = False) -> str:
    end = "\r\n" if crlf else "\n"
    rows = ["time,lat,lng,alt_m"]
    for i in range(points):
        t = f"2017-11-27T{6 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"
        rows.append(f'"{t}",14.{i:04d},"1.5",500' if quoted else f"{t},14.{i:04d},1.5,500")
    return "\ufeff" + end.join(rows) + end


def jsonl_text(points: int) -> str:
    return "".join(
        f'{{"time": "2017-11-27T06:{i // 60:02d}:{i % 60:02d}Z", "lat": 14.{i:04d}, '
        f'"lng": 1.5, "alt_m": 500}}\n' + ("\n" if i % 7 == 0 else "")
        for i in range(points)
    )


def streamed(data: bytes, media: str, piece: int) -> Track:
    reader = TrackReader("t", media)
    for at in range(0, len(data), piece):
        reader.feed(data[at : at + piece])
    return reader.close()


def same(a: Track, b: Track) -> None:
    assert len(a) == len(b)
    for name in ("times", "lat", "lng", "alt_m"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


@pytest.mark.parametrize("piece", [1, 7, 64, 1000, 1 << 20])
@pytest.mark.parametrize(
    ("media", "text"),
    [
        ("csv", csv_text(300)),
        ("csv", csv_text(300, quoted=True)),
        ("csv", csv_text(300, crlf=True)),
        (
            "csv",
            'lat,"time",lng,alt_m\n14,"2017-11-27T06:00:00Z",1.5,500\n\n15,"2017-11-27T06:00:01Z",1,2',
        ),
        ("jsonl", jsonl_text(300)),
    ],
)
def test_any_split_of_the_bytes_reads_the_same_track(media: str, text: str, piece: int) -> None:
    whole = streamed(text.encode(), media, 1 << 30)
    same(streamed(text.encode(), media, piece), whole)
    assert len(whole) in (2, 300)


def test_a_quoted_newline_is_not_a_line_end_across_pieces() -> None:
    text = 'time,lat,lng,alt_m\n"2017-11-27T06:00:00Z",14,1.5,500\n"2017-11-27T06:00:01Z\nx",14,1.5,500\n'
    for piece in (1, 5, 50):
        with pytest.raises(InputError) as raised:
            streamed(text.encode(), "csv", piece)
        assert raised.value.field == "line 4"  # the record ends on line 4
        assert "RFC 3339" in raised.value.rule


def test_a_multibyte_character_split_between_pieces_is_read() -> None:
    text = "time,lat,lng,alt_m\n2017-11-27T06:00:00Z,14,1.5,500\n"
    reader = TrackReader("t", "csv")
    data = text.encode()
    reader.feed(b"\xef\xbb")  # the BOM, split
    reader.feed(b"\xbf" + data)
    assert len(reader.close()) == 1


@pytest.mark.parametrize("piece", [3, 100, 1 << 20])
def test_errors_in_later_pieces_name_the_line_of_the_whole_text(piece: int) -> None:
    text = csv_text(500)
    lines = text.split("\n")
    lines[400] = lines[400].replace(",14.", ",94.")  # line 401: latitude out of range
    broken = "\n".join(lines)
    with pytest.raises(InputError) as whole:
        parse_track_csv(broken, "t")
    with pytest.raises(InputError) as pieces:
        streamed(broken.encode(), "csv", piece)
    assert whole.value.field == pieces.value.field == "line 401"
    lines[400] = lines[399]  # the same time twice: compared across pieces too
    with pytest.raises(InputError) as again:
        streamed("\n".join(lines).encode(), "csv", piece)
    assert again.value.field == "line 401"
    assert "repeats the previous" in again.value.rule


def test_bytes_that_are_not_utf8_name_their_line() -> None:
    with pytest.raises(InputError) as raised:
        streamed(b"time,lat,lng,alt_m\n2017-11-27T06:00:00Z,14,1.5,500\n\xff\xfe,1,2,3\n", "csv", 4)
    assert raised.value.field == "line 3"
    assert "UTF-8" in raised.value.rule


def test_a_repeated_key_in_a_json_line_is_refused() -> None:
    line = '{"time": "2017-11-27T06:00:00Z", "lat": 14, "lng": 1.5, "alt_m": 5, "lat": 15}\n'
    with pytest.raises(InputError) as raised:
        streamed(line.encode(), "jsonl", 1 << 20)
    assert raised.value.field == "line 1"
    assert "'lat' appears twice" in raised.value.rule


def test_more_points_than_the_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "MAX_POINTS", 100)
    streamed(csv_text(100).encode(), "csv", 512)
    with pytest.raises(InputError) as raised:
        streamed(csv_text(101).encode(), "csv", 512)
    assert raised.value.field == "line 102"
    assert "at most 100 points" in raised.value.rule


def test_an_endless_line_is_refused_before_it_fills_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "MAX_LINE_CHARS", 1000)
    reader = TrackReader("t", "csv")
    reader.feed(b'time,lat,lng,alt_m\n"2017-11-27T06:00:00Z')
    for _ in range(9):
        reader.feed(b"x" * 100)
    with pytest.raises(InputError) as raised:
        reader.feed(b"x" * 100)
    assert raised.value.field == "line 2"
    assert "longer than 1,000 characters" in raised.value.rule

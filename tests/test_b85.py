"""forge_batch.b85 writes and reads exactly what base64.b85encode / b85decode do: judge
specs (and so the accepted record and their digests) keep their bytes."""

from __future__ import annotations

import base64
import random
import zlib

import orjson
import pytest

from forge_batch import b85


def test_same_bytes_as_the_standard_library_at_every_length() -> None:
    rng = random.Random(7)
    for n in range(0, 70):
        for _ in range(25):
            data = rng.randbytes(n)
            text = base64.b85encode(data)
            assert b85.encode(data) == text
            assert b85.decode(text) == data
            assert b85.decode(text.decode("ascii")) == data


def test_extreme_words_and_a_compressed_sample() -> None:
    for data in (b"\0" * 13, b"\xff" * 13, b"    " * 3, bytes(range(256))):
        assert b85.encode(data) == base64.b85encode(data)
        assert b85.decode(base64.b85encode(data)) == data
    sample = {"id": "s1", "messages": [{"role": "user", "content": "hi " * 300}], "meta": {}}
    packed = zlib.compress(orjson.dumps(sample, option=orjson.OPT_SORT_KEYS), 6)
    assert b85.encode(packed) == base64.b85encode(packed)


@pytest.mark.parametrize("bad", ["abc\x00", "ab cd", "~~~~~", "|NsC0|NsC1", "é", '0000"', "~"])
def test_refuses_what_the_standard_library_refuses(bad: str) -> None:
    with pytest.raises(ValueError) as theirs:
        base64.b85decode(bad)
    with pytest.raises(ValueError) as ours:
        b85.decode(bad)
    assert str(ours.value) == str(theirs.value)

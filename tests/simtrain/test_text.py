"""simtrain.text: text that can be stored and shown, checked on the way in, repaired on read."""

from __future__ import annotations

import json

import pytest

from simtrain import text

LONE = json.loads('"hello \\ud800"')  # what a socket frame decodes to
PAIR = json.loads('"\\ud83d\\ude00"')  # a valid pair decodes to one scalar value


def test_a_lone_surrogate_or_nul_is_invalid_and_a_pair_is_fine():
    assert not text.is_valid(LONE)
    assert not text.is_valid(json.loads('"\\udfff"'))
    assert not text.is_valid("a\x00b")
    assert text.is_valid(PAIR) and PAIR == "😀"
    assert text.is_valid("Élise écrit à Noël") and text.is_valid("")


def test_invalid_text_names_where_it_is():
    assert text.invalid_text({"cmd": "message.send", "text": "ok"}) is None
    assert text.invalid_text({"cmd": "message.send", "text": LONE}) == "text"
    assert text.invalid_text({"a": [{"b": "ok"}, {"c": LONE}]}) == "a[1].c"
    assert text.invalid_text({LONE: "key"}) == LONE
    with pytest.raises(text.InvalidText, match="payload.note"):
        text.require_valid({"note": "\x00"}, "payload")


def test_repair_replaces_lone_surrogates_and_drops_nul_keeping_the_rest():
    value = {"text": LONE, "list": ["\x00x", PAIR, 3], "n": 1.5, LONE: None}
    repaired = text.repair(value)
    assert repaired == {"text": "hello \ufffd", "list": ["x", "😀", 3], "n": 1.5,
                        "hello \ufffd": None}
    assert text.invalid_text(repaired) is None
    json.dumps(repaired, ensure_ascii=False).encode("utf-8")  # now encodable


@pytest.mark.parametrize("raw, may", [
    ('{"text": "hello \\ud800"}', True),
    ('{"text": "\\uDC00"}', True),
    ('{"text": "\\u0000"}', True),
    ('{"text": "caf\\u00e9"}', False),
    ('{"text": "plain"}', False),
])
def test_the_fast_filter_on_stored_json(raw, may):
    assert text.may_hold_invalid(raw) is may

from __future__ import annotations

import pytest
from inventory.domain.search import MAX_TERMS, SearchQuery, highlight, parse, to_tsquery


@pytest.mark.parametrize(
    ("text", "terms", "phrases", "excluded"),
    [
        ("bolt", ("bolt",), (), ()),
        ("Bolt NUT", ("bolt", "nut"), (), ()),
        ('"hex head" bolt', ("bolt",), (("hex", "head"),), ()),
        ("bolt -zinc", ("bolt",), (), ("zinc",)),
        ('bolt -"stainless steel"', ("bolt",), (), ("stainless", "steel")),
        ('"single"', ("single",), (), ()),
        ("m8x40", ("m8x40",), (), ()),
        ("pipe/15mm", ("pipe", "15mm"), (), ()),
        ("bolt bolt", ("bolt",), (), ()),
        ("", (), (), ()),
        ("   ", (), (), ()),
        ("&|!():*", (), (), ()),
        ('"unterminated phrase', (), (("unterminated", "phrase"),), ()),
        ('""', (), (), ()),
        ("-", (), (), ()),
    ],
)
def test_parse(
    text: str,
    terms: tuple[str, ...],
    phrases: tuple[tuple[str, ...], ...],
    excluded: tuple[str, ...],
) -> None:
    query = parse(text)
    assert (query.terms, query.phrases, query.excluded) == (terms, phrases, excluded)


@pytest.mark.parametrize(
    ("text", "prefix_last"),
    [
        ("scre", True),
        ("scre ", False),
        ('"hex head"', False),
        ("bolt -zinc", False),
        ("bolt -zinc nut", True),
        ("", False),
    ],
)
def test_trailing_word_is_a_prefix_unless_finished(text: str, prefix_last: bool) -> None:
    assert parse(text).prefix_last is prefix_last


def test_terms_are_capped() -> None:
    query = parse(" ".join(f"w{i}" for i in range(20)))
    assert len(query.terms) == MAX_TERMS


@pytest.mark.parametrize(
    ("text", "tsquery"),
    [
        ("bolt", "bolt:*"),
        ("bolt ", "bolt"),
        ("bolt nut", "bolt & nut:*"),
        ('"hex head"', "(hex <-> head)"),
        ('bolt "hex head"', "bolt & (hex <-> head)"),
        ("bolt -zinc", "bolt & !zinc"),
        ("-zinc", ""),
        ("", ""),
        ("bolt's & nut|", "bolt & s & nut:*"),
        ("a:*|b", "a & b:*"),
    ],
)
def test_to_tsquery(text: str, tsquery: str) -> None:
    assert to_tsquery(parse(text)) == tsquery


@pytest.mark.parametrize("text", ["a & b", "!x", "(y", "z:*", "'q'", "a <-> b", "\\"])
def test_to_tsquery_never_passes_operators_through(text: str) -> None:
    rendered = to_tsquery(parse(text))
    words = rendered.replace(" & ", " ").replace(":*", "").split()
    assert all(w.isalnum() for w in words), rendered


def test_negation_only_query_is_empty() -> None:
    assert parse("-zinc -steel").is_empty


def test_query_with_phrase_only_is_not_empty() -> None:
    assert not parse('"hex head"').is_empty


@pytest.mark.parametrize(
    ("text", "query", "expected"),
    [
        ("Hex bolt M8", "bolt ", "Hex **bolt** M8"),
        ("Hex bolt M8", "bo", "Hex **bolt** M8"),
        ("Hex head bolt", '"hex head"', "**Hex** **head** bolt"),
        ("Wood screw", "nail ", "Wood screw"),
        ("Screwdriver set", "screw", "**Screwdriver** set"),
    ],
)
def test_highlight_marks_matched_words(text: str, query: str, expected: str) -> None:
    assert highlight(text, parse(query)) == expected


def test_highlight_with_custom_marker() -> None:
    assert highlight("Nut M6", parse("nut "), marker="_") == "_Nut_ M6"


def test_search_query_is_hashable_value() -> None:
    assert parse("bolt nut") == SearchQuery(terms=("bolt", "nut"), prefix_last=True)

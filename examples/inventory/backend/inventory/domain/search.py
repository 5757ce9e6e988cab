"""Turn what a user types into a PostgreSQL tsquery that cannot be a syntax error."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Characters tsquery treats as operators; user text must never reach it raw.
_WORD = re.compile(r"[A-Za-z0-9]+")
_TOKEN = re.compile(r'-?"[^"]*"?|\S+')
MAX_TERMS = 8


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Parsed search text: words all required, phrases in order, excluded words."""

    terms: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    excluded: tuple[str, ...] = ()
    prefix_last: bool = field(default=True)

    @property
    def is_empty(self) -> bool:
        return not (self.terms or self.phrases)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def parse(text: str) -> SearchQuery:
    """Parse ``text``: ``bolt "hex head" -zinc`` finds bolts with that phrase, no zinc.

    A trailing word is a prefix (typing "scre" already finds screws) unless the
    text ends with a space, which says the word is complete.
    """
    terms: list[str] = []
    phrases: list[tuple[str, ...]] = []
    excluded: list[str] = []
    last_positive_bare = False
    for token in _TOKEN.findall(text):
        negate = token.startswith("-")
        body = token[1:] if negate else token
        last_positive_bare = False
        if body.startswith('"'):
            words = _words(body)
            if not words:
                continue
            if negate:
                excluded.extend(words)
            elif len(words) == 1:
                terms.append(words[0])
            else:
                phrases.append(tuple(words))
            continue
        words = _words(body)
        if negate:
            excluded.extend(words)
        elif words:
            terms.extend(words)
            last_positive_bare = True
    # A trailing space means the user finished the word; so does a closing quote.
    ends_mid_word = bool(text) and not text[-1].isspace()
    return SearchQuery(
        terms=tuple(dict.fromkeys(terms))[:MAX_TERMS],
        phrases=tuple(dict.fromkeys(phrases))[:MAX_TERMS],
        excluded=tuple(dict.fromkeys(excluded))[:MAX_TERMS],
        prefix_last=ends_mid_word and last_positive_bare,
    )


def to_tsquery(query: SearchQuery) -> str:
    """Render for ``to_tsquery('simple', ...)``; only [a-z0-9] words reach it."""
    parts: list[str] = []
    for i, term in enumerate(query.terms):
        is_last = i == len(query.terms) - 1
        parts.append(f"{term}:*" if is_last and query.prefix_last else term)
    parts.extend("(" + " <-> ".join(phrase) + ")" for phrase in query.phrases)
    if not parts:
        return ""
    parts.extend(f"!{word}" for word in query.excluded)
    return " & ".join(parts)


def highlight(text: str, query: SearchQuery, marker: str = "**") -> str:
    """Mark the words of ``text`` that the query matched, for result snippets."""
    wanted = set(query.terms) | {w for phrase in query.phrases for w in phrase}
    prefix = query.terms[-1] if query.prefix_last and query.terms else None

    def mark(match: re.Match[str]) -> str:
        word = match.group(0)
        lowered = word.lower()
        if lowered in wanted or (prefix is not None and lowered.startswith(prefix)):
            return f"{marker}{word}{marker}"
        return word

    return _WORD.sub(mark, text)

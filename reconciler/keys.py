"""Cache-key templates seen from Redis: SCAN patterns and parsing keys back: pure.

Orphans are entries whose row is gone, so the DB scan cannot find them. The reconciler
SCANs each region for keys matching a template (``user:{id}:profile`` → ``user:*:profile``),
parses the column values back out of each key, and asks the snapshot whether a row still
renders to that key.

Parsing is only exact when a value cannot contain the template's separators. A field's
value therefore matches no punctuation character that occurs in the template's literal
text (``user:{id}`` → ``id`` matches ``[^:]+``). A key that does not parse is not this
template's (``user:5:profile`` is not ``user:{id}``) and is never reported as an orphan of
it: the reconciler errs toward leaving an entry rather than deleting a live one.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from schemas.config import template_fields

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


@dataclass(frozen=True, slots=True)
class KeyPattern:
    """One template, as a Redis SCAN glob and a parser."""

    template: str
    glob: str
    regex: re.Pattern[str]
    fields: tuple[str, ...]
    """Distinct column names, in order of first appearance (group ``f<i>`` is field i)."""

    def parse(self, key: str) -> dict[str, str] | None:
        """Column values a key was rendered from; None if the key is not this template's."""
        match = self.regex.fullmatch(key)
        if match is None:
            return None
        return {name: match.group(f"f{index}") for index, name in enumerate(self.fields)}


def key_pattern(template: str) -> KeyPattern:
    parsed = list(string.Formatter().parse(template))
    literal_text = "".join(literal for literal, *_ in parsed)
    separators = sorted({ch for ch in literal_text if not ch.isalnum() and ch != "_"})
    value_class = "[^" + "".join(re.escape(ch) for ch in separators) + "]+" if separators \
        else ".+?"
    fields = tuple(dict.fromkeys(template_fields(template)))
    group = {name: f"f{index}" for index, name in enumerate(fields)}
    glob_parts: list[str] = []
    regex_parts: list[str] = []
    seen: set[str] = set()
    for literal, field_name, _, _ in parsed:
        glob_parts.append(_GLOB_SPECIAL.sub(r"\\\1", literal))
        regex_parts.append(re.escape(literal))
        if field_name is None:
            continue
        glob_parts.append("*")
        if field_name in seen:
            regex_parts.append(f"(?P={group[field_name]})")
        else:
            seen.add(field_name)
            regex_parts.append(f"(?P<{group[field_name]}>{value_class})")
    return KeyPattern(template, "".join(glob_parts), re.compile("".join(regex_parts)), fields)

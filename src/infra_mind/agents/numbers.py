"""The number guard: every number an agent writes must be a figure of the engine's result.

Why: numbers come from code, never from a language model. An agent writes Markdown about an
``AssessmentResult``; before that text is kept, ``unmatched_numbers`` lists each number in it
that no figure of the result accounts for, and a non-empty list sends the text back.

What counts as a number (``numbers_in``): money (``$1,234.56``, ``$ 1,234``, ``US$5``,
``USD 1,234``, ``1,234.56 USD``, ``€``/``£``/``EUR``/``GBP`` likewise), scaled figures
(``$1.2k``, ``$3.4M``, ``$2B``, ``2bn``, ``1.5 million``), percentages (``12%``, ``12.5 %``,
``12 percent``), plain numbers (``730``, ``0.0416``, ``27001``), with a sign (``-`` or ``−``)
where one touches the number, both ends of a range (``10–20``, ``10-20``), both parts of
``24/7`` and of an ISO date (``2026-11-28`` gives 2026, 11 and 28), a multiplier ``2x`` as
plain 2, and the leading number of a compound adjective (``$500-a-month``, ``3-year``).

What is skipped, because it names something rather than measures it: digits that a letter
touches, directly or through ``-``/``.``/``_`` (``m6i.2xlarge``, ``t4g``, ``us-east-1``,
``eastus2``, ``P90``, ``3y``, ``Gen2``, and so also ``16GiB``: glue a unit to a number and it
goes unchecked), ``§`` references and bare ones such as ``164.312(a)(1)``, version-like
``1.2.3``, URLs and link targets, ordered-list markers at the start of a line (``1.``,
``2)``) and heading numbers (``### 1.``, ``## 2.1``). Inline code is read like any text: a
price in backticks is still a price (SKUs in code are skipped by the letter rule anyway).

The tolerance rule: a token written with ``d`` decimals at scale ``s`` matches a figure ``f``
when ``|value - f| <= 0.5 * 10**-d * s`` (``f`` rounded the way the token was written gives
the token), plus a relative slack of 1e-9 for binary floats. A percentage ``p`` also matches a
ratio ``p / 100`` under the same rule scaled by 1/100 (``28%`` for ``0.284``); a token matches
the negated figure too (``−12%`` for a stored 12.0 change, and the reverse). Money matches any
figure: the engine stores dollar amounts as plain floats.

Why the sign is ignored: the result stores a difference signed (``budget.gap_usd`` -988.49,
an alternative's ``delta_usd``), and ``engine.money`` writes its size with the direction in
words (``$988.49 under budget``, ``$46.38 more``), never a sign. So "$988.49" must match the
stored -988.49; its size is still checked to the written precision ("$988.48 under budget"
is refused).

Why small integers are allowed: prose counts things ("two zones", "Phase 1", "3 steps") that
no result field holds, and an invented count up to 10 cannot mislead on cost; by default plain
integers 0..10 pass, and so does ``100%`` ("100% of machines").
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

Kind = Literal["money", "percent", "plain"]


@dataclass(frozen=True, slots=True)
class NumberToken:
    """One number as written in a text."""

    raw: str
    value: float
    kind: Kind
    decimals: int
    scale: float = 1.0


@dataclass(frozen=True, slots=True, init=False)
class Figures:
    """The figures of a result: a sorted, de-duplicated tuple searched by bisection."""

    values: tuple[float, ...]

    def __init__(self, values: Iterable[float] = ()) -> None:
        object.__setattr__(self, "values", tuple(sorted({float(v) for v in values})))

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self) -> Iterator[float]:
        return iter(self.values)

    def union(self, other: Figures) -> Figures:
        return Figures((*self.values, *other.values))

    def matches(self, token: NumberToken) -> bool:
        """Whether some figure, rounded the way ``token`` is written, gives ``token``."""
        tol = 0.5 * 10.0 ** -token.decimals * token.scale
        v = token.value
        if self._near(v, tol) or self._near(-v, tol):
            return True
        return token.kind == "percent" and (
            self._near(v / 100, tol / 100) or self._near(-v / 100, tol / 100))

    def _near(self, value: float, tol: float) -> bool:
        tol += 1e-9 * max(1.0, abs(value))
        i = bisect_left(self.values, value - tol)
        return i < len(self.values) and self.values[i] <= value + tol


_ISO_DATE = re.compile(r"(?<![0-9])([0-9]{4})-([0-9]{2})-([0-9]{2})(?![0-9])")


def figures_of(*objs: object) -> Figures:
    """Every number in ``objs``: JSON-like values walked, strings read with ``numbers_in``.

    Dict keys and booleans are not figures; a date (object or ISO string) gives its year,
    month and day; a ``Figures`` joins as it is.
    """
    values: list[float] = []
    stack: list[object] = list(objs)
    while stack:
        obj = stack.pop()
        if isinstance(obj, bool) or obj is None:
            continue
        if isinstance(obj, Figures):
            values.extend(obj.values)
        elif isinstance(obj, int | float | Decimal):
            x = float(obj)
            if math.isfinite(x):
                values.append(x)
        elif isinstance(obj, str):
            values.extend(t.value for t in numbers_in(obj))
            for m in _ISO_DATE.finditer(obj):  # also inside datetimes, which the tokenizer skips
                values.extend(int(g) for g in m.groups())
        elif isinstance(obj, date):
            values.extend((obj.year, obj.month, obj.day))
        elif isinstance(obj, Mapping):
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
    return Figures(values)


# Text that holds digits but no figure, blanked out (same length) before reading numbers.
_SKIP = re.compile(r"""
    \b(?:https?|ftp)://[^\s<>()\]]+ | \bwww\.[^\s<>()\]]+              # URL
  | \]\([^)\s]*\)                                                     # Markdown link target
  | (?<!§)§+[ \t]*[0-9][\w.()\-–]*                                    # § reference
  | (?<![\w.])[0-9]+(?:\.[0-9]+)*(?:\([0-9A-Za-z]{1,4}\))+            # 164.312(a)(1)
  | ^[ \t]*(?:[-*+>][ \t]+)*[0-9]{1,3}[.)](?=[ \t]|$)                 # ordered-list marker
  | ^[ \t]*\#{1,6}[ \t]+[0-9]{1,2}(?:\.[0-9]{1,2})*\.?(?=[ \t]|$)     # heading number
""", re.VERBOSE | re.MULTILINE)

# A word: letters and digits, joined without spaces by - – — − . _ ,
_WORD = re.compile(r"[^\W_]+(?:[-–—−._,][^\W_]+)*")
_PIECE = re.compile(r"[^-–—−]+")  # a word's pieces, split at hyphens and dashes
_NUMBER = r"(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+)(?:\.[0-9]+)?"
_NUMBER_RE = re.compile(_NUMBER)
_NUMBER_SUFFIX = re.compile(rf"(?P<num>{_NUMBER})(?P<suf>k|K|MM|M|mn|m|bn|B|b|x|X)?")
_DIGITS_ONLY = re.compile(r"[0-9.,]+")
_PREFIX = re.compile(
    r"(?:(?P<s1>[-−])?(?P<cur>(?<![^\W_])(?:US\$|USD|EUR|GBP)|[$€£])[ \t]?)?(?P<s2>[-−])?\Z")
_SUFFIX = re.compile(
    r"(?P<scale>[ \t]+(?:thousand|million|billion|bn)\b)?"
    r"(?:(?P<pct>[ \t]?%|[ \t]+(?:percent|per[ \t]cent)\b)|(?P<cur>[ \t]+(?:USD|EUR|GBP)\b))?",
    re.IGNORECASE)
_SIGN_AFTER = " \t\n([{:;,=~≈*_|/\"'"  # what may stand before a minus sign
_POINT_AFTER = " \t\n([~≈$€£-−"  # what may stand before the point of ".5"
_SCALES = {"k": 1e3, "K": 1e3, "thousand": 1e3, "M": 1e6, "MM": 1e6, "m": 1e6, "mn": 1e6,
           "million": 1e6, "B": 1e9, "b": 1e9, "bn": 1e9, "billion": 1e9}
_MONEY_ONLY_SUFFIXES = {"m", "mn", "b"}  # "5m" alone is five minutes or metres


def _blank(m: re.Match[str]) -> str:
    return " " * len(m.group())


def _numeric_parts(word: str) -> tuple[list[tuple[int, int, str, str]], bool] | None:
    """A word's numbers as (start, end, digits, suffix), and whether words follow them.

    None when the word is an identifier (a letter touches digits, or digits follow a word
    as in ``us-east-1``) or version-like (``1.2.3``).
    """
    parts: list[tuple[int, int, str, str]] = []
    words_follow = False
    for p in _PIECE.finditer(word):
        piece = p.group()
        if not any(c.isdigit() for c in piece):
            words_follow = True
            continue
        if words_follow:
            return None
        if m := _NUMBER_SUFFIX.fullmatch(piece):
            parts.append((p.start(), p.end(), m["num"], m["suf"] or ""))
        elif _DIGITS_ONLY.fullmatch(piece) and piece.count(".") < 2:  # "3,4": two numbers
            parts.extend((p.start() + n.start(), p.start() + n.end(), n.group(), "")
                         for n in _NUMBER_RE.finditer(piece))
        else:
            return None
    return parts, words_follow


def _sign_allowed(masked: str, at: int) -> bool:
    return at == 0 or masked[at - 1] in _SIGN_AFTER


def _point_before(masked: str, at: int) -> bool:
    return at > 0 and masked[at - 1] == "." and (at == 1 or masked[at - 2] in _POINT_AFTER)


def _read_prefix(masked: str, at: int) -> tuple[int, bool, bool]:
    """Where the prefix of the number at ``at`` starts, whether it is money, whether negative."""
    pre = _PREFIX.search(masked, max(0, at - 12), at)
    if pre is None:  # not reached: the pattern matches the empty string at the end
        return at, False, False
    money = pre["cur"] is not None
    negative = False
    if pre["s2"] is not None:
        negative = money or _sign_allowed(masked, pre.start("s2"))
    elif pre["s1"] is not None:
        negative = _sign_allowed(masked, pre.start("s1"))
    return (pre.start() if money or negative else at), money, negative


def _tokens_of_word(text: str, masked: str, word: re.Match[str]) -> list[NumberToken]:
    found = _numeric_parts(word.group())
    if not found or not found[0]:
        return []
    parts, words_follow = found
    start, end = word.span()
    ps, pe, digits, glued = parts[0]
    if digits.isdigit() and _point_before(masked, start):  # ".5" is 0.5
        parts[0] = (ps - 1, pe, "0." + digits, glued)
    raw_start, money, negative = _read_prefix(masked, start + parts[0][0])
    suf = None if words_follow else _SUFFIX.match(masked, end)
    money = money or (suf is not None and suf["cur"] is not None)
    percent = suf is not None and suf["pct"] is not None
    if not money and any(s in _MONEY_ONLY_SUFFIXES for *_, s in parts):
        return []
    shared_scale = 1.0 if words_follow else _SCALES.get(parts[-1][3], 1.0)  # "10–20k"
    if suf is not None and suf["scale"]:
        shared_scale = _SCALES[suf["scale"].strip().lower()]
    raw_end = suf.end() if suf is not None and suf.group() else start + parts[-1][1]
    tokens = []
    for i, (ps, pe, digits, glued) in enumerate(parts):
        scale = 1.0 if glued == "x" else _SCALES.get(glued, shared_scale)
        value = float(digits.replace(",", "")) * scale
        tokens.append(NumberToken(
            raw=text[raw_start if i == 0 else start + ps:
                     raw_end if i == len(parts) - 1 else start + pe].strip(),
            value=-value if i == 0 and negative else value,
            kind="percent" if percent else "money" if money and glued != "x" else "plain",
            decimals=len(digits.partition(".")[2]),
            scale=scale))
    return tokens


def numbers_in(text: str) -> list[NumberToken]:
    """Every number written in ``text``, in order (see the module docstring for what counts)."""
    masked = _SKIP.sub(_blank, text)
    return [t for w in _WORD.finditer(masked) for t in _tokens_of_word(text, masked, w)]


def _always_allowed(token: NumberToken, small_int_max: int) -> bool:
    if token.kind == "percent":
        return token.value == 100
    return (token.kind == "plain" and token.decimals == 0 and token.scale == 1
            and 0 <= token.value <= small_int_max)


def unmatched_numbers(text: str, figures: Figures, *, small_int_max: int = 10) -> list[str]:
    """The numbers of ``text``, as written, that match no figure; empty when the text passes.

    Plain integers 0..``small_int_max`` and ``100%`` always pass.
    """
    return [t.raw for t in numbers_in(text)
            if not _always_allowed(t, small_int_max) and not figures.matches(t)]

"""Which passwords are refused at registration, and why (offline: no breach API is asked).

NIST SP 800-63B (5.1.1.2) asks a verifier to refuse passwords found in breach corpora,
repetitive or sequential characters, and context-specific words (the service's name, the
user's name), and to say why; composition rules ("a digit and a symbol") it advises
against, so there are none here. The length bounds (12 to 128) are the schema's.

The breach list is the 20,000 most common passwords of Have I Been Pwned's corpus
(``data/common-passwords.md`` has its source, licence and checksum), compared in lower
case, so "Password1234" is refused with "password1234".
"""

from __future__ import annotations

import gzip
import itertools
import re
from functools import lru_cache
from importlib import resources

#: Words of this service that make a password guessable by anyone who knows where it is used.
SERVICE_WORDS = ("inframind",)
#: A local part shorter than this ("ada") is too likely to occur by chance to refuse it.
EMAIL_LOCAL_MIN_CHARS = 4
#: Letters and digits a password must have besides the email's name or the service's name.
CONTEXT_REST_MIN_CHARS = 8


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled breach list, lowercased (loaded once: 19,640 entries, about 1.5 MB)."""
    data = resources.files("infra_mind.kit").joinpath("data/common-passwords.txt.gz")
    with gzip.open(data.open("rb"), "rt", encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip())


def _alnum(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def _period(text: str) -> int:
    """The length of the shortest unit that ``text`` repeats ("abcabcab" -> 3)."""
    for size in range(1, len(text) + 1):
        if all(text[i] == text[i % size] for i in range(len(text))):
            return size
    return len(text)


def _is_sequence(text: str) -> bool:
    """Characters that step by one ("abcdefghijkl", "987654321098") with at most two
    breaks (a wrap from 9 to 0, a change of direction)."""
    steps = [ord(b) - ord(a) for a, b in itertools.pairwise(text)]
    return sum(1 for step in steps if abs(step) != 1) <= 2


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why ``password`` is refused, in one line that never quotes it; None if it is not.

    Checked in this order: a short unit repeated (up to three characters added at the
    end), one character making up half of it, a run of consecutive characters, little
    besides the email's local part or the service's name, and the breach list.
    """
    lowered = password.lower()
    if not lowered.strip():
        return "password is only spaces"
    # a few digits or symbols added at the end ("passpasspass1!") do not hide a pattern
    core = re.sub(r"[\d\W_]{1,3}$", "", lowered)
    core = core if len(core) >= len(lowered) // 2 else lowered
    period = _period(core)
    if period == 1:
        return "password is one character repeated"
    if period * 3 <= len(core):
        return "password is a short pattern repeated"
    if max(lowered.count(c) for c in set(lowered)) * 2 >= len(lowered):
        return "password is mostly one repeated character"
    if _is_sequence(lowered):
        return "password is a run of consecutive characters"
    compact = _alnum(password)
    local = email.partition("@")[0].lower() if email else ""
    # "ada.lovelace": the whole ("adalovelace") and each part long enough ("lovelace");
    # refused when little else is left ("Lovelace!2024"), not for any passphrase that
    # happens to hold the name ("lovelace rides a purple bicycle" is strong)
    names = {_alnum(local), *re.split(r"[\W_]+", local)}
    for name in names:
        if len(name) >= EMAIL_LOCAL_MIN_CHARS and name in compact \
                and len(compact.replace(name, "")) < CONTEXT_REST_MIN_CHARS:
            return "password is built on the email address's name"
    for word in SERVICE_WORDS:
        if word in compact and len(compact.replace(word, "")) < CONTEXT_REST_MIN_CHARS:
            return "password is built on the name of this service"
    if lowered in common_passwords() or lowered.strip() in common_passwords():
        return "password is one of the most common passwords found in data breaches"
    return None

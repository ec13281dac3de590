"""Diversity hints: what makes two seeds of the same tool and scenario differ.

A hint combines a persona, a writing style, a setting and a detail. The
combination for seed ``i`` of a (tool, scenario) comes from a permutation of
all combinations seeded by ``random_seed``, tool and scenario, so it depends on
nothing else: adding seeds, tools or scenarios never changes the hint (and so
the request key) of a seed that already existed.
"""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache

PERSONAS = (
    "a nurse finishing a night shift",
    "a first-year computer science student",
    "a retired schoolteacher",
    "a small-bakery owner",
    "a freelance graphic designer",
    "a site-reliability engineer on call",
    "a high-school chemistry teacher",
    "a logistics coordinator",
    "a PhD student in ecology",
    "a real-estate agent",
    "a journalist on deadline",
    "a paralegal",
    "a startup founder",
    "a museum archivist",
    "a physiotherapist",
    "a data analyst at a bank",
    "a hobby photographer",
    "a volunteer at a food bank",
    "a farmer planning the harvest",
    "a travel blogger",
    "a junior accountant",
    "a project manager juggling three teams",
    "a music producer",
    "a customer-support lead",
    "a civil engineer",
    "a librarian",
    "a game developer",
    "a pharmacist",
    "a marketing intern",
    "a security analyst",
    "a chef planning a menu",
    "a parent organising a school trip",
    "a wedding planner",
    "a bicycle mechanic",
    "a city council clerk",
    "a yoga instructor",
    "a truck dispatcher",
    "a lab technician",
    "an open-source maintainer",
    "a sales engineer",
)
STYLES = (
    "terse, all lowercase",
    "polite and a little verbose",
    "with a typo or two",
    "as a non-native English speaker",
    "casual, with slang",
    "formal and precise",
    "impatient",
    "friendly, with an emoji",
    "as one long run-on sentence",
    "as a numbered list of needs",
    "starting with some context before the request",
    "as a question",
    "as a direct command",
    "uncertain, thinking out loud",
    "using abbreviations",
    "with exact figures and names",
    "apologetic",
    "enthusiastic",
    "dry and matter-of-fact",
    "mixing in a bit of humour",
)
SETTINGS = (
    "in a hurry before a meeting",
    "late at night",
    "on a phone with a bad connection",
    "while debugging something that broke",
    "preparing a report for a manager",
    "helping a colleague",
    "on the first day of a new job",
    "cleaning up old work",
    "planning next week",
    "after a customer complained",
    "during a live demo",
    "while travelling",
    "on a Sunday afternoon",
    "during an audit",
    "while teaching someone else",
    "right after a system migration",
    "before a deadline tomorrow",
    "while comparing two options",
    "after getting a confusing error earlier",
    "while on a video call",
    "checking something a friend asked about",
    "setting things up for the first time",
    "double-checking earlier work",
    "while multitasking",
    "at the end of a long day",
    "during a quarterly review",
    "between two classes",
    "while waiting for a train",
    "on behalf of a manager",
    "from a shared office computer",
)
DETAILS = (
    "mentions a specific name or identifier",
    "uses a relative date like 'last Friday'",
    "includes a number with units",
    "refers to something non-English by its real name",
    "adds an irrelevant personal remark",
    "includes a path, URL or code-like string",
    "asks for the result in a particular form",
    "mentions why it is needed",
    "includes a quantity or limit",
    "names a place",
    "quotes a short phrase exactly",
    "mentions an earlier attempt",
    "uses a nickname for something",
    "gives one constraint to respect",
    "mentions a colleague by first name",
    "includes a time of day",
    "uses a product or project code name",
    "includes mixed upper and lower case values",
    "gives a value with punctuation in it",
    "keeps the request very short",
    "adds a polite closing",
    "includes an email address or handle",
    "mentions a deadline",
    "includes a list of two or three items",
    "uses British spelling",
)
SPACE = len(PERSONAS) * len(STYLES) * len(SETTINGS) * len(DETAILS)


@lru_cache(maxsize=65536)
def _affine(random_seed: int, tool: str, scenario: str) -> tuple[int, int]:
    """Multiplier (coprime to SPACE) and offset of this group's permutation."""
    digest = hashlib.sha256(f"{random_seed}\x00{tool}\x00{scenario}".encode()).digest()
    a = int.from_bytes(digest[:8], "big") % SPACE | 1
    while math.gcd(a, SPACE) != 1:
        a += 2
    return a, int.from_bytes(digest[8:16], "big") % SPACE


def hint(random_seed: int, tool: str, scenario: str, index: int) -> str:
    """The diversity hint of seed ``index`` in its (tool, scenario) group."""
    a, b = _affine(random_seed, tool, scenario)
    n = (a * (index % SPACE) + b) % SPACE
    n, detail = divmod(n, len(DETAILS))
    n, setting = divmod(n, len(SETTINGS))
    persona, style = divmod(n, len(STYLES))
    text = (
        f"The user is {PERSONAS[persona]}, writing {STYLES[style]}, "
        f"{SETTINGS[setting]}; the message {DETAILS[detail]}."
    )
    if index >= SPACE:  # a group larger than every combination: say so in words
        text += f" This is take {index // SPACE + 1} of this situation; make it differ."
    return text

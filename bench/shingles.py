"""Which shingles should near-duplicate detection use on short chat turns?

Builds ~300 realistic user turns for tools (15 request families, several personas
and phrasings, concrete values), and for each one:

  light      a near-verbatim rewrite: same wording with small edits (punctuation,
             "please", a contraction, casing, a greeting) -- what a lazy paraphraser
             returns, and what dedup should remove;
  reworded   a true paraphrase: another phrasing of the same request, same values;
  one_value  hard negative: same template, one value changed (another request!);
  all_values hard negative: same template, every value changed;
  other      a different request (another family).

Per shingle kind it prints the exact Jaccard distribution of each pair type and what
the Deduper (MinHash LSH + confirmation, threshold 0.8) flags: recall on light and
reworded paraphrases, false positives on each negative type, precision over all.
It also checks that hashing shingles with crc32 (the Deduper's choice) estimates
Jaccard as well as datasketch's default sha1.

    .venv/bin/python bench/shingles.py
"""

from __future__ import annotations

import random
import re
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash
from datasketch.hashfunc import sha1_hash32

from forge_batch.dedup import SHINGLE_KINDS, Deduper, shingle

THRESHOLD = 0.8
PAIR_TYPES = ("light", "reworded", "one_value", "all_values", "other")
POSITIVE = {"light", "reworded"}

CITIES = [
    "Paris",
    "Lyon",
    "Nairobi",
    "Osaka",
    "Austin",
    "Porto",
    "Krakow",
    "Denver",
    "Lima",
    "Hanoi",
    "Oslo",
    "Seville",
    "Perth",
    "Quito",
    "Tallinn",
    "Boise",
]
PEOPLE = [
    "Maria Lopez",
    "Tom Becker",
    "Aisha Khan",
    "Ravi Patel",
    "Chen Wei",
    "Olga Ivanova",
    "Sam O'Neil",
    "Fatima Zahra",
    "Lukas Novak",
    "Grace Kim",
    "Diego Ruiz",
    "Ana Silva",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
FILES = [
    "q3_report.pdf",
    "notes/todo.md",
    "src/app/main.py",
    "budget-2025.xlsx",
    "photos/beach.jpg",
    "config/settings.yaml",
    "README.txt",
    "logs/server.log",
]
TICKERS = ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOGL", "META", "NFLX", "SAP", "ASML"]
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "INR"]
LANGS = ["French", "Spanish", "German", "Japanese", "Italian", "Portuguese", "Korean"]
CUISINES = ["Thai", "Italian", "Mexican", "Ethiopian", "Korean", "Lebanese", "Indian"]
PHRASES = [
    "where is the train station",
    "how much does this cost",
    "I have a nut allergy",
    "can we meet tomorrow morning",
    "the meeting is cancelled",
    "thank you for dinner",
]


def _date(r: random.Random) -> str:
    return f"{r.choice(MONTHS)} {r.randint(1, 28)}"


def _time(r: random.Random) -> str:
    return f"{r.randint(7, 20)}:{r.choice(['00', '15', '30', '45'])}"


# Each family: value sampler and phrasings of the same request. Phrasings differ in
# wording and structure like real users (terse, polite, chatty with context).
@dataclass(frozen=True)
class Family:
    name: str
    values: Callable[[random.Random], dict[str, str]]
    templates: tuple[str, ...]


FAMILIES = (
    Family(
        "weather",
        lambda r: {"city": r.choice(CITIES), "n": str(r.randint(2, 10))},
        (
            "What's the weather going to be like in {city} over the next {n} days?",
            "Can you pull up a {n}-day forecast for {city}?",
            "I'm heading to {city} soon. How does the weather look for the coming {n} days?",
            "{city} forecast, next {n} days please",
            "Do I need an umbrella in {city}? Show me the forecast for {n} days.",
        ),
    ),
    Family(
        "email",
        lambda r: {
            "who": r.choice(PEOPLE),
            "day": r.choice(DAYS),
            "topic": r.choice(["the budget", "the offsite", "hiring", "the launch", "Q3 numbers"]),
        },
        (
            "Send an email to {who} saying the meeting about {topic} moves to {day}.",
            "Please let {who} know by email that we're discussing {topic} on {day} instead.",
            "Email {who}: {topic} meeting is now on {day}.",
            "Could you write to {who} and tell them the {topic} discussion got pushed to {day}?",
            "Drop {who} a quick mail that {topic} is rescheduled for {day}, thanks.",
        ),
    ),
    Family(
        "invoice",
        lambda r: {
            "cust": f"C{r.randint(1000, 9999)}",
            "amt": f"{r.randint(50, 9000):,}",
            "cur": r.choice(CURRENCIES),
        },
        (
            "Create an invoice for customer {cust} for {amt} {cur}.",
            "Bill {cust} {amt} {cur}, please.",
            "I need to invoice client {cust}; the total is {amt} {cur}.",
            "Can you raise an invoice of {amt} {cur} against account {cust}?",
            "New invoice: customer {cust}, amount {amt}, currency {cur}.",
        ),
    ),
    Family(
        "flight",
        lambda r: {"src": r.choice(CITIES), "dst": r.choice(CITIES), "date": _date(r)},
        (
            "Find me flights from {src} to {dst} on {date}.",
            "Are there any flights {src} to {dst} on {date}?",
            "I need to fly out of {src} and land in {dst} on {date}. What are my options?",
            "Search flights {src} -> {dst}, {date}",
            "My sister is getting married in {dst}; show me flights from {src} for {date}.",
        ),
    ),
    Family(
        "calendar",
        lambda r: {
            "what": r.choice(
                [
                    "dentist appointment",
                    "team standup",
                    "1:1 with Priya",
                    "yoga class",
                    "parent-teacher meeting",
                ]
            ),
            "date": _date(r),
            "time": _time(r),
        },
        (
            "Add a {what} to my calendar on {date} at {time}.",
            "Put {what} in my calendar for {date}, {time}.",
            "Can you schedule my {what} for {date} at {time}?",
            "Please block {time} on {date} for the {what}.",
            "Remind me of the {what}: it's on {date} at {time}, add it to the calendar.",
        ),
    ),
    Family(
        "file",
        lambda r: {"path": r.choice(FILES), "n": str(r.randint(5, 200))},
        (
            "Show me the first {n} lines of {path}.",
            "Open {path} and print the first {n} lines.",
            "What's at the top of {path}? Just the first {n} lines.",
            "Read {path}, lines 1 to {n}.",
            "I lost track of what's in {path}; can you display its opening {n} lines?",
        ),
    ),
    Family(
        "stock",
        lambda r: {"t": r.choice(TICKERS), "n": str(r.randint(2, 30))},
        (
            "What's the current price of {t}?  Also show the last {n} days.",
            "Get me {t}'s stock price and its {n}-day history.",
            "How has {t} been trading over the past {n} days, and where is it now?",
            "{t} quote plus {n} days of history",
            "My dad keeps asking about {t}. Can you check the price and the trend for {n} days?",
        ),
    ),
    Family(
        "translate",
        lambda r: {"p": r.choice(PHRASES), "lang": r.choice(LANGS)},
        (
            "Translate '{p}' into {lang}.",
            "How do you say '{p}' in {lang}?",
            "Can you put '{p}' into {lang} for me?",
            "{lang} translation of: {p}",
            "I'm traveling next week and need to say '{p}' in {lang}. How would that go?",
        ),
    ),
    Family(
        "reminder",
        lambda r: {
            "what": r.choice(
                [
                    "call mom",
                    "pay the rent",
                    "water the plants",
                    "renew my passport",
                    "submit the expense report",
                ]
            ),
            "day": r.choice(DAYS),
            "time": _time(r),
        },
        (
            "Remind me to {what} on {day} at {time}.",
            "Set a reminder for {day} at {time}: {what}.",
            "Can you ping me on {day} at {time} so I remember to {what}?",
            "Don't let me forget to {what}; remind me {day}, {time}.",
            "Please create a reminder to {what} for {time} on {day}.",
        ),
    ),
    Family(
        "restaurant",
        lambda r: {
            "n": str(r.randint(2, 9)),
            "cuisine": r.choice(CUISINES),
            "city": r.choice(CITIES),
            "time": _time(r),
        },
        (
            "Book a table for {n} at a {cuisine} restaurant in {city} at {time}.",
            "Reserve {cuisine} for {n} people in {city}, {time}.",
            "We're {n} people craving {cuisine} food in {city}. Can you get us a table at {time}?",
            "Find a {cuisine} place in {city} and book it for {n} at {time}.",
            "Table for {n}, {cuisine}, {city}, {time} please.",
        ),
    ),
    Family(
        "currency",
        lambda r: {
            "amt": f"{r.randint(10, 5000):,}",
            "a": r.choice(CURRENCIES),
            "b": r.choice(CURRENCIES),
        },
        (
            "Convert {amt} {a} to {b}.",
            "How much is {amt} {a} in {b}?",
            "What would {amt} {a} be worth in {b} today?",
            "{amt} {a} to {b} please",
            "I'm being paid {amt} {a}; what's that in {b}?",
        ),
    ),
    Family(
        "ticket",
        lambda r: {
            "sys": r.choice(
                ["the VPN", "the printer on floor 3", "payroll", "the staging server", "Slack"]
            ),
            "prio": r.choice(["high", "low", "medium", "urgent"]),
        },
        (
            "Open a {prio} priority ticket: {sys} is down.",
            "Please file a ticket, priority {prio}, saying {sys} isn't working.",
            "{sys} stopped working again. Can you log a {prio} priority ticket?",
            "Create support ticket ({prio}): problem with {sys}",
            "Our team can't use {sys}. Raise a ticket and mark it {prio}.",
        ),
    ),
    Family(
        "shipping",
        lambda r: {
            "num": f"1Z{r.randint(10**9, 10**10 - 1)}",
            "carrier": r.choice(["UPS", "DHL", "FedEx", "USPS"]),
        },
        (
            "Where is my {carrier} package {num}?",
            "Track {carrier} shipment {num}.",
            "Can you check the status of tracking number {num} with {carrier}?",
            "{carrier} tracking {num}, where is it now?",
            "I've been waiting all week for {carrier} parcel {num}. Any update?",
        ),
    ),
    Family(
        "units",
        lambda r: {
            "v": str(r.randint(2, 500)),
            "u": r.choice(
                [
                    ("miles", "kilometers"),
                    ("pounds", "kilograms"),
                    ("feet", "meters"),
                    ("cups", "milliliters"),
                ]
            ),
        },
        (
            "Convert {v} {u[0]} to {u[1]}.",
            "How many {u[1]} is {v} {u[0]}?",
            "{v} {u[0]} in {u[1]}?",
            "What's {v} {u[0]} expressed in {u[1]}?",
            "My recipe says {v} {u[0]}; what is that in {u[1]}?",
        ),
    ),
    Family(
        "sql",
        lambda r: {
            "table": r.choice(["orders", "customers", "invoices", "events"]),
            "n": str(r.randint(5, 100)),
            "col": r.choice(["created_at", "total", "country", "status"]),
        },
        (
            "Show the top {n} rows of {table} sorted by {col}.",
            "Query {table}: first {n} rows ordered by {col}.",
            "Can you run a query that lists {n} records from {table} sorted on {col}?",
            "SELECT {n} rows from {table} by {col}",
            "I need a quick look at {table}; give me {n} rows ordered by {col}, please.",
        ),
    ),
)

OPENERS = ["", "", "", "Hi! ", "Hey, ", "Quick one: ", "Morning. ", "Hello there, "]


def _render(family: Family, template: int, values: dict[str, str], opener: str) -> str:
    fields = {k: v for k, v in values.items() if k != "u"}
    text = family.templates[template].format(u=values.get("u", ("", "")), **fields)
    return opener + text if opener else text


def _light(text: str, r: random.Random) -> str:
    """Near-verbatim: one or two small edits that keep almost every word."""
    edits = [
        lambda t: t.rstrip(".?!") + r.choice(["!", " please.", "?", " thanks!"]),
        lambda t: t.lower(),
        lambda t: re.sub(r"^(Hi! |Hey, |Quick one: |Morning\. |Hello there, )", "", t) or t,
        lambda t: "Please " + t[0].lower() + t[1:] if not t.startswith("Please") else t[7:],
        lambda t: (
            t.replace("What's", "What is").replace("I'm", "I am").replace("Can you", "Could you")
        ),
        lambda t: t.replace(", ", " ").replace(".", ""),
    ]
    for edit in r.sample(edits, 2):
        text = edit(text)
    return text


def _pairs(r: random.Random) -> tuple[list[str], list[tuple[str, str, str]]]:
    """300 base turns and (base, variant, pair type) for each of the five types."""
    bases: list[tuple[Family, int, dict[str, str], str, str]] = []
    for family in FAMILIES:
        for _ in range(20):
            t, v, o = r.randrange(len(family.templates)), family.values(r), r.choice(OPENERS)
            bases.append((family, t, v, o, _render(family, t, v, o)))
    pairs = []
    for family, t, values, opener, text in bases:
        pairs.append((text, _light(text, r), "light"))
        other_t = r.choice([i for i in range(len(family.templates)) if i != t])
        pairs.append((text, _render(family, other_t, values, r.choice(OPENERS)), "reworded"))
        changed = dict(values)
        key = r.choice(sorted(values))
        while changed[key] == values[key]:
            changed[key] = family.values(r)[key]
        pairs.append((text, _render(family, t, changed, opener), "one_value"))
        fresh = family.values(r)
        while any(fresh[k] == values[k] for k in values):
            fresh = family.values(r)
        pairs.append((text, _render(family, t, fresh, opener), "all_values"))
        other = r.choice([b for b in bases if b[0] is not family])
        pairs.append((text, other[4], "other"))
    return [b[4] for b in bases], pairs


def _jaccard(a: set[bytes], b: set[bytes]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _quantiles(values: list[float]) -> str:
    q = statistics.quantiles(values, n=10, method="inclusive")
    return f"{min(values):.2f} {q[4]:.2f} {q[8]:.2f} {max(values):.2f}"


def measure(pairs: list[tuple[str, str, str]]) -> None:
    print(
        f"\n{len(pairs)} pairs; Deduper threshold {THRESHOLD} (MinHash LSH, 128 perms, "
        "confirmed by estimated Jaccard)\n"
    )
    head = (
        "kind  | flagged: light reworded | one_value all_values other | precision "
        "| recall(light) recall(all pos) | us/text"
    )
    print(head)
    print("-" * len(head))
    jaccards: dict[str, dict[str, list[float]]] = {}
    for kind in SHINGLE_KINDS:
        dedup = Deduper(threshold=THRESHOLD, shingles=kind)
        flagged = {t: 0 for t in PAIR_TYPES}
        total = {t: 0 for t in PAIR_TYPES}
        jaccards[kind] = {t: [] for t in PAIR_TYPES}
        start = time.perf_counter()
        for a, b, kind_of_pair in pairs:
            flagged[kind_of_pair] += dedup.would_flag(a, b)
            total[kind_of_pair] += 1
        per_text = (time.perf_counter() - start) / (2 * len(pairs)) * 1e6
        for a, b, kind_of_pair in pairs:
            jaccards[kind][kind_of_pair].append(_jaccard(shingle(a, kind), shingle(b, kind)))
        tp = sum(flagged[t] for t in POSITIVE)
        fp = sum(flagged[t] for t in PAIR_TYPES if t not in POSITIVE)
        positives = sum(total[t] for t in POSITIVE)
        rate = {t: flagged[t] / total[t] for t in PAIR_TYPES}
        precision = tp / (tp + fp) if tp + fp else float("nan")
        print(
            f"{kind:5} | {rate['light']:13.1%} {rate['reworded']:8.1%} | "
            f"{rate['one_value']:9.1%} {rate['all_values']:10.1%} {rate['other']:5.1%} | "
            f"{precision:9.1%} | {rate['light']:13.1%} {tp / positives:15.1%} | "
            f"{per_text:7.0f}"
        )
    print("\nExact Jaccard by pair type: min median p90 max (share >= 0.8)")
    for kind in SHINGLE_KINDS:
        cells = []
        for t in PAIR_TYPES:
            values = jaccards[kind][t]
            share = sum(v >= THRESHOLD for v in values) / len(values)
            cells.append(f"{t}: {_quantiles(values)} ({share:.0%})")
        print(f"{kind:5} | " + " | ".join(cells))


def hash_accuracy(pairs: list[tuple[str, str, str]], kind: str = "word2") -> None:
    """crc32 vs sha1 as the shingle hash: error of the 128-perm estimate vs exact."""
    print(f"\nJaccard estimate error with 128 permutations ({kind} shingles, all pairs):")
    for name, fn in (("sha1_hash32 (datasketch default)", sha1_hash32), ("zlib.crc32", zlib.crc32)):
        template = MinHash(128, hashfunc=fn)
        errors = []
        start = time.perf_counter()
        for a, b, _ in pairs:
            sa, sb = shingle(a, kind), shingle(b, kind)
            ma, mb = template.copy(), template.copy()
            ma.update_batch(sa)
            mb.update_batch(sb)
            errors.append(abs(ma.jaccard(mb) - _jaccard(sa, sb)))
        per_text = (time.perf_counter() - start) / (2 * len(pairs)) * 1e6
        print(
            f"  {name:32} mean |error| {np.mean(errors):.4f}  p95 "
            f"{np.percentile(errors, 95):.4f}  ({per_text:.0f} us per text incl. shingling)"
        )


def main() -> int:
    r = random.Random(20250301)
    bases, pairs = _pairs(r)
    words = [len(b.split()) for b in bases]
    print(
        f"{len(bases)} base user turns, {len(FAMILIES)} request families; words per turn: "
        f"median {statistics.median(words):.0f}, range {min(words)}-{max(words)}"
    )
    for t in PAIR_TYPES:
        example = next(p for p in pairs if p[2] == t)
        print(f"  {t:10} {example[0]!r}\n  {'':10} {example[1]!r}")
    measure(pairs)
    hash_accuracy(pairs)
    return 0


if __name__ == "__main__":
    sys.exit(main())

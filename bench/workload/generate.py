"""Generate the bench workload: a FastAPI + SQLAlchemy 2 backend with about 3,000 tests.

The project is written, never committed: the same seed and size give the same bytes.
It has the cost shapes of a real suite (issue 12):

- an app of real import weight: ``app/`` with a domain, models, schemas, services and
  routers module per entity (14 entities, about 70 modules);
- PostgreSQL through ``DATABASE_URL`` (one shared database, the most common shape):
  ``metadata.create_all`` once per session; integration and api test modules either
  drop and create every table before each test or truncate every table (both shapes);
- about 60% unit tests (pure functions, schemas), 25% integration (services against
  the database), 15% api (FastAPI's TestClient through the app into the database);
- about 1% slow tests (0.5 to 2 s: CPU-bound property loops, bulk inserts, sleeps).

Usage::

    python bench/workload/generate.py OUTDIR [--tests N] [--seed S]

``OUTDIR/workload.json`` records the seed, the size and the test count per group;
``bench/workload/mutate.py`` makes one-module changes and mutants of it. Standard
library only, so that it runs anywhere the bench does.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import string
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

GENERATOR_VERSION = 1
DEFAULT_SEED = 1203
DEFAULT_TESTS = 3000
ENTITY_COUNT = 14
MUTANT_ENTITIES = 5  # bench/workload/mutate.py mutates the first ones only
PROJECT = "workload"
GROUPS = ("unit", "integration", "api")
SHARES = {"unit": 0.60, "integration": 0.25}  # api gets the rest (about 15%)
SLOW_SHARE = 0.01
SLOW_SPLIT = {"unit": 0.4, "integration": 0.4}  # api gets the rest
# Share of the entities whose database test modules drop and create every table
# before each test; the others truncate every table (the cheaper, common shape).
RECREATE_SHARE = {"integration": 0.5, "api": 0.3}
# Calibration of the slow tests (a reference core, unloaded): property-loop
# iterations per second, rows a bulk insert makes per second, api requests per second.
LOOP_RATE = 2_500_000
ROW_RATE = 250
REQUEST_RATE = 100
MANIFEST = "workload.json"

# Exactly what the test image installs (runtime and test dependencies, resolved).
LOCKED = (
    ("annotated-doc", "0.0.7"),
    ("annotated-types", "0.8.0"),
    ("anyio", "4.16.0"),
    ("certifi", "2026.10.18"),
    ("click", "8.5.1"),
    ("coverage", "7.17.3"),
    ("execnet", "2.1.2"),
    ("fastapi", "0.165.0"),
    ("h11", "0.16.0"),
    ("httpcore", "1.0.9"),
    ("httpx", "0.28.1"),
    ("idna", "3.20"),
    ("iniconfig", "2.3.1"),
    ("opentelemetry-api", "1.45.2"),
    ("packaging", "26.3"),
    ("pluggy", "1.7.0"),
    ("psycopg", "3.3.9"),
    ("psycopg-binary", "3.3.9"),
    ("pydantic", "2.14.3"),
    ("pydantic-core", "2.50.4"),
    ("pygments", "2.21.0"),
    ("pytest", "9.2.0"),
    ("pytest-cov", "7.1.0"),
    ("pytest-xdist", "3.8.0"),
    ("sqlalchemy", "2.1.9"),
    ("starlette", "1.10.0"),
    ("typing-extensions", "4.16.0"),
    ("typing-inspection", "0.4.5"),
    ("tzdata", "2026.6"),
    ("uvicorn", "0.54.0"),
)
RUNTIME = ("fastapi", "sqlalchemy", "pydantic", "psycopg[binary]", "uvicorn")
TEST_DEPS = ("pytest", "pytest-xdist", "httpx", "coverage", "pytest-cov")

VOCABULARY = (
    ("customer", "customers", "Customer"),
    ("supplier", "suppliers", "Supplier"),
    ("product", "products", "Product"),
    ("order", "orders", "Order"),
    ("invoice", "invoices", "Invoice"),
    ("payment", "payments", "Payment"),
    ("shipment", "shipments", "Shipment"),
    ("warehouse", "warehouses", "Warehouse"),
    ("coupon", "coupons", "Coupon"),
    ("review", "reviews", "Review"),
    ("ticket", "tickets", "Ticket"),
    ("subscription", "subscriptions", "Subscription"),
    ("contract", "contracts", "Contract"),
    ("asset", "assets", "Asset"),
    ("booking", "bookings", "Booking"),
    ("employee", "employees", "Employee"),
    ("department", "departments", "Department"),
    ("project", "projects", "Project"),
    ("task", "tasks", "Task"),
    ("vendor", "vendors", "Vendor"),
)

WORDS = (
    "alpha", "amber", "atlas", "birch", "blue", "bravo", "cedar", "charlie", "cobalt", "coral",
    "delta", "echo", "ember", "falcon", "fern", "golf", "granite", "harbor", "hazel", "indigo",
    "iris", "juniper", "kilo", "lima", "linen", "maple", "marble", "nova", "oak", "onyx",
    "orbit", "pearl", "pine", "quartz", "raven", "river", "sage", "sierra", "slate", "tango",
    "topaz", "umber", "velvet", "willow", "zephyr", "zulu",
)  # fmt: skip

MACHINES: tuple[dict[str, tuple[str, ...]], ...] = (
    {
        "draft": ("active", "cancelled"),
        "active": ("suspended", "closed"),
        "suspended": ("active", "closed"),
        "closed": (),
        "cancelled": (),
    },
    {
        "draft": ("submitted", "cancelled"),
        "submitted": ("approved", "rejected"),
        "approved": ("closed",),
        "rejected": ("draft",),
        "closed": (),
        "cancelled": (),
    },
    {
        "draft": ("open", "cancelled"),
        "open": ("in_progress", "cancelled"),
        "in_progress": ("open", "done"),
        "done": (),
        "cancelled": (),
    },
)

EXTRA_RULES = (
    "loyalty_tier",
    "check_digit",
    "page_bounds",
    "business_days",
    "weighted_score",
    "tax_cents",
    "parse_duration",
    "merge_windows",
    "slug",
)
REGIONS = ("north", "south", "east", "west", "central", "island")


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True, slots=True)
class Extra:
    """An optional column of an entity: its table column, schema field and sample values."""

    name: str
    column: str
    annotation: str
    schema: str
    update: str
    sample: Callable[[random.Random], object]


def _sample_date(rng: random.Random) -> date:
    return date(2024, 1, 1) + timedelta(days=rng.randrange(0, 900))


EXTRAS = (
    Extra(
        "notes",
        "mapped_column(Text)",
        "str | None",
        "notes: str | None = Field(default=None, max_length=2000)",
        "notes: str | None = Field(default=None, max_length=2000)",
        lambda rng: rng.choice([None, f"{rng.choice(WORDS)} {rng.choice(WORDS)} note"]),
    ),
    Extra(
        "priority",
        "mapped_column(SmallInteger, default=0)",
        "int",
        "priority: int = Field(default=0, ge=0, le=5)",
        "priority: int | None = Field(default=None, ge=0, le=5)",
        lambda rng: rng.randint(0, 5),
    ),
    Extra(
        "is_active",
        "mapped_column(Boolean, default=True)",
        "bool",
        "is_active: bool = True",
        "is_active: bool | None = None",
        lambda rng: rng.random() < 0.7,
    ),
    Extra(
        "due_on",
        "mapped_column(Date, index=True)",
        "date | None",
        "due_on: date | None = None",
        "due_on: date | None = None",
        lambda rng: rng.choice([None, _sample_date(rng)]),
    ),
    Extra(
        "email",
        "mapped_column(String(200), index=True)",
        "str | None",
        'email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$")',
        'email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$")',
        lambda rng: f"{rng.choice(WORDS)}.{rng.randint(1, 99)}@example.org",
    ),
    Extra(
        "weight_grams",
        "mapped_column(Integer, default=0)",
        "int",
        "weight_grams: int = Field(default=0, ge=0)",
        "weight_grams: int | None = Field(default=None, ge=0)",
        lambda rng: rng.randint(0, 50_000),
    ),
    Extra(
        "currency",
        'mapped_column(String(3), default="EUR")',
        "str",
        'currency: str = Field(default="EUR", pattern="^[A-Z]{3}$")',
        'currency: str | None = Field(default=None, pattern="^[A-Z]{3}$")',
        lambda rng: rng.choice(["EUR", "USD", "GBP", "CHF", "SEK"]),
    ),
    Extra(
        "region",
        'mapped_column(String(20), default="north")',
        "str",
        'region: str = Field(default="north", max_length=20)',
        "region: str | None = Field(default=None, max_length=20)",
        lambda rng: rng.choice(REGIONS),
    ),
    Extra(
        "tags",
        "mapped_column(JSONB, default=list)",
        "list[str]",
        "tags: list[str] = Field(default_factory=list, max_length=10)",
        "tags: list[str] | None = Field(default=None, max_length=10)",
        lambda rng: sorted(rng.sample(WORDS, rng.randint(0, 3))),
    ),
    Extra(
        "rating",
        "mapped_column(SmallInteger)",
        "int | None",
        "rating: int | None = Field(default=None, ge=1, le=5)",
        "rating: int | None = Field(default=None, ge=1, le=5)",
        lambda rng: rng.choice([None, rng.randint(1, 5)]),
    ),
)


@dataclass(frozen=True, slots=True)
class Entity:
    index: int
    singular: str
    plural: str
    cls: str
    prefix: str
    parent: int
    machine: dict[str, tuple[str, ...]]
    extras: tuple[Extra, ...]
    max_code: int
    max_discount: int
    rules: tuple[str, ...]
    consts: dict[str, Any]
    recreate: dict[str, bool]

    @property
    def statuses(self) -> tuple[str, ...]:
        return tuple(self.machine)

    @property
    def allowed(self) -> str:
        return self.machine["draft"][0]

    @property
    def disallowed(self) -> str:
        return next(s for s in self.statuses if s != "draft" and s not in self.machine["draft"])


@dataclass(frozen=True, slots=True)
class Plan:
    seed: int
    tests: int
    entities: tuple[Entity, ...]
    counts: dict[str, int]
    slow: dict[str, int]

    def entity(self, index: int) -> Entity:
        return self.entities[index]


def split(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` near-equal integers, the larger ones first."""
    base, rest = divmod(total, parts)
    return [base + (1 if i < rest else 0) for i in range(parts)]


def group_counts(tests: int) -> dict[str, int]:
    unit = round(tests * SHARES["unit"])
    integration = round(tests * SHARES["integration"])
    return {"unit": unit, "integration": integration, "api": tests - unit - integration}


def slow_counts(tests: int) -> dict[str, int]:
    total = round(tests * SLOW_SHARE)
    unit = round(total * SLOW_SPLIT["unit"])
    integration = round(total * SLOW_SPLIT["integration"])
    return {"unit": unit, "integration": integration, "api": total - unit - integration}


def plan(seed: int = DEFAULT_SEED, tests: int = DEFAULT_TESTS) -> Plan:
    """Everything the project is made of, from the seed alone (the size only sets counts)."""
    if tests < 30:
        raise ValueError("--tests must be at least 30")
    rng = random.Random(seed)
    names = list(VOCABULARY)
    rng.shuffle(names)
    names = names[:ENTITY_COUNT]
    prefixes: set[str] = set()
    order = list(range(ENTITY_COUNT))
    recreate_order = {group: rng.sample(order, len(order)) for group in ("integration", "api")}
    entities = []
    for index, (singular, plural, cls) in enumerate(names):
        prefix = singular[:3].upper()
        while prefix in prefixes:
            prefix = "".join(rng.sample(string.ascii_uppercase, 3))
        prefixes.add(prefix)
        extras = tuple(sorted(rng.sample(EXTRAS, rng.randint(3, 5)), key=EXTRAS.index))
        rules = tuple(sorted(rng.sample(EXTRA_RULES, 4), key=EXTRA_RULES.index))
        recreate = {
            group: recreate_order[group].index(index) < round(RECREATE_SHARE[group] * ENTITY_COUNT)
            for group in ("integration", "api")
        }
        entities.append(
            Entity(
                index=index,
                singular=singular,
                plural=plural,
                cls=cls,
                prefix=prefix,
                parent=index if index == 0 else rng.randrange(0, index),
                machine=MACHINES[rng.randrange(len(MACHINES))],
                extras=extras,
                max_code=rng.randint(20, 32),
                max_discount=rng.choice([30, 40, 50, 60, 75]),
                rules=rules,
                consts=_rule_consts(rng),
                recreate=recreate,
            )
        )
    return Plan(
        seed=seed, tests=tests, entities=tuple(entities), counts=group_counts(tests), slow=slow_counts(tests)
    )


def _rule_consts(rng: random.Random) -> dict[str, Any]:
    t1 = rng.randint(50, 400)
    t2 = t1 + rng.randint(100, 800)
    t3 = t2 + rng.randint(500, 3000)
    regions = rng.sample(REGIONS, 4)
    return {
        "tiers": (t1, t2, t3),
        "weights": (rng.randint(2, 9), rng.randint(2, 9)),
        "modulus": rng.choice([31, 37, 41, 43, 47]),
        "page_size": rng.choice([10, 20, 25, 50]),
        "workdays": rng.choice([5, 5, 6]),
        "decay": rng.choice([0.5, 0.75, 0.8, 0.9]),
        "tax": {region: rng.choice([0, 500, 700, 1000, 1900, 2100, 2500]) for region in sorted(regions)},
        "max_duration": rng.choice([86_400, 7 * 86_400, 30 * 86_400]),
        "gap": rng.randint(0, 5),
        "max_slug": rng.randint(24, 60),
    }


# --------------------------------------------------------------------------- helpers


def fill(template: str, **values: object) -> str:
    """``template`` dedented, with ``$name`` replaced (Python code keeps its braces)."""
    return string.Template(textwrap.dedent(template).lstrip("\n")).substitute(
        {key: str(value) for key, value in values.items()}
    )


def lit(value: object) -> str:
    """A Python literal for ``value`` (dates as ``date(y, m, d)``)."""
    if isinstance(value, date):
        return f"date({value.year}, {value.month}, {value.day})"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple):
        inner = ", ".join(lit(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(lit(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in value.items()) + "}"
    return repr(value)


def jsonable(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def indent(text: str, spaces: int) -> str:
    return textwrap.indent(text, " " * spaces)


def param_block(
    name: str, argnames: Sequence[str], rows: Sequence[Sequence[object]], sig: str, body: str
) -> str:
    """A parametrized test; ``rows`` are tuples of values (one per argname)."""
    if len(argnames) == 1:
        names = json.dumps(argnames[0])
        cases = [lit(row[0]) for row in rows]
    else:
        names = "(" + ", ".join(json.dumps(a) for a in argnames) + ")"
        cases = [lit(tuple(row)) for row in rows]
    lines = "".join(f"        {case},\n" for case in cases)
    return (
        f"@pytest.mark.parametrize(\n    {names},\n    [\n{lines}    ],\n)\n"
        f"def {name}({sig}) -> None:\n{indent(textwrap.dedent(body).strip(), 4)}\n"
    )


def plain_block(name: str, sig: str, body: str, marks: Sequence[str] = ()) -> str:
    decorators = "".join(f"@{mark}\n" for mark in marks)
    return f"{decorators}def {name}({sig}) -> None:\n{indent(textwrap.dedent(body).strip(), 4)}\n"


@dataclass(slots=True)
class Block:
    """One test function of a generated module: plain (one test) or parametrized."""

    priority: int
    render: Callable[[int], str]
    cap: int | None = 1  # most tests it can hold; None: any number of cases
    param: bool = False


def allocate(blocks: Sequence[Block], budget: int) -> list[int]:
    """Tests per block: one for each block by priority, then more cases round-robin."""
    counts = [0] * len(blocks)
    order = sorted(range(len(blocks)), key=lambda i: (blocks[i].priority, i))
    for i in order:
        if budget == 0:
            break
        counts[i] = 1
        budget -= 1
    while budget > 0:
        grew = False
        for i in order:
            cap = blocks[i].cap
            if budget and blocks[i].param and counts[i] >= 1 and (cap is None or counts[i] < cap):
                counts[i] += 1
                budget -= 1
                grew = True
        if not grew:
            raise ValueError("a test module cannot hold its share of tests")
    return counts


def render_module(header: str, blocks: Sequence[Block], budget: int) -> tuple[str, int]:
    counts = allocate(blocks, budget)
    parts = [header.rstrip("\n") + "\n"]
    for block, n in zip(blocks, counts, strict=True):
        if n:
            parts.append("\n\n" + block.render(n))
    return "".join(parts), sum(counts)


def unique_cases(
    rng: random.Random, make: Callable[[random.Random], tuple[object, ...]], n: int
) -> list[tuple[object, ...]]:
    seen: list[tuple[object, ...]] = []
    keys: set[str] = set()
    attempts = 0
    while len(seen) < n and attempts < 50 * n + 50:
        attempts += 1
        case = make(rng)
        key = lit(case)
        if key not in keys:
            keys.add(key)
            seen.append(case)
    return seen


def sub_rng(plan_: Plan, *parts: object) -> random.Random:
    """A generator of its own for one piece, so pieces do not shift each other."""
    return random.Random(f"{plan_.seed}:" + ":".join(str(p) for p in parts))


# --------------------------------------------------------------------------- domain rules

CORE_RULES = ("normalize_code", "discounted_cents", "can_transition", "next_statuses")

RULE_SOURCES: dict[str, str] = {
    "normalize_code": '''
        def normalize_code(raw: str) -> str:
            """Upper-case, dash-separated, with the $singular prefix exactly once."""
            words = [word for word in raw.strip().upper().replace("_", " ").replace("-", " ").split() if word]
            if not words:
                raise RuleError("empty code")
            if words[0] == CODE_PREFIX:
                words = words[1:]
                if not words:
                    raise RuleError("a code needs more than its prefix")
            code = "-".join([CODE_PREFIX, *words])
            if len(code) > MAX_CODE_LENGTH:
                raise RuleError(f"code longer than {MAX_CODE_LENGTH} characters")
            return code
    ''',
    "discounted_cents": '''
        def discounted_cents(amount_cents: int, percent: int) -> int:
            """The price after a percentage discount, rounded half up to the cent."""
            if amount_cents < 0:
                raise RuleError("amount must not be negative")
            if not 0 <= percent <= MAX_DISCOUNT_PERCENT:
                raise RuleError(f"discount must be between 0 and {MAX_DISCOUNT_PERCENT} percent")
            return amount_cents - (amount_cents * percent + 50) // 100
    ''',
    "can_transition": '''
        def can_transition(current: str, target: str) -> bool:
            """Whether a $singular may go from ``current`` to ``target``."""
            if current not in TRANSITIONS:
                raise RuleError(f"unknown status {current!r}")
            return target in TRANSITIONS[current]
    ''',
    "next_statuses": '''
        def next_statuses(current: str) -> tuple[str, ...]:
            """The statuses a $singular may move to from ``current``."""
            if current not in TRANSITIONS:
                raise RuleError(f"unknown status {current!r}")
            return TRANSITIONS[current]
    ''',
    "loyalty_tier": '''
        TIERS: tuple[tuple[int, str], ...] = (($t1, "silver"), ($t2, "gold"), ($t3, "platinum"))


        def loyalty_tier(points: int) -> str:
            """The highest tier whose threshold ``points`` reaches."""
            if points < 0:
                raise RuleError("points must not be negative")
            tier = "standard"
            for threshold, name in TIERS:
                if points >= threshold:
                    tier = name
            return tier
    ''',
    "check_digit": '''
        def check_digit(code: str) -> int:
            """A weighted check digit over the characters of ``code``."""
            if not code:
                raise RuleError("empty code")
            total = 0
            for index, char in enumerate(code):
                weight = $w1 if index % 2 == 0 else $w2
                total += (ord(char) % $modulus) * weight
            return total % 10
    ''',
    "page_bounds": '''
        DEFAULT_PAGE_SIZE = $page_size


        def page_bounds(total: int, page: int, size: int = DEFAULT_PAGE_SIZE) -> tuple[int, int]:
            """``[start, end)`` of 1-based ``page`` among ``total`` rows."""
            if total < 0 or page < 1 or size < 1:
                raise RuleError("total must not be negative, page and size must be positive")
            start = (page - 1) * size
            if total and start >= total:
                raise RuleError("page out of range")
            return start, min(start + size, total)
    ''',
    "business_days": '''
        WORKDAYS_PER_WEEK = $workdays


        def business_days(start: date, end: date) -> int:
            """Working days from ``start`` (included) to ``end`` (excluded)."""
            if end < start:
                raise RuleError("end before start")
            days = 0
            current = start
            while current < end:
                if current.weekday() < WORKDAYS_PER_WEEK:
                    days += 1
                current += timedelta(days=1)
            return days
    ''',
    "weighted_score": '''
        SCORE_DECAY = $decay


        def weighted_score(ratings: list[int]) -> float:
            """Mean of 1-5 ratings, the most recent (first) weighing most; three decimals."""
            if any(not 1 <= rating <= 5 for rating in ratings):
                raise RuleError("ratings go from 1 to 5")
            if not ratings:
                return 0.0
            weights = [SCORE_DECAY**index for index in range(len(ratings))]
            total = sum(rating * weight for rating, weight in zip(ratings, weights, strict=True))
            return round(total / sum(weights), 3)
    ''',
    "tax_cents": '''
        TAX_RATES_BP: dict[str, int] = $tax


        def tax_cents(amount_cents: int, region: str) -> int:
            """Tax on ``amount_cents`` in ``region`` (rates in basis points), rounded half up."""
            rate = TAX_RATES_BP.get(region.strip().lower())
            if rate is None:
                raise RuleError(f"unknown region {region!r}")
            return (amount_cents * rate + 5_000) // 10_000
    ''',
    "parse_duration": '''
        MAX_DURATION_S = $max_duration
        _UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


        def parse_duration(text: str) -> int:
            """Seconds in a duration such as ``1h30m`` or ``2d``."""
            total = 0
            number = ""
            for char in text.strip().lower():
                if char.isdigit():
                    number += char
                elif char in _UNITS and number:
                    total += int(number) * _UNITS[char]
                    number = ""
                else:
                    raise RuleError(f"bad duration {text!r}")
            if number or not total:
                raise RuleError(f"bad duration {text!r}")
            if total > MAX_DURATION_S:
                raise RuleError("duration too long")
            return total
    ''',
    "merge_windows": '''
        MERGE_GAP = $gap


        def merge_windows(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
            """Overlapping (or nearly touching) ``(start, end)`` windows merged, sorted."""
            merged: list[tuple[int, int]] = []
            for start, end in sorted(windows):
                if start > end:
                    raise RuleError("a window ends before it starts")
                if merged and start <= merged[-1][1] + MERGE_GAP:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], end))
                else:
                    merged.append((start, end))
            return merged
    ''',
    "slug": '''
        MAX_SLUG_LENGTH = $max_slug


        def slug(title: str) -> str:
            """Lower-case ASCII letters and digits, dash-separated, at most MAX_SLUG_LENGTH long."""
            parts: list[str] = []
            for char in title.lower():
                if char.isascii() and char.isalnum():
                    parts.append(char)
                elif parts and parts[-1] != "-":
                    parts.append("-")
            return "".join(parts).strip("-")[:MAX_SLUG_LENGTH].rstrip("-")
    ''',
}

RULE_ARGS: dict[str, tuple[str, ...]] = {
    "normalize_code": ("raw",),
    "discounted_cents": ("amount_cents", "percent"),
    "can_transition": ("current", "target"),
    "next_statuses": ("current",),
    "loyalty_tier": ("points",),
    "check_digit": ("code",),
    "page_bounds": ("total", "page", "size"),
    "business_days": ("start", "end"),
    "weighted_score": ("ratings",),
    "tax_cents": ("amount_cents", "region"),
    "parse_duration": ("text",),
    "merge_windows": ("windows",),
    "slug": ("title",),
}


def domain_source(entity: Entity) -> str:
    c = entity.consts
    values = {
        "singular": entity.singular,
        "t1": c["tiers"][0],
        "t2": c["tiers"][1],
        "t3": c["tiers"][2],
        "w1": c["weights"][0],
        "w2": c["weights"][1],
        "modulus": c["modulus"],
        "page_size": c["page_size"],
        "workdays": c["workdays"],
        "decay": c["decay"],
        "tax": lit(c["tax"]),
        "max_duration": c["max_duration"],
        "gap": c["gap"],
        "max_slug": c["max_slug"],
    }
    transitions = "".join(f"    {lit(k)}: {lit(v)},\n" for k, v in entity.machine.items())
    imports = "from datetime import date, timedelta\n\n" if "business_days" in entity.rules else ""
    head = (
        f'"""Business rules for {entity.plural}: pure functions, no I/O."""\n\n'
        "from __future__ import annotations\n\n"
        f"{imports}"
        "from app.domain.errors import RuleError\n\n"
        f'CODE_PREFIX = "{entity.prefix}"\n'
        f"MAX_CODE_LENGTH = {entity.max_code}\n"
        f"MAX_DISCOUNT_PERCENT = {entity.max_discount}\n"
        f"STATUSES = {lit(entity.statuses)}\n"
        f"TRANSITIONS: dict[str, tuple[str, ...]] = {{\n{transitions}}}\n"
    )
    bodies = [fill(RULE_SOURCES[name], **values) for name in (*CORE_RULES, *entity.rules)]
    return head + "".join("\n\n" + body for body in bodies)


def domain_namespace(entity: Entity) -> dict[str, Any]:
    """The generated rules, executed here to compute the tests' expected values."""
    source = domain_source(entity).replace(
        "from app.domain.errors import RuleError", "class RuleError(ValueError):\n    pass"
    )
    namespace: dict[str, Any] = {"__name__": f"workload_rules_{entity.plural}"}
    exec(compile(source, f"<rules {entity.plural}>", "exec"), namespace)
    return namespace


def _word(rng: random.Random) -> str:
    return rng.choice(WORDS)


def _raw_code(rng: random.Random, entity: Entity) -> str:
    words = [_word(rng) for _ in range(rng.randint(1, 2))] + [str(rng.randint(1, 999))]
    words = [w.upper() if rng.random() < 0.3 else w for w in words]
    if rng.random() < 0.3:
        words.insert(0, entity.prefix.lower())
    sep = rng.choice([" ", "_", "-", "  "])
    raw = sep.join(words)
    return f" {raw} " if rng.random() < 0.3 else raw


def rule_cases(
    entity: Entity, ns: dict[str, Any], name: str, rng: random.Random, n: int
) -> list[tuple[object, ...]]:
    """``n`` valid argument tuples; the first ones sit on the rule's edges."""
    c = entity.consts
    head: list[tuple[object, ...]] = []
    make: Callable[[random.Random], tuple[object, ...]]
    if name == "normalize_code":
        head = [
            (f"  {entity.prefix.lower()} {WORDS[entity.index]} 7 ",),
            (f"{WORDS[entity.index + 1]}_box-9",),
        ]

        def make(r: random.Random) -> tuple[object, ...]:
            return (_raw_code(r, entity),)
    elif name == "discounted_cents":
        # The largest discount, on an amount where rounding half up matters.
        edge = next(a for a in range(1001, 2000) if a * entity.max_discount % 100 >= 50)
        head = [(edge, entity.max_discount), (1999, 15), (149, 1)]

        def make(r: random.Random) -> tuple[object, ...]:
            return (r.randint(0, 1_000_000), r.randint(0, entity.max_discount))
    elif name == "can_transition":
        pairs = [(a, b) for a in entity.statuses for b in entity.statuses]
        first = [("draft", entity.disallowed), ("draft", entity.allowed)]
        return (first + [p for p in pairs if p not in first])[:n]
    elif name == "next_statuses":
        return [(s,) for s in entity.statuses][:n]
    elif name == "loyalty_tier":
        t = c["tiers"]
        head = [(t[0],), (t[1] - 1,), (t[2],), (t[0] - 1,), (t[1],), (0,)]

        def make(r: random.Random) -> tuple[object, ...]:
            return (r.randint(0, t[2] * 2),)
    elif name == "check_digit":

        def make(r: random.Random) -> tuple[object, ...]:
            return (f"{entity.prefix}-{_word(r).upper()}-{r.randint(1, 99_999)}",)
    elif name == "page_bounds":
        head = [(c["page_size"] * 3, 3, c["page_size"]), (0, 1, c["page_size"])]

        def make(r: random.Random) -> tuple[object, ...]:
            size = r.choice([5, 10, 20, c["page_size"]])
            total = r.randint(1, 500)
            return (total, r.randint(1, (total - 1) // size + 1), size)
    elif name == "business_days":

        def make(r: random.Random) -> tuple[object, ...]:
            start = _sample_date(r)
            return (start, start + timedelta(days=r.randint(0, 45)))
    elif name == "weighted_score":

        def make(r: random.Random) -> tuple[object, ...]:
            return ([r.randint(1, 5) for _ in range(r.randint(0, 7))],)
    elif name == "tax_cents":
        regions = list(c["tax"])

        def make(r: random.Random) -> tuple[object, ...]:
            region = r.choice(regions)
            region = region.upper() if r.random() < 0.2 else region
            return (r.randint(0, 500_000), f" {region}" if r.random() < 0.2 else region)
    elif name == "parse_duration":

        def make(r: random.Random) -> tuple[object, ...]:
            units = r.sample(["d", "h", "m", "s"], r.randint(1, 3))
            order = "dhms"
            units.sort(key=order.index)
            limits = {"d": 20, "h": 23, "m": 59, "s": 59}
            text = "".join(f"{r.randint(1, limits[u])}{u}" for u in units)
            return (text.upper() if r.random() < 0.2 else text,)
    elif name == "merge_windows":

        def make(r: random.Random) -> tuple[object, ...]:
            windows = []
            for _ in range(r.randint(0, 5)):
                start = r.randint(0, 100)
                windows.append((start, start + r.randint(0, 15)))
            return (windows,)
    elif name == "slug":

        def make(r: random.Random) -> tuple[object, ...]:
            words = [_word(r).capitalize() for _ in range(r.randint(1, 6))]
            return (
                r.choice([" ", " - ", ", ", "  &  ", "/"]).join(words) + r.choice(["", "!", " 2.0", "?"]),
            )
    else:  # pragma: no cover - every rule is listed above
        raise KeyError(name)

    def valid(r: random.Random) -> tuple[object, ...]:
        while True:
            case = make(r)
            try:
                ns[name](*case)
            except ValueError:
                continue
            return case

    rest = unique_cases(rng, valid, n)
    cases = head + [case for case in rest if case not in head]
    return cases[:n]


def rule_errors(entity: Entity, name: str) -> list[tuple[object, ...]]:
    c = entity.consts
    table: dict[str, list[tuple[object, ...]]] = {
        "normalize_code": [("",), ("   ",), (entity.prefix,), ("x" * entity.max_code,)],
        "discounted_cents": [(-1, 0), (100, entity.max_discount + 1), (100, -1)],
        "can_transition": [("unknown", "draft")],
        "next_statuses": [("unknown",), ("",)],
        "loyalty_tier": [(-1,)],
        "check_digit": [("",)],
        "page_bounds": [(-1, 1, 10), (10, 0, 10), (10, 1, 0), (20, 5, 5)],
        "business_days": [(date(2025, 3, 10), date(2025, 3, 9))],
        "weighted_score": [([0],), ([3, 6],)],
        "tax_cents": [(100, "atlantis"), (100, "")],
        "parse_duration": [("",), ("10",), ("1x",), ("h",), (f"{c['max_duration'] + 1}s",)],
        "merge_windows": [([(5, 1)],)],
        "slug": [],
    }
    return table[name]


# --------------------------------------------------------------------------- app files


def app_files(p: Plan) -> dict[str, str]:
    files: dict[str, str] = {}
    files["app/__init__.py"] = (
        '"""The workload backend: a FastAPI service over PostgreSQL."""\n\n__version__ = "1.0.0"\n'
    )
    files["app/config.py"] = CONFIG_PY
    files["app/db.py"] = DB_PY
    files["app/errors.py"] = ERRORS_PY
    files["app/deps.py"] = DEPS_PY
    files["app/migrate.py"] = MIGRATE_PY
    files["app/main.py"] = MAIN_PY
    files["app/domain/__init__.py"] = '"""Pure business rules, one module per entity."""\n'
    files["app/domain/errors.py"] = (
        '"""The one error the rules raise."""\n\n\nclass RuleError(ValueError):\n'
        '    """A value a business rule refuses (the API answers 422)."""\n'
    )
    files["app/models/__init__.py"] = (
        '"""Every table, imported so that ``Base.metadata`` knows them all."""\n\n'
        + "".join(f"from app.models import {e.plural}\n" for e in p.entities)
        + "\n__all__ = ["
        + ", ".join(json.dumps(e.plural) for e in p.entities)
        + "]\n"
    )
    files["app/schemas/__init__.py"] = (
        '"""Request and response bodies (pydantic), one module per entity."""\n'
    )
    files["app/services/__init__.py"] = '"""Use cases, one module per entity."""\n'
    routers = ["health", *(e.plural for e in p.entities)]
    files["app/routers/__init__.py"] = (
        '"""The API\'s routers, in the order they are mounted."""\n\n'
        "from fastapi import APIRouter\n\n"
        + "".join(f"from app.routers import {name}\n" for name in routers)
        + "\nROUTERS: tuple[APIRouter, ...] = (\n"
        + "".join(f"    {name}.router,\n" for name in routers)
        + ")\n"
    )
    files["app/routers/health.py"] = HEALTH_PY
    for e in p.entities:
        files[f"app/domain/{e.plural}.py"] = domain_source(e)
        files[f"app/models/{e.plural}.py"] = model_source(p, e)
        files[f"app/schemas/{e.plural}.py"] = schema_source(e)
        files[f"app/services/{e.plural}.py"] = service_source(p, e)
        files[f"app/routers/{e.plural}.py"] = router_source(e)
    return files


CONFIG_PY = '''\
"""Settings from the environment, read once when the app first asks for them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@localhost:5432/workload"
_DRIVERLESS = ("postgresql://", "postgres://", "postgresql+psycopg2://")


def normalize_database_url(url: str) -> str:
    """``url`` with the psycopg 3 driver, whatever PostgreSQL scheme it used."""
    url = url.strip()
    if not url:
        raise ValueError("DATABASE_URL is empty")
    for scheme in _DRIVERLESS:
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    if url.startswith("postgresql+psycopg://"):
        return url
    raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, not {url.split(':', 1)[0]!r}")


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    page_size: int = 50


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings(
        database_url=normalize_database_url(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)),
        page_size=int(os.environ.get("WORKLOAD_PAGE_SIZE", "50")),
    )
'''

DB_PY = '''\
"""The declarative base, the engine and request sessions (created on first use)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from sqlalchemy import Engine, MetaData, create_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from app.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return create_engine(get_settings().database_url)


@lru_cache(maxsize=1)
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def get_session() -> Iterator[Session]:
    """FastAPI dependency: one session per request."""
    session = get_sessionmaker()()
    try:
        yield session
    finally:
        session.close()
'''

ERRORS_PY = '''\
"""Errors the services raise; app.main maps them to HTTP answers."""


class NotFound(LookupError):
    """No such row."""


class Conflict(Exception):
    """The row would clash with one that exists."""


class InvalidTransition(Exception):
    """A status change the entity's workflow does not allow."""
'''

DEPS_PY = '''\
"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy.orm import Session

from app.db import get_session

SessionDep = Annotated[Session, Depends(get_session)]
Offset = Annotated[int, Query(ge=0)]
Limit = Annotated[int, Query(ge=1, le=200)]
Search = Annotated[str | None, Query(max_length=100)]
'''

MIGRATE_PY = '''\
"""Create every table in the database of DATABASE_URL (``python -m app.migrate``).

The project's migrations are ``metadata.create_all``: run once per test session by the
tests' conftest, and by hand (or by a CI) to migrate a template database.
"""

from __future__ import annotations

import os
import sys

from sqlalchemy import create_engine

import app.models  # noqa: F401  (every table on Base.metadata)
from app.config import normalize_database_url
from app.db import Base


def main() -> int:
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("DATABASE_URL is not set", file=sys.stderr)
        return 2
    engine = create_engine(normalize_database_url(url))
    try:
        Base.metadata.create_all(engine)
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
'''

MAIN_PY = '''\
"""The ASGI app: every router, error mapping, a request id on every answer."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import configure_mappers

import app.models  # noqa: F401  (every table, before the mappers are configured)
from app import __version__
from app.domain.errors import RuleError
from app.errors import Conflict, InvalidTransition, NotFound
from app.routers import ROUTERS


async def not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": str(exc)})


async def conflict(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=409, content={"detail": str(exc)})


async def unprocessable(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": str(exc)})


async def request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    response.headers["X-Request-ID"] = request.headers.get("X-Request-ID") or uuid.uuid4().hex
    return response


def create_app() -> FastAPI:
    configure_mappers()
    application = FastAPI(title="workload", version=__version__)
    for router in ROUTERS:
        application.include_router(router)
    application.add_exception_handler(NotFound, not_found)
    application.add_exception_handler(Conflict, conflict)
    application.add_exception_handler(InvalidTransition, conflict)
    application.add_exception_handler(RuleError, unprocessable)
    application.middleware("http")(request_id)
    return application


app = create_app()
'''

HEALTH_PY = '''\
"""Liveness and database readiness."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app.deps import SessionDep

router = APIRouter(prefix="/health", tags=["health"])


@router.get("")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/db")
def database(session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"database": "ok"}
'''


def model_source(p: Plan, e: Entity) -> str:
    parent = p.entity(e.parent)
    extras = "".join(f"    {x.name}: Mapped[{x.annotation}] = {x.column}\n" for x in e.extras)
    return fill(
        '''
        """The $plural tables: one row per $singular, and its history of events."""

        from __future__ import annotations

        from datetime import date, datetime

        from sqlalchemy import (
            BigInteger,
            Boolean,
            Date,
            DateTime,
            ForeignKey,
            Index,
            Integer,
            SmallInteger,
            String,
            Text,
            func,
        )
        from sqlalchemy.dialects.postgresql import JSONB
        from sqlalchemy.orm import Mapped, mapped_column, relationship

        from app.db import Base

        __all__ = ["$cls", "${cls}Event", "date"]


        class $cls(Base):
            __tablename__ = "$plural"
            __table_args__ = (Index("ix_${plural}_status_created_at", "status", "created_at"),)

            id: Mapped[int] = mapped_column(primary_key=True)
            code: Mapped[str] = mapped_column(String(40), unique=True)
            name: Mapped[str] = mapped_column(String(200), index=True)
            status: Mapped[str] = mapped_column(String(20), default="draft", server_default="draft")
            price_cents: Mapped[int] = mapped_column(BigInteger, default=0)
            quantity: Mapped[int] = mapped_column(Integer, default=0)
            attributes: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
            parent_id: Mapped[int | None] = mapped_column(
                ForeignKey("${parent_plural}.id", ondelete="SET NULL"), index=True
            )
            created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
            updated_at: Mapped[datetime] = mapped_column(
                DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
            )
        $extras
            events: Mapped[list[${cls}Event]] = relationship(
                back_populates="$singular", cascade="all, delete-orphan", order_by="${cls}Event.id"
            )


        class ${cls}Event(Base):
            __tablename__ = "${singular}_events"

            id: Mapped[int] = mapped_column(primary_key=True)
            ${singular}_id: Mapped[int] = mapped_column(
                ForeignKey("${plural}.id", ondelete="CASCADE"), index=True
            )
            kind: Mapped[str] = mapped_column(String(40))
            detail: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
            at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

            $singular: Mapped[$cls] = relationship(back_populates="events")
        ''',
        plural=e.plural,
        singular=e.singular,
        cls=e.cls,
        parent_plural=parent.plural,
        extras=extras.rstrip("\n"),
    )


def schema_source(e: Entity) -> str:
    statuses = ", ".join(json.dumps(s) for s in e.statuses)
    base_extras = "".join(f"    {x.schema}\n" for x in e.extras)
    update_extras = "".join(f"    {x.update}\n" for x in e.extras)
    return fill(
        '''
        """Request and response bodies of the $plural API."""

        from __future__ import annotations

        from datetime import date, datetime
        from typing import Literal

        from pydantic import BaseModel, ConfigDict, Field, field_validator

        __all__ = ["date"]

        ${cls}Status = Literal[$statuses]


        class ${cls}Base(BaseModel):
            name: str = Field(min_length=1, max_length=200)
            price_cents: int = Field(default=0, ge=0)
            quantity: int = Field(default=0, ge=0, le=1_000_000)
        $base_extras
            @field_validator("name")
            @classmethod
            def _strip_name(cls, value: str) -> str:
                value = value.strip()
                if not value:
                    raise ValueError("name must not be blank")
                return value


        class ${cls}Create(${cls}Base):
            code: str = Field(min_length=1, max_length=40)
            discount_percent: int = Field(default=0, ge=0, le=$max_discount)
            parent_id: int | None = None


        class ${cls}Update(BaseModel):
            name: str | None = Field(default=None, min_length=1, max_length=200)
            price_cents: int | None = Field(default=None, ge=0)
            quantity: int | None = Field(default=None, ge=0, le=1_000_000)
        $update_extras

        class ${cls}Read(${cls}Base):
            model_config = ConfigDict(from_attributes=True)

            id: int
            code: str
            status: ${cls}Status
            parent_id: int | None
            created_at: datetime


        class ${cls}Page(BaseModel):
            items: list[${cls}Read]
            total: int
            offset: int
            limit: int


        class ${cls}StatusChange(BaseModel):
            status: ${cls}Status
            reason: str | None = Field(default=None, max_length=500)


        class ${cls}Stats(BaseModel):
            by_status: dict[str, int]
        ''',
        plural=e.plural,
        cls=e.cls,
        statuses=statuses,
        base_extras=base_extras,
        update_extras=update_extras,
        max_discount=e.max_discount,
    )


def service_source(p: Plan, e: Entity) -> str:
    parent = p.entity(e.parent)
    parent_import = "" if parent is e else f"from app.models.{parent.plural} import {parent.cls}\n"
    extras = "".join(f"        {x.name}=data.{x.name},\n" for x in e.extras)
    return fill(
        '''
        """Use cases for $plural: the domain rules decide, SQLAlchemy persists."""

        from __future__ import annotations

        from sqlalchemy import func, select
        from sqlalchemy.orm import Session

        from app.domain import $plural as rules
        from app.errors import Conflict, InvalidTransition, NotFound
        ${parent_import}from app.models.$plural import $cls, ${cls}Event
        from app.schemas.$plural import ${cls}Create, ${cls}Update


        def create_$singular(session: Session, data: ${cls}Create) -> $cls:
            code = rules.normalize_code(data.code)
            if session.scalar(select($cls.id).where($cls.code == code)) is not None:
                raise Conflict(f"$singular {code} exists")
            if data.parent_id is not None and session.get($parent_cls, data.parent_id) is None:
                raise NotFound(f"$parent_singular {data.parent_id} not found")
            item = $cls(
                code=code,
                name=data.name,
                status="draft",
                price_cents=rules.discounted_cents(data.price_cents, data.discount_percent),
                quantity=data.quantity,
                parent_id=data.parent_id,
                attributes={"discount_percent": data.discount_percent},
        $extras    )
            item.events.append(${cls}Event(kind="created", detail={"code": code}))
            session.add(item)
            session.flush()
            return item


        def get_$singular(session: Session, item_id: int) -> $cls:
            item = session.get($cls, item_id)
            if item is None:
                raise NotFound(f"$singular {item_id} not found")
            return item


        def list_$plural(
            session: Session,
            *,
            status: str | None = None,
            search: str | None = None,
            offset: int = 0,
            limit: int = 50,
        ) -> tuple[list[$cls], int]:
            query = select($cls)
            if status is not None:
                query = query.where($cls.status == status)
            if search:
                query = query.where($cls.name.ilike(f"%{search}%"))
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            items = session.scalars(query.order_by($cls.code).offset(offset).limit(limit)).all()
            return list(items), total


        def update_$singular(session: Session, item_id: int, data: ${cls}Update) -> $cls:
            item = get_$singular(session, item_id)
            changes = data.model_dump(exclude_unset=True)
            for name, value in changes.items():
                setattr(item, name, value)
            if changes:
                item.events.append(${cls}Event(kind="updated", detail={"fields": sorted(changes)}))
            session.flush()
            return item


        def change_status(session: Session, item_id: int, target: str) -> $cls:
            item = get_$singular(session, item_id)
            if not rules.can_transition(item.status, target):
                raise InvalidTransition(f"$singular {item.code}: {item.status} to {target} is not allowed")
            item.events.append(${cls}Event(kind="status", detail={"from": item.status, "to": target}))
            item.status = target
            session.flush()
            return item


        def delete_$singular(session: Session, item_id: int) -> None:
            item = get_$singular(session, item_id)
            session.delete(item)
            session.flush()


        def status_counts(session: Session) -> dict[str, int]:
            rows = session.execute(select($cls.status, func.count($cls.id)).group_by($cls.status)).all()
            return {status: count for status, count in rows}


        def total_value_cents(session: Session) -> int:
            value = session.scalar(select(func.coalesce(func.sum($cls.price_cents * $cls.quantity), 0)))
            return int(value or 0)
        ''',
        plural=e.plural,
        singular=e.singular,
        cls=e.cls,
        parent_import=parent_import,
        parent_cls=parent.cls,
        parent_singular=parent.singular,
        extras=extras,
    )


def router_source(e: Entity) -> str:
    return fill(
        '''
        """HTTP endpoints for $plural."""

        from __future__ import annotations

        from fastapi import APIRouter, Response

        from app.deps import Limit, Offset, Search, SessionDep
        from app.models.$plural import $cls
        from app.schemas.$plural import (
            ${cls}Create,
            ${cls}Page,
            ${cls}Read,
            ${cls}Stats,
            ${cls}Status,
            ${cls}StatusChange,
            ${cls}Update,
        )
        from app.services import $plural as service

        router = APIRouter(prefix="/$plural", tags=["$plural"])


        @router.post("", response_model=${cls}Read, status_code=201)
        def create_$singular(data: ${cls}Create, session: SessionDep) -> $cls:
            item = service.create_$singular(session, data)
            session.commit()
            return item


        @router.get("", response_model=${cls}Page)
        def list_$plural(
            session: SessionDep,
            status: ${cls}Status | None = None,
            search: Search = None,
            offset: Offset = 0,
            limit: Limit = 50,
        ) -> ${cls}Page:
            items, total = service.list_$plural(
                session, status=status, search=search, offset=offset, limit=limit
            )
            page = [${cls}Read.model_validate(item) for item in items]
            return ${cls}Page(items=page, total=total, offset=offset, limit=limit)


        @router.get("/stats", response_model=${cls}Stats)
        def ${singular}_stats(session: SessionDep) -> ${cls}Stats:
            return ${cls}Stats(by_status=service.status_counts(session))


        @router.get("/{item_id}", response_model=${cls}Read)
        def get_$singular(item_id: int, session: SessionDep) -> $cls:
            return service.get_$singular(session, item_id)


        @router.patch("/{item_id}", response_model=${cls}Read)
        def update_$singular(item_id: int, data: ${cls}Update, session: SessionDep) -> $cls:
            item = service.update_$singular(session, item_id, data)
            session.commit()
            return item


        @router.post("/{item_id}/status", response_model=${cls}Read)
        def change_${singular}_status(item_id: int, change: ${cls}StatusChange, session: SessionDep) -> $cls:
            item = service.change_status(session, item_id, change.status)
            session.commit()
            return item


        @router.delete("/{item_id}", status_code=204)
        def delete_$singular(item_id: int, session: SessionDep) -> Response:
            service.delete_$singular(session, item_id)
            session.commit()
            return Response(status_code=204)
        ''',
        plural=e.plural,
        singular=e.singular,
        cls=e.cls,
    )


# --------------------------------------------------------------------------- test data


@dataclass(frozen=True, slots=True)
class Payload:
    """A valid create payload and what a stored row must then hold."""

    fields: dict[str, object]
    expected: dict[str, object]


def make_payload(e: Entity, rules_ns: dict[str, Any], rng: random.Random, n: int) -> Payload:
    raw = _raw_code(rng, e) if rng.random() < 0.5 else f"{_word(rng)} {n}"
    code = rules_ns["normalize_code"](raw)
    price = rng.randint(0, 200_000)
    # Below the largest discount: only the rules' own tests probe that edge.
    discount = rng.choice([0, 0, 5, 10, rng.randint(0, e.max_discount - 1)])
    quantity = rng.randint(0, 500)
    name = f"{_word(rng).capitalize()} {_word(rng)} {n}"
    fields: dict[str, object] = {"code": raw, "name": f" {name}" if rng.random() < 0.2 else name}
    fields.update({"price_cents": price, "discount_percent": discount, "quantity": quantity})
    expected: dict[str, object] = {
        "code": code,
        "name": name,
        "price_cents": rules_ns["discounted_cents"](price, discount),
        "quantity": quantity,
        "status": "draft",
    }
    for extra in e.extras:
        value = extra.sample(rng)
        fields[extra.name] = value
        expected[extra.name] = value
    return Payload(fields, expected)


def payloads(p: Plan, e: Entity, group: str, n: int) -> list[Payload]:
    rng = sub_rng(p, "payload", group, e.plural)
    rules_ns = domain_namespace(e)
    out: list[Payload] = []
    codes: set[str] = set()
    attempt = 0
    while len(out) < n:
        attempt += 1
        try:
            payload = make_payload(e, rules_ns, rng, attempt)
        except ValueError:  # a code the rules refuse: not a valid payload
            continue
        code = str(payload.expected["code"])
        if code not in codes:
            codes.add(code)
            out.append(payload)
    return out


def first_create(e: Entity) -> tuple[str, str, int, int, int]:
    """(raw code, normalized, price, discount, stored price) of the first create test:
    the code carries the prefix in lower case, the discount rounds half up."""
    raw = f" {e.prefix.lower()} {WORDS[e.index]} 1 "
    code = f"{e.prefix}-{WORDS[e.index].upper()}-1"
    return raw, code, 1999, 15, 1999 - (1999 * 15 + 50) // 100


def transition_paths(e: Entity, limit: int = 4) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    frontier: list[tuple[str, ...]] = [()]
    for _ in range(limit):
        nxt = []
        for path in frontier:
            current = path[-1] if path else "draft"
            for target in e.machine[current]:
                nxt.append((*path, target))
        paths.extend(nxt)
        frontier = nxt
    return paths


def too_long_raw(e: Entity) -> str:
    """A raw code the schema accepts (<= 40) that the rules refuse (> MAX_CODE_LENGTH)."""
    return "Z" * (e.max_code - len(e.prefix))


# --------------------------------------------------------------------------- tests: unit


def unit_rules_module(p: Plan, e: Entity, budget: int, slow: int) -> tuple[str, int]:
    ns = domain_namespace(e)
    rng = sub_rng(p, "unit-rules", e.plural)
    header = fill(
        '''
        """Unit tests of app.domain.$plural: pure rules, no database."""

        from __future__ import annotations

        from datetime import date

        import pytest

        from app.domain import $plural as rules
        from app.domain.errors import RuleError

        __all__ = ["date"]
        ''',
        plural=e.plural,
    )
    blocks: list[Block] = []
    for k in range(slow):
        blocks.append(Block(0, _slow_unit_test(p, e, k)))
    for rank, name in enumerate((*CORE_RULES, *e.rules)):
        args = RULE_ARGS[name]
        bounded = name in ("can_transition", "next_statuses")
        cap = len(e.statuses) ** 2 if name == "can_transition" else len(e.statuses) if bounded else None
        blocks.append(Block(1 + rank, _rule_value_block(e, ns, name, args, rng), cap=cap, param=True))
        errors = rule_errors(e, name)
        if errors:
            blocks.append(
                Block(20 + rank, _rule_error_block(name, args, errors), cap=len(errors), param=True)
            )
    blocks.append(
        Block(
            40,
            lambda _n: plain_block(
                "test_every_transition_leads_to_a_status",
                "",
                """
                for targets in rules.TRANSITIONS.values():
                    assert set(targets) <= set(rules.STATUSES)
                """,
            ),
        )
    )
    blocks.append(
        Block(
            41,
            lambda _n: plain_block(
                "test_draft_comes_first_and_can_move",
                "",
                """
                assert rules.STATUSES[0] == "draft"
                assert rules.next_statuses("draft")
                """,
            ),
        )
    )
    return render_module(header, blocks, budget)


def _rule_value_block(
    e: Entity, ns: dict[str, Any], name: str, args: tuple[str, ...], rng: random.Random
) -> Callable[[int], str]:
    cache: dict[int, list[tuple[object, ...]]] = {}

    def render(n: int) -> str:
        cases = cache.setdefault(n, rule_cases(e, ns, name, random.Random(rng.random()), n))
        if len(cases) < n:
            raise ValueError(f"{e.plural}.{name}: only {len(cases)} distinct cases")
        rows = [(*case, ns[name](*case)) for case in cases]
        call = f"rules.{name}({', '.join(args)})"
        return param_block(
            f"test_{name}",
            [*args, "expected"],
            rows,
            ", ".join([*args, "expected"]),
            f"assert {call} == expected",
        )

    return render


def _rule_error_block(
    name: str, args: tuple[str, ...], errors: list[tuple[object, ...]]
) -> Callable[[int], str]:
    def render(n: int) -> str:
        call = f"rules.{name}({', '.join(args)})"
        return param_block(
            f"test_{name}_refuses",
            list(args),
            errors[:n],
            ", ".join(args),
            f"with pytest.raises(RuleError):\n    {call}",
        )

    return render


def _slow_seconds(p: Plan, *parts: object) -> float:
    return round(sub_rng(p, "slow", *parts).uniform(0.5, 2.0), 2)


def _slow_unit_test(p: Plan, e: Entity, k: int) -> Callable[[int], str]:
    seconds = _slow_seconds(p, "unit", e.plural, k)
    iterations = int(seconds * LOOP_RATE)

    def render(_n: int) -> str:
        return plain_block(
            f"test_discount_never_exceeds_the_amount_{k}",
            "",
            f"""
            # Slow on purpose (about {seconds} s): a property over {iterations:_} amounts.
            for amount in range({iterations}):
                value = rules.discounted_cents(amount, amount % (rules.MAX_DISCOUNT_PERCENT + 1))
                assert 0 <= value <= amount
            """,
            marks=("pytest.mark.slow",),
        )

    return render


def unit_schema_module(p: Plan, e: Entity, budget: int) -> tuple[str, int]:
    header = fill(
        '''
        """Unit tests of the $plural request and response bodies."""

        from __future__ import annotations

        from datetime import UTC, date, datetime

        import pytest
        from pydantic import ValidationError

        from app.models.$plural import $cls
        from app.schemas.$plural import ${cls}Create, ${cls}Read, ${cls}StatusChange, ${cls}Update

        __all__ = ["date"]
        ''',
        plural=e.plural,
        cls=e.cls,
    )
    rng = sub_rng(p, "unit-schemas", e.plural)
    extras_values = {x.name: x.sample(rng) for x in e.extras}
    ctor_extras = "".join(f"{' ' * 20}{name}={lit(value)},\n" for name, value in extras_values.items())
    cls = e.cls
    blocks = [
        Block(
            1,
            lambda _n: plain_block(
                "test_code_longer_than_40_characters_is_refused",
                "",
                f"""
                with pytest.raises(ValidationError):
                    {cls}Create(code="X" * 41, name="Too long")
                """,
            ),
        ),
        Block(
            2,
            lambda _n: plain_block(
                "test_blank_name_is_refused",
                "",
                f"""
                with pytest.raises(ValidationError):
                    {cls}Create(code="ok 1", name="   ")
                """,
            ),
        ),
        Block(
            3,
            lambda _n: plain_block(
                "test_update_holds_only_what_was_given",
                "",
                f"""
                update = {cls}Update(name="Renamed", quantity=3)
                assert update.model_dump(exclude_unset=True) == {{"name": "Renamed", "quantity": 3}}
                """,
            ),
        ),
        Block(
            4,
            lambda _n: plain_block(
                "test_read_from_a_row",
                "",
                f"""
                row = {cls}(
                    id=7,
                    code="{e.prefix}-ROW-7",
                    name="Row seven",
                    status="draft",
                    price_cents=1250,
                    quantity=3,
                    parent_id=None,
                    created_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
{ctor_extras}                )
                read = {cls}Read.model_validate(row)
                assert (read.id, read.code, read.status) == (7, "{e.prefix}-ROW-7", "draft")
                assert read.price_cents == 1250
                """,
            ),
        ),
        Block(
            5,
            lambda _n: plain_block(
                "test_unknown_status_is_refused",
                "",
                f"""
                with pytest.raises(ValidationError):
                    {cls}StatusChange(status="vanished")
                """,
            ),
        ),
        Block(6, _schema_discount_block(e), cap=3, param=True),
        Block(7, _schema_valid_block(p, e), cap=None, param=True),
    ]
    return render_module(header, blocks, budget)


def _schema_discount_block(e: Entity) -> Callable[[int], str]:
    values = [(-1,), (e.max_discount + 1,), (1000,)]

    def render(n: int) -> str:
        return param_block(
            "test_discount_out_of_range_is_refused",
            ["percent"],
            values[:n],
            "percent",
            "with pytest.raises(ValidationError):\n"
            f'    {e.cls}Create(code="ok 1", name="Ok", discount_percent=percent)',
        )

    return render


def _schema_valid_block(p: Plan, e: Entity) -> Callable[[int], str]:
    def render(n: int) -> str:
        rows = []
        for payload in payloads(p, e, "unit", n):
            rows.append((payload.fields, payload.expected["name"]))
        return param_block(
            "test_valid_payload_is_accepted",
            ["fields", "name"],
            rows,
            "fields, name",
            f"""
            data = {e.cls}Create(**fields)
            assert data.name == name
            assert data.code == fields["code"]
            """,
        )

    return render


def unit_app_module(p: Plan, budget: int) -> tuple[str, int]:
    header = '''\
"""Unit tests of the app's wiring: routes and the OpenAPI document (no database)."""

from __future__ import annotations

import pytest

from app.main import app as asgi_app
from app.main import create_app
'''
    paths = [f"/{e.plural}" for e in p.entities]
    names = [(e.plural, e.singular) for e in p.entities]

    def routes(n: int) -> str:
        return param_block(
            "test_entity_routes_are_mounted",
            ["plural", "singular"],
            names[:n],
            "plural, singular",
            """
            assert asgi_app.url_path_for(f"list_{plural}") == f"/{plural}"
            assert asgi_app.url_path_for(f"get_{singular}", item_id=7) == f"/{plural}/7"
            assert asgi_app.url_path_for(f"change_{singular}_status", item_id=7) == f"/{plural}/7/status"
            assert asgi_app.url_path_for(f"{singular}_stats") == f"/{plural}/stats"
            """,
        )

    def openapi(_n: int) -> str:
        return plain_block(
            "test_openapi_document_lists_every_entity",
            "",
            f"""
            document = create_app().openapi()
            assert {lit(paths)} == [path for path in {lit(paths)} if path in document["paths"]]
            """,
        )

    return render_module(header, [Block(1, openapi), Block(2, routes, cap=len(paths), param=True)], budget)


def unit_config_module(budget: int) -> tuple[str, int]:
    header = '''\
"""Unit tests of the settings: DATABASE_URL in the forms people write it."""

from __future__ import annotations

import pytest

from app.config import normalize_database_url
'''
    good = [
        ("postgresql://u:p@db:5432/x", "postgresql+psycopg://u:p@db:5432/x"),
        ("postgres://u@db/x", "postgresql+psycopg://u@db/x"),
        ("postgresql+psycopg2://u@db/x", "postgresql+psycopg://u@db/x"),
        ("postgresql+psycopg://u@db/x", "postgresql+psycopg://u@db/x"),
        (" postgresql://u@db/x\n", "postgresql+psycopg://u@db/x"),
        ("postgresql://db", "postgresql+psycopg://db"),
    ]
    bad = [("",), ("   ",), ("mysql://u@db/x",)]

    def good_block(n: int) -> str:
        return param_block(
            "test_database_url_gets_the_psycopg_driver",
            ["url", "expected"],
            good[:n],
            "url, expected",
            "assert normalize_database_url(url) == expected",
        )

    def bad_block(n: int) -> str:
        return param_block(
            "test_database_url_refused",
            ["url"],
            bad[:n],
            "url",
            "with pytest.raises(ValueError):\n    normalize_database_url(url)",
        )

    blocks = [Block(1, good_block, cap=len(good), param=True), Block(2, bad_block, cap=len(bad), param=True)]
    return render_module(header, blocks, budget)


# --------------------------------------------------------------------------- tests: integration

# Which tests a module keeps first when its share is small: those that catch the
# mutants of bench/workload/mutate.py (on the first MUTANT_ENTITIES entities) come
# first, so that every mutant is caught from --tests 300 up.
INTEGRATION_FIRST = (
    "test_create_normalizes_the_code_and_discounts_the_price",
    "test_status_change_is_recorded",
    "test_update_changes_only_the_given_fields",
    "test_delete_removes_the_row_and_its_events",
    "test_list_is_ordered_by_code",
    "test_total_value_is_price_times_quantity",
    "test_disallowed_transition_is_refused",
    "test_missing_row_is_not_found",
    "test_duplicate_code_conflicts",
    "test_status_counts",
    "test_list_filters_by_search_and_status",
    "test_list_pages",
    "test_parent_link_is_stored",
    "test_unknown_parent_is_not_found",
)
API_FIRST = (
    "test_create_answers_201_with_the_stored_row",
    "test_status_change_answers_the_new_status",
    "test_delete_answers_204_then_404",
    "test_patch_changes_the_given_fields",
    "test_disallowed_transition_answers_409",
    "test_unknown_id_answers_404",
    "test_list_holds_what_was_created",
    "test_stats_count_by_status",
    "test_duplicate_code_answers_409",
    "test_list_filters_by_status",
)


def integration_module(p: Plan, e: Entity, budget: int, slow: int) -> tuple[str, int]:
    parent = p.entity(e.parent)
    shape = "recreate_tables" if e.recreate["integration"] else "truncate_tables"
    parent_imports = (
        ""
        if parent is e
        else f"from app.schemas.{parent.plural} import {parent.cls}Create\n"
        f"from app.services import {parent.plural} as parent_service\n"
    )
    header = fill(
        '''
        """Integration tests of app.services.$plural against PostgreSQL.

        Every test starts from empty tables: this module ${shape_doc}.
        """

        from __future__ import annotations

        import time
        from datetime import date
        from typing import Any

        import pytest
        from sqlalchemy import func, select
        from sqlalchemy.orm import Session

        from app.errors import Conflict, InvalidTransition, NotFound
        from app.models.$plural import $cls, ${cls}Event
        ${parent_imports}from app.schemas.$plural import ${cls}Create, ${cls}Update
        from app.services import $plural as service

        __all__ = ["date", "time"]

        pytestmark = pytest.mark.usefixtures("$shape")


        def make(session: Session, code: str, **fields: Any) -> $cls:
            fields.setdefault("name", f"Item {code}")
            item = service.create_$singular(session, ${cls}Create(code=code, **fields))
            session.commit()
            return item
        ''',
        plural=e.plural,
        singular=e.singular,
        cls=e.cls,
        shape=shape,
        shape_doc=(
            "drops and creates every table before each test"
            if shape == "recreate_tables"
            else "truncates every table before each test"
        ),
        parent_imports=parent_imports,
    )
    s, cls = e.singular, e.cls
    raw, code, price, discount, stored = first_create(e)
    allowed, disallowed = e.allowed, e.disallowed
    codes = ["delta 1", "alpha 2", "charlie 3"]
    ns = domain_namespace(e)
    sorted_codes = sorted(ns["normalize_code"](c) for c in codes)
    found = [ns["normalize_code"](c) for c in ("f 1", "f 3")]
    filtered = ns["normalize_code"]("f 2")
    parent_make = (
        'parent = make(session, "parent 1")'
        if parent is e
        else (
            f'data = {parent.cls}Create(code="parent 1", name="Parent")\n'
            f"parent = parent_service.create_{parent.singular}(session, data)\n"
            "session.commit()"
        )
    )
    tests: list[tuple[str, str]] = [
        (
            "test_create_normalizes_the_code_and_discounts_the_price",
            f"""
            item = make(session, {lit(raw)}, price_cents={price}, discount_percent={discount})
            session.expire_all()
            stored = service.get_{s}(session, item.id)
            assert stored.code == {lit(code)}
            assert stored.price_cents == {stored}
            assert stored.status == "draft"
            assert [event.kind for event in stored.events] == ["created"]
            """,
        ),
        (
            "test_list_is_ordered_by_code",
            f"""
            for code in {lit(codes)}:
                make(session, code)
            items, total = service.list_{e.plural}(session)
            assert total == 3
            assert [item.code for item in items] == {lit(sorted_codes)}
            """,
        ),
        (
            "test_total_value_is_price_times_quantity",
            """
            make(session, "v 1", price_cents=250, quantity=4)
            make(session, "v 2", price_cents=1000, quantity=0)
            make(session, "v 3", price_cents=75, quantity=3)
            assert service.total_value_cents(session) == 1225
            """,
        ),
        (
            "test_disallowed_transition_is_refused",
            f"""
            item = make(session, "t 1")
            with pytest.raises(InvalidTransition):
                service.change_status(session, item.id, {lit(disallowed)})
            """,
        ),
        (
            "test_missing_row_is_not_found",
            f"""
            with pytest.raises(NotFound):
                service.get_{s}(session, 999_999)
            """,
        ),
        (
            "test_status_change_is_recorded",
            f"""
            item = make(session, "s 1")
            service.change_status(session, item.id, {lit(allowed)})
            session.commit()
            session.expire_all()
            stored = service.get_{s}(session, item.id)
            assert stored.status == {lit(allowed)}
            assert [event.kind for event in stored.events] == ["created", "status"]
            """,
        ),
        (
            "test_delete_removes_the_row_and_its_events",
            f"""
            item = make(session, "d 1")
            service.delete_{s}(session, item.id)
            session.commit()
            with pytest.raises(NotFound):
                service.get_{s}(session, item.id)
            assert session.scalar(select(func.count()).select_from({cls}Event)) == 0
            """,
        ),
        (
            "test_duplicate_code_conflicts",
            """
            make(session, "dup 1")
            with pytest.raises(Conflict):
                make(session, " DUP_1 ")
            """,
        ),
        (
            "test_update_changes_only_the_given_fields",
            f"""
            item = make(session, "u 1", price_cents=500, quantity=2)
            service.update_{s}(session, item.id, {cls}Update(name="Renamed"))
            session.commit()
            session.expire_all()
            stored = service.get_{s}(session, item.id)
            assert (stored.name, stored.price_cents, stored.quantity) == ("Renamed", 500, 2)
            assert [event.kind for event in stored.events] == ["created", "updated"]
            """,
        ),
        (
            "test_status_counts",
            f"""
            first = make(session, "c 1")
            make(session, "c 2")
            service.change_status(session, first.id, {lit(allowed)})
            session.commit()
            assert service.status_counts(session) == {{"draft": 1, {lit(allowed)}: 1}}
            """,
        ),
        (
            "test_list_filters_by_search_and_status",
            f"""
            make(session, "f 1", name="Blue widget")
            second = make(session, "f 2", name="Red widget")
            make(session, "f 3", name="Blue gadget")
            service.change_status(session, second.id, {lit(allowed)})
            session.commit()
            items, total = service.list_{e.plural}(session, search="blue")
            assert (total, sorted(item.code for item in items)) == (2, {lit(sorted(found))})
            items, total = service.list_{e.plural}(session, status={lit(allowed)})
            assert [item.code for item in items] == [{lit(filtered)}]
            """,
        ),
        (
            "test_list_pages",
            f"""
            for number in range(7):
                make(session, f"p {{number}}")
            page, total = service.list_{e.plural}(session, offset=5, limit=5)
            assert (total, len(page)) == (7, 2)
            """,
        ),
        (
            "test_parent_link_is_stored",
            f"""
            {indent(parent_make, 12).strip()}
            child = make(session, "child 1", parent_id=parent.id)
            session.expire_all()
            assert service.get_{s}(session, child.id).parent_id == parent.id
            """,
        ),
        (
            "test_unknown_parent_is_not_found",
            """
            with pytest.raises(NotFound):
                make(session, "orphan 1", parent_id=424_242)
            """,
        ),
    ]
    blocks: list[Block] = [Block(0, _slow_integration_test(p, e, k)) for k in range(slow)]
    for name, body in tests:
        blocks.append(Block(1 + INTEGRATION_FIRST.index(name), _plain(name, "session: Session", body)))
    paths = transition_paths(e)
    blocks.append(Block(30, _paths_block(e, paths), cap=len(paths), param=True))
    blocks.append(Block(31, _integration_roundtrip_block(p, e), cap=None, param=True))
    return render_module(header, blocks, budget)


def _plain(name: str, sig: str, body: str, marks: Sequence[str] = ()) -> Callable[[int], str]:
    return lambda _n: plain_block(name, sig, body, marks)


def _paths_block(e: Entity, paths: list[tuple[str, ...]]) -> Callable[[int], str]:
    def render(n: int) -> str:
        return param_block(
            "test_allowed_path",
            ["path"],
            [(path,) for path in paths[:n]],
            "session: Session, path: tuple[str, ...]",
            f"""
            item = make(session, "w 1")
            for status in path:
                service.change_status(session, item.id, status)
            session.commit()
            session.expire_all()
            stored = service.get_{e.singular}(session, item.id)
            assert stored.status == path[-1]
            assert len(stored.events) == 1 + len(path)
            """,
        )

    return render


def _integration_roundtrip_block(p: Plan, e: Entity) -> Callable[[int], str]:
    def render(n: int) -> str:
        rows = [(x.fields, x.expected) for x in payloads(p, e, "integration", n)]
        return param_block(
            "test_create_round_trip",
            ["fields", "expected"],
            rows,
            "session: Session, fields: dict[str, Any], expected: dict[str, Any]",
            f"""
            item = service.create_{e.singular}(session, {e.cls}Create(**fields))
            session.commit()
            session.expire_all()
            stored = service.get_{e.singular}(session, item.id)
            assert {{key: getattr(stored, key) for key in expected}} == expected
            """,
        )

    return render


def _slow_integration_test(p: Plan, e: Entity, k: int) -> Callable[[int], str]:
    seconds = _slow_seconds(p, "integration", e.plural, k)
    if k % 2 == 0:
        rows = max(50, int(seconds * ROW_RATE))
        return _plain(
            f"test_bulk_create_and_report_{k}",
            "session: Session",
            f"""
            # Slow on purpose (about {seconds} s): {rows} rows through the service.
            for number in range({rows}):
                data = {e.cls}Create(code=f"bulk {{number}}", name="Bulk", price_cents=number, quantity=1)
                service.create_{e.singular}(session, data)
            session.commit()
            assert service.status_counts(session) == {{"draft": {rows}}}
            assert service.total_value_cents(session) == {rows * (rows - 1) // 2}
            """,
            marks=("pytest.mark.slow",),
        )
    return _plain(
        f"test_change_is_visible_after_the_retry_delay_{k}",
        "session: Session",
        f"""
        # Slow on purpose: waits {seconds} s, as tests of retries and backoff do.
        item = make(session, "retry {k}")
        time.sleep({seconds})
        service.change_status(session, item.id, {lit(e.allowed)})
        session.commit()
        assert service.get_{e.singular}(session, item.id).status == {lit(e.allowed)}
        """,
        marks=("pytest.mark.slow",),
    )


def integration_migrations_module(budget: int) -> tuple[str, int]:
    header = '''\
"""The schema: created once per session, every table there, recreate works twice."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from app.db import Base
'''
    blocks = [
        Block(
            1,
            _plain(
                "test_every_table_exists",
                "engine: Engine",
                """
                assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
                """,
            ),
        ),
        Block(
            2,
            _plain(
                "test_tables_can_be_recreated",
                "engine: Engine, recreate_tables: None",
                """
                Base.metadata.drop_all(engine)
                Base.metadata.create_all(engine)
                assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
                """,
            ),
        ),
        Block(
            3,
            _plain(
                "test_every_event_table_cascades_from_its_owner",
                "",
                """
                events = [table for name, table in Base.metadata.tables.items() if name.endswith("_events")]
                assert events
                for table in events:
                    assert any(fk.ondelete == "CASCADE" for fk in table.foreign_keys)
                """,
                marks=(),
            ),
        ),
    ]
    return render_module(header, blocks, budget)


# --------------------------------------------------------------------------- tests: api


def api_module(p: Plan, e: Entity, budget: int, slow: int) -> tuple[str, int]:
    shape = "recreate_tables" if e.recreate["api"] else "truncate_tables"
    header = fill(
        '''
        """API tests of /$plural: HTTP through the app into PostgreSQL.

        Every test starts from empty tables: this module ${shape_doc}.
        """

        from __future__ import annotations

        import time
        from typing import Any

        import pytest
        from fastapi.testclient import TestClient

        __all__ = ["time"]

        pytestmark = pytest.mark.usefixtures("$shape")


        def create(client: TestClient, code: str, **fields: Any) -> dict[str, Any]:
            response = client.post("/$plural", json={"code": code, "name": f"Item {code}", **fields})
            assert response.status_code == 201, response.text
            body: dict[str, Any] = response.json()
            return body
        ''',
        plural=e.plural,
        shape=shape,
        shape_doc=(
            "drops and creates every table before each test"
            if shape == "recreate_tables"
            else "truncates every table before each test"
        ),
    )
    url = f"/{e.plural}"
    raw, code, price, discount, stored = first_create(e)
    allowed, disallowed = e.allowed, e.disallowed
    ns = domain_namespace(e)
    codes = ["k 3", "k 1", "k 2"]
    listed = sorted(ns["normalize_code"](c) for c in codes)
    tests: list[tuple[str, str]] = [
        (
            "test_create_answers_201_with_the_stored_row",
            f"""
            payload = {{"code": {lit(raw)}, "name": " First "}}
            payload |= {{"price_cents": {price}, "discount_percent": {discount}}}
            response = client.post("{url}", json=payload)
            assert response.status_code == 201, response.text
            body = response.json()
            assert (body["code"], body["name"]) == ({lit(code)}, "First")
            assert (body["price_cents"], body["status"]) == ({stored}, "draft")
            assert response.headers["X-Request-ID"]
            """,
        ),
        (
            "test_unknown_id_answers_404",
            f"""
            response = client.get("{url}/999999")
            assert response.status_code == 404
            assert "not found" in response.json()["detail"]
            """,
        ),
        (
            "test_disallowed_transition_answers_409",
            f"""
            item = create(client, "t 1")
            response = client.post(f"{url}/{{item['id']}}/status", json={{"status": {lit(disallowed)}}})
            assert response.status_code == 409
            """,
        ),
        (
            "test_list_holds_what_was_created",
            f"""
            for code in {lit(codes)}:
                create(client, code)
            body = client.get("{url}", params={{"limit": 10}}).json()
            assert body["total"] == 3
            assert sorted(item["code"] for item in body["items"]) == {lit(listed)}
            """,
        ),
        (
            "test_delete_answers_204_then_404",
            f"""
            item = create(client, "d 1")
            assert client.delete(f"{url}/{{item['id']}}").status_code == 204
            assert client.get(f"{url}/{{item['id']}}").status_code == 404
            """,
        ),
        (
            "test_patch_changes_the_given_fields",
            f"""
            item = create(client, "u 1", price_cents=700)
            response = client.patch(f"{url}/{{item['id']}}", json={{"name": "Renamed", "quantity": 9}})
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["name"], body["quantity"], body["price_cents"]) == ("Renamed", 9, 700)
            """,
        ),
        (
            "test_status_change_answers_the_new_status",
            f"""
            item = create(client, "s 1")
            response = client.post(f"{url}/{{item['id']}}/status", json={{"status": {lit(allowed)}}})
            assert response.status_code == 200, response.text
            assert response.json()["status"] == {lit(allowed)}
            """,
        ),
        (
            "test_stats_count_by_status",
            f"""
            first = create(client, "c 1")
            create(client, "c 2")
            client.post(f"{url}/{{first['id']}}/status", json={{"status": {lit(allowed)}}})
            assert client.get("{url}/stats").json() == {{"by_status": {{"draft": 1, {lit(allowed)}: 1}}}}
            """,
        ),
        (
            "test_duplicate_code_answers_409",
            f"""
            create(client, "dup 1")
            response = client.post("{url}", json={{"code": "DUP-1", "name": "Again"}})
            assert response.status_code == 409
            """,
        ),
        (
            "test_list_filters_by_status",
            f"""
            first = create(client, "g 1")
            create(client, "g 2")
            client.post(f"{url}/{{first['id']}}/status", json={{"status": {lit(allowed)}}})
            body = client.get("{url}", params={{"status": {lit(allowed)}}}).json()
            assert [item["id"] for item in body["items"]] == [first["id"]]
            """,
        ),
    ]
    blocks: list[Block] = [Block(0, _slow_api_test(p, e, k)) for k in range(slow)]
    for name, body in tests:
        blocks.append(Block(1 + API_FIRST.index(name), _plain(name, "client: TestClient", body)))
    blocks.append(Block(20, _api_invalid_block(e), cap=6, param=True))
    blocks.append(Block(21, _api_roundtrip_block(p, e), cap=None, param=True))
    return render_module(header, blocks, budget)


def _api_invalid_block(e: Entity) -> Callable[[int], str]:
    cases: list[dict[str, object]] = [
        {"code": "", "name": "Empty code"},
        {"code": "ok 1", "name": "   "},
        {"code": "ok 1", "name": "Negative", "price_cents": -1},
        {"code": "ok 1", "name": "Discount", "discount_percent": e.max_discount + 1},
        {"name": "No code"},
        {"code": too_long_raw(e), "name": "Too long for the rules"},
    ]

    def render(n: int) -> str:
        return param_block(
            "test_invalid_payload_answers_422",
            ["payload"],
            [(case,) for case in cases[:n]],
            "client: TestClient, payload: dict[str, Any]",
            f"""
            response = client.post("/{e.plural}", json=payload)
            assert response.status_code == 422, response.text
            assert client.get("/{e.plural}").json()["total"] == 0
            """,
        )

    return render


def _api_roundtrip_block(p: Plan, e: Entity) -> Callable[[int], str]:
    def render(n: int) -> str:
        rows = []
        for x in payloads(p, e, "api", n):
            fields = {k: jsonable(v) for k, v in x.fields.items()}
            expected = {k: jsonable(v) for k, v in x.expected.items()}
            rows.append((fields, expected))
        return param_block(
            "test_create_then_read_back",
            ["payload", "expected"],
            rows,
            "client: TestClient, payload: dict[str, Any], expected: dict[str, Any]",
            f"""
            created = client.post("/{e.plural}", json=payload)
            assert created.status_code == 201, created.text
            body = client.get(f"/{e.plural}/{{created.json()['id']}}").json()
            assert {{key: body[key] for key in expected}} == expected
            """,
        )

    return render


def _slow_api_test(p: Plan, e: Entity, k: int) -> Callable[[int], str]:
    seconds = _slow_seconds(p, "api", e.plural, k)
    if k % 2 == 0:
        requests = max(20, int(seconds * REQUEST_RATE))
        return _plain(
            f"test_many_creates_then_every_page_{k}",
            "client: TestClient",
            f"""
            # Slow on purpose (about {seconds} s): {requests} requests, then every page.
            for number in range({requests}):
                create(client, f"many {{number}}")
            seen = 0
            while True:
                body = client.get("/{e.plural}", params={{"offset": seen, "limit": 200}}).json()
                seen += len(body["items"])
                if seen >= body["total"]:
                    break
            assert seen == {requests}
            """,
            marks=("pytest.mark.slow",),
        )
    return _plain(
        f"test_answer_after_the_client_backoff_{k}",
        "client: TestClient",
        f"""
        # Slow on purpose: waits {seconds} s between two calls, as rate-limit tests do.
        item = create(client, "backoff {k}")
        time.sleep({seconds})
        assert client.get(f"/{e.plural}/{{item['id']}}").status_code == 200
        """,
        marks=("pytest.mark.slow",),
    )


def api_health_module(budget: int) -> tuple[str, int]:
    header = '''\
"""The health endpoints, the database one included."""

from __future__ import annotations

from fastapi.testclient import TestClient
'''
    blocks = [
        Block(
            1,
            _plain(
                "test_health", "client: TestClient", 'assert client.get("/health").json() == {"status": "ok"}'
            ),
        ),
        Block(
            2,
            _plain(
                "test_database_health",
                "client: TestClient",
                'assert client.get("/health/db").json() == {"database": "ok"}',
            ),
        ),
    ]
    return render_module(header, blocks, budget)


# --------------------------------------------------------------------------- conftests


ROOT_CONFTEST = '''\
"""Fixtures every group shares: the database named by DATABASE_URL.

One database for the whole session, the most common shape: the schema is created
once per session (``metadata.create_all``, the project's migrations), and each test
module picks how it starts clean: ``recreate_tables`` (drop and create every table)
or ``truncate_tables``. Nothing here knows about parallel runs: two test processes
on one database would trample each other's tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

import app.models  # noqa: F401  (every table on Base.metadata)
from app.db import Base, get_engine
from app.main import app as asgi_app

__all__ = ["asgi_app"]


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    if not os.environ.get("DATABASE_URL"):
        pytest.fail(
            "DATABASE_URL is not set: point it at a PostgreSQL database these tests may "
            "write to, e.g. postgresql://postgres@localhost:5432/workload_test",
            pytrace=False,
        )
    engine = get_engine()
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def recreate_tables(engine: Engine) -> None:
    """Drop and create every table before the test."""
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)


@pytest.fixture
def truncate_tables(engine: Engine) -> None:
    """Empty every table before the test."""
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.rollback()
'''

API_CONFTEST = '''\
"""An HTTP client on the app, which talks to the database of DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.main import app as asgi_app


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(asgi_app) as test_client:
        yield test_client
'''


# --------------------------------------------------------------------------- project files


def project_files(p: Plan) -> dict[str, str]:
    files: dict[str, str] = {}
    pins = dict(LOCKED)
    requirements = "".join(f"{name}=={version}\n" for name, version in LOCKED)
    files["requirements.txt"] = (
        "# The test image's dependencies, fully resolved (runtime and test), pinned.\n" + requirements
    )

    def pinned(name: str) -> str:
        base = name.split("[", 1)[0]
        return json.dumps(f"{name}=={pins[base]}")

    files["pyproject.toml"] = fill(
        """
        [project]
        name = "$project"
        version = "1.0.0"
        description = "The bench workload: a FastAPI + SQLAlchemy backend over PostgreSQL (generated)"
        requires-python = ">=3.11"
        dependencies = [$runtime]

        [dependency-groups]
        test = [$test]

        [tool.pytest.ini_options]
        testpaths = ["tests"]
        pythonpath = ["."]
        addopts = ["--strict-markers", "--strict-config", "-ra"]
        xfail_strict = true
        markers = ["slow: takes 0.5 s or more on purpose"]
        filterwarnings = [
            "error",
            # Starlette 1.x nudges towards its httpx fork; plain httpx still works and is what we pin.
            "ignore:Using `httpx` with `starlette.testclient` is deprecated$filter_tail",
        ]

        [tool.coverage.run]
        source = ["app"]
        branch = true
        """,
        project=PROJECT,
        filter_tail=":starlette.exceptions.StarletteDeprecationWarning",
        runtime=", ".join(pinned(n) for n in RUNTIME),
        test=", ".join(pinned(n) for n in TEST_DEPS),
    )
    files["Dockerfile.test"] = DOCKERFILE_TEST
    files["Dockerfile.test.dockerignore"] = (
        "# Only the dependency files reach the test image.\n*\n!requirements.txt\n"
    )
    files["pipeline.yaml"] = PIPELINE_YAML
    files[".gitignore"] = "__pycache__/\n.pytest_cache/\n.coverage*\nslipway-report/\n.slipway/\n"
    files["README.md"] = readme(p)
    return files


DOCKERFILE_TEST = """\
# syntax=docker/dockerfile:1
# Test base image of the workload: its pinned dependencies plus the test runner's
# plugins, and no source code (the source is copied or mounted in at run time).
# Rebuilt only when these inputs change.

FROM python:3.11-slim
ENV UV_VERSION=0.13.9 \\
    VIRTUAL_ENV=/opt/venv \\
    PATH=/opt/venv/bin:$PATH \\
    UV_PYTHON_DOWNLOADS=never \\
    PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1
RUN python -m pip install --no-cache-dir "uv==${UV_VERSION}" \\
    && python -m venv /opt/venv
WORKDIR /deps
COPY requirements.txt ./
# Byte-compiled at install time: with PYTHONDONTWRITEBYTECODE every test process
# would otherwise compile FastAPI, SQLAlchemy and pydantic again when it starts.
RUN uv pip install --python /opt/venv/bin/python --compile-bytecode -r requirements.txt \\
    && uv pip install --python /opt/venv/bin/python --compile-bytecode \\
        "pytest-split==0.11.0" "pytest-rerunfailures==16.7" \\
    && /opt/venv/bin/python -c "import fastapi, sqlalchemy, psycopg, pytest, xdist, pytest_cov" \\
    && rm -rf /root/.cache
WORKDIR /src
CMD ["pytest", "-q"]
"""

PIPELINE_YAML = """\
# Slipway's test stages for the workload (generated by bench/workload/generate.py):
# the unit, integration and api groups, PostgreSQL for the last two, each xdist
# worker on a database cloned from a template migrated once (python -m app.migrate).
# Schema: schema/pipeline.schema.json of the Slipway repository.
version: 1
project:
  name: workload
  root: .

# The host's CA bundle, mounted into every container (pip behind a TLS proxy).
ca_bundle: /etc/ssl/certs/ca-certificates.crt

images:
  test_base:
    dockerfile: Dockerfile.test
    context: .
    key_files: [requirements.txt]
  # No registry is reachable on our runners: public names map to images that
  # `python -m pipeline images bootstrap` builds from a Debian mirror.
  aliases:
    python:3.11-slim: slipway/python:3.11
    postgres:15: slipway/postgres:15

services:
  postgres:
    image: postgres:15
    env:
      POSTGRES_USER: postgres
      POSTGRES_PASSWORD: postgres
      POSTGRES_DB: postgres
    port: 5432
    readiness:
      command: [pg_isready, -h, 127.0.0.1, -U, postgres]
      timeout_s: 60

stages:
  - name: tests-unit
    kind: pytest
    group: tests
    paths: [tests/unit]

  - name: tests-integration
    kind: pytest
    group: tests
    paths: [tests/integration]
    services: [postgres]
    database:
      service: postgres
      name: workload
      migrate: [python, -m, app.migrate]

  - name: tests-api
    kind: pytest
    group: tests
    paths: [tests/api]
    services: [postgres]
    database:
      service: postgres
      name: workload
      migrate: [python, -m, app.migrate]
"""


def readme(p: Plan) -> str:
    c = p.counts
    return fill(
        """
        # workload (generated)

        Written by `bench/workload/generate.py` of the Slipway repository (seed $seed,
        $tests tests); do not edit, generate again. A FastAPI + SQLAlchemy 2 service over
        PostgreSQL with $entities entities, each with a domain, models, schemas, services
        and routers module under `app/`.

        | group | tests | what they do |
        |---|---|---|
        | `tests/unit` | $unit | pure rules, request bodies, the app's wiring; no database |
        | `tests/integration` | $integration | services against PostgreSQL, on emptied tables |
        | `tests/api` | $api | HTTP through FastAPI's TestClient into PostgreSQL |

        About 1% are marked `slow` (0.5 to 2 s each).

        ```sh
        pip install -r requirements.txt
        export DATABASE_URL=postgresql://postgres@localhost:5432/workload_test   # an existing database
        pytest                                  # everything, serially, on that one database
        python -m app.migrate                   # create the tables (what the tests do once per session)
        ```

        The conftest uses one database: `pytest -n 2` on it fails (each process drops
        the other's tables). Give each xdist worker its own database (Slipway does;
        `bench/workload/handtuned_plugin.py` is the hand-written way).
        """,
        seed=p.seed,
        tests=p.tests,
        entities=len(p.entities),
        unit=c["unit"],
        integration=c["integration"],
        api=c["api"],
    )


# --------------------------------------------------------------------------- assembly


def build_test_files(p: Plan) -> tuple[dict[str, str], dict[str, int]]:
    """Every test module and the number of tests it holds (exactly the plan's counts)."""
    files: dict[str, str] = {}
    counts: dict[str, int] = {}
    entity_count = len(p.entities)

    def add(path: str, rendered: tuple[str, int]) -> None:
        text, n = rendered
        if n:
            files[path] = text
            counts[path] = n

    # Slow tests go round the entities in a shuffled order, so no module gets them all;
    # the entities that carry mutants come last (a slow test takes a small module's place).
    slow_at: dict[str, list[int]] = {}
    for group in GROUPS:
        rng = sub_rng(p, "slow-at", group)
        rest = list(range(MUTANT_ENTITIES, entity_count))
        first = list(range(MUTANT_ENTITIES))
        rng.shuffle(rest)
        rng.shuffle(first)
        order = rest + first
        slow_at[group] = [order[k % entity_count] for k in range(p.slow[group])]

    def slow_for(group: str, e: Entity) -> int:
        return slow_at[group].count(e.index)

    unit = p.counts["unit"]
    shared_unit = min(entity_count + 10, unit // 10)
    app_tests = min(entity_count + 1, shared_unit)
    add("tests/unit/test_app.py", unit_app_module(p, app_tests))
    add("tests/unit/test_config.py", unit_config_module(shared_unit - app_tests))
    for e, budget in zip(p.entities, split(unit - shared_unit, entity_count), strict=True):
        rules_budget = max(round(budget * 0.7), min(budget, slow_for("unit", e)))
        add(
            f"tests/unit/test_{e.plural}_rules.py", unit_rules_module(p, e, rules_budget, slow_for("unit", e))
        )
        add(f"tests/unit/test_{e.plural}_schemas.py", unit_schema_module(p, e, budget - rules_budget))

    integration = p.counts["integration"]
    shared = min(3, integration // 10)
    add("tests/integration/test_migrations.py", integration_migrations_module(shared))
    for e, budget in zip(p.entities, split(integration - shared, entity_count), strict=True):
        add(
            f"tests/integration/test_{e.plural}.py",
            integration_module(p, e, budget, slow_for("integration", e)),
        )

    api = p.counts["api"]
    shared = min(2, api // 10)
    add("tests/api/test_health.py", api_health_module(shared))
    for e, budget in zip(p.entities, split(api - shared, entity_count), strict=True):
        add(f"tests/api/test_{e.plural}_api.py", api_module(p, e, budget, slow_for("api", e)))

    files["tests/__init__.py"] = ""
    files["tests/conftest.py"] = ROOT_CONFTEST
    for group in GROUPS:
        files[f"tests/{group}/__init__.py"] = ""
    files["tests/api/conftest.py"] = API_CONFTEST
    return files, counts


def render(p: Plan) -> tuple[dict[str, str], dict[str, Any]]:
    """(relative path -> content, manifest) of the whole project."""
    files = {**app_files(p), **project_files(p)}
    tests, counts = build_test_files(p)
    files.update(tests)
    per_group = {
        group: sum(n for path, n in counts.items() if path.startswith(f"tests/{group}/")) for group in GROUPS
    }
    if per_group != p.counts:  # pragma: no cover - allocate() places every test or raises
        raise AssertionError(f"placed {per_group}, planned {p.counts}")
    manifest: dict[str, Any] = {
        "generator_version": GENERATOR_VERSION,
        "seed": p.seed,
        "tests": p.tests,
        "groups": per_group,
        "slow": p.slow,
        "modules": dict(sorted(counts.items())),
        "app_modules": sorted(path for path in files if path.startswith("app/")),
        "entities": [
            {
                "name": e.plural,
                "integration": "recreate" if e.recreate["integration"] else "truncate",
                "api": "recreate" if e.recreate["api"] else "truncate",
            }
            for e in p.entities
        ],
    }
    files[MANIFEST] = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    return dict(sorted(files.items())), manifest


def write(outdir: Path, files: dict[str, str]) -> None:
    """Write the project into ``outdir``: empty, missing, or an earlier workload (replaced)."""
    if outdir.exists():
        if not outdir.is_dir():
            raise SystemExit(f"{outdir} is not a directory")
        if any(outdir.iterdir()) and not (outdir / MANIFEST).is_file():
            raise SystemExit(f"{outdir} is not empty and holds no {MANIFEST}: refusing to overwrite it")
        for child in outdir.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    outdir.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = outdir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


def generate(outdir: Path, tests: int = DEFAULT_TESTS, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    files, manifest = render(plan(seed, tests))
    write(outdir, files)
    return manifest


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("outdir", type=Path)
    parser.add_argument(
        "--tests", type=int, default=DEFAULT_TESTS, help=f"about how many (default {DEFAULT_TESTS})"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        manifest = generate(args.outdir, args.tests, args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    groups = manifest["groups"]
    print(
        f"{args.outdir}: {args.tests} tests (unit {groups['unit']}, integration {groups['integration']}, "
        f"api {groups['api']}; slow {sum(manifest['slow'].values())}), "
        f"{len(manifest['app_modules'])} app modules, seed {args.seed}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long a ``$filter`` takes to parse, and to run over a listing, by its size.

In process, no server: ``gateway.cimi.filter.parse`` on filters of 10, 100,
1,000 and 10,000 terms mixing every construct the grammar has (value-first
comparisons, ``and`` inside ``or``, parentheses, ``property['key']``, dates,
``^=``, ``not(...)``), against the Machine schema; then the parsed predicate
run over 1,000 machines' values. Prints the median of ``--repeat`` runs and
the time per term, which stays flat when parsing is linear.

    .venv/bin/python bench/filter_parse.py [--repeat 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.cimi import filter as cimi_filter
from gateway.cimi.schema import MACHINE

SIZES = (10, 100, 1000, 10000)
#: six comparisons: the shapes a client writes, each kind once.
GROUP = (
    "(name='web-{n}' and cpu>={n}) or "
    '(2048<memory and property[\'tier\']!="db \\" {n}") or '
    "created>2026-01-0{d}T00:00:00Z and not(state='STOPPED') and name^='x{n}'"
)


def filter_of(terms: int) -> str:
    """A filter of about ``terms`` comparisons."""
    groups = [GROUP.format(n=n, d=n % 9 + 1) for n in range(max(1, terms // 6))]
    return " or ".join(groups)


def machines(count: int) -> list[dict[str, Any]]:
    created = datetime(2026, 1, 5, tzinfo=UTC)
    return [
        {
            "name": f"web-{n}",
            "cpu": n % 8,
            "memory": 1024 * (n % 4),
            "state": "STARTED" if n % 2 else "STOPPED",
            "created": created,
            "property": {"tier": "web"},
        }
        for n in range(count)
    ]


def comparisons(predicate: cimi_filter.Predicate) -> int:
    """How many comparisons the parsed filter holds."""
    if isinstance(predicate, cimi_filter.Comparison):
        return 1
    if isinstance(predicate, cimi_filter.Negation):
        return comparisons(predicate.term)
    return sum(comparisons(term) for term in predicate.terms)


def median_s(action: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(repeat: int) -> list[dict[str, Any]]:
    listing = machines(1000)
    rows = []
    for size in SIZES:
        text = filter_of(size)
        predicate = cimi_filter.parse([text], MACHINE)
        terms = comparisons(predicate)
        parse = median_s(lambda t=text: cimi_filter.parse([t], MACHINE), repeat)
        evaluate = median_s(
            lambda p=predicate: [m for m in listing if p(m)], max(1, repeat // 2)
        )
        rows.append(
            {
                "terms": terms,
                "chars": len(text),
                "parse_ms": parse * 1000,
                "parse_us_per_term": parse * 1e6 / terms,
                "filter_1000_machines_ms": evaluate * 1000,
            }
        )
    return rows


def report(rows: list[dict[str, Any]], repeat: int) -> str:
    lines = [
        f"$filter on Machine, median of {repeat} runs",
        f"{'terms':>7}{'chars':>9}{'parse ms':>11}{'µs/term':>9}"
        f"{'1,000 machines ms':>19}",
    ]
    for row in rows:
        lines.append(
            f"{row['terms']:>7}{row['chars']:>9}{row['parse_ms']:>11.2f}"
            f"{row['parse_us_per_term']:>9.1f}{row['filter_1000_machines_ms']:>19.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = run(args.repeat)
    print(json.dumps(rows, indent=2) if args.json else report(rows, args.repeat))


if __name__ == "__main__":
    main()

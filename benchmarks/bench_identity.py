"""Time PersonalIdentityNumber.parse against the personnummer package on the same numbers.

Run: ``python benchmarks/bench_identity.py``; ``nox -s bench`` runs it as part of the
report. Prints the median time per parse for each library and the ratio; ``--json PATH``
also writes them to a file.
Each library is judged against its own notion of today (the local date), as in production.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import timeit
from pathlib import Path

from personnummer import personnummer  # type: ignore[import-untyped]

from careaccess.identity import PersonalIdentityNumber, luhn_check_digit

NUMBERS = 10_000
REPEATS = 21


def sample_numbers(count: int, seed: int = 20250615) -> list[str]:
    """Valid numbers both libraries accept, in the forms users type: 10 and 12 digits, '-' and none."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible sample data, not secrets
    today = dt.datetime.now(dt.UTC).astimezone().date()
    texts: list[str] = []
    while len(texts) < count:
        born = today - dt.timedelta(days=rng.randint(1, 99 * 365))
        nine = f"{born:%y%m%d}{rng.randint(1, 999):03d}"
        digits = f"{born.year // 100}{nine}{luhn_check_digit(nine)}"
        texts.append(rng.choice([digits, f"{digits[:8]}-{digits[8:]}", digits[2:], f"{digits[2:8]}-{digits[8:]}"]))
    return texts


def median_seconds_per_parse(parse: object, texts: list[str]) -> float:
    """Median over REPEATS runs of the time to parse every text once, divided by the number of texts."""
    func = parse
    runs = timeit.repeat(lambda: [func(t) for t in texts], number=1, repeat=REPEATS)  # type: ignore[operator]
    return statistics.median(runs) / len(texts)


def measure() -> dict[str, object]:
    """Both libraries' median time per parse over the same numbers, and their ratio."""
    texts = sample_numbers(NUMBERS)
    # Same inputs, same verdicts: the comparison is only fair if both accept all of them.
    for text in texts:
        assert PersonalIdentityNumber.parse(text).digits == personnummer.parse(text).format(long_format=True)
    ours = median_seconds_per_parse(PersonalIdentityNumber.parse, texts)
    theirs = median_seconds_per_parse(personnummer.parse, texts)
    return {
        "numbers": len(texts),
        "repeats": REPEATS,
        "careaccess_median_us": round(ours * 1e6, 3),
        "personnummer_median_us": round(theirs * 1e6, 3),
        "ratio_careaccess_to_personnummer": round(ours / theirs, 3),
        "python": sys.version.split()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    result = measure()
    print(f"parse one number, median of {REPEATS} runs over {result['numbers']} numbers:")
    print(f"  careaccess    {result['careaccess_median_us']:8.3f} µs")
    print(f"  personnummer  {result['personnummer_median_us']:8.3f} µs")
    print(f"  ratio         {result['ratio_careaccess_to_personnummer']:8.3f} (careaccess / personnummer)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

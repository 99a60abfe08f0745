"""Time ``clinics_for`` on a store filled like the issue's workload.

1,000 clinics (half with a service area: one of the 21 regions, or one in fifty the whole country,
each with two open and two restricted case types), *residents* residents approved at 1-3
clinics, a fifth of them with a grant. Prints the median and the 95th percentile of
``clinics_for`` for 1,000 random residents (residence passed in, so no directory).

    python benchmarks/reach_measure.py --store memory:// --residents 1000 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time

import careaccess
from careaccess import Actor, Approval, AreaRule, CaseType, Clinic, Grant, Residence, ServiceArea, hookimpl, regions
from careaccess.identity import PersonalIdentityNumber, luhn_check_digit

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
PLACES = [Residence("01", "0180"), Residence("03", "0380"), Residence("12", "1280")]


class _AllowAll:
    @hookimpl
    def careaccess_authorize(self, actor: Actor, action: str, clinic_id: str) -> bool:
        return True


def _person(n: int) -> PersonalIdentityNumber:
    born = dt.date(1940, 1, 1) + dt.timedelta(days=n % 25_000)
    serial = 1 + n // 25_000 % 999
    nine = f"{born:%y%m%d}{serial:03d}"
    return PersonalIdentityNumber.from_digits(f"{born:%Y%m%d}{serial:03d}{luhn_check_digit(nine)}")


def fill(access: careaccess.CareAccess, residents: int, rng: random.Random) -> list[PersonalIdentityNumber]:
    admin = Actor("bench")
    areas = [ServiceArea([AreaRule(code)]) for code in sorted(regions.counties())]
    for c in range(1000):
        # Half of the clinics serve one of the 21 regions; one in fifty the whole country from 70.
        area = (
            ServiceArea([AreaRule(min_age=70)]) if c % 50 == 0 else areas[c // 2 % 21] if c % 2 == 0 else ServiceArea()
        )
        access.put_clinic(admin, Clinic(f"c{c:04d}", f"Vårdcentral {c}", area))
        for t, restricted in (("a", False), ("b", False), ("x", True), ("y", True)):
            access.put_case_type(admin, CaseType(f"c{c:04d}", t, t, restricted))
    people = [_person(n) for n in range(residents)]
    by_clinic: dict[str, list[Approval | Grant]] = {}
    for person in people:
        for clinic in rng.sample(range(1000), rng.randint(1, 3)):
            clinic_id = f"c{clinic:04d}"
            by_clinic.setdefault(clinic_id, []).append(Approval(clinic_id, person, None, NOW, "bench"))
        if rng.random() < 0.2:
            clinic_id = f"c{rng.randrange(1000):04d}"
            by_clinic.setdefault(clinic_id, []).append(Grant(clinic_id, person, "x", None, 1, NOW, "bench", NOW))
    for clinic_id, records in by_clinic.items():
        approvals = [r for r in records if isinstance(r, Approval)]
        grants = [r for r in records if isinstance(r, Grant)]
        for start in range(0, max(len(approvals), len(grants)), 2000):
            access.import_residents(admin, clinic_id, approvals[start : start + 2000], grants[start : start + 2000])
    return people


def measure(url: str, residents: int) -> tuple[float, float]:
    rng = random.Random(residents)  # noqa: S311 - reproducible data, not secrets
    with careaccess.connect(url, plugins=[_AllowAll()], clock=lambda: NOW) as access:
        people = fill(access, residents, rng)
        times: list[float] = []
        for _ in range(1000):
            person = rng.choice(people)
            start = time.perf_counter()
            access.clinics_for(person, residence=rng.choice(PLACES))
            times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.95)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="memory://")
    parser.add_argument("--residents", type=int, nargs="+", default=[1000])
    args = parser.parse_args()
    for count in args.residents:
        median, p95 = measure(args.store, count)
        print(f"{args.store} residents={count}: clinics_for median {median:.3f} ms, p95 {p95:.3f} ms")


if __name__ == "__main__":
    main()

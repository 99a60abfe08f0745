"""Service-area matching: does a resident fall under one of a clinic's area rules?"""

from __future__ import annotations

import datetime as dt

from careaccess.identity import PersonalIdentityNumber
from careaccess.models import AreaRule, Residence, ServiceArea

__all__ = ["matching_rule", "rule_matches"]


def rule_matches(rule: AreaRule, residence: Residence, pnr: PersonalIdentityNumber, day: dt.date) -> bool:
    """True when every field the rule sets matches; age is judged on the local date *day*."""
    if rule.region is not None and rule.region != residence.region:
        return False
    if rule.municipality is not None and rule.municipality != residence.municipality:
        return False
    if rule.gender is not None and rule.gender is not pnr.gender:
        return False
    if rule.min_age is None and rule.max_age is None:
        return True
    age = pnr.age(on=day)
    if age is None:  # a coordination number whose birth date was never established has no age
        return False
    if rule.min_age is not None and age < rule.min_age:
        return False
    return rule.max_age is None or age <= rule.max_age


def matching_rule(
    area: ServiceArea, residence: Residence, pnr: PersonalIdentityNumber, day: dt.date
) -> AreaRule | None:
    """The first rule of *area* the resident matches, or None."""
    for rule in area.rules:
        if rule_matches(rule, residence, pnr, day):
            return rule
    return None

"""The decision paths the callgrind comparison runs (see callgrind_decide.sh): python callgrind_decide.py SCENARIO N"""

import datetime as dt
import sys

from careaccess import Actor, CaseType, Clinic, connect
from careaccess.identity import PersonalIdentityNumber

admin = Actor("a", frozenset({"c1"}))
now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
access = connect("memory://", clock=lambda: now)
access.put_clinic(admin, Clinic("c1", "C"))
access.put_case_type(admin, CaseType("c1", "open", "O"))
access.put_case_type(admin, CaseType("c1", "kbt", "K", restricted=True))
text = "19121212-1212"
digits = "191212121212"
short = "121212-1212"
person = PersonalIdentityNumber.parse(text, today=dt.date(2026, 3, 1))
access.approve_resident(admin, "c1", person, name="T")
access.grant_case_type(admin, "c1", person, "kbt", dt.date(2026, 12, 31))
at = dt.datetime(2026, 3, 1, 13, 0, tzinfo=dt.UTC)
many = [(text, "c1", "kbt")] * 100
cases = {
    "obj_open": lambda: access.decide(person, "c1", "open", at),
    "obj_until": lambda: access.decide(person, "c1", "kbt", at),
    "text_open": lambda: access.decide(text, "c1", "open", at),
    "text_until": lambda: access.decide(text, "c1", "kbt", at),
    "digits_open": lambda: access.decide(digits, "c1", "open", at),
    "short_open": lambda: access.decide(short, "c1", "open", at),
    "text_clock": lambda: access.decide(text, "c1", "open"),
    "unknown": lambda: access.decide(person, "nope", "open", at),
    "many100": lambda: access.decide_many(many, at),
}
fn = cases[sys.argv[1]]
for _ in range(int(sys.argv[2])):
    fn()

"""Table tests for PersonalIdentityNumber: one row per rule, with the real edge cases."""

from __future__ import annotations

import copy
import datetime as dt
import pickle

import pytest

from careaccess import identity
from careaccess.errors import InvalidIdentityNumber
from careaccess.identity import ERROR_CODES, Gender, PersonalIdentityNumber, as_pnr, luhn_check_digit, redact

TODAY = dt.date(2025, 6, 15)


def pnr(body: str) -> str:
    """Complete the nine digits before the check digit (any separator kept) with the right check digit."""
    digits = body.replace("-", "").replace("+", "")
    return body + str(luhn_check_digit(digits[-9:]))


def parse(text: str, **kwargs: object) -> PersonalIdentityNumber:
    kwargs.setdefault("today", TODAY)
    return PersonalIdentityNumber.parse(text, **kwargs)  # type: ignore[arg-type]


def code_of(text: object, **kwargs: object) -> str:
    with pytest.raises(InvalidIdentityNumber) as caught:
        parse(text, **kwargs)  # type: ignore[arg-type]
    return caught.value.code


# --- accepted forms -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("121212-1212", "201212121212"),
        ("1212121212", "201212121212"),
        ("20121212-1212", "201212121212"),
        ("201212121212", "201212121212"),
        ("  121212-1212\n", "201212121212"),
        ("\t201212121212 ", "201212121212"),
        ("121212+1212", "191212121212"),
        ("19121212+1212", "191212121212"),
        ("191212121212", "191212121212"),
        ("19121212-1212", "191212121212"),
    ],
)
def test_accepted_forms(text: str, digits: str) -> None:
    assert parse(text).digits == digits


def test_skatteverket_example() -> None:
    p = parse("121212-1212")
    assert str(p) == "20121212-1212"
    assert repr(p) == "PersonalIdentityNumber('20121212-****')"
    assert p.masked() == "20121212-****"
    assert p.short(today=TODAY) == "121212-1212"
    assert p.birth_date == dt.date(2012, 12, 12)
    assert p.gender is Gender.MALE
    assert p.age(on=TODAY) == 12
    assert not p.is_coordination_number


# --- format ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "121212-121",  # nine digits
        "12121212121",  # eleven digits
        "1212121212123",  # thirteen digits
        "121212 1212",  # space is not a separator
        "121212--1212",
        "121212/1212",
        "1212-12-1212",
        "12121-21212",  # separator in the wrong place
        "1912-12121212",
        "121212\u20131212",  # en dash
        "١٢١٢١٢-١٢١٢",  # Arabic-Indic digits
        "１２１２１２-１２１２",  # full-width digits
        "12A212-1212",  # a letter in the date
        "121212-1212x",
        "x121212-1212",
    ],
)
def test_format_errors(text: str) -> None:
    assert code_of(text) == "pnr_format"


@pytest.mark.parametrize("value", [None, 1212121212, b"121212-1212", ["121212-1212"]])
def test_non_text_is_a_format_error(value: object) -> None:
    assert code_of(value) == "pnr_format"


def test_plus_in_twelve_digits_needs_someone_turning_100_this_year() -> None:
    assert parse(pnr("19250615+123")).birth_date == dt.date(1925, 6, 15)
    assert parse(pnr("19251231+123")).birth_date == dt.date(1925, 12, 31)  # turns 100 later this year
    assert code_of(pnr("19260101+123")) == "pnr_format"
    assert code_of(pnr("20121212+121")) == "pnr_format"


# --- reserve and interim numbers ------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "22121212AB12",  # national reserve id: century + 3, letters in the serial
        "22121212-AB12",
        "231212121212",  # century + 3 with digits only
        "251212121212",  # century + 6
        "001212121212",  # unknown birth date
        "991212121212",  # a regional series starting with 99
        "171212121212",  # reserved for future use
        "121212-T123",  # interim number
        "20121212-T123",
        "121212R123",
        "121212-123K",
    ],
)
def test_reserve_and_interim_numbers(text: str) -> None:
    assert code_of(text) == "pnr_reserve_number"


# --- dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        (pnr("20000229-123"), True),  # 2000 is a leap year (divisible by 400)
        (pnr("19000229-123"), False),  # 1900 is not (divisible by 100)
        (pnr("20240229-123"), True),
        (pnr("20230229-123"), False),
        (pnr("20230228-123"), True),
        (pnr("20240289-123"), True),  # 29 February as a coordination day
        (pnr("20230289-123"), False),
        (pnr("240229-123"), True),
        (pnr("230229-123"), False),
        (pnr("000229+123"), False),  # '+' puts it in 1900
        (pnr("000229-123"), True),  # '-' puts it in 2000
        (pnr("20230431-123"), False),
        (pnr("20231231-123"), True),
        (pnr("20231301-123"), False),
        (pnr("20230001-123"), False),
        (pnr("20230100-123"), False),
        (pnr("20230132-123"), False),
    ],
)
def test_calendar_dates(text: str, ok: bool) -> None:
    if ok:
        born = parse(text).birth_date
        assert born is not None
        assert born.month in (2, 4, 12)
    else:
        assert code_of(text) == "pnr_date"


@pytest.mark.parametrize(
    ("day", "outcome"),
    [
        ("31", dt.date(2001, 1, 31)),
        ("32", "pnr_date"),
        ("59", "pnr_date"),
        ("60", None),  # a coordination number whose birth day was never established
        ("61", dt.date(2001, 1, 1)),
        ("91", dt.date(2001, 1, 31)),
        ("92", "pnr_date"),  # day 32
        ("99", "pnr_date"),
        ("00", "pnr_date"),
    ],
)
def test_coordination_day_boundaries(day: str, outcome: object) -> None:
    text = pnr(f"2001 01{day}-123".replace(" ", ""))
    if outcome is None or isinstance(outcome, dt.date):
        p = parse(text)
        assert p.birth_date == outcome
        assert p.is_coordination_number is (int(day) >= 60)
        assert p.digits[6:8] == day  # canonical digits keep the coordination day
    else:
        assert code_of(text) == outcome


# Coordination numbers whose birth month (00) or day (60) was never established, from
# Skatteverket's published test coordination numbers (Testsamordningsnummer, open data).
@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("19150088-2392", 1915),  # month unknown, day 28
        ("191500722390", 1915),  # month unknown, day 12
        ("19430091-2385", 1943),  # month unknown, day 31: fits some month
        ("19171160-2399", 1917),  # November, day unknown
        ("19450260-2396", 1945),  # February, day unknown
        ("19310060-2394", 1931),  # month and day unknown
        ("150088+2392", 1915),
        ("3100602394", 1931),
    ],
)
def test_coordination_numbers_with_a_birth_date_never_established(text: str, year: int) -> None:
    p = parse(text)
    assert p.is_coordination_number
    assert p.birth_date is None
    assert p.birth_year == year
    assert p.age(on=TODAY) is None
    assert p.short(today=TODAY) == f"{p.digits[2:8]}{'+' if TODAY.year - year >= 100 else '-'}{p.digits[8:]}"
    assert parse(p.short(today=TODAY)) == p
    assert PersonalIdentityNumber.from_digits(p.digits) == p
    assert repr(p) == f"PersonalIdentityNumber('{p.digits[:8]}-****')"
    assert code_of(text, allow_coordination=False) == "pnr_coordination_refused"


@pytest.mark.parametrize(
    "body",
    [
        "19150000-239",  # month 00 is not a personnummer's month
        "19150015-239",
        "19151300-239",
        "19151360-239",  # month 13 stays impossible with an unknown day
        "19150092-239",  # day 32 of an unknown month
        "19150290-239",  # 30 February
        "19230289-239",  # 29 February in a year without one
        "19150491-239",  # 31 April
        "19159960-239",
    ],
)
def test_coordination_days_that_do_not_exist_in_their_known_month_stay_refused(body: str) -> None:
    assert code_of(pnr(body)) == "pnr_date"
    assert code_of(pnr(body)[2:]) == "pnr_date"


def test_unknown_birth_dates_and_today() -> None:
    # The earliest date the digits allow decides the future check and the century guess.
    assert parse(pnr("20250060-239")).birth_year == 2025  # some day in 2025 up to today
    assert code_of(pnr("20250760-239")) == "pnr_future_birth_date"  # July, not yet begun
    assert parse(pnr("20250660-239")).birth_year == 2025  # June has begun
    assert code_of(pnr("20260060-239")) == "pnr_future_birth_date"
    assert parse(pnr("20250076-239")).birth_year == 2025  # the 16th of some month: 16 January has passed
    assert code_of(pnr("20260001-239")) == "pnr_date"  # month 00 only in a coordination number
    assert parse(pnr("250760-239")).birth_year == 1925  # a 10-digit July 2025 lies ahead: the century before
    assert parse(pnr("250660-239")).birth_year == 2025
    assert parse(pnr("250060+239")).birth_year == 1925


# The test list every personnummer implementation shares (github.com/personnummer/meta,
# testdata/list.json): every written form of each entry, with the validity and gender it records.
SHARED_LIST = [
    ("201509160006", False, "ssn", Gender.FEMALE),
    ("190905271474", True, "ssn", Gender.MALE),
    ("198707049996", False, "ssn", Gender.MALE),
    ("198211059954", True, "ssn", Gender.MALE),
    ("193901829913", False, "con", Gender.MALE),
    ("195705749959", True, "con", Gender.MALE),
    ("201211209941", False, "ssn", Gender.FEMALE),
    ("199012119948", True, "ssn", Gender.FEMALE),
    ("201210759984", False, "con", Gender.FEMALE),
    ("197306749982", True, "con", Gender.FEMALE),
    ("187912219990", True, "ssn", Gender.MALE),
    ("200012099891", True, "ssn", Gender.MALE),
]


@pytest.mark.parametrize(("digits", "valid", "kind", "gender"), SHARED_LIST)
def test_shared_test_list(digits: str, valid: bool, kind: str, gender: Gender) -> None:
    age = TODAY.year - int(digits[:4])
    sep = "+" if age >= 100 else "-"
    forms = [digits, f"{digits[:8]}{sep}{digits[8:]}"]
    if age < 200:
        forms += [f"{digits[2:8]}{sep}{digits[8:]}"] + ([digits[2:]] if age < 100 else [])
    for text in forms:
        if valid:
            p = parse(text)
            assert p.digits == digits
            assert p.gender is gender
            assert p.is_coordination_number is (kind == "con")
        else:
            assert code_of(text) in ("pnr_serial", "pnr_checksum", "pnr_date")
    # The list's invalid 12-digit-with-space form.
    assert code_of("19090527 1474") == "pnr_format"


def test_coordination_numbers_can_be_refused() -> None:
    text = pnr("20010161-123")
    assert parse(text).is_coordination_number
    assert code_of(text, allow_coordination=False) == "pnr_coordination_refused"
    assert not parse(pnr("20010101-123"), allow_coordination=False).is_coordination_number
    # An already parsed coordination number is refused the same way.
    assert code_of(parse(text), allow_coordination=False) == "pnr_coordination_refused"


# --- serial and check digit -----------------------------------------------------------


@pytest.mark.parametrize(
    ("serial", "outcome"),
    [("000", "pnr_serial"), ("001", Gender.MALE), ("002", Gender.FEMALE), ("998", Gender.FEMALE), ("999", Gender.MALE)],
)
def test_serial_bounds(serial: str, outcome: object) -> None:
    for text in (pnr(f"19800101-{serial}"), pnr(f"800101-{serial}"), pnr(f"800101{serial}")):
        if isinstance(outcome, Gender):
            assert parse(text).gender is outcome
        else:
            assert code_of(text) == outcome


def test_wrong_check_digit() -> None:
    assert code_of("121212-1213") == "pnr_checksum"
    assert code_of("20121212-1210") == "pnr_checksum"
    # A transposition of adjacent digits is caught too.
    assert code_of("121221-1212") in ("pnr_checksum", "pnr_date")


@pytest.mark.parametrize(("nine", "check"), [("121212121", 2), ("811218987", 6), ("000000001", 8), ("999999999", 9)])
def test_luhn_check_digit(nine: str, check: int) -> None:
    assert luhn_check_digit(nine) == check


# --- today: future dates, century inference, '+' -------------------------------------


def test_born_today_is_accepted_and_tomorrow_is_future() -> None:
    assert parse(pnr("20250615-123")).age(on=TODAY) == 0
    assert code_of(pnr("20250616-123")) == "pnr_future_birth_date"
    assert code_of(pnr("21000101-123")) == "pnr_future_birth_date"
    assert code_of(pnr("20250676-123")) == "pnr_future_birth_date"  # coordination day 16


def test_ten_digits_born_today_is_a_newborn() -> None:
    assert parse(pnr("250615-123")).birth_date == dt.date(2025, 6, 15)
    assert parse(pnr("250615+123")).birth_date == dt.date(1925, 6, 15)


def test_ten_digit_number_that_would_lie_in_the_future_goes_back_a_century() -> None:
    assert parse(pnr("250616-123")).birth_date == dt.date(1925, 6, 16)
    assert parse(pnr("251231-123")).birth_date == dt.date(1925, 12, 31)
    assert parse(pnr("260101-123")).birth_date == dt.date(1926, 1, 1)
    assert parse(pnr("250614-123")).birth_date == dt.date(2025, 6, 14)


@pytest.mark.parametrize(
    ("text", "born"),
    [
        (pnr("250615+123"), dt.date(1925, 6, 15)),  # turns 100 today
        (pnr("251231+123"), dt.date(1925, 12, 31)),  # turns 100 this year
        (pnr("260101+123"), dt.date(1826, 1, 1)),  # turned 100 in 1926: the century before
        (pnr("240101+123"), dt.date(1924, 1, 1)),
        (pnr("000101+123"), dt.date(1900, 1, 1)),
    ],
)
def test_plus_means_turning_100_by_this_calendar_year(text: str, born: dt.date) -> None:
    assert parse(text).birth_date == born


def test_century_inference_follows_the_injected_today() -> None:
    text = pnr("991231-123")
    assert parse(text, today=dt.date(1999, 12, 31)).birth_date == dt.date(1999, 12, 31)
    assert parse(text, today=dt.date(1999, 12, 30)).birth_date == dt.date(1899, 12, 31)
    assert parse(text, today=dt.date(2099, 12, 31)).birth_date == dt.date(2099, 12, 31)


def test_default_today_is_the_local_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(identity, "_host_today", lambda: dt.date(2030, 1, 1))
    assert PersonalIdentityNumber.parse(pnr("291231-123")).birth_date == dt.date(2029, 12, 31)
    assert PersonalIdentityNumber.parse(pnr("300102-123")).birth_date == dt.date(1930, 1, 2)
    assert PersonalIdentityNumber(pnr("300102-123")).birth_date == dt.date(1930, 1, 2)
    with pytest.raises(InvalidIdentityNumber):
        PersonalIdentityNumber.parse(pnr("20300102-123"))
    with pytest.raises(InvalidIdentityNumber):
        PersonalIdentityNumber.parse(pnr("20300102123"))  # the canonical fast path too
    assert PersonalIdentityNumber.parse(pnr("20291231123")).age() == 0
    assert PersonalIdentityNumber.parse(pnr("19300101123")).short() == pnr("300101+123")


def test_host_today_is_read_afresh_each_time() -> None:
    before = dt.datetime.now(dt.UTC).astimezone().date()
    today = identity._host_today()
    after = dt.datetime.now(dt.UTC).astimezone().date()
    assert today in (before, after)


# --- short() and age() ----------------------------------------------------------------


def test_short_uses_plus_from_the_calendar_year_the_person_turns_100() -> None:
    p = parse(pnr("19251231-123"))
    assert p.short(today=dt.date(2024, 12, 31))[6] == "-"
    assert p.short(today=dt.date(2025, 1, 1))[6] == "+"  # 99 years old, turns 100 this year
    assert p.age(on=dt.date(2025, 12, 30)) == 99
    assert p.age(on=dt.date(2025, 12, 31)) == 100
    assert parse(p.short(today=TODAY)) == p


@pytest.mark.parametrize(
    ("on", "age"),
    [
        (dt.date(2021, 2, 28), 0),
        (dt.date(2021, 3, 1), 1),  # non-leap year: birthday on 1 March
        (dt.date(2024, 2, 28), 3),
        (dt.date(2024, 2, 29), 4),
        (dt.date(2020, 2, 28), -1),
    ],
)
def test_age_of_someone_born_on_29_february(on: dt.date, age: int) -> None:
    assert parse(pnr("20200229-123")).age(on=on) == age


# --- errors never echo the input ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("19121212-1213", "pnr_checksum"),
        (pnr("19121312-987"), "pnr_date"),
        (pnr("20991212-987"), "pnr_future_birth_date"),
        ("22121212AB12", "pnr_reserve_number"),
        ("19121212 9876", "pnr_format"),
        (pnr("19121212-000"), "pnr_serial"),
        (pnr("19121272-987"), "pnr_coordination_refused"),
    ],
)
def test_errors_name_the_rule_in_both_languages_without_the_number(text: str, code: str) -> None:
    with pytest.raises(InvalidIdentityNumber) as caught:
        parse(text, allow_coordination=False)
    error = caught.value
    assert error.code == code
    assert code in ERROR_CODES
    assert isinstance(error, ValueError)
    assert error.message_en != error.message_sv
    tail = text.strip()[-4:]
    for shown in (str(error), repr(error), error.message_en, error.message_sv, *map(str, error.args)):
        assert tail not in shown
        assert text.strip()[:6] not in shown


# --- value semantics ------------------------------------------------------------------


def test_value_semantics() -> None:
    a, b, c = parse("121212-1212"), parse("20121212-1212"), parse("19121212+1212")
    assert a == b
    assert a != c
    assert hash(a) == hash(b)
    assert {a, b, c} == {a, c}
    assert {a: 1}[b] == 1
    assert sorted([a, c]) == [c, a]
    assert c < a
    assert c <= a
    assert a > c
    assert a >= b
    assert a != "201212121212"
    with pytest.raises(TypeError):
        _ = a < "201212121212"


def test_immutable_pickle_copy() -> None:
    p = parse("121212-1212")
    with pytest.raises(AttributeError):
        p._digits = "191212121212"
    with pytest.raises(AttributeError):
        del p._digits
    with pytest.raises(AttributeError):
        p.extra = 1
    assert pickle.loads(pickle.dumps(p)) == p  # noqa: S301 -- round-tripping our own value
    assert copy.copy(p) is p
    assert copy.deepcopy(p) is p


def test_constructor_parses() -> None:
    assert PersonalIdentityNumber("201212121212") == parse("121212-1212")
    with pytest.raises(InvalidIdentityNumber):
        PersonalIdentityNumber("201212121213")


# --- from_digits ----------------------------------------------------------------------


def test_from_digits_does_not_depend_on_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(identity, "_host_today", lambda: dt.date(1900, 1, 1))
    p = PersonalIdentityNumber.from_digits("201212121212")
    assert p.birth_date == dt.date(2012, 12, 12)
    assert PersonalIdentityNumber.from_digits(pnr("21000101123")).birth_date == dt.date(2100, 1, 1)


@pytest.mark.parametrize(
    ("digits", "code"),
    [
        ("121212-1212", "pnr_format"),
        ("1212121212", "pnr_format"),
        (" 201212121212", "pnr_format"),
        ("20121212-1212", "pnr_format"),
        ("201212121213", "pnr_checksum"),
        (pnr("20121312123"), "pnr_date"),
        (pnr("20121212000"), "pnr_serial"),
        (pnr("22121212123"), "pnr_reserve_number"),
    ],
)
def test_from_digits_refuses_anything_but_canonical_digits(digits: str, code: str) -> None:
    with pytest.raises(InvalidIdentityNumber) as caught:
        PersonalIdentityNumber.from_digits(digits)
    assert caught.value.code == code


# --- as_pnr and redact ----------------------------------------------------------------


def test_as_pnr() -> None:
    p = parse("121212-1212")
    assert as_pnr(p) is p
    assert as_pnr("20121212-1212") == p
    assert as_pnr(pnr("250616-123"), today=TODAY).birth_year == 1925
    with pytest.raises(InvalidIdentityNumber):
        as_pnr("nonsense")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pnr=19121212-1212 done", "pnr=19121212-**** done"),
        ("121212+1212,121212-1212", "121212+****,121212-****"),
        ("191212121212", "19121212****"),
        ("1212121212", "121212****"),
        ("typed 121212 1212", "typed 121212 ****"),
        ("interim 19121212-T123", "interim 19121212-****"),
        ("order 12345 and 1234567890123", "order 12345 and 1234567890123"),
        ("PersonalIdentityNumber('20121212-****')", "PersonalIdentityNumber('20121212-****')"),
        # Forms other validators accept or people type.
        ("19450415\u20139874", "19450415\u2013****"),  # en dash
        ("19450415\u22129874", "19450415\u2212****"),  # minus sign
        ("450415\u00a09874", "450415\u00a0****"),  # no-break space
        ("450415\u202f9874", "450415\u202f****"),  # narrow no-break space
        ("450415 - 9874", "450415 - ****"),
        ("1945-04-15-9874", "1945-04-15-****"),
        ("45-04-15-9874", "45-04-15-****"),
        ("19:45:04:15:98:74", "19:45:04:15:**:**"),
        ("1945 04 15 9874", "1945 04 15 ****"),
        ("450415 98 74", "450415 ** **"),
        ("19450415+9874", "19450415+****"),
        ("450415\u2010\u20109874", "450415\u2010\u2010****"),
        ("\uff11\uff19\uff14\uff15\uff10\uff14\uff11\uff15-\uff19\uff18\uff17\uff14", "１９４５０４１５-****"),
        ("\u0664\u0665\u0660\u0664\u0661\u0665-\u0669\u0668\u0667\u0664", "٤٥٠٤١٥-****"),
        ("pnr:194504159874abc", "pnr:19450415****abc"),
        ("id=4504159874;", "id=450415****;"),
        ("(450415\u20139874)", "(450415\u2013****)"),
        ("numbers 19450415-9874 5 times", "numbers 19450415-**** 5 times"),
        ("numbers 12 19450415-9874", "numbers 12 19450415-****"),
        ("reserve 19450415\u2013T123", "reserve 19450415\u2013****"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected

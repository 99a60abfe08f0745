"""The errors :meth:`careaccess.PersonalIdentityNumber.parse` raises, each with its code and texts.

No text names the number it is about: an error is safe to show and to log.
"""

from __future__ import annotations

from careaccess.errors import InvalidIdentityNumber

__all__ = [
    "checksum_error",
    "coordination_error",
    "date_error",
    "format_error",
    "future_error",
    "not_text_error",
    "plus_error",
    "reserve_error",
    "serial_error",
]


def format_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_format",
        "Give the identity number as YYYYMMDD-NNNN or YYMMDD-NNNN (digits only, '-' or '+' as separator).",
        "Ange personnumret som ÅÅÅÅMMDD-NNNN eller ÅÅMMDD-NNNN (bara siffror, '-' eller '+' som skiljetecken).",
    )


def reserve_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_reserve_number",
        "This is a reserve or interim number, not a personal identity number; use the resident's "
        "personal identity number or coordination number.",
        "Det här är ett reservnummer eller interimsnummer, inte ett personnummer; ange invånarens "
        "personnummer eller samordningsnummer.",
    )


def date_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_date",
        "The birth date in the number is not a real date; check the year, month and day "
        "(a coordination number has 60 added to the day).",
        "Födelsedatumet i numret är inte ett giltigt datum; kontrollera år, månad och dag "
        "(i ett samordningsnummer är dagen ökad med 60).",
    )


def serial_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_serial",
        "The birth serial (the three digits after the date) cannot be 000; check the number.",
        "Födelsenumret (de tre siffrorna efter datumet) kan inte vara 000; kontrollera numret.",
    )


def checksum_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_checksum",
        "The check digit (the last digit) does not match; check the number for typing errors.",
        "Kontrollsiffran (den sista siffran) stämmer inte; kontrollera numret efter skrivfel.",
    )


def future_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_future_birth_date",
        "The birth date in the number lies in the future; check the year and century.",
        "Födelsedatumet i numret ligger i framtiden; kontrollera år och århundrade.",
    )


def plus_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_format",
        "'+' is only for people who turn 100 this year or earlier; use '-' or no separator.",
        "'+' används bara för den som fyller 100 i år eller tidigare; använd '-' eller inget skiljetecken.",
    )


def coordination_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_coordination_refused",
        "Coordination numbers are not accepted here; use the resident's personal identity number.",
        "Samordningsnummer godtas inte här; ange invånarens personnummer.",
    )


def not_text_error() -> InvalidIdentityNumber:
    return InvalidIdentityNumber(
        "pnr_format",
        "An identity number must be given as text.",
        "Personnumret måste anges som text.",
    )

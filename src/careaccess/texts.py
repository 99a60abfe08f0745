"""Every text careaccess shows a person, in Swedish and English.

Three catalogues, each complete (tests check it):

- :data:`REASONS` — what each decision :class:`~careaccess.Reason` means;
- :data:`CONFIRMATIONS` — the confirmation shown after each change, one per
  :class:`~careaccess.Action`, in the wording of the manual *Invånare (lokal
  administratör)* ("Invånaren är godkänd för kommunikation.", "Ärendetypen har delats
  ut.", ...);
- :data:`ERRORS` — every error code the library raises, with the one error class it
  belongs to and its general text. A site that raises may pass a more specific text;
  without one, the error takes the catalogue's (:class:`~careaccess.CareAccessError`).

An admin UI reads its texts from here, as the ``careaccess`` command does::

    from careaccess import Action, Reason, texts

    texts.CONFIRMATIONS[Action.CASE_TYPE_GRANTED].sv   # "Ärendetypen har delats ut."
    texts.REASONS[Reason.NOT_GRANTED].en
    texts.ERRORS["version_mismatch"].text.sv
    texts.ERRORS["invalid_limit"].format(maximum=1000).en

Texts with ``{placeholders}`` are ``str.format`` templates; :attr:`Text.fields`
names what they need. No text ever contains an identity number.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Literal

from attrs import frozen

from careaccess.errors import (
    CareAccessError,
    Conflict,
    InvalidIdentityNumber,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    StoreUnavailable,
    UnknownStore,
)
from careaccess.models import Action, Reason

__all__ = [
    "CONFIRMATIONS",
    "ERRORS",
    "FAMILIES",
    "INSTALL_COMMANDS",
    "REASONS",
    "ErrorText",
    "Language",
    "Text",
    "error_text",
    "install_hint",
]

#: The languages every text is written in.
Language = Literal["en", "sv"]


class _Missing(dict[str, object]):
    """Leaves a placeholder nobody filled in as it is, rather than failing mid-error."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@frozen
class Text:
    """One text in English and Swedish.

    ``str(text)`` is ``"English / Svenska"``, the form the ``careaccess`` command prints.
    """

    en: str
    sv: str

    def __str__(self) -> str:
        return f"{self.en} / {self.sv}"

    def __iter__(self) -> Iterator[str]:
        """English, then Swedish: ``english, swedish = text``."""
        yield self.en
        yield self.sv

    def get(self, language: Language) -> str:
        """The text in *language* (``"en"`` or ``"sv"``)."""
        return self.sv if language == "sv" else self.en

    @property
    def fields(self) -> frozenset[str]:
        """The names of the ``{placeholders}`` in either language."""
        formatter = string.Formatter()
        return frozenset(
            name for text in (self.en, self.sv) for _, name, _, _ in formatter.parse(text) if name is not None
        )

    def format(self, **values: object) -> Text:
        """Both texts with their placeholders filled in; a placeholder not given stays as it is."""
        if not values and not self.fields:
            return self
        given = _Missing(values)
        return Text(self.en.format_map(given), self.sv.format_map(given))


@frozen
class ErrorText:
    """An error code's entry in the catalogue.

    :ivar code: the stable code, e.g. ``"grant_exists"``.
    :ivar error: the one class raised with this code (a backend may raise a subclass).
    :ivar text: what the code means and what to do, in both languages.
    """

    code: str
    error: type[CareAccessError]
    text: Text

    def format(self, **values: object) -> Text:
        """``text`` with its placeholders filled in."""
        return self.text.format(**values)


def _texts(entries: dict[str, tuple[str, str]]) -> dict[str, Text]:
    return {key: Text(en, sv) for key, (en, sv) in entries.items()}


#: What each decision reason means.
REASONS: Mapping[Reason, Text] = MappingProxyType(
    {
        Reason.UNKNOWN_CLINIC: Text("There is no such clinic.", "Mottagningen finns inte."),
        Reason.UNKNOWN_CASE_TYPE: Text("The clinic has no such case type.", "Mottagningen har ingen sådan ärendetyp."),
        Reason.GRANTED: Text("The case type is granted to the resident.", "Ärendetypen är utdelad till invånaren."),
        Reason.GRANT_EXPIRED: Text("The grant of the case type has ended.", "Den utdelade ärendetypen har gått ut."),
        Reason.NOT_GRANTED: Text(
            "The case type has a restricted selection and is not granted to the resident.",
            "Ärendetypen har begränsat urval och är inte utdelad till invånaren.",
        ),
        Reason.APPROVED: Text(
            "The resident is approved for communication with the clinic.",
            "Invånaren är godkänd för kommunikation med mottagningen.",
        ),
        Reason.SERVICE_AREA: Text(
            "The resident is registered in the clinic's service area.",
            "Invånaren är folkbokförd i mottagningens betjäningsområde.",
        ),
        Reason.NOT_APPROVED: Text(
            "The resident is neither approved for communication nor in the service area.",
            "Invånaren är varken godkänd för kommunikation eller folkbokförd i betjäningsområdet.",
        ),
    }
)

#: The confirmation after each change; the Swedish is the manual's wording where it has one.
CONFIRMATIONS: Mapping[Action, Text] = MappingProxyType(
    {
        Action.CLINIC_SAVED: Text("The clinic has been saved.", "Mottagningen har sparats."),
        Action.CASE_TYPE_SAVED: Text("The case type has been saved.", "Ärendetypen har sparats."),
        Action.CASE_TYPE_REMOVED: Text(
            "The case type has been removed from the clinic.", "Ärendetypen har tagits bort från mottagningen."
        ),
        Action.RESIDENT_APPROVED: Text(
            "The resident is approved for communication.", "Invånaren är godkänd för kommunikation."
        ),
        Action.APPROVAL_REVOKED: Text(
            "The approval for communication has been removed.", "Godkännandet för kommunikation har tagits bort."
        ),
        Action.CASE_TYPE_GRANTED: Text("The case type has been granted.", "Ärendetypen har delats ut."),
        Action.GRANT_CHANGED: Text("The granted case type has been changed.", "Den utdelade ärendetypen har ändrats."),
        Action.GRANT_REMOVED: Text("The granted case type has been removed.", "Ärendetypen är borttagen."),
    }
)

_NOUNS: dict[str, tuple[str, str]] = {
    "clinic": ("clinic", "Mottagningen"),
    "case_type": ("case type", "Ärendetypen"),
    "approval": ("approval", "Godkännandet"),
    "grant": ("granted case type", "Den utdelade ärendetypen"),
}

#: Codes built from a template, as the store's preconditions build them
#: (``f"{noun}_missing"``): each template and the codes it yields.
FAMILIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "{noun}_missing": tuple(f"{noun}_missing" for noun in _NOUNS),
        "{noun}_exists": tuple(f"{noun}_exists" for noun in _NOUNS),
    }
)

_INVALID_REQUEST = _texts(
    {
        "invalid_request": ("The request is not valid.", "Begäran är inte giltig."),
        # identifiers, names and search texts (checked before any store is asked)
        "invalid_identifier": (
            "An id must be a non-empty text without surrounding spaces.",
            "Ett id måste vara en icke-tom text utan inledande eller avslutande blanksteg.",
        ),
        "invalid_id": (
            "{field} must be a non-empty text without control characters, NUL or lone surrogates.",
            "{field} måste vara en icke-tom text utan styrtecken, NUL eller ensamma surrogattecken.",
        ),
        "id_too_long": ("{field} is longer than {maximum} characters.", "{field} är längre än {maximum} tecken."),
        "invalid_name": (
            "A name must be text without NUL or lone surrogates.",
            "Ett namn måste vara en text utan NUL eller ensamma surrogattecken.",
        ),
        "name_too_long": ("The name is longer than {maximum} characters.", "Namnet är längre än {maximum} tecken."),
        "invalid_search": (
            "The search must be text without NUL or lone surrogates.",
            "Sökningen måste vara en text utan NUL eller ensamma surrogattecken.",
        ),
        "search_too_long": (
            "The search is longer than {maximum} characters.",
            "Sökningen är längre än {maximum} tecken.",
        ),
        # lists, cursors and batches
        "invalid_limit": (
            "limit must be a whole number from 1 to {maximum}.",
            "limit måste vara ett heltal från 1 till {maximum}.",
        ),
        "invalid_cursor": (
            "The cursor is not one this list returned.",
            "Markören kommer inte från den här listan.",
        ),
        "too_many_requests": (
            "Ask for at most {maximum} decisions in one call.",
            "Fråga om högst {maximum} beslut i ett anrop.",
        ),
        "bulk_too_large": (
            "Select at most {maximum} residents at a time.",
            "Markera högst {maximum} invånare åt gången.",
        ),
        "changeset_too_large": (
            "One change may write at most {maximum} records.",
            "En ändring får skriva högst {maximum} poster.",
        ),
        "changeset_without_event": (
            "A change must record at least one event.",
            "En ändring måste ge minst en händelse.",
        ),
        "changeset_spans_clinics": (
            "Every record a change writes must belong to the change's clinic.",
            "Alla poster som en ändring skriver måste höra till ändringens mottagning.",
        ),
        # dates, times and versions
        "naive_datetime": (
            "A moment must be a timezone-aware datetime.",
            "En tidpunkt måste anges med tidszon.",
        ),
        "invalid_date": ("The date is not valid.", "Datumet är inte giltigt."),
        "end_date_in_past": (
            "The end date lies in the past; choose today or later, or until further notice.",
            "Slutdatumet har redan passerat; välj i dag eller senare, eller tills vidare.",
        ),
        "invalid_version": (
            "A grant's version is a whole number from 1 to {maximum}.",
            "En utdelnings version är ett heltal från 1 till {maximum}.",
        ),
        "unknown_timezone": ("Unknown time zone.", "Okänd tidszon."),
        # service areas
        "unknown_region": (
            "Unknown county code; use a two-digit SCB code such as '01'.",
            "Okänd länskod; ange en tvåsiffrig SCB-kod, till exempel '01'.",
        ),
        "unknown_municipality": (
            "Unknown municipality code; use a four-digit SCB code such as '0180'.",
            "Okänd kommunkod; ange en fyrsiffrig SCB-kod, till exempel '0180'.",
        ),
        "municipality_outside_region": (
            "The municipality does not lie in the given county.",
            "Kommunen ligger inte i det angivna länet.",
        ),
        "invalid_age": (
            "Ages must be whole numbers between 0 and 150, the lower bound first.",
            "Åldrar måste vara heltal mellan 0 och 150, den lägsta först.",
        ),
        "invalid_rule": (
            "The service-area rule is not valid: give key=value pairs or 'all'.",
            "Regeln för betjäningsområdet är inte giltig: ange nyckel=värde eller 'all'.",
        ),
        # grants
        "case_type_not_restricted": (
            "Only case types with a restricted selection can be granted; this one is open to all.",
            "Endast ärendetyper med begränsat urval kan delas ut; den här är öppen för alla.",
        ),
        # import
        "invalid_record": (
            "The record cannot be stored: a field is missing or malformed.",
            "Posten kan inte sparas: ett fält saknas eller är felaktigt.",
        ),
        "invalid_import_line": (
            "A line of the import file is not an approval or a grant.",
            "En rad i importfilen är inte ett godkännande eller en utdelning.",
        ),
        "invalid_line": (
            "A line of the file is malformed.",
            "En rad i filen är felaktig.",
        ),
        "invalid_import_file": (
            "The import file has problems; nothing was imported.",
            "Importfilen har fel; inget har importerats.",
        ),
        "import_duplicate": (
            "The import holds the same approval or grant twice.",
            "Importen innehåller samma godkännande eller utdelning två gånger.",
        ),
        "import_mixed_clinics": (
            "Every imported record must belong to the clinic imported into.",
            "Alla importerade poster måste höra till mottagningen som importeras till.",
        ),
        "import_too_large": (
            "Import at most {maximum} records at a time.",
            "Importera högst {maximum} poster åt gången.",
        ),
        "import_unsupported": (
            "This store cannot import many records in one step.",
            "Lagringen kan inte importera många poster i ett steg.",
        ),
        # population registers
        "invalid_register": (
            "The population register file has problems.",
            "Folkbokföringsfilen har fel.",
        ),
        "register_unreadable": (
            "The population register file cannot be read.",
            "Folkbokföringsfilen går inte att läsa.",
        ),
        # stores
        "invalid_store_url": ("The store URL is not valid.", "Lagringsadressen är inte giltig."),
        "schema_missing": (
            "The store has no careaccess schema; run: careaccess db upgrade --store URL",
            "Lagringen saknar careaccess-schema; kör: careaccess db upgrade --store URL",
        ),
        "schema_out_of_date": (
            "The store's schema is older than this version; run: careaccess db upgrade --store URL",
            "Lagringens schema är äldre än den här versionen; kör: careaccess db upgrade --store URL",
        ),
        "schema_too_new": (
            "The store's schema is newer than this version of careaccess; upgrade careaccess.",
            "Lagringens schema är nyare än den här versionen av careaccess; uppgradera careaccess.",
        ),
    }
)

_INVALID_IDENTITY_NUMBER = _texts(
    {
        "pnr_format": (
            "Give the identity number as YYYYMMDD-NNNN or YYMMDD-NNNN (digits only, '-' or '+' as separator).",
            "Ange personnumret som ÅÅÅÅMMDD-NNNN eller ÅÅMMDD-NNNN (bara siffror, '-' eller '+' som skiljetecken).",
        ),
        "pnr_checksum": (
            "The check digit (the last digit) does not match; check the number for typing errors.",
            "Kontrollsiffran (den sista siffran) stämmer inte; kontrollera numret efter skrivfel.",
        ),
        "pnr_date": (
            "The birth date in the number is not a real date; check the year, month and day "
            "(a coordination number has 60 added to the day).",
            "Födelsedatumet i numret är inte ett giltigt datum; kontrollera år, månad och dag "
            "(i ett samordningsnummer är dagen ökad med 60).",
        ),
        "pnr_serial": (
            "The birth serial (the three digits after the date) cannot be 000; check the number.",
            "Födelsenumret (de tre siffrorna efter datumet) kan inte vara 000; kontrollera numret.",
        ),
        "pnr_future_birth_date": (
            "The birth date in the number lies in the future; check the year and century.",
            "Födelsedatumet i numret ligger i framtiden; kontrollera år och århundrade.",
        ),
        "pnr_reserve_number": (
            "This is a reserve or interim number, not a personal identity number; use the resident's "
            "personal identity number or coordination number.",
            "Det här är ett reservnummer eller interimsnummer, inte ett personnummer; ange invånarens "
            "personnummer eller samordningsnummer.",
        ),
        "pnr_coordination_refused": (
            "Coordination numbers are not accepted here; use the resident's personal identity number.",
            "Samordningsnummer godtas inte här; ange invånarens personnummer.",
        ),
    }
)

_UNKNOWN_STORE = _texts(
    {
        "unknown_store_scheme": (
            "No installed plugin opens stores of this kind; install the backend package for it.",
            "Inget installerat tillägg öppnar den här sortens lagring; installera paketet för den.",
        ),
    }
)

_PERMISSION_DENIED = _texts(
    {
        "permission_denied": (
            "You may not do this at this clinic; nothing was changed.",
            "Du får inte göra detta på den här mottagningen; inget har ändrats.",
        ),
    }
)

_NOT_FOUND = _texts(
    {
        "not_found": ("It does not exist.", "Det finns inte."),
        "unknown_clinic": ("There is no such clinic.", "Mottagningen finns inte."),
        "unknown_case_type": ("The clinic has no such case type.", "Mottagningen har ingen sådan ärendetyp."),
        "approval_not_found": (
            "The resident is not approved for communication with the clinic.",
            "Invånaren är inte godkänd för kommunikation med mottagningen.",
        ),
        "grant_not_found": (
            "The resident does not hold that case type.",
            "Invånaren har inte den ärendetypen utdelad.",
        ),
        "resident_not_found": (
            "No population register knows this resident.",
            "Invånaren finns inte i något folkbokföringsregister.",
        ),
        "store_not_found": (
            "There is no store at {url}; create it with: careaccess db upgrade --store {url}",
            "Det finns ingen lagring på {url}; skapa den med: careaccess db upgrade --store {url}",
        ),
    }
)

_CONFLICT = _texts(
    {
        "conflict": (
            "The change clashes with the stored state; nothing was written. Reload and try again.",
            "Ändringen krockar med det som är sparat; inget har sparats. Ladda om och försök igen.",
        ),
        **{
            f"{noun}_missing": (
                f"The {en} no longer exists; it was changed by someone else.",
                f"{sv} finns inte längre; den har ändrats av någon annan.",
            )
            for noun, (en, sv) in _NOUNS.items()
        },
        **{f"{noun}_exists": (f"The {en} already exists.", f"{sv} finns redan.") for noun, (en, sv) in _NOUNS.items()},
        "version_mismatch": (
            "The grant was changed by someone else; reload it and try again.",
            "Den utdelade ärendetypen har ändrats av någon annan; ladda om och försök igen.",
        ),
        "case_type_in_use": (
            "The case type is granted to residents; remove those grants first.",
            "Ärendetypen är utdelad till invånare; ta bort de utdelningarna först.",
        ),
        "case_type_no_longer_restricted": (
            "The case type no longer exists or is no longer restricted.",
            "Ärendetypen finns inte längre eller har inte längre begränsat urval.",
        ),
        "concurrent_change": (
            "The change kept clashing with concurrent changes; reload and try again.",
            "Ändringen krockade gång på gång med samtidiga ändringar; ladda om och försök igen.",
        ),
        "constraint_violated": (
            "The change breaks a key or reference the database enforces; nothing was written.",
            "Ändringen bryter mot en nyckel eller referens i databasen; inget sparades.",
        ),
    }
)

_STORE_UNAVAILABLE = _texts(
    {
        "store_unavailable": (
            "The store is unavailable; nothing was half-written. Try again later.",
            "Lagringen går inte att nå; inget har sparats till hälften. Försök igen senare.",
        ),
    }
)

_BASE = _texts({"error": ("Something went wrong in careaccess.", "Något gick fel i careaccess.")})


def _catalogue() -> dict[str, ErrorText]:
    catalogue: dict[str, ErrorText] = {}
    for error, entries in (
        (CareAccessError, _BASE),
        (InvalidRequest, _INVALID_REQUEST),
        (InvalidIdentityNumber, _INVALID_IDENTITY_NUMBER),
        (UnknownStore, _UNKNOWN_STORE),
        (PermissionDenied, _PERMISSION_DENIED),
        (NotFound, _NOT_FOUND),
        (Conflict, _CONFLICT),
        (StoreUnavailable, _STORE_UNAVAILABLE),
    ):
        for code, text in entries.items():
            if code in catalogue:  # pragma: no cover - a code belongs to one class
                raise RuntimeError(f"error code {code!r} is in the catalogue twice")
            catalogue[code] = ErrorText(code, error, text)
    return dict(sorted(catalogue.items()))


#: Every error code, in alphabetical order: its class and its text.
ERRORS: Mapping[str, ErrorText] = MappingProxyType(_catalogue())


#: The package that opens each kind of store URL, and the command that installs it
#: from a careaccess checkout (run in the checkout's top directory).
INSTALL_COMMANDS: Mapping[str, str] = MappingProxyType(
    {
        "sqlite": "python3 -m pip install ./backends/sql",
        "postgresql": "python3 -m pip install './backends/sql[postgresql]'",
        "postgres": "python3 -m pip install './backends/sql[postgresql]'",
        "mysql": "python3 -m pip install './backends/sql[mysql]'",
        "mariadb": "python3 -m pip install './backends/sql[mysql]'",
        "redis": "python3 -m pip install ./backends/redis",
        "rediss": "python3 -m pip install ./backends/redis",
        "unix": "python3 -m pip install ./backends/redis",
    }
)


def install_hint(url: str) -> Text | None:
    """How to install the backend for a store URL's scheme from a checkout, or None if unknown."""
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    command = INSTALL_COMMANDS.get(scheme)
    if command is None:
        return None
    return Text(
        f"To install it from a careaccess checkout, run: {command}",
        f"Installera det från en utcheckning av careaccess med: {command}",
    )


def error_text(code: str) -> ErrorText | None:
    """The catalogue's entry for *code*, or None for a code it does not know."""
    return ERRORS.get(code)

"""The UI's own words (headings, labels, buttons) in Swedish and English.

Swedish is the manual's wording and the key; English is the translation shown after
the language switch. Everything about the domain (confirmations after a change, error
messages) comes from the library, never from here.
"""

from __future__ import annotations

from typing import Literal

from careaccess import Action, CareAccessError, texts

__all__ = ["LANGUAGES", "Language", "confirmation", "error_text", "translate"]

Language = Literal["sv", "en"]
LANGUAGES: tuple[Language, ...] = ("sv", "en")

#: Swedish (the manual's words) -> English.
ENGLISH: dict[str, str] = {
    "Administration av mottagning": "Clinic administration",
    "Hoppa till innehållet": "Skip to content",
    "Logga in": "Log in",
    "Logga in som lokal administratör": "Log in as local administrator",
    "Användarnamn": "User name",
    "Lösenord": "Password",
    "Fel användarnamn eller lösenord.": "Wrong user name or password.",
    "Logga ut": "Log out",
    "Inloggad som": "Logged in as",
    "Språk": "Language",
    "English": "English",
    "Svenska": "Svenska",
    "Välj mottagning": "Choose clinic",
    "Du administrerar inga mottagningar.": "You administer no clinics.",
    "Mottagningen finns inte längre.": "The clinic no longer exists.",
    "Startsida": "Start page",
    "Invånare": "Residents",
    "Invånare som är godkända för kommunikation eller har en utdelad ärendetyp.": (
        "Residents approved for communication or holding a granted case type."
    ),
    "Händelselogg": "Event log",
    "Vem gjorde vad och när på mottagningen.": "Who did what, and when, at the clinic.",
    "Sök på namn eller personnummer": "Search by name or identity number",
    "Sök": "Search",
    "Visa alla": "Show all",
    "Namn": "Name",
    "Personnummer": "Identity number",
    "Godkänd för kommunikation": "Approved for communication",
    "Utdelade ärendetyper": "Granted case types",
    "Ja": "Yes",
    "Nej": "No",
    "Namn saknas": "Name unknown",
    "Inga invånare hittades.": "No residents found.",
    "Nästa sida": "Next page",
    "Första sidan": "First page",
    "Godkänn invånare": "Approve resident",
    "Dela ut ärendetyp": "Grant case type",
    "Hantera invånare": "Manage residents",
    "Ange personnumret på invånaren.": "Enter the resident's identity number.",
    "Fortsätt": "Continue",
    "Godkänn": "Approve",
    "Avbryt": "Cancel",
    "Invånaren är redan godkänd för kommunikation.": "The resident is already approved for communication.",
    "Invånaren finns inte i folkbokföringen; kontrollera personnumret.": (
        "The population register does not know this resident; check the identity number."
    ),
    "Ta bort godkännande": "Remove approval",
    "Vill du ta bort godkännandet för kommunikation?": "Remove the approval for communication?",
    "Invånaren kan då inte längre kontakta mottagningen genom godkännandet.": (
        "The resident then can no longer contact the clinic through the approval."
    ),
    "Ta bort": "Remove",
    "Godkänd sedan": "Approved since",
    "av": "by",
    "Inte godkänd för kommunikation.": "Not approved for communication.",
    "Inga utdelade ärendetyper.": "No granted case types.",
    "Ärendetyp": "Case type",
    "Giltig": "Valid",
    "Tills vidare": "Until further notice",
    "Till och med": "Through",
    "Utgången": "Expired",
    "Ändra": "Change",
    "Välj ärendetyp": "Choose case type",
    "Mottagningen har inga ärendetyper med begränsat urval.": "The clinic has no case types with restricted selection.",
    "redan utdelad": "already granted",
    "Hur länge": "For how long",
    "Specifikt datum": "Specific date",
    "Datum": "Date",
    "Dela ut": "Grant",
    "Ändra utdelad ärendetyp": "Change granted case type",
    "Spara": "Save",
    "Vill du ta bort den utdelade ärendetypen?": "Remove the granted case type?",
    "Markera alla": "Select all",
    "Markera": "Select",
    "Ta bort markerade": "Remove selected",
    "Vill du ta bort godkännandet för de markerade invånarna?": "Remove the approval of the selected residents?",
    "Markera minst en invånare.": "Select at least one resident.",
    "Borttagna godkännanden:": "Approvals removed:",
    "Redan borttagna av någon annan:": "Already removed by someone else:",
    "Tid": "Time",
    "Vem": "Who",
    "Vad": "What",
    "Inga händelser ännu.": "No events yet.",
    "Senare händelser": "Later events",
    "Formuläret har gått ut. Ladda om sidan och försök igen.": "The form has expired. Reload the page and try again.",
    "Sidan finns inte.": "The page does not exist.",
    "Länken gäller inte längre. Öppna invånaren från listan igen.": (
        "The link is no longer valid. Open the resident from the list again."
    ),
    "Något gick fel": "Something went wrong",
    "Tillbaka": "Back",
    "Fyll i alla fält.": "Fill in every field.",
    "Välj ett datum eller tills vidare.": "Choose a date or until further notice.",
    "Datumet är inte giltigt.": "The date is not valid.",
    "Bekräftelse": "Confirmation",
    "Fel": "Error",
    "Markerade": "Selected",
}


def translate(text: str, lang: Language) -> str:
    """*text* (the Swedish wording) in *lang*; Swedish where a translation is missing.

    A test checks that every text the templates and the app use has its English.
    """
    return text if lang == "sv" else ENGLISH.get(text, text)


def confirmation(action: Action, lang: Language) -> str:
    """The library's confirmation after a change of kind *action* (``careaccess.texts.CONFIRMATIONS``)."""
    return texts.CONFIRMATIONS[action].get(lang)


def error_text(error: CareAccessError, lang: Language) -> str:
    """The library's message for *error* in *lang* (never holds a full identity number)."""
    return error.message_sv if lang == "sv" else error.message_en

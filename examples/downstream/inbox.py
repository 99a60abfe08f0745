"""A patient-messaging inbox: the application code that the tests beside it exercise.

It uses careaccess the way a downstream service would: ask ``decide`` before accepting a
resident's message, and tell the resident why not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from careaccess import CareAccess, InvalidIdentityNumber, PersonalIdentityNumber


@dataclass(frozen=True)
class Message:
    """A message accepted for a clinic's case type."""

    pnr: PersonalIdentityNumber
    clinic_id: str
    case_type_id: str
    text: str


@dataclass(frozen=True)
class Refused:
    """Why a message was not accepted: a careaccess reason or error code."""

    reason: str


@dataclass
class Inbox:
    """Accepts messages that careaccess allows and files them per clinic."""

    access: CareAccess
    by_clinic: dict[str, list[Message]] = field(default_factory=dict)

    def submit(
        self, pnr: str | PersonalIdentityNumber, clinic_id: str, case_type_id: str, text: str
    ) -> Message | Refused:
        """File the message if the resident may use the case type now; otherwise say why not."""
        try:
            decision = self.access.decide(pnr, clinic_id, case_type_id)
        except InvalidIdentityNumber as error:
            return Refused(error.code)
        if not decision:
            return Refused(decision.reason.value)
        message = Message(decision.pnr, clinic_id, case_type_id, text)
        self.by_clinic.setdefault(clinic_id, []).append(message)
        return message

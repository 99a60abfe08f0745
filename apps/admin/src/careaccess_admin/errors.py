"""The error pages, and the exception handlers that show them."""

from __future__ import annotations

from careaccess import (
    CareAccessError,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    StoreUnavailable,
)
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from careaccess_admin.base import (
    BaseUI,
)
from careaccess_admin.texts import error_text, translate

_STATUS = {PermissionDenied: 403, NotFound: 404, Conflict: 409, StoreUnavailable: 503, InvalidRequest: 400}


class ErrorPages(BaseUI):
    """The exception handlers: each shows the error page."""

    # -- errors ------------------------------------------------------------------------

    def error_page(self, request: Request, status: int, message: str) -> Response:
        """The error page; an htmx request gets it in place of the whole page body."""
        response = self.render(request, "error.html", status, message=message)
        if request.headers.get("hx-request") == "true":
            response.headers["HX-Retarget"] = "body"
            response.headers["HX-Reswap"] = "innerHTML"
        return response

    async def library_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, CareAccessError)
        status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 400)
        return self.error_page(request, status, error_text(exc, self.lang(request)))

    async def csrf_error(self, request: Request, exc: Exception) -> Response:
        message = translate("Formuläret har gått ut. Ladda om sidan och försök igen.", self.lang(request))
        return self.error_page(request, 403, message)

    async def handle_error(self, request: Request, exc: Exception) -> Response:
        message = translate("Länken gäller inte längre. Öppna invånaren från listan igen.", self.lang(request))
        return self.error_page(request, 404, message)

    async def refused(self, request: Request, exc: Exception) -> Response:
        return self.error_page(request, 403, translate("Något gick fel", self.lang(request)))

    async def clinic_gone(self, request: Request, exc: Exception) -> Response:
        return self.error_page(request, 404, translate("Mottagningen finns inte längre.", self.lang(request)))

    async def not_logged_in(self, request: Request, exc: Exception) -> Response:
        if request.method == "GET":
            return RedirectResponse("/login", 303)
        return self.error_page(request, 401, translate("Logga in", self.lang(request)))

    async def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        text = "Sidan finns inte." if exc.status_code == 404 else "Något gick fel"
        return self.error_page(request, exc.status_code, translate(text, self.lang(request)))

"""Request and response views of two-factor authentication and of changing the email
address (issue 21 items 1 and 2)."""

from __future__ import annotations

import io
from typing import Annotated

import attrs
import segno

from adapters.http.schema import Schema
from adapters.http.views import DeviceName, Email
from momentic_core.services import mfa

MfaCode = Annotated[str, Schema(minLength=1, maxLength=64, description=(
    "Six digits from the authenticator app (the current 30-second step, or one either side; "
    "each step once), or an unused recovery code (xxxxx-xxxxx)."))]


@attrs.frozen
class CodeBody:
    code: MfaCode


@attrs.frozen
class DisableBody:
    code: MfaCode
    password: str | None = None


@attrs.frozen
class MfaSignInBody:
    mfa_token: str
    code: MfaCode
    device_name: DeviceName = None


@attrs.frozen
class EnrolmentView:
    __schema_name__ = "MfaEnrolment"

    secret: Annotated[str, Schema(description="Base32; shown this once, never again.")]
    otpauth_uri: Annotated[str, Schema(description="For a QR code (Key URI Format).")]
    qr_svg: Annotated[str, Schema(contentMediaType="image/svg+xml", description=(
        "otpauth_uri as a QR code, an SVG document (for a client without a QR library: "
        "show it as an image, e.g. a data: URL)."))]
    digits: int
    period: int


def qr_svg(text: str) -> str:
    """``text`` as a QR code (error correction M, the 4-module quiet zone), an SVG
    document without the XML declaration, black on white."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", xmldecl=False, scale=4, border=4,
                                     light="#fff", title="QR code", nl=False)
    return out.getvalue().decode()


@attrs.frozen
class RecoveryCodesView:
    __schema_name__ = "MfaRecoveryCodes"

    recovery_codes: Annotated[
        list[Annotated[str, Schema(pattern=f"^{mfa.RECOVERY_CODE.pattern}$")]],
        Schema(minItems=mfa.RECOVERY_CODES, maxItems=mfa.RECOVERY_CODES,
               description="Each works once in place of a code; shown this once."),
    ]


@attrs.frozen
class EmailChangeBody:
    email: Email
    password: str | None = None


@attrs.frozen
class EmailConfirmBody:
    email: Email
    code: str

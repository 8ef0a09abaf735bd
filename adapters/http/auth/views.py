"""Request and response views of the auth area (its routes are in
``routes.py`` beside; views other areas use too are in adapters/http/views.py)."""

from __future__ import annotations

import io
from typing import Annotated, Literal

import attrs
import segno

from adapters.http.schema import Schema, text
from adapters.http.views import Email, EmailCode, NewPassword
from momentic_core.model.accounts import TokenPair
from momentic_core.policies import rules
from momentic_core.services import mfa

# ---------------------------------------------------------------- the field types the wire
# shares; their bounds come from the rules and settings (schema.py turns them into JSON
# Schema for the OpenAPI document).

DeviceName = Annotated[str | None, text(
    rules.DEVICE_NAME_MAX, "Shown in the session list; the User-Agent when absent.")]


# ---------------------------------------------------------------- requests


@attrs.frozen
class RegisterBody:
    email: Email
    password: NewPassword


@attrs.frozen
class VerifyBody:
    email: Email
    code: EmailCode
    password: str
    device_name: DeviceName = None


@attrs.frozen
class EmailBody:
    email: Email


@attrs.frozen
class PasswordGrantBody:
    grant_type: Literal["password"]
    email: Email
    password: NewPassword
    device_name: DeviceName = None


@attrs.frozen
class RefreshGrantBody:
    grant_type: Literal["refresh_token"]
    refresh_token: str


@attrs.frozen
class TokenBody:
    # One of two grants; parsed as one class, the core telling the grants apart (an
    # unknown grant_type is its 400 unsupported_grant_type, not a shape error).
    __schema_variants__ = (PasswordGrantBody, RefreshGrantBody)

    grant_type: str
    email: str | None = None
    password: str | None = None
    refresh_token: str | None = None
    device_name: str | None = None


@attrs.frozen
class SocialBody:
    id_token: str
    nonce: str | None = None
    device_name: DeviceName = None


@attrs.frozen
class ResetConfirmBody:
    email: Email
    code: EmailCode
    new_password: NewPassword


# ---------------------------------------------------------------- responses


@attrs.frozen
class TokenView:
    access_token: str
    token_type: Annotated[str, Schema(enum=["Bearer"])]
    expires_in: int
    refresh_token: str
    session_id: int

    @classmethod
    def of(cls, pair: TokenPair) -> TokenView:
        return cls(
            access_token=pair.access_token,
            token_type=pair.token_type,
            expires_in=pair.expires_in,
            refresh_token=pair.refresh_token,
            session_id=pair.session_id,
        )


@attrs.frozen
class Accepted:
    status: str
    message: str


# -------------------------------------------------- two-factor authentication and the email change

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


def qr_svg(text: str) -> str:
    """``text`` as a QR code (error correction M, the 4-module quiet zone), an SVG
    document without the XML declaration, black on white."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", xmldecl=False, scale=4, border=4,
                                     light="#fff", title="QR code", nl=False)
    return out.getvalue().decode()


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

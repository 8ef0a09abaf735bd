"""The OpenAPI entries of two-factor authentication and of changing the email address
(issue 21 items 1 and 2), kept apart from
``openapi.py`` as ``openapi_devices`` is, until the document is generated from typed route
declarations. ``openapi.document`` merges ``paths(openapi)``."""

from __future__ import annotations

from typing import Any

from adapters.http import views_mfa
from momentic_core.services import email_change, mfa

Json = dict[str, Any]

_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_ENROLMENT = {
    "secret": _SECRET,
    "otpauth_uri": f"otpauth://totp/Momentic:alex%40bsu.by?secret={_SECRET}&issuer=Momentic",
    "digits": mfa.DIGITS, "period": mfa.STEP_SECONDS,
}
_CODES = {"recovery_codes": ["k7m2p-x9q4r", "a3b4c-d5e6f", "g7h8j-k9m2n", "p3q4r-s5t6u",
                             "v7w8x-y9z2a", "b3c4d-e5f6g", "h7j8k-m9n2p", "q3r4s-t5u6v",
                             "w7x8y-z9a2b", "c3d4e-f5g6h"]}
_STATUS = {"enabled": True, "pending": False, "recovery_codes_left": 9}

# Codes beyond each response's own (openapi.CODES_BY_OPERATION takes them).
CODES_BY_OPERATION = {
    "post_v1_me_email": ("invalid_email", "email_domain_not_allowed",
                         email_change.EMAIL_UNCHANGED, "invalid_credentials"),
    "post_v1_me_email_confirm": ("invalid_code", "email_taken"),
}


def paths(o: Any) -> Json:
    """``o``: the ``openapi`` module building the document (its helpers and tables)."""
    o.EXAMPLES.update({"MfaEnrolment": _ENROLMENT, "MfaRecoveryCodes": _CODES,
                       "MfaStatus": _STATUS})
    tag = "auth"
    bad_code = o._problem("The code is wrong, outside the drift, of a step used already, or "
                          "a spent recovery code.", mfa.INVALID_MFA_CODE, 422)
    return {
        "/v1/me/2fa": {
            "get": o._op("Whether two-factor authentication is on, pending confirmation, and "
                         "how many recovery codes are left.", tag,
                         {"200": o._json("MfaStatus", "My two-factor state.")}, auth=True),
            "post": o._op(
                "Start enrolling an authenticator app: a new secret and its otpauth:// URI, "
                "answered this once (a pending enrolment is replaced). Nothing changes at "
                "sign-in until POST /v1/me/2fa/confirm.", tag,
                {"201": o._json("MfaEnrolment", "The secret, pending confirmation.")},
                auth=True, errors={"409": o._problem(
                    "Two-factor authentication is on already.", mfa.MFA_ALREADY_ENABLED,
                    409)}),
            "delete": o._op(
                "Turn two-factor authentication off: my password (none for an account "
                "made by social sign-in) and a code or a recovery code.", tag,
                {"204": o._NO_CONTENT}, auth=True,
                body=o._body(views_mfa.DisableBody,
                             {"code": "123456", "password": "correct horse battery"}),
                errors={"409": o._problem("Two-factor authentication is off.",
                                          mfa.MFA_NOT_ENABLED, 409),
                        "422": bad_code}),
        },
        "/v1/me/2fa/confirm": {"post": o._op(
            "Turn the pending authenticator on with one of its codes; answers ten recovery "
            "codes, this once (stored hashed).", tag,
            {"200": o._json("MfaRecoveryCodes", "On; keep these somewhere safe.")},
            auth=True,
            body=o._body(views_mfa.CodeBody, {"code": "123456"}),
            errors={"409": o._problem("No enrolment is pending.", mfa.MFA_NOT_PENDING, 409),
                    "422": bad_code}),
        },
        "/v1/me/email": {"post": o._op(
            "Change my email address: a code goes to the new one (15 minutes, 5 tries). The "
            "same answer whether or not the address has an account (one that has gets a "
            "mail saying someone tried, and no code). My password is required (none for an "
            "account made by social sign-in); the allowed email domains apply.", "profile",
            {"202": o._json("Accepted", "Sent, if the address can receive a code.")},
            auth=True,
            body=o._body(views_mfa.EmailChangeBody,
                         {"email": "alex.new@bsu.by", "password": "correct horse battery"}),
            errors={"401": o._problem("Wrong password.", "invalid_credentials", 401),
                    "422": o._problem("Not an email address, a domain that is not allowed, "
                                      "or my address already.", "email_domain_not_allowed",
                                      422)}),
        },
        "/v1/me/email/confirm": {"post": o._op(
            "Move my account to the new address with the code mailed there; the old address "
            "is told by mail. My sessions stay.", "profile",
            {"204": o._NO_CONTENT}, auth=True,
            body=o._body(views_mfa.EmailConfirmBody,
                         {"email": "alex.new@bsu.by", "code": "123456"}),
            errors={"422": o._problem("A wrong, expired or spent code, or another address "
                                      "than the code was sent to.", "invalid_code", 422),
                    "409": o._problem("The address got an account since the code was sent.",
                                      "email_taken", 409)}),
        },
        "/v1/auth/2fa": {"post": o._op(
            "The second step of a sign-in: a password (POST /v1/auth/token) or social "
            "sign-in of an account with two-factor authentication answers 403 mfa_required "
            "with mfa_token; post it here with a code for the tokens. The token lasts "
            f"{int(mfa.CHALLENGE_TTL.total_seconds())} s and dies with a password change; "
            "it may be retried with another code within the rate limits (mfa:ip, "
            "mfa:user).", tag,
            {"200": o._json("Token", "Signed in.")},
            body=o._body(views_mfa.MfaSignInBody, {
                "mfa_token": "eyJ1IjoxLCJlIjoxNzk0MDAwMDAwLCJwIjoiYWJjIn0.c2ln",
                "code": "123456", "device_name": "iPhone 15"}),
            errors={"401": o._problem("The challenge is unknown, forged or expired: sign in "
                                      "again.", mfa.INVALID_MFA_TOKEN, 401),
                    "403": o._problem("The account is banned or suspended.",
                                      "account_banned", 403),
                    "422": bad_code}),
        },
    }

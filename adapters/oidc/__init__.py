"""Sign in with Apple and Google: check a provider's ID token against its published keys."""

from adapters.oidc.verifier import (
    APPLE_ISSUERS,
    GOOGLE_ISSUERS,
    JwksIdTokenVerifier,
    ProviderConfig,
    from_settings,
)

__all__ = [
    "APPLE_ISSUERS",
    "GOOGLE_ISSUERS",
    "JwksIdTokenVerifier",
    "ProviderConfig",
    "from_settings",
]

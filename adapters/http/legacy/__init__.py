"""The routes of the iOS app in the field (../shared/mobile-client-contract.md)."""

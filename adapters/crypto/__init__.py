"""Cryptography adapters: password hashing (argon2id) and access tokens (JWT via joserfc)."""

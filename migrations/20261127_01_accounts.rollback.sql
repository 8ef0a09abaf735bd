-- Undo 20261127_01_accounts: drop every table it made (dependents first).

DROP TABLE IF EXISTS rate_limits;
DROP TABLE IF EXISTS external_identities;
DROP TABLE IF EXISTS refresh_tokens;
DROP TABLE IF EXISTS sessions;
DROP TABLE IF EXISTS verification_codes;
DROP TABLE IF EXISTS users;

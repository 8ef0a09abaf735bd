DROP TABLE push_claims;

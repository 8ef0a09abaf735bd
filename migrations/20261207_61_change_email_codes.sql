-- Changing the email address (issue 21 item 2): its code is a verification code of
-- purpose change_email, bound (by its HMAC) to the new address.
-- depends: 20261207_60_totp

ALTER TABLE verification_codes DROP CONSTRAINT verification_codes_purpose_check;
ALTER TABLE verification_codes ADD CONSTRAINT verification_codes_purpose_check
    CHECK (purpose IN ('verify_email', 'reset_password', 'change_email'));

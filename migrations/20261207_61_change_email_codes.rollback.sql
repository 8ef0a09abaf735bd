DELETE FROM verification_codes WHERE purpose = 'change_email';
ALTER TABLE verification_codes DROP CONSTRAINT verification_codes_purpose_check;
ALTER TABLE verification_codes ADD CONSTRAINT verification_codes_purpose_check
    CHECK (purpose IN ('verify_email', 'reset_password'));

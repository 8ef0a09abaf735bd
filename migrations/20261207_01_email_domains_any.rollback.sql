-- Undo 20261207_01_email_domains_any: ["*"] is the empty list again (which the earlier code
-- read as any domain).

UPDATE app_settings
SET settings = jsonb_set(settings, '{allowed_email_domains}', '[]')
WHERE settings -> 'allowed_email_domains' = '["*"]'::jsonb;

-- Allowed email domains: an empty stored list used to admit any domain; it is now refused
-- (services/config.py), and "any domain" is the explicit ["*"]. A list stored before keeps
-- its meaning.
-- depends: 20261127_06_moderation

UPDATE app_settings
SET settings = jsonb_set(settings, '{allowed_email_domains}', '["*"]')
WHERE settings -> 'allowed_email_domains' = '[]'::jsonb;

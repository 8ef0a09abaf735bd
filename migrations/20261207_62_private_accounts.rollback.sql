DROP TRIGGER users_private_applies ON users;
DROP FUNCTION users_private_applies();
DROP TRIGGER videos_visibility_in_force ON videos;
DROP FUNCTION videos_visibility_in_force();
UPDATE videos SET visibility = chosen_visibility;
ALTER TABLE videos DROP COLUMN chosen_visibility;
ALTER TABLE users DROP COLUMN private;

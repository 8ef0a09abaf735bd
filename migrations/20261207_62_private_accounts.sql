-- Private accounts (issue 21 item 2): a private account's videos are visible to its
-- friends only, whatever the upload said. videos.visibility stays the visibility in
-- force, which every reader (feeds, profiles, search, ranking) already follows; what the
-- upload (or the author's last edit) chose is kept in chosen_visibility, so turning the
-- account public again restores it. Both are kept by triggers, for every writer.
-- depends: 20261207_61_change_email_codes

ALTER TABLE users ADD COLUMN private boolean NOT NULL DEFAULT false;
ALTER TABLE videos ADD COLUMN chosen_visibility text;
UPDATE videos SET chosen_visibility = visibility;
ALTER TABLE videos ALTER COLUMN chosen_visibility SET NOT NULL;

-- A write of visibility is a choice; the visibility in force follows the author's flag.
CREATE FUNCTION videos_visibility_in_force() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.visibility IS DISTINCT FROM OLD.visibility THEN
        NEW.chosen_visibility := NEW.visibility;
    ELSE
        NEW.chosen_visibility := OLD.chosen_visibility;
    END IF;
    IF EXISTS (SELECT 1 FROM users WHERE id = NEW.author_id AND private) THEN
        NEW.visibility := 'friends';
    ELSE
        NEW.visibility := NEW.chosen_visibility;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER videos_visibility_in_force BEFORE INSERT OR UPDATE ON videos
    FOR EACH ROW EXECUTE FUNCTION videos_visibility_in_force();

-- Turning the flag on or off re-applies the rule to every video of the account.
CREATE FUNCTION users_private_applies() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE videos SET chosen_visibility = chosen_visibility WHERE author_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER users_private_applies AFTER UPDATE OF private ON users
    FOR EACH ROW WHEN (OLD.private IS DISTINCT FROM NEW.private)
    EXECUTE FUNCTION users_private_applies();

CREATE OR REPLACE FUNCTION videos_visibility_in_force() RETURNS trigger
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

DROP TABLE mutes;

CREATE OR REPLACE FUNCTION comments_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.video_id = NEW.video_id
            AND OLD.parent_id IS NOT DISTINCT FROM NEW.parent_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE videos SET comment_count = comment_count - 1 WHERE id = OLD.video_id;
        IF OLD.parent_id IS NOT NULL THEN
            UPDATE comments SET reply_count = reply_count - 1 WHERE id = OLD.parent_id;
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE videos SET comment_count = comment_count + 1 WHERE id = NEW.video_id;
        IF NEW.parent_id IS NOT NULL THEN
            UPDATE comments SET reply_count = reply_count + 1 WHERE id = NEW.parent_id;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER comments_count ON comments;
CREATE TRIGGER comments_count
    AFTER INSERT OR DELETE OR UPDATE OF video_id, parent_id ON comments
    FOR EACH ROW EXECUTE FUNCTION comments_count();

UPDATE comments c
   SET reply_count = (SELECT count(*) FROM comments r WHERE r.parent_id = c.id)
 WHERE c.parent_id IS NULL;
UPDATE videos v
   SET comment_count = (SELECT count(*) FROM comments c WHERE c.video_id = v.id);

-- A comment hidden by moderation (held past the report threshold, or removed) no longer
-- counts: videos.comment_count is the comments a reader can reach (visible top-level
-- comments and the visible replies of visible top-level comments), and
-- comments.reply_count is a comment's visible replies. Hiding or showing a comment moves
-- the counts with it; a hidden top-level comment takes its replies out of the video's
-- count and brings them back when it is shown again. This supersedes the note in
-- 20261127_06_moderation that hidden comments still count.
-- depends: 20261207_02_report_count_follows_reports

-- Each row counts on two places. A visible reply counts 1 on its parent's reply_count; a
-- visible top-level comment counts 1 + reply_count on its video. A change takes the old
-- row's part away and adds the new row's; a change of a parent's reply_count (made by
-- this trigger for a reply) fires it again on the parent, which moves the video's count
-- when the parent is visible. So replies reach the video only through their parent, and a
-- parent that goes takes its counted replies along (its old reply_count), whichever of
-- it and its cascaded replies is handled first.
CREATE OR REPLACE FUNCTION comments_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.video_id = NEW.video_id
            AND OLD.parent_id IS NOT DISTINCT FROM NEW.parent_id
            AND OLD.hidden = NEW.hidden AND OLD.reply_count = NEW.reply_count THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND NOT OLD.hidden THEN
        IF OLD.parent_id IS NULL THEN
            UPDATE videos SET comment_count = comment_count - 1 - OLD.reply_count
             WHERE id = OLD.video_id;
        ELSE
            UPDATE comments SET reply_count = reply_count - 1 WHERE id = OLD.parent_id;
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NOT NEW.hidden THEN
        IF NEW.parent_id IS NULL THEN
            UPDATE videos SET comment_count = comment_count + 1 + NEW.reply_count
             WHERE id = NEW.video_id;
        ELSE
            UPDATE comments SET reply_count = reply_count + 1 WHERE id = NEW.parent_id;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- Bring the stored counts to the new meaning (before the trigger follows reply_count).
UPDATE comments c
   SET reply_count = (SELECT count(*) FROM comments r WHERE r.parent_id = c.id AND NOT r.hidden)
 WHERE c.parent_id IS NULL;
UPDATE videos v
   SET comment_count = (
       SELECT count(*) FROM comments c
         LEFT JOIN comments p ON p.id = c.parent_id
        WHERE c.video_id = v.id AND NOT c.hidden AND NOT coalesce(p.hidden, false));

DROP TRIGGER comments_count ON comments;
CREATE TRIGGER comments_count
    AFTER INSERT OR DELETE OR UPDATE OF video_id, parent_id, hidden, reply_count ON comments
    FOR EACH ROW EXECUTE FUNCTION comments_count();

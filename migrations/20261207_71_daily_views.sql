-- Views (issue 20 item 4): one row per viewer, video and UTC day
-- (POST /v1/videos/{id}/view), holding the most seconds that viewer reported watching
-- that day (in milliseconds, so sums are exact) and whether that reached the end
-- (the core decides: momentic_core/policies/views.py). The author's own views are never
-- stored.
--
-- Counters. videos.view_count (rows), videos.completed_views (rows with completed) and
-- videos.watched_ms (the sum of watched_ms) are kept by an AFTER ROW trigger in the
-- statement that changes the rows, as the engagement counters are (migration
-- 20261127_04, whose header says why AFTER and why a cascade needs no special case): a
-- viewer's account deleted takes its rows and their counts with it.
-- depends: 20261207_70_for_you_candidates

ALTER TABLE videos
    ADD COLUMN view_count      integer NOT NULL DEFAULT 0
        CONSTRAINT videos_view_count_check CHECK (view_count >= 0),
    ADD COLUMN completed_views integer NOT NULL DEFAULT 0
        CONSTRAINT videos_completed_views_check CHECK (completed_views >= 0),
    ADD COLUMN watched_ms      bigint NOT NULL DEFAULT 0
        CONSTRAINT videos_watched_ms_check CHECK (watched_ms >= 0);

CREATE TABLE video_daily_views (
    -- video_daily_views_video_id_fkey -> "video_not_found"
    video_id   bigint NOT NULL
               CONSTRAINT video_daily_views_video_id_fkey REFERENCES videos (id)
               ON DELETE CASCADE,
    -- video_daily_views_viewer_id_fkey -> "user_not_found"
    viewer_id  bigint NOT NULL
               CONSTRAINT video_daily_views_viewer_id_fkey REFERENCES users (id)
               ON DELETE CASCADE,
    day        date NOT NULL,  -- UTC
    watched_ms integer NOT NULL CONSTRAINT video_daily_views_watched_ms_check
               CHECK (watched_ms >= 0),
    completed  boolean NOT NULL,
    first_at   timestamptz NOT NULL,
    last_at    timestamptz NOT NULL,
    CONSTRAINT video_daily_views_pkey PRIMARY KEY (video_id, viewer_id, day)
);

-- Serves the cascade from users.
CREATE INDEX video_daily_views_viewer_id_idx ON video_daily_views (viewer_id);

CREATE FUNCTION video_daily_views_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.video_id = NEW.video_id THEN
        IF OLD.watched_ms <> NEW.watched_ms OR OLD.completed <> NEW.completed THEN
            UPDATE videos SET
                watched_ms = watched_ms + NEW.watched_ms - OLD.watched_ms,
                completed_views = completed_views + NEW.completed::int - OLD.completed::int
            WHERE id = NEW.video_id;
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE videos SET
            view_count = view_count - 1,
            completed_views = completed_views - OLD.completed::int,
            watched_ms = watched_ms - OLD.watched_ms
        WHERE id = OLD.video_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE videos SET
            view_count = view_count + 1,
            completed_views = completed_views + NEW.completed::int,
            watched_ms = watched_ms + NEW.watched_ms
        WHERE id = NEW.video_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER video_daily_views_count
    AFTER INSERT OR DELETE OR UPDATE OF video_id, watched_ms, completed ON video_daily_views
    FOR EACH ROW EXECUTE FUNCTION video_daily_views_count();

-- Mutes (issue 21 item 2) and visibility edits (issue 20 item 7).
--
-- mutes: I hide a user from my feeds, notifications and live events without blocking
-- them; they are not told and nothing changes on their side. One row per (muter, muted),
-- the primary key the feeds' anti-join probes; the second index pages my list of mutes
-- newest first and serves the cascade of the muted side.
--
-- The author's edit of a video's visibility is a choice even when it equals the
-- visibility in force (a private account's video, in force friends, chosen public, now
-- chosen friends): a write of chosen_visibility is a choice too, so the trigger of
-- migration 20261207_62 keeps it instead of the old one.
-- depends: 20261207_62_private_accounts 20261207_70_for_you_candidates

CREATE TABLE mutes (
    muter_id   bigint NOT NULL
               CONSTRAINT mutes_muter_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    muted_id   bigint NOT NULL
               CONSTRAINT mutes_muted_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    CONSTRAINT mutes_pkey PRIMARY KEY (muter_id, muted_id),
    CONSTRAINT mutes_not_self CHECK (muter_id <> muted_id)
);

CREATE INDEX mutes_muter_page_idx ON mutes (muter_id, created_at DESC, muted_id DESC);
CREATE INDEX mutes_muted_id_idx ON mutes (muted_id);

CREATE OR REPLACE FUNCTION videos_visibility_in_force() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.visibility IS DISTINCT FROM OLD.visibility THEN
        NEW.chosen_visibility := NEW.visibility;
    ELSIF NEW.chosen_visibility IS DISTINCT FROM OLD.chosen_visibility THEN
        NULL;  -- chosen outright (PostgresVideoRepository.set_visibility)
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

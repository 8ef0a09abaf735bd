-- Moderation: reports gathered into cases, decisions, appeals, strikes, the append-only
-- audit trail, the runtime settings, held and removed videos, hidden comments, and the
-- index behind the staff's user search.
--
-- Constraint and index names are part of the contract: adapters/postgres/db.py turns
-- unique violations into Conflict codes (reports_case_reporter_key -> "report_exists",
-- appeals_case_id_key -> "appeal_exists") and foreign-key violations into NotFound codes
-- by these names, and adapters/postgres/moderation.py names cases_open_target_key's
-- columns and predicate in ON CONFLICT.
--
-- What goes when a user is deleted (ON DELETE CASCADE): the cases about them (with their
-- reports, appeals and strikes), their own reports, appeals and strikes. A moderator's
-- assignment is cleared (SET NULL). Who decided a case or an appeal is kept as a bare id
-- (no foreign key), and the audit trail keeps everything: it outlives accounts.
-- A case's report_count and reasons are what its reports said when they were made: they
-- are not lowered when a reporter's account (and so their report) goes.
-- depends: 20261127_05_ranking

-- A video reported past the threshold is held until a moderator decides; a removed one
-- is restored if an appeal is accepted. Neither is 'ready', so feeds and ratings skip
-- them.
ALTER TABLE videos DROP CONSTRAINT videos_status_check;
ALTER TABLE videos ADD CONSTRAINT videos_status_check CHECK (status IN (
    'uploading', 'processing', 'ready', 'rejected', 'failed', 'held', 'removed'));

-- Hidden by moderation (held or removed): left out of every comment list. It still
-- counts in videos.comment_count and comments.reply_count, as the in-memory adapter does.
-- comments_thread_idx keeps serving the lists (hidden comments are rare; the filter
-- is applied to the rows the range scan reads).
ALTER TABLE comments ADD COLUMN hidden boolean NOT NULL DEFAULT false;

-- Staff search users by a prefix of the email or the nickname (lower(x) LIKE 'abc%',
-- or the equivalent ~>=~ / ~<~ range). users_nickname_key is text_pattern_ops already;
-- users_email_key becomes so too: the same index keeps uniqueness and equality lookups
-- (lower(email) = lower($1)) and also serves the prefix, whatever the collation.
DROP INDEX users_email_key;
CREATE UNIQUE INDEX users_email_key ON users (lower(email) text_pattern_ops);

-- Every report on one target while it is open, and the decision that closes it.
CREATE TABLE cases (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_type     text NOT NULL
                    CONSTRAINT cases_target_type_check
                    CHECK (target_type IN ('video', 'comment', 'user')),
    -- The target is not a foreign key: a case outlives its video or comment (the
    -- moderator sees "gone"), and one column points at three tables.
    target_id       bigint NOT NULL,
    -- Who answers for the target: its author, or the user reported.
    -- cases_owner_id_fkey -> "user_not_found"
    owner_id        bigint NOT NULL
                    CONSTRAINT cases_owner_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'open'
                    CONSTRAINT cases_status_check CHECK (status IN ('open', 'resolved')),
    -- Distinct reporters, and every reason given (once each, in the order first given);
    -- written by add_report in the statement that stores the report.
    report_count    integer NOT NULL DEFAULT 0
                    CONSTRAINT cases_report_count_check CHECK (report_count >= 0),
    reasons         text[] NOT NULL DEFAULT '{}'
                    CONSTRAINT cases_reasons_check CHECK (reasons <@ ARRAY[
                        'spam', 'nudity', 'violence', 'harassment', 'hate', 'self_harm',
                        'illegal', 'other']::text[]),
    held            boolean NOT NULL DEFAULT false,
    -- cases_assignee_id_fkey -> "user_not_found"
    assignee_id     bigint
                    CONSTRAINT cases_assignee_id_fkey REFERENCES users (id) ON DELETE SET NULL,
    action          text
                    CONSTRAINT cases_action_check
                    CHECK (action IN ('dismiss', 'remove', 'warn', 'suspend', 'ban')),
    decided_by      bigint,  -- no foreign key: the decision outlives the moderator
    decided_at      timestamptz,
    decision_reason text,
    suspended_until timestamptz,
    opened_at       timestamptz NOT NULL
);

-- One open case per target: concurrent first reports of a target meet here
-- (INSERT ... ON CONFLICT DO NOTHING, then SELECT ... FOR UPDATE). A resolved case
-- leaves the index, so the next report opens a new one.
CREATE UNIQUE INDEX cases_open_target_key ON cases (target_type, target_id)
    WHERE status = 'open';
-- The queue: most reports first, then the oldest, then by id, as one ascending key, so
-- a keyset page is a range scan.
CREATE INDEX cases_queue_idx ON cases ((-report_count), opened_at, id) WHERE status = 'open';
-- The cascade from users (owner, assignee).
CREATE INDEX cases_owner_id_idx ON cases (owner_id);
CREATE INDEX cases_assignee_id_idx ON cases (assignee_id) WHERE assignee_id IS NOT NULL;
-- Admin statistics: cases opened, and resolved, per day.
CREATE INDEX cases_opened_at_idx ON cases (opened_at);
CREATE INDEX cases_decided_at_idx ON cases (decided_at) WHERE status = 'resolved';

CREATE TABLE reports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Declared before reporter_id so that, when both are missing, "case_not_found" wins
    -- (foreign-key checks run in creation order), as in the in-memory adapter.
    -- reports_case_id_fkey -> "case_not_found"
    case_id     bigint NOT NULL
                CONSTRAINT reports_case_id_fkey REFERENCES cases (id) ON DELETE CASCADE,
    -- reports_reporter_id_fkey -> "user_not_found"
    reporter_id bigint NOT NULL
                CONSTRAINT reports_reporter_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    reason      text NOT NULL
                CONSTRAINT reports_reason_check CHECK (reason IN (
                    'spam', 'nudity', 'violence', 'harassment', 'hate', 'self_harm',
                    'illegal', 'other')),
    note        text,
    created_at  timestamptz NOT NULL,
    -- One report per reporter and case. reports_case_reporter_key -> "report_exists";
    -- its leading column serves a case's reports and the cascade from cases.
    CONSTRAINT reports_case_reporter_key UNIQUE (case_id, reporter_id)
);

-- How many reports a user made lately (the daily limit); also the cascade from users.
CREATE INDEX reports_reporter_idx ON reports (reporter_id, created_at);

CREATE TABLE appeals (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- One appeal per case. appeals_case_id_key -> "appeal_exists";
    -- appeals_case_id_fkey -> "case_not_found"
    case_id         bigint NOT NULL
                    CONSTRAINT appeals_case_id_fkey REFERENCES cases (id) ON DELETE CASCADE
                    CONSTRAINT appeals_case_id_key UNIQUE,
    -- appeals_user_id_fkey -> "user_not_found"
    user_id         bigint NOT NULL
                    CONSTRAINT appeals_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    body            text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CONSTRAINT appeals_status_check
                    CHECK (status IN ('pending', 'accepted', 'rejected')),
    created_at      timestamptz NOT NULL,
    decided_by      bigint,  -- no foreign key: the decision outlives the moderator
    decided_at      timestamptz,
    decision_reason text
);

-- The cascade from users.
CREATE INDEX appeals_user_id_idx ON appeals (user_id);
-- The appeals waiting for a moderator, oldest first.
CREATE INDEX appeals_pending_idx ON appeals (id) WHERE status = 'pending';

-- A warning is a strike on the owner, one per case; an accepted appeal takes it back.
CREATE TABLE strikes (
    -- strikes_case_id_fkey -> "case_not_found"
    case_id    bigint CONSTRAINT strikes_pkey PRIMARY KEY
               CONSTRAINT strikes_case_id_fkey REFERENCES cases (id) ON DELETE CASCADE,
    -- strikes_user_id_fkey -> "user_not_found"
    user_id    bigint NOT NULL
               CONSTRAINT strikes_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL
);

-- A user's strike count; also the cascade from users.
CREATE INDEX strikes_user_id_idx ON strikes (user_id);

-- The trail of staff actions: append-only.
--
-- - No foreign keys: an entry outlives the accounts and the things it names, and
--   nothing cascades into it.
-- - audit_log_append_only refuses every UPDATE, DELETE and TRUNCATE statement (even one
--   that matches no row), whoever runs it: the application's role cannot change or
--   remove an entry, by mistake or by a bug, even when it owns the table. The REVOKE
--   says the same in the privileges (the owner could grant them back; the trigger still
--   stands).
-- - Not tamper-proof against the database's administrators: the table's owner can
--   ALTER TABLE ... DISABLE TRIGGER or DROP it, and a superuser can also skip the
--   trigger with SET session_replication_role = replica (which the test suite does to
--   empty the table between tests: tests/conftest.py finds append-only tables by the
--   trigger name suffix "_append_only"). For a trail the application's role cannot
--   touch at all, run the migrations as a separate owner role and connect the
--   application as a role granted only SELECT and INSERT on audit_log.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id    bigint,  -- NULL: the operator (CLI); no foreign key (see above)
    action      text NOT NULL CONSTRAINT audit_log_action_check CHECK (action <> ''),
    target_type text,
    target_id   bigint,
    reason      text,
    data        jsonb NOT NULL DEFAULT '{}'
                CONSTRAINT audit_log_data_check CHECK (jsonb_typeof(data) = 'object'),
    created_at  timestamptz NOT NULL
);

-- The admin's filters, newest first (by id; ids grow with created_at, so a time range
-- is a filter on the rows the id order reads).
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_log_action_idx ON audit_log (action, id);
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id, id);

CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();

REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM CURRENT_USER;

-- The runtime settings admins change (momentic_core.model.moderation.RuntimeConfig):
-- one row, the settings as a JSON object whose keys are RuntimeConfig's fields (a
-- missing key or null: the deployment's value; rate_limits maps a limit name to
-- [count, window seconds]). JSON, not columns: a new setting needs no migration.
CREATE TABLE app_settings (
    id       integer PRIMARY KEY CONSTRAINT app_settings_one_row CHECK (id = 1),
    settings jsonb NOT NULL DEFAULT '{}'
             CONSTRAINT app_settings_settings_check CHECK (jsonb_typeof(settings) = 'object')
);

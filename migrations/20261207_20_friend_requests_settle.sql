-- Friend requests settle as the use cases keep them now (issue 15, finding 12). Two
-- requests that crossed (each user asked the other at the same moment, before requests
-- ran under the pair's lock) both stayed pending, and the two never became friends;
-- accepting one left the other behind. Now:
-- - a request between users blocked either way goes (a block ends requests);
-- - two users who asked each other are friends (as a request to someone who asked me
--   makes us), since the later of the two requests;
-- - no request stays between friends (accepting ends both directions).
-- depends: 20261207_03_hidden_comments_uncounted

DELETE FROM friend_requests r
USING blocks b
WHERE (b.blocker_id = r.from_id AND b.blocked_id = r.to_id)
   OR (b.blocker_id = r.to_id AND b.blocked_id = r.from_id);

INSERT INTO friendships (user_id, friend_id, created_at)
SELECT r.from_id, r.to_id, greatest(r.created_at, o.created_at)
FROM friend_requests r
JOIN friend_requests o ON o.from_id = r.to_id AND o.to_id = r.from_id
ON CONFLICT (user_id, friend_id) DO NOTHING;

DELETE FROM friend_requests r
USING friendships f
WHERE f.user_id = r.from_id AND f.friend_id = r.to_id;

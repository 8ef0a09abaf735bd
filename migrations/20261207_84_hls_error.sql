-- A ready video whose MP4 will not package to HLS (the package_hls job: the file's fault,
-- e.g. undecodable) keeps the code it failed with, so `momentic backfill hls` passes over
-- it instead of queueing it again on every run. NULL for every other video; a failure
-- that may pass (a blob store error, a worker killed) leaves it NULL and is retried.
-- depends: 20261207_79_content_hash

ALTER TABLE videos ADD COLUMN hls_error text;

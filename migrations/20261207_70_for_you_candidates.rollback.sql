DROP TABLE for_you_refresh;
DROP TABLE for_you_candidates;

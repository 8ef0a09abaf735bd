-- Nothing to undo: the settled rows are what the use cases would have made, and the
-- requests it removed cannot be told apart from requests accepted since.
SELECT 1;

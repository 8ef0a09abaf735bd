DROP TRIGGER reports_count ON reports;
DROP FUNCTION reports_count();

"""The daily moment, leaderboards, statistics, rating weights and the staff web interface at
/admin."""

"""Pure functions: permissions, input rules, ranking and streaks."""

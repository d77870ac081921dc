"""Models built during the course and reused on later days (added by the day that derives them)."""

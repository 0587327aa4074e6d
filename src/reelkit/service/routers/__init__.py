"""One router per resource: members, titles, communities, events, system (health, metrics, models), web."""

# READ FIRST: /work/PARALLEL_RULES.md (rules for the engineers working in parallel this session).
"""Pre-production: shoot scheduling, crew and cast matching, audience forecasts for new titles."""

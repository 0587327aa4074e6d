# READ FIRST: /work/PARALLEL_RULES.md (rules for the engineers working in parallel this session).
"""Post-production: subtitle sync, loudness, video quality and encoding ladders, QC reports."""

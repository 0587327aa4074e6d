"""Post-production: subtitle sync, loudness, video quality and encoding ladders, QC reports."""

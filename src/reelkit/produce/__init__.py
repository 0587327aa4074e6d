"""Pre-production: shoot scheduling, crew and cast matching, audience forecasts for new titles."""

# READ FIRST: /work/PARALLEL_RULES.md (rules for the engineers working in parallel this session).
"""Streaming: adaptive bitrate (``reelkit.stream.abr``), edge caching (``reelkit.stream.cache``) and download
advice."""

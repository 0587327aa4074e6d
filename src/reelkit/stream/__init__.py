"""Streaming: adaptive bitrate (``reelkit.stream.abr``), edge caching (``reelkit.stream.cache``) and download
advice."""

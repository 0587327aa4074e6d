"""Service routes of this pillar (placeholder until written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

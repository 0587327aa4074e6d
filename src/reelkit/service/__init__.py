"""The member-facing service: store, model versions, HTTP API and web pages.

Modules (import them directly; this package imports nothing heavy itself):

:mod:`reelkit.service.store`
    the :class:`~reelkit.service.store.Store` interface and its SQLite implementation;
:mod:`reelkit.service.models`
    model bundles: :func:`~reelkit.service.models.train_store`, versions, the atomic switch;
:mod:`reelkit.service.ingest` and :mod:`reelkit.service.bootstrap`
    importing data into a store, setting a data folder up in one step;
:mod:`reelkit.service.app`
    :func:`~reelkit.service.app.create_app`, the FastAPI application factory (needs the ``service`` extra:
    fastapi, uvicorn, jinja2, httpx);
:mod:`reelkit.service.settings`
    :class:`~reelkit.service.settings.ServiceSettings`;
:mod:`reelkit.service.testing`
    running ``reelkit serve`` in a subprocess (tests, benchmarks).

The home page itself is library code: :mod:`reelkit.recommend.home`.
"""

__all__: list[str] = []

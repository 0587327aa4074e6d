"""Setting up a data folder in one step (``reelkit serve --demo``, ``make run``).

:func:`bootstrap` imports the demo catalog (or a MovieLens/CSV/Parquet source) when the store has no events,
trains a model version when there is none, and gives a fresh folder a random API token. A second call finds
everything in place and does nothing, so ``make run`` reuses what the first run built.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from reelkit.errors import ConfigError
from reelkit.progress import SILENT, Progress
from reelkit.recommend.home import HomeConfig
from reelkit.service.errors import TitlesRenamedError
from reelkit.service.ingest import (
    ImportSummary,
    import_dataset,
    pending_imports,
    read_source,
)
from reelkit.service.models import DEFAULT_PERSONAL, train_store
from reelkit.service.settings import ensure_token
from reelkit.service.store import DB_NAME, ModelVersionRecord, Store, open_store

__all__ = ["BootstrapReport", "bootstrap"]


@dataclass(frozen=True)
class BootstrapReport:
    """What :func:`bootstrap` did (None: that step was already done)."""

    data_dir: Path
    source: str
    imported: ImportSummary | None
    trained: ModelVersionRecord | None
    token_file: Path | None


#: the note naming what ``serve --demo`` imported into a data folder (so another source is not served from
#: it silently)
BOOTSTRAP_SOURCE = "bootstrap_source"
#: the note keeping the first day (unix seconds) of the demo catalog being imported, so an import resumed on
#: a later day makes the same events (stored ones then count as duplicates)
DEMO_START = "demo_start"
#: the days the demo catalog spans
DEMO_DAYS = 365
_DAY = 86_400


def _demo_start(store: Store) -> int | str:
    """The first day of the demo catalog to import: ``DEMO_DAYS`` before today (midnight UTC), so its
    events end just before the service starts. Trending's clock is the latest event: a catalog dated in the
    past made every title look years old next to the first live play. A resumed import keeps its start (an
    import begun without the note had the generator's fixed default)."""
    from reelkit.data.demo import DEFAULT_START

    held = store.get_note(DEMO_START)
    if store.count_events() > 0:
        return int(held) if held is not None else DEFAULT_START
    today = int(time.time()) // _DAY * _DAY
    start = today - DEMO_DAYS * _DAY
    store.set_note(DEMO_START, str(start))
    return start


def bootstrap(
    data_dir: str | Path,
    *,
    source: str | Path | None = None,
    n_members: int = 2000,
    n_titles: int = 1000,
    seed: int = 0,
    personal: str = DEFAULT_PERSONAL,
    progress: Progress = SILENT,
    make_token: bool = True,
    home: HomeConfig | None = None,
) -> BootstrapReport:
    """Make ``data_dir`` ready to serve: data imported, a model version trained (with the service's
    ``home`` settings' confidence formula), an API token set (in the folder's ``service.json``;
    ``make_token=False`` when the server reads its settings from another file)."""
    data_dir = Path(data_dir)
    label = (
        str(Path(source).resolve())
        if source is not None
        else f"demo catalog ({n_members} members, {n_titles} titles)"
    )
    # a new data folder: the source is read first, so one that cannot be read leaves no empty store behind
    first = read_source(Path(source)) if source is not None and not (data_dir / DB_NAME).exists() else None
    store = open_store(data_dir)
    try:
        imported = None
        held = store.get_note(BOOTSTRAP_SOURCE)
        if held is not None and held != label:  # REELKIT_DATA given after a demo run, or the reverse
            raise ConfigError(
                f"{data_dir} already holds {held}; to serve {label}, give another data folder "
                "(--data-dir, or make run DATA_DIR=...)"
            )
        # a first run killed half-way through its import left a note naming this source: import it again
        # (what is stored already counts as duplicates) rather than train and serve on part of the data;
        # another source's unfinished import is the user's to complete, not ours to mix demo data into
        if store.count_events() == 0 or label in pending_imports(store).values():
            if source is not None:
                ds = first if first is not None else read_source(Path(source))
            else:
                from reelkit.data.demo import make_demo

                start = _demo_start(store)
                with progress.task("generating the demo catalog", total=None):
                    ds = make_demo(
                        n_members=n_members, n_titles=n_titles, seed=seed, start=start, days=DEMO_DAYS
                    )
            try:
                imported = import_dataset(store, ds, progress=progress, label=label)
            except TitlesRenamedError as exc:  # its advice, --rename-titles, is reelkit import's
                clash = str(exc).partition(": ")[2].partition("; nothing was imported")[0]
                raise ConfigError(
                    f"{data_dir} already holds another catalogue ({clash}); nothing was imported. To serve "
                    f"{label}, give another data folder (--data-dir, or make run DATA_DIR=...)"
                ) from None
            store.set_note(BOOTSTRAP_SOURCE, label)
        # another import that did not finish: serve warns (see reelkit.cli.service), and training refuses
        need_model = store.current_model_version() is None
    finally:
        store.close()
    trained = train_store(data_dir, personal=personal, home=home, progress=progress) if need_model else None
    token_file = ensure_token(data_dir) if make_token else None
    return BootstrapReport(
        data_dir=data_dir, source=label, imported=imported, trained=trained, token_file=token_file
    )

"""Service settings: one typed model, read from a config file and the environment only when asked."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from reelkit.config import error_message
from reelkit.errors import ConfigError
from reelkit.recommend.home import HomeConfig

__all__ = ["CONFIG_NAME", "SESSION_KEY_NAME", "TOKEN_ENV", "ServiceSettings", "ensure_token", "session_key"]

log = logging.getLogger(__name__)

CONFIG_NAME = "service.json"
TOKEN_ENV = "REELKIT_API_TOKEN"


class ServiceSettings(BaseModel):
    """Everything the service is configured by (round-trips through JSON, the token excepted).

    ``api_token`` guards the write endpoints of the API (``Authorization: Bearer <token>``); without one,
    API writes are refused. ``protect_reads`` makes the read endpoints need the token too (and turns the web
    pages off, since a browser cannot send it).

    The web page's play button (``POST /ui/play``) writes play events for the profile chosen on the page,
    without the token (a browser cannot send it, and choosing a profile proves no identity). So it is off
    unless ``web_ui_writes`` is ``True``: setting an API token must not open a write path that needs no
    credential. ``reelkit serve --demo`` turns it on unless the config file says otherwise.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path
    api_token: SecretStr | None = None
    protect_reads: bool = False
    web_ui: bool = True
    #: Whether the web page's play button may record plays, for any profile and without the token
    #: (``None``, the default: no; ``reelkit serve --demo`` turns it on).
    web_ui_writes: bool | None = None
    #: Events per ``POST /v1/events`` batch at most (more: 413).
    max_batch_events: int = Field(1000, ge=1, le=100_000)
    #: Request bodies larger than this are refused with 413.
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    #: Uploads of media and production files (``/qc``, ``/v1/qc``, ``/produce/...``) may be
    #: larger than API bodies.
    max_upload_bytes: int = Field(512 * 1024 * 1024, ge=1024)
    #: A QC upload's ffmpeg runs are stopped after this many seconds in all (the job fails with a message).
    qc_time_limit_s: float = Field(600.0, gt=0, le=86_400)
    #: Home pages cached per model version (one per member, for their last event); 30-55 KB each.
    page_cache_size: int = Field(10_000, ge=0)
    #: After loading a model version, build the pages of this many most recently active members in the
    #: background (0: off; at most ``page_cache_size``).
    warm_pages: int = Field(5_000, ge=0)
    #: How often the server checks the store for a newly trained model version and counts the events stored
    #: since into the Trending and community rows (0: never; those rows then stay as trained).
    model_poll_seconds: float = Field(2.0, ge=0)
    #: At most this often the counts of new events reach the pages' Trending and community rows (each time,
    #: cached pages whose popularity rows changed are built again: on a busy service, all of them; 0: at
    #: every poll). The rows are then at most this plus ``model_poll_seconds`` behind.
    popularity_refresh_s: float = Field(30.0, ge=0, le=86_400)
    #: After a model version loads, collect the heap once and freeze it out of the garbage collector's
    #: later passes (``gc.freeze``): full collections over the models and libraries otherwise stop every
    #: request for 80-200 ms every few seconds under traffic. Off only for a process that embeds the app
    #: beside other long-lived work of its own.
    freeze_heap: bool = True
    #: Server processes ``reelkit serve`` runs on its port (``--workers`` overrides). Python builds a page on
    #: one core per process, so one process saturates between 100 and 200 uncached pages a second; each
    #: more process loads the model again (memory) and keeps its own page cache and counts. The store is
    #: shared. ABR player sessions (``/v1/abr/decide``, paced segments, session logs) live in one process's
    #: memory, so a server of several processes refuses them (409): run the ABR demo with one. More than one
    #: needs ``model_poll_seconds`` above 0: the processes learn of model switches from the store.
    workers: int = Field(1, ge=1, le=64)
    #: How long a write waits for another writer holding the database (an import, a retrain, another server
    #: process) before it is refused with 503 and Retry-After; every write answers within about this long.
    busy_timeout_s: float = Field(10.0, gt=0, le=600)
    #: Assumed length of titles without a known duration, for plays from the web page.
    default_duration_seconds: float = Field(6000.0, gt=0)
    #: Secret that signs the web page's profile cookie. When not set, a random one kept in the data folder
    #: (``session.key``, mode 0600), so that a restart keeps every browser's profile; random per process
    #: only where that file cannot be made, or is a link or readable by others (with a warning).
    session_secret: SecretStr | None = None
    home: HomeConfig = HomeConfig()

    @field_validator("api_token", "session_secret")
    @classmethod
    def _not_blank(cls, v: SecretStr | None) -> SecretStr | None:
        """An empty token is a typo, not a setting: it made every write need a credential no client can
        send (``Bearer `` with nothing after it is refused)."""
        if v is not None and not v.get_secret_value().strip():
            raise ValueError("is empty; give a token (or leave the setting out)")
        return v

    @classmethod
    def load(
        cls,
        data_dir: str | Path,
        *,
        config_file: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> ServiceSettings:
        """Settings for ``data_dir``: its ``service.json`` (or ``config_file``), then ``REELKIT_API_TOKEN``
        from ``environ`` (default: the process environment), then ``overrides`` (``None`` values ignored)."""
        data_dir = Path(data_dir)
        env = os.environ if environ is None else environ
        path, values = _read_config(data_dir, config_file)
        if "data_dir" in values:
            _check_data_dir(path, values.pop("data_dir"), data_dir)
        token = env.get(TOKEN_ENV)
        if token and not token.strip():  # blank: named as the environment's
            raise ConfigError(f"${TOKEN_ENV} is blank; give a token, or unset it")
        if token:
            values["api_token"] = token
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["data_dir"] = data_dir
        try:
            return cls.model_validate(values)
        except pydantic.ValidationError as exc:
            raise _invalid(path, exc, ()) from None

    @classmethod
    def load_home(cls, data_dir: str | Path, *, config_file: str | Path | None = None) -> HomeConfig:
        """The ``home`` settings alone, from the same file as :meth:`load` (what training needs: the rest of
        the file, and the token, are the server's to check)."""
        path, values = _read_config(Path(data_dir), config_file)
        try:
            return HomeConfig.model_validate(values.get("home", {}))
        except pydantic.ValidationError as exc:
            raise _invalid(path, exc, ("home",)) from None

    @property
    def ui_writes_allowed(self) -> bool:
        """Whether ``POST /ui/play`` may store plays (see ``web_ui_writes``)."""
        return bool(self.web_ui_writes)


def _invalid(path: Path, exc: pydantic.ValidationError, within: tuple[str, ...]) -> ConfigError:
    """One line naming each invalid setting by its dotted path in the file (``home.row_size``)."""
    parts = [f"{'.'.join(str(x) for x in (*within, *e['loc']))}: {error_message(e)}" for e in exc.errors()]
    return ConfigError(f"{path}: invalid service setting(s): " + "; ".join(parts))


def _read_config(data_dir: Path, config_file: str | Path | None) -> tuple[Path, dict[str, Any]]:
    """The config file in use (``config_file``, else ``data_dir``'s ``service.json``) and its JSON object
    (empty when the default file does not exist)."""
    path = Path(config_file) if config_file is not None else data_dir / CONFIG_NAME
    if config_file is not None and not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    if not path.is_file():
        return path, {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable JSON config file ({exc})") from None
    except RecursionError:  # json recurses per level: '[' * 1000 was a traceback
        raise ConfigError(f"{path}: not a readable JSON config file (nested too deeply)") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: the config file must hold a JSON object")
    return path, loaded


def _check_data_dir(path: Path, given: object, data_dir: Path) -> None:
    """A config file's ``data_dir`` may only name the data folder in use (as a dump of the settings does):
    the folder is chosen before its config file is read, so any other was ignored in silence (``serve
    --config FILE`` then said "no reelkit store" of the default folder)."""
    if isinstance(given, str) and given and Path(given).expanduser().resolve() == data_dir.resolve():
        return
    raise ConfigError(
        f"{path}: data_dir {given!r} is not the data folder in use ({data_dir}); the config file cannot "
        "choose it: give the folder with --data-dir (reelkit serve) and remove data_dir from the file"
    )


SESSION_KEY_NAME = "session.key"


def session_key(data_dir: str | Path) -> bytes:
    """The data folder's cookie-signing key (``session.key``, 32 random bytes, mode 0600), made on first
    use. A server restarted on the folder, or a second one on it, signs as the first did (a key random per
    process signed every browser out at each restart: a title page's Play then failed). The file appears
    whole (written aside, then linked into place), so two servers starting at once read the same key; a
    damaged one (short) is replaced. A link, a file others may read, or one that cannot be made: a random
    key for this process, with a warning naming the file."""
    path = Path(data_dir) / SESSION_KEY_NAME
    try:
        for _ in range(3):
            key = _read_session_key(path)
            if key is not None:
                return key
            tmp = path.with_name(f".{SESSION_KEY_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(secrets.token_bytes(32))
                    fh.flush()
                    os.fsync(fh.fileno())
                with contextlib.suppress(FileExistsError):  # a server that got there first wins
                    os.link(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
        raise OSError(f"{path} could not be made")
    except OSError as exc:
        log.warning(
            "profile cookies are signed with a key for this process only (%s): a restart signs out; remove "
            "%s or fix its permissions (0600), or set session_secret",
            exc,
            path,
        )
        return secrets.token_bytes(32)


def session_key_kept(data_dir: str | Path, key: bytes) -> bool:
    """Whether the data folder's ``session.key`` holds ``key`` (not when :func:`session_key` fell back to a
    key for its process alone)."""
    try:
        return _read_session_key(Path(data_dir) / SESSION_KEY_NAME) == key
    except OSError:
        return False


def _read_session_key(path: Path) -> bytes | None:
    """The key in ``path``; ``None`` where there is none (or a damaged, short one, which is removed);
    ``OSError`` for a link, or a file that is not private or not a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OSError(f"{path} cannot be read as a plain file ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o077:
            raise OSError(f"{path} is not a private regular file (mode {stat.filemode(st.st_mode)})")
        key = fh.read(4096)
    if len(key) < 16:
        path.unlink(missing_ok=True)
        return None
    return key


def ensure_token(data_dir: str | Path, environ: Mapping[str, str] | None = None) -> Path | None:
    """Give a fresh data folder a random API token in its ``service.json`` (mode 0600).

    Nothing is written when the environment already sets ``REELKIT_API_TOKEN`` or the config file exists.
    Returns the config file written, or None.
    """
    env = os.environ if environ is None else environ
    path = Path(data_dir) / CONFIG_NAME
    if env.get(TOKEN_ENV) or path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"api_token": secrets.token_urlsafe(24)}, fh, indent=2)
        fh.write("\n")
    return path

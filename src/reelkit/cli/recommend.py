"""``reelkit models | train | recommend | similar | communities``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.text import Text

from reelkit._files import check_creatable
from reelkit.cli.common import (
    JsonOpt,
    console,
    emit_json,
    parse_params,
    print_table,
    progress_for,
    refuse_unused,
)
from reelkit.cli.inputs import HeaderOpt, TitlesOpt, UnknownTitlesOpt, read_data
from reelkit.cli.service import data_folder
from reelkit.errors import ConfigError

RatingsOpt = Annotated[
    Path | None,
    typer.Option("--ratings", help="Ratings/events file (any supported format) or dataset folder."),
]
DataOpt = Annotated[Path | None, typer.Option("--data", help="Dataset folder or file (as --ratings).")]
ColumnsOpt = Annotated[
    str | None, typer.Option("--columns", help="Column names by position, e.g. user,item,rating,timestamp.")
]
SepOpt = Annotated[str | None, typer.Option("--sep", help="Field separator (auto-detected by default).")]
ParamOpt = Annotated[
    list[str] | None, typer.Option("--param", help="Model parameter key=value (repeatable).")
]
ModelFileOpt = Annotated[Path, typer.Option("--model-file", "-m", help="A model saved by 'reelkit train'.")]


def model_class(name: str) -> Any:
    from reelkit.recommend import registered_models

    models = registered_models()
    if name not in models:
        raise ConfigError(
            f"unknown model {name!r}; choose one of {', '.join(sorted(models))} ('reelkit models')"
        )
    return models[name]


def low_ratings_rule(value: str) -> Literal["positive", "dislike"]:
    """``--low-ratings``: ``positive`` or ``dislike`` (evaluate's and communities' option)."""
    if value not in ("positive", "dislike"):
        raise ConfigError(f"--low-ratings {value!r}: use positive or dislike")
    return "dislike" if value == "dislike" else "positive"


def _title_label(model: Any, title_id: str) -> str:
    names = getattr(model, "title_names_", None)
    if names is None:
        return title_id
    col = model.title_cols([title_id], missing_ok=True)[0]
    return str(names[col]) if col >= 0 else title_id


def models_cmd(json_out: JsonOpt = False) -> None:
    """List every model with its kind and default (tuned) parameters."""
    from reelkit.recommend import registered_models

    rows: list[dict[str, Any]] = []
    for name, cls in sorted(registered_models().items()):
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        rows.append({"name": name, "kind": cls.kind, "params": cls().get_params(), "description": doc})
    if json_out:
        emit_json(rows)
        return
    print_table(
        "models",
        ["name", "kind", "default parameters"],
        [(r["name"], r["kind"], ", ".join(f"{k}={v}" for k, v in r["params"].items())) for r in rows],
    )


def train_cmd(
    ctx: typer.Context,
    model: Annotated[str, typer.Option("--model", help="Model name (see 'reelkit models').")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the model (.npz).")] = Path(
        "model.npz"
    ),
    ratings: RatingsOpt = None,
    data: DataOpt = None,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    header: HeaderOpt = None,
    unknown_titles: UnknownTitlesOpt = "error",
    titles: TitlesOpt = None,
    param: ParamOpt = None,
    min_rating: Annotated[float | None, typer.Option(help="Ignore ratings below this.")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="A service data folder: train a new model version from its stored events (a running "
            "server switches to it); --model names the personal model.",
            callback=data_folder,
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Train a model on a ratings/events file and save it (or a new service model version: --data-dir)."""
    if data_dir is not None:
        if ratings is not None or data is not None:
            raise ConfigError("--data-dir trains from the stored events; do not also give --ratings/--data")
        refuse_unused(
            ctx,
            "--ratings/--data",
            "out",
            "columns",
            "sep",
            "header",
            "unknown_titles",
            "min_rating",
            fix="--data-dir trains a service model version from the stored events: drop it",
        )
        from reelkit.cli.service import retrain_cmd

        retrain_cmd(data_dir=data_dir, model=model, param=param, json_out=json_out)
        return
    cls = model_class(model)
    est = cls(**parse_params(param))
    if out.is_dir():  # before the fit, not after it
        raise ConfigError(f"{out}: is a folder; give a file name for the model (e.g. {out / 'model.npz'})")
    check_creatable(out, ConfigError, "model.npz", try_write=True)  # -o /proc/m.npz failed after the fit
    with progress_for(not json_out) as progress:
        ds = read_data(
            ratings,
            data,
            columns=columns,
            sep=sep,
            header=header,
            unknown_titles=unknown_titles,
            titles=titles,
        )
        inter = ds.interactions(min_rating=min_rating)
        t0 = time.perf_counter()
        est.fit(inter, progress=progress)
        fit_s = time.perf_counter() - t0
    path = est.save(out)
    summary = {
        "model": model,
        "params": est.get_params(),
        "members": inter.n_members,
        "titles": inter.n_titles,
        "interactions": inter.nnz,
        "fit_seconds": fit_s,
        "path": str(path),
    }
    if json_out:
        emit_json(summary)
    else:
        console.print(
            Text.assemble(
                "trained ",
                (model, "bold"),
                f" on {inter.nnz:,} interactions ({inter.n_members:,} members, "
                f"{inter.n_titles:,} titles) in {fit_s:.2f} s -> {path}",
            )
        )


def _parse_history(text: str) -> dict[str, float] | list[str]:
    """``--history`` as ``TITLE[=RATING],...``: a title list, or a ``{title: rating}`` map when rated.

    Read as one CSV row, so a title id with a comma is written in double quotes (``"Amélie, le film",260``).
    A title given twice counts once (a title is watched or not), as in the rated form."""
    import csv
    import math

    try:
        row = next(csv.reader([text], skipinitialspace=True), [])
    except csv.Error as exc:
        raise ConfigError(f"--history: {exc}; quote a title id that has a comma in double quotes") from None
    parts = [p.strip() for p in row if p.strip()]
    if not parts:
        raise ConfigError("--history is empty; give the new member's titles as TITLE[=RATING],...")
    if not any("=" in p for p in parts):
        return list(dict.fromkeys(parts))
    rated: dict[str, float] = {}
    for p in parts:
        title, sep, value = p.partition("=")
        try:
            rating = float(value)
        except ValueError:
            rating = math.nan
        if not sep or not title.strip() or not math.isfinite(rating):
            raise ConfigError(
                f"--history entry {p!r}: give every title as TITLE=RATING with a finite rating once one is "
                "rated (all rated or none)"
            )
        rated[title.strip()] = rating
    return rated


def recommend_cmd(
    member: Annotated[list[str] | None, typer.Option("--member", help="Member id (repeatable).")] = None,
    history: Annotated[
        str | None,
        typer.Option(
            "--history",
            help="A new member's watched titles, TITLE,... or TITLE=RATING,... (all rated or none; folded "
            "in, no retraining); instead of --member.",
        ),
    ] = None,
    model_file: ModelFileOpt = Path("model.npz"),
    n: Annotated[int, typer.Option("-n", min=1, help="How many titles.")] = 10,
    include_seen: Annotated[bool, typer.Option(help="Allow titles the member has already seen.")] = False,
    explain: Annotated[bool, typer.Option(help="Add a reason to each recommendation.")] = True,
    json_out: JsonOpt = False,
) -> None:
    """Top-N titles for one or more members of a trained model."""
    from reelkit.errors import UnknownIdError
    from reelkit.recommend import load_model
    from reelkit.recommend.reasons import explain_recommendations

    if (member is None) == (history is None):
        raise ConfigError(
            "give either --member (a member the model knows) or --history (a new member's titles)"
        )
    est = load_model(model_file)
    if history is not None:
        hist = _parse_history(history)
        known = est.title_cols(list(hist), missing_ok=True) >= 0
        if not known.all():
            bad = [t for t, k in zip(hist, known, strict=True) if not k]
            raise UnknownIdError(
                f"--history: unknown title id(s) {', '.join(map(repr, bad[:5]))}: {model_file} was not "
                'trained on them; give titles the model knows (quote an id with a comma: "a, b")'
            )
        scale = est.explicit_rating_scale
        if isinstance(hist, dict) and scale is not None:
            lo, hi = scale
            for title, rating in hist.items():
                if not lo <= rating <= hi:
                    raise ConfigError(
                        f"--history entry '{title}={rating:g}': {model_file} was trained on ratings "
                        f"{lo:g}-{hi:g}; give ratings on that scale"
                    )
        recs = est.recommend_history([hist], n, exclude_seen=not include_seen, queries=["new member"])
        hist_rows, hist_ratings = est.histories_matrix([hist])
    else:
        assert member is not None
        hist_rows = hist_ratings = None
        try:
            recs = est.recommend(member, n, exclude_seen=not include_seen)
        except UnknownIdError:
            bad = [m for m, r in zip(member, est.member_rows(member, missing_ok=True), strict=True) if r < 0]
            raise UnknownIdError(
                f"unknown member id(s) {', '.join(bad[:5])}: {model_file} has no interactions of theirs "
                "(a member whose every title was thumbed down or rated under --min-rating is left out, as "
                "one never seen); for a new member give their titles with --history"
            ) from None
    reasons = (
        explain_recommendations(est, recs, histories=hist_rows, ratings=hist_ratings) if explain else None
    )
    out: list[dict[str, Any]] = []
    for i, m in enumerate(recs.queries):
        items = []
        for r, (tid, score) in enumerate(recs.items(i)):
            entry: dict[str, Any] = {
                "rank": r + 1,
                "title_id": tid,
                "title": _title_label(est, tid),
                "score": score,
            }
            if reasons is not None:
                entry["reason"] = reasons[i][r]
            items.append(entry)
        out.append({"member_id": str(m), "recommendations": items})
    if json_out:
        emit_json(out)
        return
    for block in out:
        if member is None:  # the table read "member new member"
            shown = list(hist)
            titles = ", ".join(map(str, shown[:5])) + (", ..." if len(shown) > 5 else "")
            heading = f"new member (history: {titles})"
        else:
            heading = f"member {block['member_id']}"
        print_table(
            heading,
            ["#", "id", "title", "score", *(["reason"] if explain else [])],  # the id: names repeat
            [
                (e["rank"], e["title_id"], e["title"], e["score"], *([e["reason"]] if explain else []))
                for e in block["recommendations"]
            ],
        )


def similar_cmd(
    title: Annotated[list[str], typer.Option("--title", help="Title id (repeatable).")],
    model_file: ModelFileOpt = Path("model.npz"),
    n: Annotated[
        int, typer.Option("-n", min=1, help="How many similar titles (fewer when fewer are alike).")
    ] = 10,
    json_out: JsonOpt = False,
) -> None:
    """Titles most similar to the given ones."""
    from reelkit.recommend import load_model

    est = load_model(model_file)
    recs = est.similar_titles(title, n)
    out: list[dict[str, Any]] = [
        {
            "title_id": str(q),
            "title": _title_label(est, str(q)),
            "similar": [{"title_id": t, "title": _title_label(est, t), "score": s} for t, s in recs.items(i)],
        }
        for i, q in enumerate(recs.queries)
    ]
    if json_out:
        emit_json(out)
        return
    for block in out:
        print_table(
            f"like {block['title']}",
            ["id", "title", "score"],
            [(e["title_id"], e["title"], e["score"]) for e in block["similar"]],
        )


def communities_cmd(
    ratings: RatingsOpt = None,
    data: DataOpt = None,
    model_file: Annotated[
        Path | None, typer.Option("--model-file", "-m", help="A trained community-pop model instead of data.")
    ] = None,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    header: HeaderOpt = None,
    unknown_titles: UnknownTitlesOpt = "error",
    titles: TitlesOpt = None,
    n_communities: Annotated[
        int | None,
        typer.Option(
            "-n",
            "--n",
            "--communities",
            min=1,
            help="Number of communities (default: chosen by held-out NDCG).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Random seed.")] = 0,
    top: Annotated[int, typer.Option(min=1, help="Titles listed per community.")] = 5,
    low_ratings: Annotated[
        str | None,
        typer.Option(
            help="positive (default): every rating is an interaction, on the scale of the data's ratings; "
            "dislike: the home page's formula, which the service trains its communities with (a rating in "
            "the lower half of the 0-1, 0-5 or 0-10 scale holding the ratings is a dislike, as a "
            "thumbs-down; none is until 20 ratings are stored)."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Group members into taste communities and describe each one (--low-ratings dislike: the service's)."""
    from reelkit.recommend import CommunityPopularity, load_model

    rule = low_ratings_rule(low_ratings) if low_ratings is not None else "positive"

    if model_file is not None:
        given = [
            name
            for name, value in (
                ("--ratings", ratings),
                ("--data", data),
                ("--columns", columns),
                ("--sep", sep),
                ("--header", header),
                ("--n", n_communities),
                ("--low-ratings", low_ratings),
            )
            if value is not None
        ] + (["--seed"] if seed != 0 else [])
        if given:
            raise ConfigError(
                f"{', '.join(given)} would be ignored with --model-file (its communities are already made); "
                "give either a trained model or data"
            )
        est = load_model(model_file)
        if not isinstance(est, CommunityPopularity):
            raise ConfigError(
                f"{model_file}: holds a {est.name!r} model; train one with --model community-pop"
            )
    else:
        est = CommunityPopularity(n_communities=n_communities, seed=seed)
        with progress_for(not json_out) as progress:
            ds = read_data(
                ratings,
                data,
                columns=columns,
                sep=sep,
                header=header,
                unknown_titles=unknown_titles,
                titles=titles,
            )
            if rule == "dislike":  # as the service trains (reelkit retrain), on its default settings
                from reelkit.service.models import training_interactions

                inter = training_interactions(ds)
            else:
                inter = ds.interactions()
            est.fit(inter, progress=progress)
    comms = est.communities(top=top)

    def named(items: list[tuple[str, Any]]) -> list[dict[str, Any]]:
        return [{"title_id": t, "title": _title_label(est, t), "score": v} for t, v in items]

    out: list[dict[str, Any]] = [
        {
            "id": c.id,
            "name": c.name,
            "size": c.size,
            "genres": [{"genre": g, "lift": v} for g, v in c.genres],
            "distinctive": named(c.distinctive),
            "favourites": named(list(c.favourites)),
        }
        for c in comms
    ]
    if json_out:
        emit_json({"n_communities": len(out), "communities": out})
        return
    print_table(
        f"{len(out)} taste communities",
        ["id", "name", "members", "distinctive titles", "favourites"],
        [
            (
                c["id"],
                c["name"],
                c["size"],
                "; ".join(e["title"] for e in c["distinctive"][:top]),
                "; ".join(e["title"] for e in c["favourites"][:3]),
            )
            for c in out
        ],
    )


def register(app: typer.Typer) -> None:
    app.command("models")(models_cmd)
    app.command("train")(train_cmd)
    app.command("recommend")(recommend_cmd)
    app.command("similar")(similar_cmd)
    app.command("communities")(communities_cmd)

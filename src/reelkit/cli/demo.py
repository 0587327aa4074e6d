"""``reelkit demo``: the main job before the service exists.

Builds (or reuses) the demo catalog, evaluates the models side by side on a held-out split, trains the best
one and the taste communities on everything, and prints a member's recommendations with reasons.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from reelkit._files import atomic_write_bytes
from reelkit.cli.common import JsonOpt, check_folder, console, emit_json, print_table, progress_for
from reelkit.errors import UnknownIdError

DEMO_MODELS = ("popular", "trending", "community-pop", "itemknn", "rp3beta", "ease", "session-ease", "als")


def demo_cmd(
    workdir: Annotated[Path, typer.Option(help="Where the demo data and models are kept (reused).")] = Path(
        ".reelkit/demo"
    ),
    member: Annotated[str | None, typer.Option(help="Member to show (default: the first).")] = None,
    seed: Annotated[
        int, typer.Option(min=0, help="Seed of the demo catalog and the split (a new seed, a new catalog).")
    ] = 0,
    json_out: JsonOpt = False,
) -> None:
    """Build the demo catalog, evaluate models, train, and show recommendations and communities.

    ``--json``: one document with the catalog's counts, the evaluation (per model: NDCG@10, Recall@10,
    coverage@10, fit seconds, best first), the communities and the member's top picks with reasons."""
    from reelkit.data.dataset import Dataset
    from reelkit.data.demo import make_demo
    from reelkit.evaluate import evaluate, split_random
    from reelkit.recommend import CommunityPopularity, registered_models
    from reelkit.recommend.reasons import explain_recommendations

    check_folder(workdir, "--workdir", "the demo's data and models")
    data_dir = workdir / "data"
    marker = workdir / "demo-seed"  # the seed the kept catalog was made with (none: 0, as before)
    kept = marker.read_text().strip() if marker.is_file() else ""
    made_with = int(kept) if kept.isdigit() else 0

    def say(text: str) -> None:
        if not json_out:
            console.print(text)

    with progress_for(not json_out) as progress:
        if (data_dir / "events.parquet").exists() and made_with == seed:
            say(f"reusing the demo dataset in {data_dir}")
            ds = Dataset.load(data_dir)
        else:
            with progress.task("generating the demo catalog", total=None):
                ds = make_demo(seed=seed)
            ds.save(data_dir)
            atomic_write_bytes(marker, str(seed).encode())
        say(f"demo catalog: {len(ds.members):,} members, {len(ds.titles):,} titles, {ds.n_events:,} events")
        if member is not None and member not in set(ds.members.index.astype(str)):
            raise UnknownIdError(
                f"--member {member!r}: no such member in the demo catalog (its ids are like "
                f"{ds.members.index[0]})"
            )
        train, test = split_random(ds, test_fraction=0.2, seed=seed)
        models = registered_models()
        results = []
        with progress.task("evaluating models", total=len([m for m in DEMO_MODELS if m in models])) as task:
            for name in DEMO_MODELS:
                if name not in models:
                    continue
                res = evaluate(models[name](), train, test, ks=(10,), seed=seed)
                results.append(res)
                task.advance()
    results.sort(key=lambda r: -r.metrics["ndcg@10"])
    if not json_out:
        print_table(
            "held-out evaluation (per-member random 20%)",
            ["model", "NDCG@10", "Recall@10", "coverage@10", "fit s"],
            [
                (
                    r.model,
                    r.metrics["ndcg@10"],
                    r.metrics["recall@10"],
                    r.metrics["coverage@10"],
                    r.fit_seconds,
                )
                for r in results
            ],
        )
    best = results[0].model
    with progress_for(not json_out) as progress:
        inter = ds.interactions()
        model = models[best]().fit(inter, progress=progress)
        model.save(workdir / "model.npz")
        comm = CommunityPopularity().fit(inter, progress=progress)
        comm.save(workdir / "communities.npz")
    comms = comm.communities(top=3)

    def comm_name(title: str) -> str:
        return str(comm.title_names_[comm.title_cols([title])[0]])

    who = member or str(model.member_ids_[0])
    recs = model.recommend([who], 10)
    reasons = explain_recommendations(model, recs)[0]
    picks = [
        (str(t), str(model.title_names_[model.title_cols([t])[0]]), float(score), reasons[i])
        for i, (t, score) in enumerate(recs.items(0))
    ]
    if json_out:
        emit_json(
            {
                "catalog": {"members": len(ds.members), "titles": len(ds.titles), "events": ds.n_events},
                "evaluation": [
                    {"model": r.model, "metrics": r.metrics, "fit_seconds": r.fit_seconds} for r in results
                ],
                "best": best,
                "model": str(workdir / "model.npz"),
                "communities_model": str(workdir / "communities.npz"),
                "communities": [
                    {
                        "name": c.name,
                        "size": c.size,
                        "distinctive": [comm_name(t) for t, _ in c.distinctive[:3]],
                    }
                    for c in comms
                ],
                "member_id": who,
                "recommendations": [
                    {"title_id": t, "title": name, "score": score, "reason": reason}
                    for t, name, score, reason in picks
                ],
            }
        )
        return
    print_table(
        f"{len(comms)} taste communities",
        ["name", "members", "distinctive titles"],
        [(c.name, c.size, "; ".join(comm_name(t) for t, _ in c.distinctive[:3])) for c in comms],
    )
    print_table(
        f"top picks for member {who} ({best})",
        ["#", "title", "reason"],
        [(i + 1, name, reason) for i, (_, name, _, reason) in enumerate(picks)],
    )
    console.print(
        f"models saved in {workdir}; try: reelkit recommend -m {shlex.quote(str(workdir / 'model.npz'))} "
        f"--member {shlex.quote(str(who))}"
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)

"""The command line end to end: exit codes, JSON shapes, one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from reelkit.testing import synthetic_dataset
from reelkit.testing.cli import run_cli as run


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    ds = synthetic_dataset(seed=3)
    ev = ds.events[["member_id", "title_id", "value", "timestamp"]]
    ev = ev.rename(columns={"member_id": "user", "title_id": "item", "value": "rating"})
    ev.to_csv(folder / "all.csv", index=False)
    rng = pd.Series(range(len(ev))).sample(frac=1.0, random_state=0).to_numpy()
    cut = int(len(ev) * 0.8)
    ev.iloc[rng[:cut]].to_csv(folder / "train.csv", index=False)
    ev.iloc[rng[cut:]].to_csv(folder / "test.csv", index=False)
    return {
        "all": folder / "all.csv",
        "train": folder / "train.csv",
        "test": folder / "test.csv",
        "dir": folder,
    }


def test_help_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    for cmd in (
        [],
        ["train"],
        ["evaluate"],
        ["recommend"],
        ["similar"],
        ["communities"],
        ["models"],
        ["data"],
        ["data", "fetch"],
        ["data", "demo"],
        ["demo"],
    ):
        code, out, _ = run(capsys, *cmd, "--help")
        assert code == 0, cmd
        assert "Usage" in out


def test_the_command_line_loads_no_heavy_library_before_a_command_needs_it() -> None:
    """`reelkit --help` and tab completion import the command tree only: pandas alone (through the data
    readers) took half of its 1-1.4 s."""
    code = (
        "import sys, reelkit.cli; heavy = ('pandas', 'scipy', 'sklearn', 'numba', 'ortools', 'matplotlib'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_models_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "models", "--json")
    assert code == 0
    models = {m["name"]: m for m in json.loads(out)}
    assert {"popular", "trending", "itemknn", "ease", "als", "community-pop", "bmf"} <= set(models)
    assert models["bmf"]["kind"] == "both"
    assert models["ease"]["kind"] == "top-n"
    assert all(isinstance(m["params"], dict) for m in models.values())


def test_evaluate_train_test_json(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, out, err = run(
        capsys,
        "evaluate",
        "--train",
        str(files["train"]),
        "--test",
        str(files["test"]),
        "--model",
        "ease",
        "--param",
        "regularization=50",
        "--json",
    )
    assert code == 0, err
    res = json.loads(out)
    assert res["model"] == "ease"
    assert res["params"]["regularization"] == 50
    assert 0 < res["metrics"]["ndcg@10"] <= 1
    assert 0 < res["metrics"]["recall@20"] <= 1
    assert res["fit_seconds"] >= 0


def test_evaluate_split_rating_model(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, out, err = run(
        capsys,
        "evaluate",
        "--ratings",
        str(files["all"]),
        "--split",
        "random",
        "--test-fraction",
        "0.2",
        "--seed",
        "1",
        "--model",
        "bmf",
        "--param",
        "n_iter=20",
        "--param",
        "burn_in=5",
        "--json",
    )
    assert code == 0, err
    res = json.loads(out)
    assert 0.3 < res["metrics"]["rmse"] < 2.0
    assert res["metrics"]["mae"] <= res["metrics"]["rmse"]


def test_evaluate_passes_seed_last_n_and_min_rating_on(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    """Pins --seed, --last-n and --min-rating: the CLI's result is the library's on the same split."""
    from reelkit.cli.inputs import read_data
    from reelkit.data.confidence import ConfidenceConfig, usual_scale
    from reelkit.evaluate import evaluate, split_last, split_random
    from reelkit.recommend import Popularity

    ds = read_data(None, files["all"])

    def cli(*args: str) -> dict[str, object]:
        code, out, err = run(
            capsys, "evaluate", "--ratings", str(files["all"]), "--model", "popular", *args, "--json"
        )
        assert code == 0, err
        res: dict[str, object] = json.loads(out)
        return res

    def same(got: dict[str, object], want: dict[str, object]) -> None:
        for key in ("n_members", "n_test_pairs"):
            assert got[key] == want[key], key
        assert got["metrics"] == pytest.approx(want["metrics"])

    by_seed = {s: cli("--seed", str(s)) for s in (0, 5)}
    for s, got in by_seed.items():
        same(got, evaluate(Popularity(), *split_random(ds, 0.2, seed=s), seed=s).to_json())
    assert by_seed[0]["metrics"] != by_seed[5]["metrics"]  # the seed changes the split
    same(cli("--split", "last", "--last-n", "2"), evaluate(Popularity(), *split_last(ds, 2)).to_json())
    same(cli("--min-rating", "4"), evaluate(Popularity(), *split_random(ds, 0.2), min_rating=4).to_json())
    dislike = ConfidenceConfig(low_rating="dislike")
    got = cli("--low-ratings", "dislike")
    scale = usual_scale(ds.events.loc[ds.events["kind"] == "rating", "value"])
    same(
        got, evaluate(Popularity(), *split_random(ds, 0.2), confidence=dislike, rating_scale=scale).to_json()
    )
    assert got["n_test_pairs"] != by_seed[0]["n_test_pairs"]  # held-out low ratings are not relevant


def test_evaluate_with_low_ratings_as_dislikes_reads_the_services_scale(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Half-star ratings from 0.5 to 5: the service reads them on 0-5, where 2.5 is not low; evaluate read
    them on their own range (0.5-5), where 2.5 was a dislike, so it judged other pairs relevant than the page
    it claims to match. A held-out 2.5 now counts, a 2.0 does not; 4s and 5s alone read on 0-5 too (a 4 was
    the lowest of a 4-5 scale)."""
    from reelkit.data.confidence import usual_scale

    assert usual_scale([0.5, 2.5, 5.0]) == (0.0, 5.0) and usual_scale([4.0, 5.0]) == (0.0, 5.0)
    assert usual_scale([1.0, 7.0]) == (0.0, 10.0) and usual_scale([0.0, 1.0]) == (0.0, 1.0)
    assert usual_scale([-1.0, 1.0]) == (-1.0, 1.0) and usual_scale([3.0, 12.0]) == (0.0, 12.0)
    assert usual_scale([]) == (0.0, 10.0)
    train = tmp_path / "train.csv"
    test = tmp_path / "test.csv"
    rows = [f"u{u},{t},{r}" for u in range(6) for t, r in (("A", 5.0), ("B", 0.5), ("C", 4.5))]
    train.write_text("user,item,rating\n" + "\n".join(rows) + "\n")
    test.write_text("user,item,rating\nu0,D,2.5\nu1,D,2.0\nu2,E,5\n")
    code, out, err = run(
        capsys, "evaluate", "--train", str(train), "--test", str(test), "--model", "popular",
        "--low-ratings", "dislike", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["n_test_pairs"] == 2  # (u0, D) at 2.5 and (u2, E); not (u1, D) at 2.0


def test_evaluate_refuses_an_unknown_low_ratings_setting(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    code, _, err = run(
        capsys, "evaluate", "--ratings", str(files["all"]), "--model", "popular", "--low-ratings", "hate"
    )
    assert code == 2 and "--low-ratings 'hate'" in err and "Traceback" not in err


def test_evaluate_tune_says_how_many_trials_the_fit_refused(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trial whose fit refuses its parameters is skipped (it ended the search); the table and the JSON say
    how many were and why, not only "N trials"."""
    from reelkit.errors import ConfigError
    from reelkit.recommend import base
    from reelkit.recommend.itemknn import ItemKNN

    class Fussy(ItemKNN):
        name = "test-fussy-knn"

        def _fit(self, data: Any, progress: Any) -> None:
            if self.config.k > 50:
                raise ConfigError(f"k={self.config.k} is too many neighbours for this test")
            super()._fit(data, progress)

    monkeypatch.setitem(base._REGISTRY, Fussy.name, Fussy)
    args = ["evaluate", "--ratings", str(files["all"]), "--model", Fussy.name, "--tune", "--budget", "8"]
    code, out, err = run(capsys, *args, "--param", "k=20", "--json")
    assert code == 0, err  # k fixed at 20: nothing refused
    assert json.loads(out)["tuning"]["skipped"] == 0
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    tuning = json.loads(out)["tuning"]
    assert tuning["skipped"] > 0 and "too many neighbours" in tuning["first_skip_reason"]
    code, out, err = run(capsys, *args)
    assert code == 0 and f"{tuning['skipped']} skipped: k=" in " ".join(out.split())


def test_evaluate_tune(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, out, err = run(
        capsys,
        "evaluate",
        "--ratings",
        str(files["all"]),
        "--model",
        "itemknn",
        "--tune",
        "--budget",
        "3",
        "--json",
    )
    assert code == 0, err
    res = json.loads(out)
    assert res["tuning"]["trials"] == 3
    assert res["tuning"]["metric"] == "ndcg@10"
    assert res["tuning"]["skipped"] == 0 and res["tuning"]["first_skip_reason"] is None
    # bmf rates and ranks ("both"): tuned on ndcg@10 by default, as --help and tune() say; the table shows
    # what was chosen
    args = ["evaluate", "--ratings", str(files["all"]), "--model", "bmf", "--tune", "--budget", "2"]
    code, out, err = run(capsys, *args, "--param", "n_iter=12", "--param", "burn_in=2")
    assert code == 0, err
    assert "tuned on ndcg@10 (2 trials): " in out and "n_iter=12" in out


def test_evaluate_tune_runs_its_trials_on_workers_with_the_same_result(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--tune had no --workers (its trials ran one after another here); on two workers, or on the executor
    $REELKIT_EXECUTOR names, the result is the same; --workers without --tune is refused."""
    from reelkit.testing.executors import MAPS

    base = [
        "evaluate",
        "--ratings",
        str(files["all"]),
        "--model",
        "itemknn",
        "--tune",
        "--budget",
        "4",
        "--json",
    ]

    def result(*extra: str) -> dict[str, object]:
        code, out, err = run(capsys, *base, *extra)
        assert code == 0, err
        doc = json.loads(out)
        doc.pop("fit_seconds", None)
        return doc

    one = result()
    assert result("--workers", "2") == one
    MAPS.clear()
    monkeypatch.setenv("REELKIT_EXECUTOR", "reelkit.testing.executors:recording_executor")
    assert result("--workers", "3") == one
    assert len(MAPS) == 1 and MAPS[0][0] == 3 and MAPS[0][1].startswith("tuning ")
    code, _, err = run(
        capsys, "evaluate", "--ratings", str(files["all"]), "--model", "itemknn", "--workers", "2"
    )
    assert code == 2 and "--workers: only with --tune" in err


def test_evaluate_tune_trains_its_trials_with_the_low_ratings_rule(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    """``--low-ratings dislike`` reaches the tuner: its best score is tune()'s with that rule."""
    from reelkit.data.confidence import ConfidenceConfig, usual_scale
    from reelkit.data.loaders import load_events
    from reelkit.evaluate.tuning import tune
    from reelkit.recommend import ItemKNN

    train = load_events(files["train"])
    # with dislikes the ratings are read on the service's scale, from the ratings of both files
    rated = pd.concat([load_events(files[k]).events for k in ("train", "test")])
    scales = {"positive": None, "dislike": usual_scale(rated.loc[rated["kind"] == "rating", "value"])}
    scores = {
        rule: tune(
            ItemKNN, train, budget=2, confidence=ConfidenceConfig(low_rating=rule), rating_scale=scales[rule]
        ).best_score
        for rule in ("positive", "dislike")
    }
    assert scores["positive"] != scores["dislike"]  # the rule changes what the trials learn from
    base = ["evaluate", "--train", str(files["train"]), "--test", str(files["test"]), "--model", "itemknn"]
    for rule, want in scores.items():
        code, out, err = run(capsys, *base, "--tune", "--budget", "2", "--low-ratings", rule, "--json")
        assert code == 0, err
        assert json.loads(out)["tuning"]["best_score"] == pytest.approx(want, abs=1e-12)


def test_recommend_says_why_a_member_of_the_training_file_is_unknown_and_how_history_is_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """z thumbed its only title down: it has no interactions, so the model leaves it out, and "was not
    trained on them" read wrong for a member of the training file; a --history mixing rated and unrated
    titles says that it takes all rated or none."""
    data = tmp_path / "th.csv"
    rows = [
        ("a", "A", "rating", 5),
        ("a", "B", "rating", 4),
        ("b", "A", "rating", 3),
        ("z", "B", "thumb", -1),
    ]
    data.write_text("member_id,title_id,kind,value\n" + "".join(f"{m},{t},{k},{v}\n" for m, t, k, v in rows))
    model = tmp_path / "m.npz"
    assert run(capsys, "train", "--ratings", str(data), "--model", "popular", "-o", str(model))[0] == 0
    code, _, err = run(capsys, "recommend", "-m", str(model), "--member", "z")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"unknown member id(s) z: {model} has no interactions of theirs (a member whose every title" in err
    code, _, err = run(capsys, "recommend", "-m", str(model), "--history", "A=5,B")
    assert code == 2 and "--history entry 'B': give every title as TITLE=RATING" in err
    assert "(all rated or none)" in err


def test_train_recommend_similar(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    model = files["dir"] / "m.npz"
    code, out, err = run(
        capsys, "train", "--ratings", str(files["all"]), "--model", "itemknn", "-o", str(model), "--json"
    )
    assert code == 0, err
    assert json.loads(out)["path"] == str(model)
    code, out, err = run(
        capsys, "recommend", "-m", str(model), "--member", "m1", "--member", "m2", "-n", "5", "--json"
    )
    assert code == 0, err
    recs = json.loads(out)
    assert [r["member_id"] for r in recs] == ["m1", "m2"]
    rec = recs[0]
    assert len(rec["recommendations"]) == 5
    assert all(r["reason"] for r in rec["recommendations"])
    code, out, err = run(capsys, "similar", "-m", str(model), "--title", "t0", "-n", "3", "--json")
    assert code == 0, err
    assert len(json.loads(out)[0]["similar"]) == 3


def test_communities_json(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, out, err = run(capsys, "communities", "--ratings", str(files["all"]), "--n", "4", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["n_communities"] == 4
    assert sum(c["size"] for c in res["communities"]) == 160
    assert all(c["name"] for c in res["communities"])
    # --top reaches the library: at most 2 distinctive titles and favourites a community
    code, out, err = run(
        capsys, "communities", "--ratings", str(files["all"]), "--n", "4", "--top", "2", "--json"
    )
    assert code == 0, err
    top = json.loads(out)["communities"]
    assert all(len(c["distinctive"]) <= 2 and len(c["favourites"]) <= 2 for c in top)
    assert any(len(c["distinctive"]) == 2 for c in top)


def test_communities_seed_reaches_the_model(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    """``communities --seed N`` gives the communities of ``CommunityPopularity(seed=N)`` on the same file."""
    from reelkit.data.loaders import load_events
    from reelkit.recommend import CommunityPopularity

    inter = load_events(files["all"]).interactions()
    sizes = {
        seed: [c.size for c in CommunityPopularity(n_communities=3, seed=seed).fit(inter).communities()]
        for seed in (0, 1)
    }
    assert sizes[0] != sizes[1]  # the seed matters on this data
    for seed, want in sizes.items():
        args = ["communities", "--ratings", str(files["all"]), "--n", "3", "--seed", str(seed), "--json"]
        code, out, err = run(capsys, *args)
        assert code == 0, err
        assert [c["size"] for c in json.loads(out)["communities"]] == want


def test_communities_with_low_ratings_dislike_are_the_services(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], tmp_path: Path
) -> None:
    """``communities`` counted every rating where the service trains with the home page's formula (a low
    rating is a dislike, on the 0-5 scale): on ml-latest-small 8 communities against the service's 24.
    ``--low-ratings dislike`` makes the service's communities (``reelkit retrain`` on the same file)."""
    from reelkit.data.loaders import load_events
    from reelkit.recommend import load_model
    from reelkit.service.ingest import import_dataset
    from reelkit.service.models import models_dir, train_store
    from reelkit.service.store import open_store

    store = open_store(tmp_path / "data")
    import_dataset(store, load_events(files["all"]))
    store.close()
    rec = train_store(tmp_path / "data", personal="popular")
    service = load_model(models_dir(tmp_path / "data") / rec.version / "communities.npz")
    want = [(c.name, c.size) for c in service.communities()]  # type: ignore[attr-defined]

    def made(*extra: str) -> list[tuple[str, int]]:
        code, out, err = run(capsys, "communities", "--ratings", str(files["all"]), *extra, "--json")
        assert code == 0, err
        return [(c["name"], c["size"]) for c in json.loads(out)["communities"]]

    assert made("--low-ratings", "dislike") == want
    assert made() != want  # every rating an interaction: other communities on this data
    code, _, err = run(capsys, "communities", "--ratings", str(files["all"]), "--low-ratings", "hate")
    assert code == 2 and "--low-ratings 'hate': use positive or dislike" in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["train", "--model", "nope", "--ratings", "x.csv"], "unknown model 'nope'"),
        (
            ["evaluate", "--model", "ease", "--param", "regularization=-1", "--ratings", "x.csv"],
            "regularization",
        ),
        (["evaluate", "--model", "ease", "--param", "bogus", "--ratings", "x.csv"], "key=value"),
        (["evaluate", "--model", "ease", "--ratings", "/no/such/file.csv"], "/no/such/file.csv"),
        (["recommend", "-m", "/no/such/model.npz", "--member", "1"], "no such model file"),
        (["evaluate", "--model", "ease"], "--train"),
        # a cutoff of 0 was said as "ks must be ... got (0,)" after reading and splitting the data
        (["evaluate", "--model", "ease", "--ratings", "x.csv", "--k", "0"], "Invalid value for '--k'"),
        (["no-such-command"], "No such command"),
    ],
)
def test_user_errors_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], needle: str) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert needle in err + out
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["cache", "simulate", "--policy", "lru"], "reelkit cache simulate: Missing option '--trace'."),
        (["cache", "simulate", "--bogus"], "reelkit cache simulate: No such option: --bogus"),
        (["nosuchcmd"], "reelkit: No such command 'nosuchcmd'."),
        (["abr", "simulate", "--chunks", "abc"], "reelkit abr simulate: Invalid value for '--chunks'"),
        (["video", "quality", "a.mp4"], "reelkit video quality: Missing argument 'distorted'."),
    ],
)
def test_usage_errors_are_one_line_naming_the_command(
    capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    """The parser's own errors were click's block of four lines (usage, 'Try ...', blank, 'Error: ...')."""
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith(f"error: {said}") and line.endswith(f"(see {said.split(':')[0]} --help)")


def test_help_exits_0_and_a_bare_group_shows_its_help_with_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cache", "--help")
    assert code == 0 and out.startswith("Usage: reelkit cache")
    code, out, err = run(capsys, "cache")
    assert code == 2 and "Usage: reelkit cache" in out + err and "simulate" in out + err


def test_malformed_file_names_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item,rating,timestamp\n1,10,4,100\n2,11,five,200\n")
    code, _, err = run(capsys, "evaluate", "--ratings", str(bad), "--model", "popular")
    assert code == 2
    assert "bad.csv" in err and ":3" in err
    assert "Traceback" not in err


def test_unknown_member_exit_2(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    model = files["dir"] / "p.npz"
    assert (
        run(capsys, "train", "--ratings", str(files["all"]), "--model", "popular", "-o", str(model))[0] == 0
    )
    code, _, err = run(capsys, "recommend", "-m", str(model), "--member", "ghost")
    assert code == 2
    assert "ghost" in err


def test_recommend_for_a_new_member_from_history(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    model = files["dir"] / "knn.npz"
    args = ["train", "--ratings", str(files["all"]), "--model", "itemknn", "-o", str(model)]
    assert run(capsys, *args)[0] == 0
    args = ["recommend", "-m", str(model), "--history", "t0,t1", "-n", "5", "--json"]
    code, out, err = run(capsys, *args)
    assert code == 0, err
    (block,) = json.loads(out)
    assert block["member_id"] == "new member"
    got = [r["title_id"] for r in block["recommendations"]]
    assert len(got) == 5 and not {"t0", "t1"} & set(got)
    # the reasons come from the given history, not from some trained member's
    assert all(
        r["reason"] in ("top pick for you", "because you watched Title t0", "because you watched Title t1")
        for r in block["recommendations"]
    )
    assert any(r["reason"].startswith("because you watched") for r in block["recommendations"])
    code, out, err = run(capsys, "recommend", "-m", str(model), "--history", "t0=5,t1=1", "--json")
    assert code == 0, err
    for args, needle in [
        (["--member", "ghost"], "--history"),
        (["--history", "nope1,nope2"], "unknown title id(s) 'nope1', 'nope2'"),
        (["--history", "t0,nope"], "unknown title id(s) 'nope':"),
        (["--history", "t0=five"], "'t0=five'"),
        (["--history", "t0=5,t1"], "'t1'"),
        ([], "either --member"),
        (["--member", "m1", "--history", "t0"], "either --member"),
    ]:
        code, out, err = run(capsys, "recommend", "-m", str(model), *args)
        assert code == 2, args
        assert needle in err and "Traceback" not in err
        assert "recommend_history" not in err
    # a rating model reads a rating as it is (50 of 1-5 stars predicted 33): one off its scale is refused;
    # item-kNN clips a rating into a weight and takes it
    assert run(capsys, "recommend", "-m", str(model), "--history", "t0=50", "--json")[0] == 0
    bmf = files["dir"] / "bmf.npz"
    args = ["train", "--ratings", str(files["all"]), "--model", "bmf", "--param", "n_iter=20", "-o", str(bmf)]
    assert run(capsys, *args)[0] == 0
    for history, needle in (
        ("t0=5,t1=50", "--history entry 't1=50': "),
        ("t0=-40", "trained on ratings 1-5; give ratings on that scale"),
    ):
        code, out, err = run(capsys, "recommend", "-m", str(bmf), "--history", history)
        assert code == 2 and needle in err and "Traceback" not in err, err
    assert run(capsys, "recommend", "-m", str(bmf), "--history", "t0=5,t1=1", "--json")[0] == 0


def test_recommend_ranks_include_seen_and_train_min_rating(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Pins on a hand-counted popularity model: ranks count from 1, --include-seen lets a member's seen
    titles back in, and train --min-rating drops the lower ratings from the model."""
    p = tmp_path / "r.csv"
    p.write_text("user,item,rating\nu1,a,5\nu1,b,1\nu2,a,4\nu2,c,5\nu3,a,5\nu3,c,4\nu3,d,2\n")
    model = tmp_path / "pop.npz"
    assert run(capsys, "train", "--ratings", str(p), "--model", "popular", "-o", str(model))[0] == 0

    def recs(*args: str) -> list[tuple[int, str]]:
        code, out, err = run(capsys, "recommend", "-m", *args, "--member", "u1", "--json")
        assert code == 0, err
        return [(r["rank"], r["title_id"]) for r in json.loads(out)[0]["recommendations"]]

    # watched by a 3, c 2, d 1, b 1; u1 has seen a and b
    assert recs(str(model), "-n", "2") == [(1, "c"), (2, "d")]
    assert recs(str(model), "-n", "2", "--include-seen") == [(1, "a"), (2, "c")]
    # the same for a new member given by history; --no-explain leaves the reasons out
    args = ["recommend", "-m", str(model), "--history", "a,b", "-n", "2", "--no-explain", "--json"]
    code, out, err = run(capsys, *args, "--include-seen")
    assert code == 0, err
    got = json.loads(out)[0]["recommendations"]
    assert [r["title_id"] for r in got] == ["a", "c"] and not any("reason" in r for r in got)
    code, out, err = run(capsys, *args[:-1])  # the table's heading read "member new member"
    assert code == 0 and "new member (history: a, b)" in out and "member new member" not in out, out
    # ratings >= 3 only: u1-b (1) and u3-d (2) are dropped, so the model knows a and c from 5 interactions
    model3 = tmp_path / "pop3.npz"
    args = ["train", "--ratings", str(p), "--model", "popular", "--min-rating", "3", "-o", str(model3)]
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    assert (json.loads(out)["titles"], json.loads(out)["interactions"]) == (2, 5)


def test_info_density_counts_pairs_once(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "rep.csv"
    p.write_text("user,item,timestamp\n1,a,100\n1,a,200\n1,a,300\n2,b,100\n")
    code, out, err = run(capsys, "data", "info", str(p), "--json")
    assert code == 0, err
    assert json.loads(out)["density"] == pytest.approx(2 / 4)  # pairs (1, a), (2, b) of 2 x 2


def test_info_kinds_lists_only_kinds_present(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Pins data info's kinds: a ratings-only file of 3 rows is {"rating": 3}, no kinds counted 0."""
    p = tmp_path / "r.csv"
    p.write_text("user,item,rating,timestamp\n1,a,4,100\n1,b,3,200\n2,a,5,300\n")
    code, out, err = run(capsys, "data", "info", str(p), "--json")
    assert code == 0, err
    assert json.loads(out)["kinds"] == {"rating": 3}


def test_data_demo_seed_reaches_the_generator(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Pins data demo --seed: the written events are make_demo's for that seed (seed 0's differ)."""
    from reelkit.data.dataset import Dataset
    from reelkit.data.demo import make_demo

    args = ("--members", "20", "--titles", "15", "--seed", "7", "--json")
    code, _, err = run(capsys, "data", "demo", "-o", str(tmp_path / "d7"), *args)
    assert code == 0, err
    got = Dataset.load(tmp_path / "d7").events.reset_index(drop=True)
    want = make_demo(n_members=20, n_titles=15, seed=7).events.reset_index(drop=True)
    seed0 = make_demo(n_members=20, n_titles=15, seed=0).events.reset_index(drop=True)
    cols = ["member_id", "title_id", "timestamp"]
    assert got[cols].equals(want[cols]) and not (len(seed0) == len(want) and seed0[cols].equals(want[cols]))


def test_an_os_error_naming_a_file_exits_2_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Pins main's OSError mapping: one naming a file (a user's path) is exit 2, 'error: FILE: reason'."""
    import errno

    import reelkit.cli.inputs

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "x.csv"))

    monkeypatch.setattr(reelkit.cli.inputs, "read_data", refuse)
    code, _, err = run(capsys, "data", "info", str(tmp_path / "x.csv"))
    assert code == 2 and err.strip() == f"error: {tmp_path / 'x.csv'}: Permission denied"


def test_out_of_memory_exits_2_in_one_line_naming_the_command_and_the_array(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, files: dict[str, Path]
) -> None:
    """A MemoryError (numpy's, for an array it could not allocate) was a traceback and exit 1; it is one
    line naming the command, the array's size and shape and what to reduce, exit 2."""
    import numpy as np
    from numpy._core._exceptions import _ArrayMemoryError

    from reelkit.recommend import CommunityPopularity

    def too_big(*args: object, **kwargs: object) -> None:
        raise _ArrayMemoryError((48704, 20000), np.dtype(np.float64))

    monkeypatch.setattr(CommunityPopularity, "fit", too_big)
    code, out, err = run(capsys, "communities", "--ratings", str(files["all"]), "--json")
    assert code == 2 and out == ""
    assert err.strip() == (
        "error: out of memory (needed 7.26 GiB for a 48704 x 20000 array) while running reelkit communities; "
        "use a smaller input (fewer members or titles) or a machine with more memory"
    )
    from reelkit.cli.common import out_of_memory_message

    for shape, said in (((1_000_000, 200_000), "1.46 TiB"), ((300_000, 60_000), "134 GiB")):
        text = out_of_memory_message(_ArrayMemoryError(shape, np.dtype(np.float64)), "reelkit train")
        assert f"(needed {said} for a " in text  # it read 1.49e+03 GiB

    def bare(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr("reelkit.cli.inputs.read_data", bare)
    code, _, err = run(capsys, "data", "info", str(files["all"]))
    assert code == 2 and err.strip() == (
        "error: out of memory while running reelkit data info; use a smaller input (fewer members or "
        "titles) or a machine with more memory"
    )


def test_info_counts_titles_with_events_apart_from_the_catalog(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Pins data info's titles_with_events and time span: a 40-title catalog whose events name 5 titles
    says 5 and 40, and the first and last event times are those of the events."""
    from reelkit.data.demo import make_demo

    ds = make_demo(n_members=60, n_titles=40, seed=0)
    five = sorted(ds.titles.index)[:5]
    ev = ds.events[ds.events["title_id"].isin(five)]
    ds.with_events(ev).save(tmp_path / "part")
    code, out, err = run(capsys, "data", "info", str(tmp_path / "part"), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert (info["titles_with_events"], info["catalog_titles"]) == (5, 40)
    assert info["catalog"] == str(tmp_path / "part" / "titles.parquet")
    span = (int(ev["timestamp"].min()), int(ev["timestamp"].max()))
    assert span[0] < span[1] and (info["first_timestamp"], info["last_timestamp"]) == span


def test_header_option(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = tmp_path / "h.csv"
    p.write_text("viewer,show\nalice,s1\nbob,s2\n")
    for flag, events in (("--header", 2), ("--no-header", 3)):
        code, out, err = run(capsys, "data", "info", str(p), "--columns", "user,item", flag, "--json")
        assert code == 0, err
        assert json.loads(out)["events"] == events, flag


def test_column_names_are_read_without_the_spaces_around_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Pins --columns parsing: 'user, item' names the columns user and item (3 events); ',,' is refused."""
    from reelkit.cli.inputs import parse_columns

    assert parse_columns(" user , item,rating ") == ["user", "item", "rating"]
    p = tmp_path / "h.csv"
    p.write_text("alice,s1\nbob,s2\ncarol,s1\n")
    code, out, err = run(capsys, "data", "info", str(p), "--columns", "user, item", "--no-header", "--json")
    assert code == 0, err
    assert json.loads(out)["events"] == 3
    code, _, err = run(capsys, "data", "info", str(p), "--columns", "user,,item", "--json")
    assert code == 2 and "--columns" in err


def test_param_values_are_json_literals_or_text() -> None:
    """Pins parse_params: numbers, booleans and null are JSON literals; other values stay text; the key is
    stripped and the value is everything after the first '='."""
    from reelkit.cli.common import parse_params

    got = parse_params(
        ["l2=500", " factors =64", "alpha=0.5", "aging=true", "x=null", "weighting=binary", "f=a=b"]
    )
    assert got == {
        "l2": 500,
        "factors": 64,
        "alpha": 0.5,
        "aging": True,
        "x": None,
        "weighting": "binary",
        "f": "a=b",
    }


def test_a_param_nested_too_deeply_for_json_is_text() -> None:
    """Pins parse_params on 100000 '[': the text, not a RecursionError traceback from the JSON reader."""
    from reelkit.cli.common import parse_params

    assert parse_params(["x=" + "[" * 100_000]) == {"x": "[" * 100_000}


def test_json_output_is_strict_json_with_nan_and_inf_as_null(capsys: pytest.CaptureFixture[str]) -> None:
    """Pins emit_json: NaN and infinities (numpy's too) are null, numpy numbers plain, so strict parsers read
    it (json.dumps alone writes NaN, which is not JSON)."""
    import numpy as np

    from reelkit.cli.common import emit_json

    emit_json({"a": float("nan"), "b": np.float32("inf"), "c": [np.int64(3), np.bool_(True)], 4: (1.5,)})

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    assert json.loads(capsys.readouterr().out, parse_constant=refuse) == {
        "a": None,
        "b": None,
        "c": [3, True],
        "4": [1.5],
    }


def test_json_keeps_numpy_integers_whole_and_takes_them_as_keys(capsys: pytest.CaptureFixture[str]) -> None:
    """Pins the text: a numpy integer is 3, not 3.0 (json.loads reads both as equal), and a numpy integer
    key is a string key (json.dumps refuses an int64 key)."""
    import numpy as np

    from reelkit.cli.common import emit_json

    emit_json({np.int64(2): np.int64(3)})
    assert capsys.readouterr().out == '{\n  "2": 3\n}\n'


def test_tables_show_four_significant_digits(capsys: pytest.CaptureFixture[str]) -> None:
    """Pins print_table's number format: 0.123456 reads 0.1235, 1234567.0 reads 1,234,567 (money, bytes and
    counts read as 1.235e+06 lost their digits), 1e20 1e+20, text as given."""
    from reelkit.cli.common import print_table

    print_table("scores", ["metric", "a", "b", "c", "d"], [["ndcg", 0.123456, 1234567.0, 9999.5, 1e20]])
    row = next(line for line in capsys.readouterr().out.splitlines() if "ndcg" in line)
    assert row.replace("│", " ").split() == ["ndcg", "0.1235", "1,234,567", "1e+04", "1e+20"]
    import numpy as np

    print_table("scores", ["metric", "a"], [["map", np.float32(0.123456789)]])  # printed 0.12345679
    row = next(line for line in capsys.readouterr().out.splitlines() if "map" in line)
    assert row.replace("│", " ").split() == ["map", "0.1235"]


@pytest.mark.slow
def test_a_zero_columns_setting_still_prints_piped_tables() -> None:
    """Pins the piped width: COLUMNS=0 is no width (it printed nothing); the 200-column default applies."""
    import os
    import subprocess
    import sys

    code = "from reelkit.cli.common import print_table; print_table('t', ['title'], [['x' * 150]])"
    env = {**os.environ, "COLUMNS": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert "x" * 150 in out.stdout


def test_communities_from_a_model_refuses_options_it_would_ignore(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    model = files["dir"] / "cp.npz"
    args = ["train", "--ratings", str(files["all"]), "--model", "community-pop", "-o", str(model)]
    assert run(capsys, *args, "--param", "n_communities=4")[0] == 0
    code, out, err = run(capsys, "communities", "-m", str(model), "--json")
    assert code == 0 and json.loads(out)["n_communities"] == 4, err
    for extra in (
        ["--n", "3"],
        ["--ratings", str(files["all"])],
        ["--seed", "5"],
        ["--low-ratings", "dislike"],
    ):
        code, _, err = run(capsys, "communities", "-m", str(model), *extra)
        assert code == 2 and f"{extra[0]} would be ignored with --model-file" in err


def test_communities_more_than_members_refused(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    code, _, err = run(capsys, "communities", "--ratings", str(files["all"]), "--n", "161")
    assert code == 2
    assert "only 160 members" in err


def test_data_demo_and_info(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(
        capsys, "data", "demo", "--out", str(tmp_path / "d"), "--members", "100", "--titles", "60", "--json"
    )
    assert code == 0, err
    made = json.loads(out)
    code, out, err = run(capsys, "data", "info", str(tmp_path / "d"), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["events"] == made["events"]
    assert set(info["kinds"]) <= {"rating", "thumb", "play"}


def test_damaged_models_bad_outputs_and_infinite_ratings_exit_2(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], tmp_path: Path
) -> None:
    """Review cases: a truncated or empty model file gave a traceback or "Aborted!"; -o naming a folder
    wrote a file beside it after the whole fit; an 'inf' rating trained a model whose recommendations were
    all empty; --top -1 listed every title."""
    model = tmp_path / "m.npz"
    assert (
        run(capsys, "train", "--ratings", str(files["all"]), "--model", "popular", "-o", str(model))[0] == 0
    )
    data = model.read_bytes()
    (tmp_path / "trunc.npz").write_bytes(data[:500])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    (tmp_path / "flip.npz").write_bytes(bytes(flipped))
    (tmp_path / "empty.npz").write_bytes(b"")
    for name in ("trunc.npz", "flip.npz", "empty.npz"):
        code, _, err = run(capsys, "recommend", "-m", str(tmp_path / name), "--member", "m1")
        assert code == 2 and "truncated or corrupt" in err and "Traceback" not in err, (name, err)
    folder = tmp_path / "models"
    folder.mkdir()
    code, _, err = run(
        capsys, "train", "--ratings", str(files["all"]), "--model", "popular", "-o", str(folder)
    )
    assert code == 2 and "is a folder" in err and not (tmp_path / "models.npz").exists(), err
    bad = tmp_path / "inf.csv"
    bad.write_text("user,item,rating,timestamp\n1,10,4,100\n2,11,inf,200\n")
    code, _, err = run(capsys, "train", "--ratings", str(bad), "--model", "popular", "-o", str(model))
    assert code == 2 and "inf.csv:3" in err and "not a finite number" in err, err
    code, _, err = run(capsys, "communities", "--ratings", str(files["all"]), "--n", "4", "--top", "-1")
    assert code == 2 and "--top" in err, err


def test_train_checks_its_output_before_reading_the_data(
    capsys: pytest.CaptureFixture[str],
    files: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """-o /proc/x.npz fitted for the whole run (25 s on ml-latest-small) and only then failed: as root,
    os.access allows a folder that takes no file. A folder where no file can be made is refused first."""
    import tempfile

    blocked = tmp_path / "blocked"
    blocked.mkdir()
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args: Any, dir: Any = None, **kwargs: Any) -> tuple[int, str]:
        if dir is not None and Path(dir) == blocked:  # as /proc takes no file, even from root
            raise FileNotFoundError(2, "No such file or directory")
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr("reelkit.cli.recommend.read_data", lambda *a, **k: pytest.fail("data read first"))
    outs = [(blocked / "m.npz", f"cannot write in {blocked} (No such file or directory)")]
    if Path("/proc/self").is_dir():
        outs.append((Path("/proc/x.npz"), "cannot write in /proc"))
    for out, needle in outs:
        code, _, err = run(
            capsys, "train", "--ratings", str(files["all"]), "--model", "popular", "-o", str(out)
        )
        assert code == 2 and f"{out}: {needle}" in err and "Traceback" not in err, err
    assert list(blocked.iterdir()) == []


def test_evaluate_refuses_options_it_would_ignore(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    base = ["evaluate", "--model", "popular", "--ratings", str(files["all"])]
    for extra, named in (
        (["--budget", "5"], "--budget: only with --tune"),
        (["--tune-metric", "rmse"], "--tune-metric: only with --tune"),
        (["--split", "last", "--test-fraction", "0.3"], "--test-fraction: only with --split random"),
        (["--cut", "0.5"], "--cut: only with --split time"),
        (["--last-n", "2"], "--last-n: only with --split last"),
    ):
        code, _, err = run(capsys, *base, *extra)
        assert code == 2 and named in err, (extra, err)
    code, _, err = run(
        capsys,
        "evaluate",
        "--model",
        "popular",
        "--train",
        str(files["all"]),
        "--test",
        str(files["all"]),
        "--split",
        "time",
    )
    assert code == 2 and "--split: only with --ratings" in err
    # the default given again is still the default: accepted
    code, _, err = run(capsys, *base, "--split", "random", "--test-fraction", "0.2", "--json")
    assert code == 0, err


def test_train_for_a_service_refuses_the_file_options_it_ignores(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = ["train", "--data-dir", str(tmp_path / "svc"), "--model", "popular", "--min-rating", "4.5"]
    code, _, err = run(capsys, *args, "-o", str(tmp_path / "ignored.npz"))
    assert code == 2 and "--out, --min-rating: only with --ratings/--data" in err
    assert not (tmp_path / "svc").exists() and not (tmp_path / "ignored.npz").exists()


def test_ratings_takes_a_dataset_folder_as_evaluate_and_import_do(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "demo"
    assert run(capsys, "data", "demo", "--out", str(folder), "--members", "60", "--titles", "40")[0] == 0
    code, _, err = run(
        capsys, "train", "--ratings", str(folder), "--model", "popular", "-o", str(tmp_path / "m.npz")
    )
    assert code == 0, err  # was: "is a folder; give ... the folder as --data"
    code, out, err = run(capsys, "communities", "--ratings", str(folder), "--n", "2", "--json")
    assert code == 0, err
    # --communities as forecast names it
    code, again, err = run(capsys, "communities", "--ratings", str(folder), "--communities", "2", "--json")
    assert code == 0 and again == out, err
    # a folder is read by its own layout: file options with it are refused, not ignored
    args = ["train", "--ratings", str(folder), "--columns", "item,user", "--model", "popular"]
    code, _, err = run(capsys, *args, "-o", str(tmp_path / "m2.npz"))
    assert code == 2 and "is a dataset folder" in err and not (tmp_path / "m2.npz").exists()


def test_demo_checks_the_member_first_and_a_new_seed_makes_a_new_catalog(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from reelkit.data.dataset import Dataset

    work = tmp_path / "demo"
    # an unknown member stops the demo once the catalog is there, before ~10 s of evaluation and training
    code, _, err = run(capsys, "demo", "--workdir", str(work), "--member", "nope")
    assert code == 2 and "--member 'nope': no such member" in err
    first = Dataset.load(work / "data").events
    code, out, _ = run(capsys, "demo", "--workdir", str(work), "--member", "nope", "--seed", "1")
    assert code == 2 and "reusing" not in out  # --seed 1 was ignored: the seed-0 catalog was reused
    assert (work / "demo-seed").read_text() == "1" and not Dataset.load(work / "data").events.equals(first)
    code, out, _ = run(capsys, "demo", "--workdir", str(work), "--member", "nope", "--seed", "1")
    assert code == 2 and "reusing the demo dataset" in out


@pytest.mark.slow
def test_demo_json_reports_the_evaluation_communities_and_picks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """demo printed tables only, though it reports results (the issue: --json on every such command); its
    document holds the evaluation best first, the saved model that best one names, and the picks."""
    from reelkit.recommend.base import load_model

    code, out, err = run(capsys, "demo", "--workdir", str(tmp_path / "demo"), "--json")
    assert code == 0, err
    doc = json.loads(out)  # nothing but the document on stdout
    assert doc["catalog"]["members"] == 2000 and doc["catalog"]["titles"] == 1000
    ndcg = [r["metrics"]["ndcg@10"] for r in doc["evaluation"]]
    assert (
        len(ndcg) == 8 and ndcg == sorted(ndcg, reverse=True) and doc["best"] == doc["evaluation"][0]["model"]
    )
    assert {r["model"] for r in doc["evaluation"]} >= {"popular", "ease", "session-ease", "als"}
    model = load_model(doc["model"])
    assert model.name == doc["best"] and doc["member_id"] == str(model.member_ids_[0])
    recs = doc["recommendations"]
    assert len(recs) == 10 and all(r["reason"] and r["title"] for r in recs)
    assert [r["title_id"] for r in recs] == [t for t, _ in model.recommend([doc["member_id"]], 10).items(0)]
    assert doc["communities"] and all(c["size"] > 0 and c["distinctive"] for c in doc["communities"])


def test_progress_bars_write_nothing_to_a_stderr_that_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """rich wrote a blank line when a bar stopped, before every error line of a piped command."""
    from reelkit.cli.common import progress_for

    with progress_for() as progress, progress.task("work", total=2) as task:
        task.advance()
    assert capsys.readouterr() == ("", "")


def test_info_and_convert_say_which_catalogue_was_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A movies.csv left beside another data set's events file named its titles, and nothing said so (a
    u.data extract read 'Jumanji' for ML-100K's item 2, GoldenEye)."""
    (tmp_path / "mydata.tsv").write_text("1\t2\t5\t881250949\n2\t2\t3\t881250950\n")
    (tmp_path / "movies.csv").write_text("movieId,title,genres\n2,Jumanji (1995),Adventure\n")
    code, out, err = run(capsys, "data", "info", str(tmp_path / "mydata.tsv"), "--json")
    assert code == 0, err
    assert json.loads(out)["catalog"] == str(tmp_path / "movies.csv")
    code, out, err = run(capsys, "data", "convert", str(tmp_path / "mydata.tsv"), "-o", str(tmp_path / "c"))
    assert code == 0, err
    assert f"(titles from {tmp_path / 'movies.csv'})" in " ".join((out + err).split())
    (tmp_path / "movies.csv").unlink()
    code, out, err = run(capsys, "data", "info", str(tmp_path / "mydata.tsv"), "--json")
    assert code == 0 and json.loads(out)["catalog"] == "none (placeholder titles)"


def test_titles_names_the_catalogue_instead_of_the_one_beside(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--titles reads another catalogue than the movies.csv beside the events (a u.data extract named by
    ml-latest-small's titles), for data, train, evaluate and the rest; a dataset folder has its own."""
    (tmp_path / "mydata.tsv").write_text("1\t2\t5\t881250949\n2\t2\t3\t881250950\n1\t3\t4\t881250951\n")
    (tmp_path / "movies.csv").write_text(
        "movieId,title,genres\n2,Jumanji (1995),Adventure\n3,X (1995),Drama\n"
    )
    own = tmp_path / "u.item.csv"
    own.write_text("movieId,title,genres\n2,GoldenEye (1995),Action\n3,Four Rooms (1995),Thriller\n")
    code, out, err = run(capsys, "data", "info", str(tmp_path / "mydata.tsv"), "--titles", str(own), "--json")
    assert code == 0, err
    assert json.loads(out)["catalog"] == str(own)
    code, _, err = run(
        capsys,
        "data",
        "convert",
        str(tmp_path / "mydata.tsv"),
        "--titles",
        str(own),
        "-o",
        str(tmp_path / "c"),
    )
    assert code == 0, err
    assert pd.read_parquet(tmp_path / "c" / "titles.parquet").loc["2", "name"] == "GoldenEye"
    code, _, err = run(capsys, "data", "info", str(tmp_path / "c"), "--titles", str(own))
    assert code == 2 and "is a dataset folder, with its own titles" in err
    model = str(tmp_path / "m.npz")
    args = [
        "--ratings",
        str(tmp_path / "mydata.tsv"),
        "--titles",
        str(own),
        "--model",
        "popular",
        "-o",
        model,
    ]
    code, _, err = run(capsys, "train", *args, "--json")
    assert code == 0, err
    code, out, err = run(capsys, "recommend", "-m", model, "--member", "2", "--json")
    assert code == 0, err
    assert "Four Rooms" in out and "X (1995)" not in out and '"X"' not in out


def test_a_ctrl_c_inside_a_library_says_aborted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while numba loaded a cached function came back as a SystemError (exit 1, a traceback)."""
    import reelkit.cli.inputs as inputs

    def interrupted(*args: object, **kwargs: object) -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise SystemError(
                "CPUDispatcher(<function _dp>) returned a result with an exception set"
            ) from None

    monkeypatch.setattr(inputs, "read_data", interrupted)
    (tmp_path / "r.csv").write_text("user,item,rating\n1,2,3\n")
    code, _, err = run(capsys, "data", "info", str(tmp_path / "r.csv"))
    assert code == 130 and err.strip() == "aborted" and "Traceback" not in err


@pytest.mark.parametrize("delay_s", [0.02, 0.1, 0.2])
def test_a_ctrl_c_while_the_command_line_loads_says_aborted(tmp_path: Path, delay_s: float) -> None:
    """A real SIGINT in the first half second (the commands' modules loading, before ``main`` could catch
    it) printed a traceback of the imports. The script's entry point, run as the installed script runs it."""
    code = (
        "import os, signal, sys\n"
        "signal.signal(signal.SIGALRM, lambda *a: os.kill(os.getpid(), signal.SIGINT))\n"
        f"signal.setitimer(signal.ITIMER_REAL, {delay_s})\n"
        "from reelkit._entry import main\n"
        "sys.argv = ['reelkit', 'models', '--data-dir', sys.argv[1]]\n"
        "sys.exit(main())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "none")], capture_output=True, text=True
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    # at 20 ms the commands are still loading (half a second); later ones may find the command done (exit 2:
    # no store there)
    if delay_s == 0.02 or proc.returncode != 2:
        assert (proc.returncode, proc.stderr) == (130, "aborted\n")


def test_the_script_and_python_m_run_the_entry_point_that_catches_an_early_ctrl_c() -> None:
    import tomllib

    meta = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert meta["project"]["scripts"]["reelkit"] == "reelkit._entry:main"
    assert (
        "from reelkit._entry import main"
        in (Path(__file__).parents[2] / "src/reelkit/__main__.py").read_text()
    )


def test_one_tool_review(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A review of the command line as one tool: `loudness` without a file printed its help on stdout (no
    JSON there with --json); communities took --n but not -n, and --n 0 was named as n_communities; a
    negative seed of cache synth and cache trace passed the parser; a bad cache --param showed a
    recommender's example; abr's model file was --model (recommend's is --model-file)."""
    code, out, err = run(capsys, "loudness", "--json")
    assert code == 2 and out == "" and "Usage" in err
    ratings = tmp_path / "r.csv"
    rows = "".join(f"{u},{i},4\n" for u in range(6) for i in range(5))
    ratings.write_text("user,item,rating\n" + rows)
    code, _, err = run(capsys, "communities", "--ratings", str(ratings), "-n", "0", "--json")
    assert code == 2 and "'-n' / '--n' / '--communities'" in err, err
    code, _, err = run(capsys, "cache", "synth", "-o", str(tmp_path / "t.csv"), "--seed", "-1")
    assert code == 2 and "Invalid value for '--seed'" in err
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,object_id,size_bytes\n1,a,10\n")
    args = ("--trace", str(trace), "--policy", "lfu", "--capacity", "5", "--param", "aging")
    code, _, err = run(capsys, "cache", "simulate", *args)
    assert code == 2 and "e.g. --param aging=true" in err
    code, out, _ = run(capsys, "abr", "simulate", "--help")
    assert re.search(r"-m, --model-file, --model\b", out), out  # ("-m" alone is in "--model")

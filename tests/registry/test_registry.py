"""The registry on SQLite and PostgreSQL: versions, aliases, history, rollback, concurrency."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import shipyard as sy
from shipyard.errors import Conflict, InvalidInput, NotFound


@pytest.fixture
def three_versions(sy_home: Path):  # type: ignore[no-untyped-def]
    X, y = load_iris(return_X_y=True, as_frame=True)
    infos = []
    for c in (0.1, 1.0, 10.0):
        with sy.start_run("m"):
            infos.append(
                sy.models.log(
                    LogisticRegression(C=c, max_iter=500).fit(X, y), input_example=X.head()
                )
            )
    return [
        sy.registry.register(i, "iris", description=f"C={c}")
        for i, c in zip(infos, (0.1, 1.0, 10.0), strict=True)
    ], X


def test_versions_are_numbered_and_immutable(three_versions) -> None:  # type: ignore[no-untyped-def]
    versions, _ = three_versions
    again = sy.registry.register(
        sy.get_run(versions[0].run_id), "iris-copy"
    )  # a run registers its model
    assert again.source == versions[0].source
    assert [v.uri for v in versions] == ["models:/iris/1", "models:/iris/2", "models:/iris/3"]
    assert sy.registry.get_version("iris", 2).description == "C=1.0"
    assert sy.registry.get_version("iris", "latest").version == 3
    assert [m.name for m in sy.registry.search_models("ir%")] == ["iris", "iris-copy"]
    with pytest.raises(NotFound, match="has no version 9"):
        sy.registry.get_version("iris", 9)
    with pytest.raises(NotFound, match="Model 'ghost' is not registered"):
        sy.registry.list_versions("ghost")


def test_aliases_move_with_history_and_roll_back(three_versions) -> None:  # type: ignore[no-untyped-def]
    versions, _ = three_versions
    sy.registry.set_alias("iris", "champion", 1, reason="first")
    sy.registry.set_alias("iris", "champion", 3, reason="better")
    champion = sy.models.load("models:/iris@champion")
    assert champion.manifest["run_id"] == versions[2].run_id
    event = sy.registry.rollback("iris", "champion", reason="latency regression")
    assert (event.from_version, event.to_version, event.reason) == (3, 1, "latency regression")
    assert sy.registry.get_model("iris").aliases == {"champion": 1}
    history = sy.registry.alias_history("iris", "champion")
    assert [(e.from_version, e.to_version) for e in history] == [(None, 1), (1, 3), (3, 1)]
    assert all(e.user for e in history)
    sy.registry.delete_alias("iris", "champion", reason="retired")
    assert sy.registry.get_model("iris").aliases == {}
    with pytest.raises(InvalidInput, match="no alias 'champion' to roll back"):
        sy.registry.rollback("iris", "champion")
    sy.registry.set_alias("iris", "challenger", 2)
    with pytest.raises(Conflict, match="no earlier version"):
        sy.registry.rollback("iris", "challenger")


@pytest.mark.parametrize("alias", ["Champion", "has space", "-dash", "x" * 64, "latest", ""])
def test_alias_names_are_checked(three_versions, alias: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="Alias"):
        sy.registry.set_alias("iris", alias, 1)


def test_unknown_versions_and_aliases(three_versions) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound, match="Version 9 does not exist"):
        sy.registry.set_alias("iris", "champion", 9)
    with pytest.raises(NotFound, match="has no alias 'canary'"):
        sy.models.load("models:/iris@canary")
    with pytest.raises(InvalidInput, match="logged in a run"):
        sy.registry.register("models:/iris/1", "copy")


def test_a_package_replaced_after_registration_is_refused(three_versions) -> None:  # type: ignore[no-untyped-def]
    versions, X = three_versions
    run_id = versions[0].run_id
    # log a different model over the registered path
    with sy.start_run(run_id=run_id):
        sy.models.log(LogisticRegression(C=99, max_iter=500).fit(X, [0, 1] * 75))
    with pytest.raises(InvalidInput, match="not the one that was registered"):
        sy.models.load("models:/iris/1")


def test_two_processes_moving_an_alias_keep_the_history_consistent(
    three_versions, store_uri: str
) -> None:  # type: ignore[no-untyped-def]
    home = sy.client().settings.home
    code = textwrap.dedent(
        """
        import sys
        import shipyard as sy
        from shipyard.errors import Conflict
        print("ready", flush=True)
        sys.stdin.readline()
        moved = 0
        for i in range(40):
            target = 1 + (i + int(sys.argv[1])) % 3
            try:
                current = sy.registry.get_model("iris").aliases.get("champion")
                model = sy.client().store.registry.get_model(sy.client().project_id, "iris")
                sy.client().store.registry.move_alias(model.id, "champion", target, expected=current, reason=f"p{sys.argv[1]}")
                moved += 1
            except Conflict:
                pass
        print(moved, flush=True)
        """
    )
    env = {
        **os.environ,
        "SHIPYARD_HOME": str(home),
        "SHIPYARD_STORE_URI": store_uri,
        "SHIPYARD_ARTIFACT_URI": str(sy.client().settings.artifact_uri),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in (0, 1)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
    for p in procs:
        p.stdin.write("go\n")  # type: ignore[union-attr]
        p.stdin.flush()  # type: ignore[union-attr]
    moved = sum(int(p.communicate(timeout=120)[0].strip().splitlines()[-1]) for p in procs)
    assert all(p.returncode == 0 for p in procs)
    history = sy.registry.alias_history("iris", "champion")
    assert len(history) == moved  # every successful move, and only those, is recorded
    for before, after in itertools.pairwise(history):
        assert after.from_version == before.to_version  # no lost update
    assert sy.registry.get_model("iris").aliases["champion"] == history[-1].to_version

"""Dataset versions as a user logs and reads them, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import shipyard as sy
from shipyard.errors import InvalidInput, NotFound


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": np.arange(1000),
            "age": rng.integers(18, 90, 1000),
            "plan": rng.choice(["basic", "pro", None], 1000),
            "score": rng.random(1000),
        }
    )


def test_the_same_content_is_one_version_whatever_its_form(
    sy_home: Path, frame, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    v1 = sy.data.log_dataset("customers", frame)
    assert (v1.version, v1.num_rows, v1.columns) == (1, 1000, ["id", "age", "plan", "score"])
    assert sy.data.log_dataset("customers", frame).id == v1.id
    assert sy.data.log_dataset("customers", pl.from_pandas(frame)).id == v1.id
    assert (
        sy.data.log_dataset("customers", pa.Table.from_pandas(frame, preserve_index=False)).id
        == v1.id
    )
    frame.to_parquet(tmp_path / "c.parquet")
    assert sy.data.log_dataset("customers", tmp_path / "c.parquet").id == v1.id
    # chunked differently: still the same content
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False),
        tmp_path / "small_groups.parquet",
        row_group_size=37,
    )
    assert sy.data.log_dataset("customers", tmp_path / "small_groups.parquet").id == v1.id
    # a reordered column set or a changed value is a new version
    v2 = sy.data.log_dataset("customers", frame[["age", "id", "plan", "score"]])
    changed = frame.copy()
    changed.loc[500, "score"] = 0.5
    v3 = sy.data.log_dataset("customers", changed)
    assert (v2.version, v3.version) == (2, 3)
    assert len({v1.digest, v2.digest, v3.digest}) == 3


def test_get_by_number_latest_and_digest_and_read_lazily(sy_home: Path, frame) -> None:  # type: ignore[no-untyped-def]
    v1 = sy.data.log_dataset("c", frame)
    v2 = sy.data.log_dataset("c", frame.head(10))
    assert sy.data.get("c").id == v2.id
    assert sy.data.get("c", 1).id == v1.id
    assert sy.data.get("c", v1.digest[:10]).id == v1.id
    assert sy.data.get("c", "2").uri == "datasets:/c/2"
    only = sy.data.get("c", 1).to_pandas(columns=["age"])
    assert list(only.columns) == ["age"]
    assert only["age"].tolist() == frame["age"].tolist()
    assert sy.data.get("c", 1).to_polars(columns=["id"]).shape == (1000, 1)
    assert sum(b.num_rows for b in sy.data.get("c", 1).iter_batches(batch_size=300)) == 1000
    with pytest.raises(InvalidInput, match=r"no column\(s\) \['nope'\]"):
        v1.to_arrow(["nope"])
    with pytest.raises(NotFound, match="has no version 7"):
        sy.data.get("c", 7)
    with pytest.raises(NotFound, match="Dataset 'ghost' does not exist"):
        sy.data.get("ghost")
    with pytest.raises(InvalidInput, match="a number, 'latest' or a digest"):
        sy.data.get("c", "xyz")


def test_lineage_between_versions_and_runs(sy_home: Path, frame) -> None:  # type: ignore[no-untyped-def]
    with sy.start_run("prep") as prep:
        raw = sy.data.log_dataset("raw", frame)
    assert raw.info.run_id == prep.id
    child = sy.data.log_dataset("clean", frame.dropna(), parents=[raw])
    assert [p.id for p in child.parents()] == [raw.id]
    with sy.start_run("train") as train:
        train.use_dataset(child)
        train.use_dataset(child)  # recording twice is one input
    assert [v.id for v in sy.client().run_inputs(train.id)] == [child.id]
    assert child.consumers() == [train.id]
    with sy.start_run("train") as other, pytest.raises(InvalidInput, match="use_dataset takes"):
        other.use_dataset("raw")


def test_profile_is_stored_with_the_version(sy_home: Path, frame) -> None:  # type: ignore[no-untyped-def]
    handle = sy.data.log_dataset("p", frame)
    assert handle.info.profile_digest is not None
    prof = sy.data.get("p").profile()
    assert prof.num_rows == 1000
    assert prof.columns["plan"].nulls == int(frame["plan"].isna().sum())


def test_bad_input_is_refused_and_nothing_is_stored(sy_home: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="has no rows"):
        sy.data.log_dataset("bad", pd.DataFrame({"a": pd.Series([], dtype="int64")}))
    mixed = pd.DataFrame({"ok": [1, 2, 3], "mixed": [1, "two", 3.0]})
    with pytest.raises(
        InvalidInput,
        match=r"Column .mixed. mixes types \(float, int, str\), e\.g\. a int at the start and a str at row 1",
    ):
        sy.data.log_dataset("bad", mixed)
    broken = tmp_path / "broken.csv"
    broken.write_text("a,b\n1,2\n3,4,5\n6,7\n")
    with pytest.raises(
        InvalidInput,
        match=r"broken\.csv has a broken line at line 3: .*Expected 2 columns, got 3: 3,4,5",
    ):
        sy.data.log_dataset("bad", broken)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,city\nJosé,Zürich\n".encode("latin-1"))
    with pytest.raises(
        InvalidInput,
        match=r"latin\.csv is not valid utf8 text: column\(s\) \['name', 'city'\].*encoding='latin-1'",
    ):
        sy.data.log_dataset("bad", latin)
    assert (
        sy.data.log_dataset("latin", latin, encoding="latin-1").to_pandas()["city"][0] == "Zürich"
    )
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InvalidInput, match=r"name it \.csv, \.tsv or \.parquet"):
        sy.data.log_dataset("bad", tmp_path / "notes.txt")
    with pytest.raises(NotFound, match="no such file"):
        sy.data.log_dataset("bad", tmp_path / "missing.csv")
    with pytest.raises(InvalidInput, match="Cannot read a dict"):
        sy.data.log_dataset("bad", {"a": [1]})
    folder = tmp_path / "parts"
    folder.mkdir()
    pd.DataFrame({"a": [1], "b": [2]}).to_csv(folder / "1.csv", index=False)
    pd.DataFrame({"a": [1], "c": [2]}).to_csv(folder / "2.csv", index=False)
    with pytest.raises(InvalidInput, match=r"2\.csv has the columns \['a', 'c'\]"):
        sy.data.log_dataset("bad", folder)
    # none of the failures left a version behind
    assert [d.name for d, _ in sy.data.list_datasets()] == ["latin"]


def test_a_version_in_an_unknown_format_is_refused(sqlite_home: Path, frame) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from shipyard.data.versions import DatasetHandle

    handle = sy.data.log_dataset("c", frame)
    future = dataclasses.replace(handle.info, format_version=99)
    with pytest.raises(InvalidInput, match=r"stored in data format 99 .* Upgrade Shipyard"):
        DatasetHandle(sy.client(), future)


def test_a_folder_of_files_is_one_version(sy_home: Path, tmp_path: Path, frame) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "parts"
    folder.mkdir()
    frame.iloc[:400].to_parquet(folder / "part-0.parquet")
    frame.iloc[400:].to_parquet(folder / "part-1.parquet")
    handle = sy.data.log_dataset("parts", folder, progress=True)
    assert handle.num_rows == 1000
    assert handle.digest == sy.data.log_dataset("whole", frame).digest

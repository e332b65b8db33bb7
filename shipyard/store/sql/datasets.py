"""Datasets, versions, lineage, declared schemas and validation reports."""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from shipyard.errors import InvalidInput, NotFound
from shipyard.store.base import DatasetStore, NewDatasetVersion
from shipyard.store.entities import (
    ColumnType,
    Dataset,
    DatasetVersion,
    SchemaRecord,
    ValidationRecord,
)
from shipyard.store.ids import new_id, now_ms
from shipyard.store.sql.database import Database
from shipyard.store.sql.params import require_run
from shipyard.store.sql.schema import (
    dataset_schemas,
    dataset_version_parents,
    dataset_versions,
    datasets,
    run_inputs,
    validation_reports,
)
from shipyard.store.validation import check_name


def _dataset(row: Row) -> Dataset:
    return Dataset(row.id, row.project_id, row.name, row.description, row.created_ms)


_VERSION_COLUMNS = [*dataset_versions.c, datasets.c.name.label("dataset_name")]
_VERSIONS = sa.select(*_VERSION_COLUMNS).join(
    datasets, datasets.c.id == dataset_versions.c.dataset_id
)


def _versions(conn: Connection, rows: Sequence[Row]) -> list[DatasetVersion]:
    ids = [r.id for r in rows]
    parents: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        query = sa.select(dataset_version_parents).where(
            dataset_version_parents.c.version_id.in_(ids)
        )
        for version_id, parent_id in conn.execute(query).all():
            parents[version_id].append(parent_id)
    return [
        DatasetVersion(
            id=r.id,
            dataset_id=r.dataset_id,
            dataset_name=r.dataset_name,
            version=r.version,
            digest=r.digest,
            blob_digest=r.blob_digest,
            num_rows=r.num_rows,
            num_columns=r.num_columns,
            size_bytes=r.size_bytes,
            columns=tuple(ColumnType(**c) for c in json.loads(r.arrow_schema)),
            source=r.source,
            creator=r.creator,
            run_id=r.run_id,
            recipe=json.loads(r.recipe) if r.recipe else None,
            profile_digest=r.profile_digest,
            format_version=r.format_version,
            shipyard_version=r.shipyard_version,
            created_ms=r.created_ms,
            parents=tuple(sorted(parents[r.id])),
        )
        for r in rows
    ]


class SqlDatasets(DatasetStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- datasets -----------------------------------------------------------------------

    def get_or_create(self, project_id: str, name: str) -> Dataset:
        check_name(name, "dataset")
        query = sa.select(datasets).where(
            datasets.c.project_id == project_id, datasets.c.name == name
        )
        with self.db.read() as conn:
            row = conn.execute(query).first()
        if row is not None:
            return _dataset(row)
        with self.db.write() as conn:
            conn.execute(
                self.db.insert(datasets)
                .values(
                    id=new_id(),
                    project_id=project_id,
                    name=name,
                    description="",
                    created_ms=now_ms(),
                )
                .on_conflict_do_nothing()
            )
            return _dataset(conn.execute(query).one())

    def get(self, project_id: str, name: str) -> Dataset:
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(datasets).where(
                    datasets.c.project_id == project_id, datasets.c.name == name
                )
            ).first()
        if row is None:
            raise NotFound(
                f"Dataset {name!r} does not exist. List datasets with: shipyard data list"
            )
        return _dataset(row)

    def list(self, project_id: str) -> list[Dataset]:
        query = (
            sa.select(datasets).where(datasets.c.project_id == project_id).order_by(datasets.c.name)
        )
        with self.db.read() as conn:
            return [_dataset(r) for r in conn.execute(query)]

    # -- versions -----------------------------------------------------------------------

    def add_version(self, new: NewDatasetVersion) -> tuple[DatasetVersion, bool]:
        with self.db.write() as conn:
            # serialise numbering per dataset (SQLite's write lock already does)
            conn.execute(
                sa.select(datasets.c.id).where(datasets.c.id == new.dataset_id).with_for_update()
            )
            same = conn.execute(
                _VERSIONS.where(
                    dataset_versions.c.dataset_id == new.dataset_id,
                    dataset_versions.c.digest == new.digest,
                )
            ).first()
            if same is not None:
                return _versions(conn, [same])[0], False
            if new.run_id is not None:
                require_run(conn, new.run_id)
            last = conn.execute(
                sa.select(sa.func.max(dataset_versions.c.version)).where(
                    dataset_versions.c.dataset_id == new.dataset_id
                )
            ).scalar()
            conn.execute(
                dataset_versions.insert(),
                {
                    "id": new.id,
                    "dataset_id": new.dataset_id,
                    "version": (last or 0) + 1,
                    "digest": new.digest,
                    "blob_digest": new.blob_digest,
                    "num_rows": new.num_rows,
                    "num_columns": new.num_columns,
                    "size_bytes": new.size_bytes,
                    "arrow_schema": json.dumps(
                        [
                            {"name": c.name, "type": c.type, "nullable": c.nullable}
                            for c in new.columns
                        ]
                    ),
                    "source": new.source,
                    "creator": new.creator,
                    "run_id": new.run_id,
                    "recipe": json.dumps(new.recipe) if new.recipe is not None else None,
                    "profile_digest": None,
                    "format_version": new.format_version,
                    "shipyard_version": new.shipyard_version,
                    "created_ms": new.created_ms,
                },
            )
            if new.parents:
                conn.execute(
                    dataset_version_parents.insert(),
                    [{"version_id": new.id, "parent_id": p} for p in dict.fromkeys(new.parents)],
                )
            row = conn.execute(_VERSIONS.where(dataset_versions.c.id == new.id)).one()
            return _versions(conn, [row])[0], True

    def get_version(self, dataset_id: str, version: int | str) -> DatasetVersion:
        where = [dataset_versions.c.dataset_id == dataset_id]
        query = _VERSIONS
        if version == "latest":
            query = query.order_by(dataset_versions.c.version.desc()).limit(1)
        elif isinstance(version, int) and not isinstance(version, bool):
            where.append(dataset_versions.c.version == version)
        elif isinstance(version, str) and version.isdigit():
            where.append(dataset_versions.c.version == int(version))
        elif (
            isinstance(version, str)
            and len(version) >= 8
            and all(c in "0123456789abcdef" for c in version)
        ):
            where.append(dataset_versions.c.digest.startswith(version))
        else:
            raise InvalidInput(
                f"A dataset version is a number, 'latest' or a digest of at least 8 hex "
                f"digits; got {version!r}."
            )
        with self.db.read() as conn:
            rows = conn.execute(query.where(*where)).all()
            if len(rows) > 1:
                raise InvalidInput(
                    f"The digest prefix {version!r} matches several versions; give more digits."
                )
            if not rows:
                name = conn.execute(
                    sa.select(datasets.c.name).where(datasets.c.id == dataset_id)
                ).scalar()
                raise NotFound(
                    f"Dataset {name!r} has no version {version!r}. "
                    f"List its versions with: shipyard data versions {name}"
                )
            return _versions(conn, rows)[0]

    def get_version_by_id(self, version_id: str) -> DatasetVersion:
        with self.db.read() as conn:
            rows = conn.execute(_VERSIONS.where(dataset_versions.c.id == version_id)).all()
            if not rows:
                raise NotFound(f"Dataset version id {version_id!r} does not exist.")
            return _versions(conn, rows)[0]

    def list_versions(self, dataset_id: str) -> list[DatasetVersion]:
        query = _VERSIONS.where(dataset_versions.c.dataset_id == dataset_id).order_by(
            dataset_versions.c.version
        )
        with self.db.read() as conn:
            return _versions(conn, conn.execute(query).all())

    def set_profile(self, version_id: str, profile_digest: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                sa.update(dataset_versions)
                .where(dataset_versions.c.id == version_id)
                .values(profile_digest=profile_digest)
            )

    # -- lineage ------------------------------------------------------------------------

    def add_run_input(self, run_id: str, version_id: str) -> None:
        with self.db.write() as conn:
            require_run(conn, run_id)
            conn.execute(
                self.db.insert(run_inputs)
                .values(run_id=run_id, version_id=version_id, created_ms=now_ms())
                .on_conflict_do_nothing()
            )

    def run_inputs(self, run_id: str) -> list[DatasetVersion]:
        query = (
            _VERSIONS.join(run_inputs, run_inputs.c.version_id == dataset_versions.c.id)
            .where(run_inputs.c.run_id == run_id)
            .order_by(run_inputs.c.created_ms)
        )
        with self.db.read() as conn:
            return _versions(conn, conn.execute(query).all())

    def consumers(self, version_id: str) -> list[str]:
        query = (
            sa.select(run_inputs.c.run_id)
            .where(run_inputs.c.version_id == version_id)
            .order_by(run_inputs.c.created_ms)
        )
        with self.db.read() as conn:
            return list(conn.execute(query).scalars())

    # -- schemas and validation ---------------------------------------------------------

    def add_schema(self, dataset_id: str, body: str, digest: str) -> SchemaRecord:
        with self.db.write() as conn:
            conn.execute(
                sa.select(datasets.c.id).where(datasets.c.id == dataset_id).with_for_update()
            )
            row = conn.execute(
                sa.select(dataset_schemas).where(
                    dataset_schemas.c.dataset_id == dataset_id, dataset_schemas.c.digest == digest
                )
            ).first()
            if row is None:
                last = conn.execute(
                    sa.select(sa.func.max(dataset_schemas.c.version)).where(
                        dataset_schemas.c.dataset_id == dataset_id
                    )
                ).scalar()
                values = {
                    "id": new_id(),
                    "dataset_id": dataset_id,
                    "version": (last or 0) + 1,
                    "digest": digest,
                    "body": body,
                    "created_ms": now_ms(),
                }
                conn.execute(dataset_schemas.insert(), values)
                return SchemaRecord(**values)
        return SchemaRecord(
            row.id, row.dataset_id, row.version, row.digest, row.body, row.created_ms
        )

    def get_schema(self, dataset_id: str, version: int | str = "latest") -> SchemaRecord:
        query = sa.select(dataset_schemas).where(dataset_schemas.c.dataset_id == dataset_id)
        if version == "latest":
            query = query.order_by(dataset_schemas.c.version.desc()).limit(1)
        else:
            query = query.where(dataset_schemas.c.version == int(version))
        with self.db.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(
                f"No schema version {version!r} is stored for this dataset. "
                "Store one with: shipyard data validate <dataset> --schema schema.yaml --save"
            )
        return SchemaRecord(
            row.id, row.dataset_id, row.version, row.digest, row.body, row.created_ms
        )

    def add_validation(self, record: ValidationRecord) -> None:
        with self.db.write() as conn:
            conn.execute(
                validation_reports.insert(),
                {
                    "id": record.id,
                    "version_id": record.version_id,
                    "schema_id": record.schema_id,
                    "passed": record.passed,
                    "errors": record.errors,
                    "warnings": record.warnings,
                    "body": record.body,
                    "created_ms": record.created_ms,
                },
            )

    def validations(self, version_id: str) -> list[ValidationRecord]:
        query = (
            sa.select(validation_reports)
            .where(validation_reports.c.version_id == version_id)
            .order_by(validation_reports.c.created_ms.desc(), validation_reports.c.id.desc())
        )
        with self.db.read() as conn:
            return [
                ValidationRecord(
                    r.id,
                    r.version_id,
                    r.schema_id,
                    r.passed,
                    r.errors,
                    r.warnings,
                    r.body,
                    r.created_ms,
                )
                for r in conn.execute(query)
            ]

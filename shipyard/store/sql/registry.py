"""The model registry: models, versions, aliases and their history, gate results, evaluations."""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from shipyard.errors import Conflict, NotFound
from shipyard.store.base import ANY_HOLDER, NewModelVersion, RegistryStore
from shipyard.store.entities import (
    AliasEvent,
    EvaluationRecord,
    GateResultRecord,
    ModelVersion,
    RegisteredModel,
)
from shipyard.store.ids import new_id, now_ms
from shipyard.store.sql.database import Database
from shipyard.store.sql.schema import (
    alias_events,
    evaluations,
    gate_results,
    model_aliases,
    model_versions,
    registered_models,
)
from shipyard.store.validation import check_name

_VERSIONS = sa.select(*model_versions.c, registered_models.c.name.label("model_name")).join(
    registered_models, registered_models.c.id == model_versions.c.model_id
)


def _aliases(conn: Connection, model_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {i: {} for i in model_ids}
    if model_ids:
        query = sa.select(
            model_aliases.c.model_id, model_aliases.c.alias, model_aliases.c.version
        ).where(model_aliases.c.model_id.in_(list(model_ids)))
        for model_id, alias, version in conn.execute(query):
            out[model_id][alias] = version
    return out


def _model(row: Row, aliases: dict[str, int]) -> RegisteredModel:
    return RegisteredModel(
        row.id,
        row.project_id,
        row.name,
        row.description,
        row.created_ms,
        row.updated_ms,
        aliases,
        row.gates,
    )


def _versions(conn: Connection, rows: Sequence[Row]) -> list[ModelVersion]:
    aliases = _aliases(conn, sorted({r.model_id for r in rows}))
    return [
        ModelVersion(
            id=r.id,
            model_id=r.model_id,
            model_name=r.model_name,
            version=r.version,
            source=r.source,
            run_id=r.run_id,
            manifest_digest=r.manifest_digest,
            flavor=r.flavor,
            description=r.description,
            tags=json.loads(r.tags),
            status=r.status,
            creator=r.creator,
            created_ms=r.created_ms,
            aliases=tuple(sorted(a for a, v in aliases[r.model_id].items() if v == r.version)),
        )
        for r in rows
    ]


def _event(row: Row) -> AliasEvent:
    return AliasEvent(
        row.id,
        row.model_id,
        row.alias,
        row.from_version,
        row.to_version,
        row.user,
        row.reason,
        row.forced,
        row.created_ms,
    )


class SqlRegistry(RegistryStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def get_or_create_model(self, project_id: str, name: str) -> RegisteredModel:
        check_name(name, "model")
        query = sa.select(registered_models).where(
            registered_models.c.project_id == project_id, registered_models.c.name == name
        )
        with self.db.write() as conn:
            if conn.execute(query).first() is None:
                now = now_ms()
                conn.execute(
                    self.db.insert(registered_models)
                    .values(
                        id=new_id(),
                        project_id=project_id,
                        name=name,
                        description="",
                        created_ms=now,
                        updated_ms=now,
                    )
                    .on_conflict_do_nothing()
                )
            row = conn.execute(query).one()
            return _model(row, _aliases(conn, [row.id])[row.id])

    def get_model(self, project_id: str, name: str) -> RegisteredModel:
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(registered_models).where(
                    registered_models.c.project_id == project_id, registered_models.c.name == name
                )
            ).first()
            if row is None:
                raise NotFound(
                    f"Model {name!r} is not registered. List models with: shipyard models list"
                )
            return _model(row, _aliases(conn, [row.id])[row.id])

    def list_models(self, project_id: str, name_like: str | None = None) -> list[RegisteredModel]:
        query = sa.select(registered_models).where(registered_models.c.project_id == project_id)
        if name_like:
            query = query.where(registered_models.c.name.like(name_like))
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(registered_models.c.name)).all()
            aliases = _aliases(conn, [r.id for r in rows])
            return [_model(r, aliases[r.id]) for r in rows]

    def set_gates(self, model_id: str, gates: str | None) -> None:
        with self.db.write() as conn:
            conn.execute(
                sa.update(registered_models)
                .where(registered_models.c.id == model_id)
                .values(gates=gates, updated_ms=now_ms())
            )

    def add_version(self, model_id: str, new: NewModelVersion) -> ModelVersion:
        with self.db.write() as conn:
            conn.execute(
                sa.select(registered_models.c.id)
                .where(registered_models.c.id == model_id)
                .with_for_update()
            )
            last = conn.execute(
                sa.select(sa.func.max(model_versions.c.version)).where(
                    model_versions.c.model_id == model_id
                )
            ).scalar()
            version_id, now = new_id(), now_ms()
            conn.execute(
                model_versions.insert(),
                {
                    "id": version_id,
                    "model_id": model_id,
                    "version": (last or 0) + 1,
                    "source": new.source,
                    "run_id": new.run_id,
                    "manifest_digest": new.manifest_digest,
                    "flavor": new.flavor,
                    "description": new.description,
                    "tags": json.dumps(dict(new.tags)),
                    "status": "ready",
                    "creator": new.creator,
                    "created_ms": now,
                },
            )
            conn.execute(
                sa.update(registered_models)
                .where(registered_models.c.id == model_id)
                .values(updated_ms=now)
            )
            return _versions(
                conn, conn.execute(_VERSIONS.where(model_versions.c.id == version_id)).all()
            )[0]

    def get_version(self, model_id: str, version: int) -> ModelVersion:
        with self.db.read() as conn:
            rows = conn.execute(
                _VERSIONS.where(
                    model_versions.c.model_id == model_id, model_versions.c.version == version
                )
            ).all()
            if not rows:
                name = conn.execute(
                    sa.select(registered_models.c.name).where(registered_models.c.id == model_id)
                ).scalar()
                raise NotFound(
                    f"Model {name!r} has no version {version}. List them with: shipyard models versions {name}"
                )
            return _versions(conn, rows)[0]

    def list_versions(self, model_id: str) -> list[ModelVersion]:
        with self.db.read() as conn:
            rows = conn.execute(
                _VERSIONS.where(model_versions.c.model_id == model_id).order_by(
                    model_versions.c.version
                )
            ).all()
            return _versions(conn, rows)

    def move_alias(
        self,
        model_id: str,
        alias: str,
        to_version: int | None,
        *,
        expected: object = ANY_HOLDER,
        user: str = "",
        reason: str = "",
        forced: bool = False,
    ) -> AliasEvent:
        with self.db.write() as conn:
            # one mover at a time per model; SQLite's write lock already serialises writers
            conn.execute(
                sa.select(registered_models.c.id)
                .where(registered_models.c.id == model_id)
                .with_for_update()
            )
            where = (model_aliases.c.model_id == model_id, model_aliases.c.alias == alias)
            current = conn.execute(sa.select(model_aliases.c.version).where(*where)).scalar()
            if expected is not ANY_HOLDER and current != expected:
                raise Conflict(
                    f"Alias {alias!r} moved while this change was prepared: it points at version "
                    f"{current} now, not {expected}. Look again and retry.",
                    alias=alias,
                    current=current,
                    expected=expected,
                )
            if to_version is not None:
                exists = conn.execute(
                    sa.select(model_versions.c.id).where(
                        model_versions.c.model_id == model_id,
                        model_versions.c.version == to_version,
                    )
                ).first()
                if exists is None:
                    raise NotFound(
                        f"Version {to_version} does not exist, so alias {alias!r} cannot point at it."
                    )
            now = now_ms()
            if to_version is None:
                if current is None:
                    raise NotFound(f"The model has no alias {alias!r}.")
                conn.execute(sa.delete(model_aliases).where(*where))
            elif current is None:
                conn.execute(
                    model_aliases.insert(),
                    {
                        "model_id": model_id,
                        "alias": alias,
                        "version": to_version,
                        "updated_ms": now,
                    },
                )
            else:
                conn.execute(
                    sa.update(model_aliases)
                    .where(*where)
                    .values(version=to_version, updated_ms=now)
                )
            event = {
                "id": new_id(),
                "model_id": model_id,
                "alias": alias,
                "from_version": current,
                "to_version": to_version,
                "user": user,
                "reason": reason,
                "forced": forced,
                "created_ms": now,
            }
            conn.execute(alias_events.insert(), event)
            conn.execute(
                sa.update(registered_models)
                .where(registered_models.c.id == model_id)
                .values(updated_ms=now)
            )
        return AliasEvent(**event)  # type: ignore[arg-type]

    def alias_history(self, model_id: str, alias: str | None = None) -> list[AliasEvent]:
        query = sa.select(alias_events).where(alias_events.c.model_id == model_id)
        if alias is not None:
            query = query.where(alias_events.c.alias == alias)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(alias_events.c.created_ms, alias_events.c.id)).all()
        return [_event(r) for r in rows]

    def add_gate_results(self, records: Sequence[GateResultRecord]) -> None:
        if not records:
            return
        with self.db.write() as conn:
            conn.execute(
                gate_results.insert(),
                [
                    {
                        "id": r.id,
                        "version_id": r.version_id,
                        "promotion_id": r.promotion_id,
                        "alias": r.alias,
                        "gate": r.gate,
                        "passed": r.passed,
                        "measured": json.dumps(r.measured, default=str),
                        "bound": r.bound,
                        "detail": r.detail,
                        "created_ms": r.created_ms,
                    }
                    for r in records
                ],
            )

    def gate_results(self, version_id: str) -> list[GateResultRecord]:
        query = (
            sa.select(gate_results)
            .where(gate_results.c.version_id == version_id)
            .order_by(gate_results.c.created_ms, gate_results.c.id)
        )
        with self.db.read() as conn:
            return [
                GateResultRecord(
                    r.id,
                    r.version_id,
                    r.promotion_id,
                    r.alias,
                    r.gate,
                    r.passed,
                    json.loads(r.measured) if r.measured else None,
                    r.bound,
                    r.detail,
                    r.created_ms,
                )
                for r in conn.execute(query)
            ]

    def add_evaluation(self, record: EvaluationRecord) -> None:
        with self.db.write() as conn:
            conn.execute(evaluations.insert(), record.__dict__)

    def evaluations(self, version_id: str) -> list[EvaluationRecord]:
        query = (
            sa.select(evaluations)
            .where(evaluations.c.version_id == version_id)
            .order_by(evaluations.c.created_ms.desc(), evaluations.c.id.desc())
        )
        with self.db.read() as conn:
            return [
                EvaluationRecord(
                    r.id, r.version_id, r.dataset_version_id, r.task, r.body, r.created_ms
                )
                for r in conn.execute(query)
            ]

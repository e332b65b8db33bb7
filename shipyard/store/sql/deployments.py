"""Deployments: a served model's traffic spec at a revision, and every change of it."""

from __future__ import annotations

import json
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Row

from shipyard.errors import Conflict, NotFound
from shipyard.store.base import DeploymentStore
from shipyard.store.entities import Deployment, DeploymentEvent
from shipyard.store.ids import new_id, now_ms
from shipyard.store.sql.database import Database
from shipyard.store.sql.schema import deployment_events, deployments, registered_models
from shipyard.store.validation import check_name

_DEPLOYMENTS = sa.select(*deployments.c, registered_models.c.name.label("model_name")).join(
    registered_models, registered_models.c.id == deployments.c.model_id
)


def _deployment(row: Row) -> Deployment:
    return Deployment(
        row.id,
        row.project_id,
        row.name,
        row.model_id,
        row.model_name,
        json.loads(row.spec),
        row.revision,
        row.created_ms,
        row.updated_ms,
    )


class SqlDeployments(DeploymentStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, project_id: str, name: str) -> Deployment:
        with self.db.read() as conn:
            row = conn.execute(
                _DEPLOYMENTS.where(
                    deployments.c.project_id == project_id, deployments.c.name == name
                )
            ).first()
        if row is None:
            raise NotFound(
                f"There is no deployment {name!r}. List them with: shipyard deploy list",
                deployment=name,
            )
        return _deployment(row)

    def list(self, project_id: str) -> list[Deployment]:
        with self.db.read() as conn:
            rows = conn.execute(
                _DEPLOYMENTS.where(deployments.c.project_id == project_id).order_by(
                    deployments.c.name
                )
            ).all()
        return [_deployment(r) for r in rows]

    def save(
        self,
        project_id: str,
        name: str,
        model_id: str,
        spec: Mapping[str, object],
        *,
        action: str,
        expected_revision: int,
        user: str = "",
        reason: str = "",
    ) -> Deployment:
        check_name(name, "deployment")
        body = json.dumps(dict(spec), sort_keys=True)
        now = now_ms()
        where = (deployments.c.project_id == project_id, deployments.c.name == name)
        with self.db.write() as conn:
            current = conn.execute(
                sa.select(deployments.c.id, deployments.c.revision).where(*where).with_for_update()
            ).first()
            revision = current.revision if current is not None else 0
            if revision != expected_revision:
                raise Conflict(
                    f"Deployment {name!r} changed while this change was prepared: it is at "
                    f"revision {revision} now, not {expected_revision}. Look again and retry.",
                    deployment=name,
                    revision=revision,
                    expected=expected_revision,
                )
            if current is None:
                deployment_id = new_id()
                conn.execute(
                    deployments.insert(),
                    {
                        "id": deployment_id,
                        "project_id": project_id,
                        "name": name,
                        "model_id": model_id,
                        "spec": body,
                        "revision": 1,
                        "created_ms": now,
                        "updated_ms": now,
                    },
                )
            else:
                deployment_id = current.id
                conn.execute(
                    sa.update(deployments)
                    .where(deployments.c.id == deployment_id)
                    .values(model_id=model_id, spec=body, revision=revision + 1, updated_ms=now)
                )
            conn.execute(
                deployment_events.insert(),
                {
                    "id": new_id(),
                    "deployment_id": deployment_id,
                    "revision": revision + 1,
                    "action": action,
                    "spec": body,
                    "user": user,
                    "reason": reason,
                    "created_ms": now,
                },
            )
            row = conn.execute(_DEPLOYMENTS.where(deployments.c.id == deployment_id)).one()
        return _deployment(row)

    def history(self, deployment_id: str) -> list[DeploymentEvent]:
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(deployment_events)
                .where(deployment_events.c.deployment_id == deployment_id)
                .order_by(deployment_events.c.revision)
            ).all()
        return [
            DeploymentEvent(
                r.id,
                r.deployment_id,
                r.revision,
                r.action,
                json.loads(r.spec),
                r.user,
                r.reason,
                r.created_ms,
            )
            for r in rows
        ]

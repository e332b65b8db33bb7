"""Projects and experiments."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Row

from shipyard.errors import NotFound
from shipyard.store.base import ExperimentStore, ProjectStore
from shipyard.store.entities import Experiment, Lifecycle, Project
from shipyard.store.ids import new_id, now_ms
from shipyard.store.sql.database import Database
from shipyard.store.sql.schema import experiments, projects, runs
from shipyard.store.validation import check_name


def _project(row: Row) -> Project:
    return Project(row.id, row.name, row.description, row.created_ms)


def _experiment(row: Row) -> Experiment:
    return Experiment(
        row.id, row.project_id, row.name, row.description, Lifecycle(row.lifecycle), row.created_ms
    )


class SqlProjects(ProjectStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def get_or_create(self, name: str) -> Project:
        check_name(name, "project")
        query = sa.select(projects).where(projects.c.name == name)
        with self.db.read() as conn:
            row = conn.execute(query).first()
        if row is not None:
            return _project(row)
        with self.db.write() as conn:
            conn.execute(
                self.db.insert(projects)
                .values(id=new_id(), name=name, description="", created_ms=now_ms())
                .on_conflict_do_nothing()
            )
            return _project(conn.execute(query).one())

    def get(self, name: str) -> Project:
        with self.db.read() as conn:
            row = conn.execute(sa.select(projects).where(projects.c.name == name)).first()
        if row is None:
            raise NotFound(
                f"Project {name!r} does not exist. Check the project name (SHIPYARD_PROJECT); "
                "a project is created when its first run starts."
            )
        return _project(row)

    def list(self) -> list[Project]:
        with self.db.read() as conn:
            return [
                _project(r) for r in conn.execute(sa.select(projects).order_by(projects.c.name))
            ]


class SqlExperiments(ExperimentStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def get_or_create(self, project_id: str, name: str) -> Experiment:
        check_name(name, "experiment")
        query = sa.select(experiments).where(
            experiments.c.project_id == project_id, experiments.c.name == name
        )
        with self.db.read() as conn:
            row = conn.execute(query).first()
        if row is not None:
            return _experiment(row)
        with self.db.write() as conn:
            conn.execute(
                self.db.insert(experiments)
                .values(
                    id=new_id(),
                    project_id=project_id,
                    name=name,
                    description="",
                    lifecycle=Lifecycle.ACTIVE.value,
                    created_ms=now_ms(),
                )
                .on_conflict_do_nothing()
            )
            return _experiment(conn.execute(query).one())

    def get(self, experiment_id: str) -> Experiment:
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(experiments).where(experiments.c.id == experiment_id)
            ).first()
        if row is None:
            raise NotFound(
                f"Experiment id {experiment_id!r} does not exist. "
                "List experiments with: shipyard experiments list"
            )
        return _experiment(row)

    def get_by_name(self, project_id: str, name: str) -> Experiment:
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(experiments).where(
                    experiments.c.project_id == project_id, experiments.c.name == name
                )
            ).first()
        if row is None:
            raise NotFound(
                f"Experiment {name!r} does not exist. "
                "List experiments with: shipyard experiments list"
            )
        return _experiment(row)

    def list(self, project_id: str | None = None) -> list[Experiment]:
        query = sa.select(experiments).order_by(experiments.c.created_ms, experiments.c.id)
        if project_id is not None:
            query = query.where(experiments.c.project_id == project_id)
        with self.db.read() as conn:
            return [_experiment(r) for r in conn.execute(query)]

    def run_counts(self, experiment_ids: Iterable[str]) -> dict[str, int]:
        ids = list(experiment_ids)
        query = (
            sa.select(runs.c.experiment_id, sa.func.count())
            .where(runs.c.experiment_id.in_(ids), runs.c.lifecycle == Lifecycle.ACTIVE.value)
            .group_by(runs.c.experiment_id)
        )
        with self.db.read() as conn:
            counts = dict(conn.execute(query).all())
        return {i: counts.get(i, 0) for i in ids}

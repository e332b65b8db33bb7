"""Shipyard's errors: one rooted hierarchy.

Every error a user can cause or meet is a ``ShipyardError``. Each class carries
its wire meaning (``http_status``, ``exit_code``) so the REST API answers with
one status per class and the CLI exits with one code per class; a client that
receives the problem document rebuilds the same class (``from_problem``), so
``except sy.NotFound:`` works against the embedded store and a server alike.

    ShipyardError                 500  anything Shipyard raises on purpose
    ├── InvalidInput              400  a value the caller passed is wrong
    │   └── ValidationFailed      422  data failed the checks it was held to
    ├── NotFound                  404  a named thing does not exist
    ├── AlreadyExists             409  a thing with that name exists already
    ├── Conflict                  409  the request contradicts stored state
    ├── GateFailed                409  a model did not pass its promotion gates
    ├── PermissionDenied          403  the caller may not do this
    ├── MissingDependency         500  an optional extra is not installed
    └── StoreError                503  the metadata or artifact store failed
        └── SchemaVersionError    503  the database schema does not match the code

Messages name the offending value and say what to do, in the manner of
"Metric 'loss' must be a number; got 'abc' (str). Pass a float or an int."
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AlreadyExists",
    "Conflict",
    "GateFailed",
    "InvalidInput",
    "MissingDependency",
    "NotFound",
    "PermissionDenied",
    "SchemaVersionError",
    "ShipyardError",
    "StoreError",
    "ValidationFailed",
]


class ShipyardError(Exception):
    """Root of every error Shipyard raises on purpose."""

    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1
    title: ClassVar[str] = "Shipyard error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_problem(self) -> dict[str, Any]:
        """This error as an RFC 9457 problem document."""
        problem: dict[str, Any] = {
            "type": f"urn:shipyard:error:{type(self).__name__}",
            "title": self.title,
            "status": self.http_status,
            "detail": self.message,
        }
        if self.details:
            problem["details"] = self.details
        return problem

    @staticmethod
    def from_problem(problem: dict[str, Any]) -> ShipyardError:
        """Rebuild the error a server described in a problem document."""
        name = str(problem.get("type", "")).rsplit(":", 1)[-1]
        cls = _BY_NAME.get(name, ShipyardError)
        return cls(str(problem.get("detail", "")), **problem.get("details", {}))


class InvalidInput(ShipyardError):
    """A value passed by the caller is malformed or out of range."""

    http_status = 400
    exit_code = 2
    title = "Invalid input"


class ValidationFailed(InvalidInput):
    """Data failed the checks it was held to."""

    http_status = 422
    title = "Validation failed"


class NotFound(ShipyardError):
    """A named entity (experiment, run, artifact, ...) does not exist."""

    http_status = 404
    exit_code = 3
    title = "Not found"


class AlreadyExists(ShipyardError):
    """An entity with that name or id exists already."""

    http_status = 409
    exit_code = 4
    title = "Already exists"


class Conflict(ShipyardError):
    """The request contradicts what is stored (e.g. changing a logged param)."""

    http_status = 409
    exit_code = 4
    title = "Conflict"


class GateFailed(ShipyardError):
    """A model version did not pass the gates required to move an alias."""

    http_status = 409
    exit_code = 5
    title = "Gate failed"


class PermissionDenied(ShipyardError):
    """The caller is not allowed to do this."""

    http_status = 403
    exit_code = 6
    title = "Permission denied"


class MissingDependency(ShipyardError):
    """An optional integration needs a package that is not installed."""

    exit_code = 7
    title = "Missing dependency"

    @classmethod
    def for_extra(cls, package: str, extra: str, feature: str) -> MissingDependency:
        return cls(
            f"{feature} needs the package '{package}', which is not installed. "
            f"Install it with: pip install 'shipyard[{extra}]'",
            package=package,
            extra=extra,
        )


class StoreError(ShipyardError):
    """The metadata store or artifact store could not do what was asked."""

    http_status = 503
    exit_code = 8
    title = "Store error"


class SchemaVersionError(StoreError):
    """The database was made by a different version of Shipyard."""

    title = "Schema version mismatch"


_BY_NAME: dict[str, type[ShipyardError]] = {
    cls.__name__: cls
    for cls in (
        ShipyardError,
        InvalidInput,
        ValidationFailed,
        NotFound,
        AlreadyExists,
        Conflict,
        GateFailed,
        PermissionDenied,
        MissingDependency,
        StoreError,
        SchemaVersionError,
    )
}

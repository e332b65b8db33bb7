"""Data management: dataset versions, schemas, validation, profiles, cleaning, lineage.

import shipyard as sy

handle = sy.data.log_dataset("customers", df)       # a version, named by its content
schema = sy.data.infer_schema(handle)               # edit, save as YAML, commit
report = sy.data.validate(handle, schema)           # vectorised checks, stored with the version
"""

from shipyard.data.cleaning import CleanResult, Recipe, clean, load_recipe
from shipyard.data.diff import DatasetDiff, diff
from shipyard.data.infer import infer_schema
from shipyard.data.profile import ColumnProfile, Profile, profile
from shipyard.data.schema import Check, ColumnSchema, Schema, load_schema
from shipyard.data.validation import CheckResult, ValidationReport, register_check, validate
from shipyard.data.versions import DatasetHandle, get, list_datasets, log_dataset

__all__ = [
    "Check",
    "CheckResult",
    "CleanResult",
    "ColumnProfile",
    "ColumnSchema",
    "DatasetDiff",
    "DatasetHandle",
    "Profile",
    "Recipe",
    "Schema",
    "ValidationReport",
    "clean",
    "diff",
    "get",
    "infer_schema",
    "list_datasets",
    "load_recipe",
    "load_schema",
    "log_dataset",
    "profile",
    "register_check",
    "validate",
]

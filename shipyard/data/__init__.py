"""Data management: dataset versions, schemas, validation, profiles, cleaning, lineage.

import shipyard as sy

handle = sy.data.log_dataset("customers", df)       # a version, named by its content
schema = sy.data.infer_schema(handle)               # edit, save as YAML, commit
report = sy.data.validate(handle, schema)           # vectorised checks, stored with the version
"""

from shipyard.data.profile import ColumnProfile, Profile, profile
from shipyard.data.versions import DatasetHandle, get, list_datasets, log_dataset

__all__ = [
    "ColumnProfile",
    "DatasetHandle",
    "Profile",
    "get",
    "list_datasets",
    "log_dataset",
    "profile",
]

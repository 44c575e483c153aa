"""Feature flags: stable bucketing, evaluation, the worker's snapshot and its refresh.

The blueprint declares flags (:mod:`bastion.blueprint.flags`); admins
override them at runtime (:mod:`bastion.core.flags.admin`, served under
``/v1/admin/flags``). Evaluation is pure and needs no I/O: a request takes
the worker's current snapshot and every flag it asks about is answered
from it, the same way for access rules (resources and fields behind a
flag), hooks (``event.flags``) and the OpenFeature provider
(:mod:`bastion.ops.flags`).
"""

from bastion.core.flags.board import CallerFlags, FlagBoard, FlagSnapshot, UnknownFlag
from bastion.core.flags.bucketing import BUCKETS, bucket, in_percentage
from bastion.core.flags.evaluation import Evaluation, Flag, FlagValue, Reason, Subject
from bastion.core.flags.overrides import Override, parse_override
from bastion.core.flags.sync import FlagSync

__all__ = [
    "BUCKETS",
    "CallerFlags",
    "Evaluation",
    "Flag",
    "FlagBoard",
    "FlagSnapshot",
    "FlagSync",
    "FlagValue",
    "Override",
    "Reason",
    "Subject",
    "UnknownFlag",
    "bucket",
    "in_percentage",
    "parse_override",
]

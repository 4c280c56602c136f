"""The org's data: Cases, their comments and files, held in memory.

Only storage and per-object rules live here; who may write and which outbound messages a
change fires is decided one level up in :mod:`.org`, so the rules stay readable.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from . import fields as spec
from . import ids
from . import rest_errors as err

Record = dict[str, Any]


class Records:
    """Cases, CaseComments, ContentVersions and ContentDocuments by id."""

    def __init__(self, id_factory: ids.IdFactory) -> None:
        self._ids = id_factory
        self._next_case_number = 1001
        self.cases: dict[str, Record] = {}
        self.comments: dict[str, Record] = {}
        self.versions: dict[str, Record] = {}
        self.documents: dict[str, Record] = {}

    # ---- Case -------------------------------------------------------------------------
    def new_case(self, values: Mapping[str, object], *, owner_id: str, user_id: str, now: datetime) -> Record:
        """Insert a validated Case; derived fields (number, closed-ness, audit) are set here."""
        case: Record = dict.fromkeys(k for k in spec.CASE if k != "Comments")
        case.update({k: v for k, v in values.items() if k != "Comments"})
        case.update(
            Id=self._ids.new(ids.CASE),
            CaseNumber=f"{self._next_case_number:08d}",
            Status=values.get("Status") or "New",
            Priority=values.get("Priority") or "Medium",
            OwnerId=owner_id,
            CreatedById=user_id,
            CreatedDate=now,
            IsDeleted=False,
        )
        self._next_case_number += 1
        self._touch(case, user_id, now)
        self.cases[case["Id"]] = case
        if values.get("Comments"):
            self.new_comment(case["Id"], str(values["Comments"]), published=False, user_id=user_id, now=now)
        return case

    def seed_case(self, values: Mapping[str, object]) -> Record:
        """Insert a Case exactly as given (test hook: reproduce a sample's ids and dates)."""
        case: Record = dict.fromkeys(k for k in spec.CASE if k != "Comments")
        case.update(values)
        case["Id"] = ids.to18(str(values["Id"]))
        case.setdefault("IsDeleted", False)
        self.cases[case["Id"]] = case
        return case

    def update_case(self, case: Record, values: Mapping[str, object], *, user_id: str, now: datetime) -> None:
        case.update({k: v for k, v in values.items() if k != "Comments"})
        if values.get("Comments"):
            self.new_comment(case["Id"], str(values["Comments"]), published=False, user_id=user_id, now=now)
        self._touch(case, user_id, now)

    def _touch(self, case: Record, user_id: str, now: datetime) -> None:
        """Derive IsClosed/ClosedDate from Status and stamp the audit fields."""
        closed = case["Status"] in spec.CLOSED_STATUSES
        if closed and not case.get("IsClosed"):
            case["ClosedDate"] = now
        elif not closed:
            case["ClosedDate"] = None
        case["IsClosed"] = closed
        case["LastModifiedById"] = user_id
        case["LastModifiedDate"] = now
        case["SystemModstamp"] = now

    def case(self, case_id: str) -> Record | None:
        try:
            return self.cases.get(ids.to18(case_id))
        except ValueError:
            return None

    # ---- CaseComment ------------------------------------------------------------------
    def new_comment(
        self, parent_id: str, body: str, *, published: bool, user_id: str, now: datetime
    ) -> Record:
        comment: Record = {
            "Id": self._ids.new(ids.CASE_COMMENT),
            "ParentId": parent_id,
            "CommentBody": body,
            "IsPublished": published,
            "IsNotificationSelected": False,
            "CreatedById": user_id,
            "CreatedDate": now,
        }
        self.comments[comment["Id"]] = comment
        return comment

    def create_comment(self, values: Mapping[str, object], *, user_id: str, now: datetime) -> Record:
        missing = [name for name in ("ParentId",) if not values.get(name)]
        if missing:
            raise err.required_missing(missing)
        parent = str(values["ParentId"])
        if parent not in self.cases:
            raise err.bad_reference("ParentId")
        return self.new_comment(
            parent,
            str(values.get("CommentBody") or ""),
            published=bool(values.get("IsPublished", False)),
            user_id=user_id,
            now=now,
        )

    def comments_of(self, case_id: str) -> list[Record]:
        return [c for c in self.comments.values() if c["ParentId"] == case_id]

    # ---- Files ------------------------------------------------------------------------
    def create_version(self, values: Mapping[str, object], *, user_id: str, now: datetime) -> Record:
        """A ContentVersion plus its ContentDocument, linked to FirstPublishLocationId.

        The link at insert is what peer code relies on, unverified (docs/salesforce.md#files).
        """
        missing = [name for name in ("PathOnClient", "VersionData") if not values.get(name)]
        if missing:
            raise err.required_missing(missing)
        try:
            data = base64.b64decode(str(values["VersionData"]), validate=True)
        except (binascii.Error, ValueError):
            raise err.ApiError(
                400, "JSON_PARSER_ERROR", "Cannot deserialize VersionData: not base64"
            ) from None
        location = values.get("FirstPublishLocationId")
        if location is not None and location not in self.cases:
            raise err.bad_reference("FirstPublishLocationId")
        document_id = self._ids.new(ids.CONTENT_DOCUMENT)
        path = str(values["PathOnClient"])
        version: Record = {
            "Id": self._ids.new(ids.CONTENT_VERSION),
            "Title": values.get("Title") or path.rsplit("/", 1)[-1].rsplit(".", 1)[0],
            "PathOnClient": path,
            "Description": values.get("Description"),
            "FirstPublishLocationId": location,
            "ContentDocumentId": document_id,
            "ContentSize": len(data),
            "CreatedById": user_id,
            "CreatedDate": now,
            "_data": data,
        }
        self.versions[version["Id"]] = version
        self.documents[document_id] = {
            "Id": document_id,
            "Title": version["Title"],
            "LatestPublishedVersionId": version["Id"],
            "LinkedEntityIds": [location] if location else [],
        }
        return version

    def files_of(self, case_id: str) -> list[Record]:
        linked = {d["Id"] for d in self.documents.values() if case_id in d["LinkedEntityIds"]}
        return [v for v in self.versions.values() if v["ContentDocumentId"] in linked]

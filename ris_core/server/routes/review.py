"""Duplicate review over HTTP: the groups with what is known of each member, a plan,
applying it, and "not a duplicate" decisions. The plan logic is :mod:`ris_core.review`,
the same the CLI runs.

Over HTTP, file actions are confined to the folders the server allows (``--folder``):
a step on a file elsewhere is planned as refused.

Applying takes the same request as planning plus the plan's ``fingerprint``: the plan
is made again and applied only if it is still the plan that was shown (409 otherwise),
so nothing happens that the person did not see.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from ris_core.review import (
    Action,
    KeepRule,
    Plan,
    Step,
    apply_plan,
    group_documents,
    make_plan,
    plan_document,
    review_groups,
)
from ris_core.server.errors import ApiError
from ris_core.server.routes.common import blocking, context_of, settings_of
from ris_core.server.settings import ServerSettings

router = APIRouter(prefix="/api/contexts/{context}", tags=["duplicates"])


class PlanRequest(BaseModel):
    """What to keep and what to do with the rest."""

    keep: KeepRule = KeepRule.LARGEST_RESOLUTION
    action: Action = Action.UNINDEX
    #: The folder a move goes to: must be inside one of the server's allowed folders.
    to: str | None = None
    prefer: str | None = None
    #: Keeping by hand: group number (from 0, in the order the groups are listed) -> id.
    chosen: dict[int, str] = {}
    threshold: float | None = None


class ApplyRequest(PlanRequest):
    """A plan request with the fingerprint of the plan that was shown."""

    fingerprint: str


class Pair(BaseModel):
    """Two image ids."""

    first: str
    second: str


def allowed_folder(settings: ServerSettings, folder: str | None) -> Path | None:
    """``folder`` resolved, if it lies inside a folder the server allows (400 otherwise)."""
    if folder is None or folder == "":
        return None
    path = Path(folder).expanduser().resolve()
    if not any(path.is_relative_to(Path(root).expanduser().resolve()) for root in settings.folders):
        allowed = ", ".join(settings.folders) or "none (start ris serve with --folder DIR)"
        raise ApiError(400, "FolderNotAllowedError", f"{folder!r} is not inside a folder this server allows: {allowed}")
    return path


def _plan(request: Request, context: str, wanted: PlanRequest) -> Plan:
    settings = settings_of(request)
    to = allowed_folder(settings, wanted.to)
    prefer = None if wanted.prefer in (None, "") else Path(str(wanted.prefer))
    opened = context_of(request, context)
    members = review_groups(opened, opened.find_duplicates(wanted.threshold))
    plan = make_plan(members, wanted.keep, wanted.action, to=to, prefer=prefer, chosen=wanted.chosen)
    return dataclasses.replace(plan, steps=tuple(_confined(settings, step) for step in plan.steps))


def _confined(settings: ServerSettings, step: Step) -> Step:
    """A file action over HTTP only touches files inside the folders the server allows."""
    if step.refused or step.action is Action.UNINDEX or step.source is None:
        return step
    roots = [Path(root).expanduser().resolve() for root in settings.folders]
    if any(step.source.resolve().is_relative_to(root) for root in roots):
        return step
    return dataclasses.replace(step, refused="the file is outside the folders this server may change (--folder)")


@router.get("/duplicates")
async def duplicates(request: Request, context: str, threshold: float | None = None) -> dict[str, Any]:
    """The groups, each member with its resolution, size, date, source and link score."""

    def find() -> list[dict[str, Any]]:
        opened = context_of(request, context)
        return group_documents(review_groups(opened, opened.find_duplicates(threshold)))

    return {"groups": await blocking(find)}


@router.post("/duplicates/plan")
async def plan(request: Request, context: str, wanted: PlanRequest) -> dict[str, Any]:
    """What would be kept and done: nothing changes."""
    return plan_document(await blocking(_plan, request, context, wanted))


@router.post("/duplicates/apply")
async def apply(request: Request, context: str, wanted: ApplyRequest) -> dict[str, Any]:
    """Carry out the plan, if it is still the one with ``fingerprint`` (409 if not)."""

    def run() -> dict[str, Any]:
        planned = _plan(request, context, wanted)
        if planned.fingerprint != wanted.fingerprint:
            raise ApiError(409, "PlanChangedError", "the plan changed since it was shown; review it again")
        return plan_document(planned, apply_plan(context_of(request, context), planned))

    return await blocking(run)


@router.get("/not-duplicates")
async def list_not_duplicates(request: Request, context: str) -> dict[str, Any]:
    """Every pair declared not duplicates."""
    pairs = await blocking(lambda: context_of(request, context).not_duplicates())
    return {"pairs": [list(pair) for pair in pairs]}


@router.post("/not-duplicates", status_code=201)
async def mark_not_duplicates(request: Request, context: str, pair: Pair) -> dict[str, Any]:
    """Record that two images are not duplicates: no later group holds both."""
    await blocking(lambda: context_of(request, context).mark_not_duplicates(pair.first, pair.second))
    return {"pair": sorted((pair.first, pair.second))}


@router.delete("/not-duplicates", status_code=204)
async def unmark_not_duplicates(request: Request, context: str, first: str, second: str) -> Response:
    """Forget a decision."""
    await blocking(lambda: context_of(request, context).unmark_not_duplicates(first, second))
    return Response(status_code=204)

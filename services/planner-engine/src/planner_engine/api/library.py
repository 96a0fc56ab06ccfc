"""The SOP library and prompt templates over HTTP; both are versioned, never edited in place."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, status

from planner_engine.deps import LibraryDep, SopsDep, TemplatesDep
from planner_engine.domain.prompts import ensure_usable_variables
from pma_core.app.params import UserQuery
from pma_core.app.schemas import error_responses
from pma_core.contracts.library import (
    NAME_PATTERN,
    PromptTemplateCreate,
    PromptTemplateListRead,
    PromptTemplateRead,
    SopCreate,
    SopListRead,
    SopRead,
    SopVersionCreate,
)

router = APIRouter(prefix="/v1", tags=["sops", "prompt templates"])
TemplateName = Annotated[str, Path(min_length=1, max_length=100, pattern=NAME_PATTERN)]
# The column is an integer: a larger number is a 422, not a 500 from Postgres.
TemplateVersion = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post(
    "/sops",
    response_model=SopRead,
    status_code=status.HTTP_201_CREATED,
    summary="create an SOP",
    responses=error_responses(409),
)
async def create_sop(body: SopCreate, library: LibraryDep) -> SopRead:
    """Version 1 of a new SOP; 409 when the name exists."""
    return await library.create(body)


@router.post(
    "/sops/{sop_id}/versions",
    response_model=SopRead,
    status_code=status.HTTP_201_CREATED,
    summary="edit an SOP",
    responses=error_responses(404),
)
async def add_sop_version(sop_id: UUID, body: SopVersionCreate, library: LibraryDep) -> SopRead:
    """The next version under the same name (an edit is a new version; old ones stay for the plans
    based on them)."""
    return await library.add_version(sop_id, body)


@router.get("/sops", response_model=SopListRead, summary="the current version of each SOP")
async def list_sops(user_id: UserQuery, sops: SopsDep) -> SopListRead:
    return SopListRead(sops=[sop for sop, _, _ in await sops.latest(user_id)])


@router.get("/sops/{sop_id}", response_model=SopRead, summary="one SOP version", responses=error_responses(404))
async def get_sop(sop_id: UUID, user_id: UserQuery, sops: SopsDep) -> SopRead:
    return await sops.get(user_id, sop_id)


@router.get(
    "/sops/{sop_id}/versions",
    response_model=SopListRead,
    summary="every version of an SOP",
    responses=error_responses(404),
)
async def sop_versions(sop_id: UUID, user_id: UserQuery, sops: SopsDep) -> SopListRead:
    base = await sops.get(user_id, sop_id)
    return SopListRead(sops=await sops.versions(user_id, base.name))


@router.get("/prompt-templates", response_model=PromptTemplateListRead, summary="the active prompt templates")
async def list_templates(templates: TemplatesDep) -> PromptTemplateListRead:
    return PromptTemplateListRead(templates=await templates.list_active())


@router.get(
    "/prompt-templates/{name}/versions",
    response_model=PromptTemplateListRead,
    summary="every version of a prompt",
    responses=error_responses(404),
)
async def template_versions(name: TemplateName, templates: TemplatesDep) -> PromptTemplateListRead:
    return PromptTemplateListRead(templates=await templates.versions(name))


@router.post(
    "/prompt-templates/{name}/versions",
    response_model=PromptTemplateRead,
    status_code=status.HTTP_201_CREATED,
    summary="add a prompt version",
    responses=error_responses(404),
)
async def add_template_version(
    name: TemplateName, body: PromptTemplateCreate, templates: TemplatesDep
) -> PromptTemplateRead:
    """A new version (never an in-place edit), active at once unless `activate` is false. Its
    `{{variable}}` placeholders must match `variables`, and a planner prompt must use the variables the
    planner needs and no others it cannot fill: 422 otherwise. 404 for a name no migration seeded (the
    message lists the prompts)."""
    ensure_usable_variables(name, body.variables)
    return await templates.create_version(name, body)


@router.post(
    "/prompt-templates/{name}/versions/{version}/activate",
    response_model=PromptTemplateRead,
    summary="make a version the one in use",
    responses=error_responses(404),
)
async def activate_template(
    name: TemplateName, version: TemplateVersion, templates: TemplatesDep
) -> PromptTemplateRead:
    """Roll forward or back to any stored version; 404 for a version that does not exist."""
    return await templates.activate(name, version)

"""Copy lists (抄送名单): named sets of units a notice is copied to at once."""

from __future__ import annotations

from fastapi import APIRouter, Response

from shuzhi.entrypoints.api.deps import ActorDep, UowDep
from shuzhi.services import copy_lists as cl

router = APIRouter(prefix="/api/copy-lists", tags=["copy lists"])


@router.get("", response_model=list[cl.CopyListOut])
def list_copy_lists(uow: UowDep, actor: ActorDep) -> list[cl.CopyListOut]:
    """The copy lists the caller's area sees, by name."""
    return cl.list_all(uow, actor)


@router.post("", response_model=cl.CopyListOut, status_code=201)
def create_copy_list(body: cl.CopyListIn, uow: UowDep, actor: ActorDep) -> cl.CopyListOut:
    """A new copy list of the caller's unit (every unit on it within the caller's area)."""
    return cl.create(uow, body, actor)


@router.get("/{list_id}", response_model=cl.CopyListOut)
def get_copy_list(list_id: int, uow: UowDep, actor: ActorDep) -> cl.CopyListOut:
    return cl.get(uow, list_id, actor)


@router.put("/{list_id}", response_model=cl.CopyListOut)
def replace_copy_list(list_id: int, body: cl.CopyListIn, uow: UowDep, actor: ActorDep) -> cl.CopyListOut:
    """Rename the list and replace its units."""
    return cl.replace(uow, list_id, body, actor)


@router.delete("/{list_id}", status_code=204)
def delete_copy_list(list_id: int, uow: UowDep, actor: ActorDep) -> Response:
    cl.remove(uow, list_id, actor)
    return Response(status_code=204)

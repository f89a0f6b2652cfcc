from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import paginate

from coopmatrix.core.api import Key, PageNumberPagination, filtered, visible

from .filtersets import RegionFilterSet, StateFilterSet
from .models import Region, State

router = Router(tags=["States and regions"])


class RegionOut(Schema):
    m49: int
    name: str
    level: str
    parent_m49: int | None

    @staticmethod
    def resolve_parent_m49(obj: Region) -> int | None:
        return obj.parent.m49 if obj.parent_id else None


class RegionRef(Schema):
    m49: int
    name: str


class StateOut(Schema):
    code: str
    iso2: str
    iso3: str
    m49: int | None
    status: str
    name_en: str
    name_fr: str
    name_es: str
    name_ru: str
    name_zh: str
    name_ar: str
    formal_name_en: str
    region: RegionRef | None
    subregion: RegionRef | None
    intermediate_region: RegionRef | None
    historic: bool
    ended: str
    source: str

    @staticmethod
    def resolve_historic(obj: State) -> bool:
        return obj.is_historic

    @staticmethod
    def resolve_ended(obj: State) -> str:
        return obj.ended_display


def _states(request: HttpRequest):
    return visible(request, State).select_related("region", "subregion", "intermediate_region")


@router.get("/states", response=list[StateOut], summary="States and territories")
@paginate(PageNumberPagination, page_size=250)
def list_states(
    request: HttpRequest,
    q: str = "",
    region: Key | None = None,
    subregion: Key | None = None,
    intermediate_region: Key | None = None,
    status: str | None = None,
    historic: bool | None = None,
):
    """Filters as on the States page: region, subregion and intermediate_region take M49 codes."""
    return filtered(request, StateFilterSet, _states(request))


@router.get("/states/{code}", response=StateOut, summary="One State by code")
def get_state(request: HttpRequest, code: str):
    from django.shortcuts import get_object_or_404

    return get_object_or_404(_states(request), code=code.upper())


@router.get("/regions", response=list[RegionOut], summary="UN M49 regions, sub-regions, intermediate regions")
@paginate(PageNumberPagination, page_size=250)
def list_regions(request: HttpRequest, level: str | None = None, parent: Key | None = None):
    return filtered(request, RegionFilterSet, visible(request, Region).select_related("parent"))


@router.get("/regions/{m49}", response=RegionOut)
def get_region(request: HttpRequest, m49: Key):
    from django.shortcuts import get_object_or_404

    return get_object_or_404(visible(request, Region).select_related("parent"), m49=m49)

"""The IATI file of the matrix through the API, with the matrix API's filters."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from coopmatrix.core.api import Key, valid_filterset, visible
from coopmatrix.matrix.filtersets import ActivityFilterSet
from coopmatrix.matrix.models import Activity

from .iati_export import iati_response

router = Router(tags=["Data exchange"])


@router.get(
    "/activities.iati.xml",
    summary="The matrix as an IATI 2.03 file",
    openapi_extra={"responses": {200: {"description": "IATI 2.03 XML", "content": {"application/xml": {}}}}},
)
def iati_activities(
    request: HttpRequest,
    q: str = "",
    state: str | None = None,
    region: Key | None = None,
    provider: str | None = None,
    thematic_area: str | None = None,
    status: str | None = None,
    levels: str = "public",
):
    """The activities the filters select (as GET /activities: repeat a parameter for several
    values), streamed as one `iati-activities` file valid against the 2.03 schema. Only public
    activities unless `levels=all`, which marks the file as not for publication."""
    filterset = valid_filterset(request, ActivityFilterSet, visible(request, Activity))
    return iati_response(request, filterset.qs)

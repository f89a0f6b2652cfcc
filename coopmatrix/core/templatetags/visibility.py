"""Related records on a page go through the visibility rule too.

`{{ object.owner|seen:request }}` is the owner if the reader may see it, else nothing;
`{% for i in object.instruments|seen:request %}` lists only the instruments the reader may see.
"""

from typing import Any

from django import template

from coopmatrix.core.querysets import seen as _seen

register = template.Library()


@register.filter
def seen(record: Any, request: Any) -> Any:
    return _seen(request, record)

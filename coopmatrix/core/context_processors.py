from django.urls import reverse

from .registry import registry


def navigation(request):
    """The rooms of the installed apps, in their declared order, and the API."""
    rooms = [(room.label, reverse(room.url_name)) for room in sorted(registry.rooms, key=lambda r: r.order)]
    rooms.append(("API", reverse("api-1.0.0:openapi-view")))
    return {"rooms": rooms}

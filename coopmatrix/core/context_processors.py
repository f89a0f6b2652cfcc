from django.urls import reverse


def navigation(request):
    """The rooms of coopmatrix that exist; a room joins this list when its pages do."""
    rooms = [
        ("Matrix", reverse("matrix:activity_list")),
        ("Requests", reverse("matrix:request_list")),
        ("States", reverse("geo:state_list")),
        ("Organizations", reverse("directory:organization_list")),
        ("Contacts", reverse("directory:contact_list")),
        ("Instruments", reverse("treaties:instrument_list")),
        ("Parties", reverse("treaties:table2")),
        ("API", reverse("api-1.0.0:openapi-view")),
    ]
    return {"rooms": rooms}

"""Issue 15: bulk actions on the rows a user may edit: change status (all or none), export."""

import re

from lxml import html

from coopmatrix.core.testing import login
from coopmatrix.matrix import actions
from coopmatrix.matrix.models import Activity


def _own_and_other(cast):
    base = {"status": "planned", "modality": "workshop", "confidentiality": "public"}
    mine = [
        actions.save_activity(
            cast.user("editor_a"),
            {
                **base,
                "title": f"Bulk test {n} of A",
                "providers": [{"organization": "test-org-a", "role": "implementing"}],
            },
        )
        for n in (1, 2)
    ]
    theirs = actions.save_activity(
        cast.user("editor_b"),
        {
            **base,
            "title": "Bulk test of B",
            "providers": [{"organization": "test-org-b", "role": "implementing"}],
        },
    )
    hidden = actions.save_activity(
        cast.user("editor_b"),
        {
            **base,
            "title": "Bulk test hidden of B",
            "confidentiality": "confidential",
            "providers": [{"organization": "test-org-b", "role": "implementing"}],
        },
    )
    return mine, theirs, hidden


def test_boxes_are_offered_only_on_rows_the_user_may_change(cast, reference, client):
    mine, theirs, _hidden = _own_and_other(cast)
    login(client, cast.user("editor_a"))
    page = html.fromstring(client.get("/matrix/?q=Bulk+test").content)
    boxes = {int(v) for v in page.xpath('//input[@name="ids"][@form="bulk"]/@value')}
    assert boxes == {a.pk for a in mine}
    assert page.xpath('//form[@data-testid="bulk"]')
    login(client, cast.user("reader"))
    page = html.fromstring(client.get("/matrix/?q=Bulk+test").content)
    assert not page.xpath('//input[@name="ids"]') and not page.xpath('//form[@data-testid="bulk"]')


def test_a_bulk_status_change_is_all_or_nothing(cast, reference, client):
    mine, theirs, hidden = _own_and_other(cast)
    login(client, cast.user("editor_a"))
    ids = [a.pk for a in mine]
    response = client.post(
        "/matrix/bulk/", {"ids": ids, "status": "completed", "action": "status", "back": "/matrix/?q=Bulk"}
    )
    assert response["Location"] == "/matrix/?q=Bulk"
    assert set(Activity.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"completed"}
    for other in (theirs, hidden):
        response = client.post(
            "/matrix/bulk/", {"ids": [*ids, other.pk], "status": "ongoing", "action": "status"}
        )
        messages = client.get(response["Location"]).content.decode()
        assert "1 of the 3 activities ticked do not exist or are not yours to change" in messages
        assert set(Activity.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"completed"}
    # A hidden activity reads exactly as a missing one.
    missing = client.post("/matrix/bulk/", {"ids": [*ids, 10**9], "status": "ongoing", "action": "status"})
    assert "1 of the 3 activities ticked do not exist" in client.get(missing["Location"]).content.decode()
    bad = client.post("/matrix/bulk/", {"ids": ["1;DROP"], "status": "ongoing", "action": "status"})
    assert "is not the key of a record" in client.get(bad["Location"]).content.decode()
    wrong = client.post("/matrix/bulk/", {"ids": ids, "status": "finished", "action": "status"})
    assert "&#x27;finished&#x27; is not a status" in client.get(wrong["Location"]).content.decode()


def test_exporting_the_ticked_activities_lists_them_and_no_other(cast, reference, client):
    mine, _theirs, _hidden = _own_and_other(cast)
    login(client, cast.user("editor_a"))
    response = client.post("/matrix/bulk/", {"ids": [mine[0].pk], "action": "export"})
    assert response.status_code == 302
    csv = b"".join(client.get(response["Location"]).streaming_content).decode()
    assert "Bulk test 1 of A" in csv and "Bulk test 2 of A" not in csv
    assert len(re.findall(r"Bulk test", csv)) == 1


def test_a_visitor_cannot_use_bulk_actions(cast, reference, client):
    mine, _theirs, _hidden = _own_and_other(cast)
    response = client.post("/matrix/bulk/", {"ids": [mine[0].pk], "status": "completed", "action": "status"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Activity.objects.get(pk=mine[0].pk).status == "planned"


def test_sharing_the_ticked_confidential_activities_lets_the_other_organization_read_them(
    cast, reference, client
):
    mine, theirs, _hidden = _own_and_other(cast)
    secret = actions.save_activity(
        cast.user("editor_a"),
        {
            "title": "Bulk test confidential of A",
            "status": "planned",
            "modality": "workshop",
            "confidentiality": "confidential",
            "providers": [{"organization": "test-org-a", "role": "implementing"}],
        },
    )
    login(client, cast.user("editor_b"))
    assert client.get(secret.get_absolute_url()).status_code == 404
    login(client, cast.user("editor_a"))
    response = client.post(
        "/matrix/bulk/", {"ids": [secret.pk, mine[0].pk], "share_with": "test-org-b", "action": "share"}
    )
    page = client.get(response["Location"]).content.decode()
    assert "Shared 1 activities." in page and "1 were not confidential" in page
    login(client, cast.user("editor_b"))
    assert client.get(secret.get_absolute_url()).status_code == 200
    # Another's activity is not the user's to share: nothing is shared.
    login(client, cast.user("editor_a"))
    response = client.post(
        "/matrix/bulk/", {"ids": [theirs.pk], "share_with": "test-org-a", "action": "share"}
    )
    assert "1 of the 1 activities ticked do not exist" in client.get(response["Location"]).content.decode()
    unknown = client.post(
        "/matrix/bulk/", {"ids": [secret.pk], "share_with": "no-such-org", "action": "share"}
    )
    assert "no organization with code" in client.get(unknown["Location"]).content.decode()

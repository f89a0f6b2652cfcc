"""Issue 15: a user saves a filtered view with a name, finds it again, and subscribes to it
(an e-mail when its results change, at most daily), always through the visibility rule."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from lxml import html

from coopmatrix.core.models import SavedView
from coopmatrix.core.testing import login


def _save(client, name: str, path: str, query: str, subscribed: bool = False):
    data = {"name": name, "path": path, "query": query}
    if subscribed:
        data["subscribed"] = "on"
    return client.post("/me/views/", data)


def test_a_saved_view_opens_with_its_filters_and_says_what_it_lists(walked_world, client):
    login(client, walked_world.user("editor_a"))
    response = _save(client, "Kyrgyzstan, completed", "/matrix/", "state=KGZ&status=completed&page=3")
    assert response.status_code == 302
    assert response["Location"] == "/matrix/?state=KGZ&status=completed"  # not its page number
    page = html.fromstring(client.get("/me/views/").content)
    (link,) = page.xpath('//*[@data-testid="saved-views"]//a[text()="Kyrgyzstan, completed"]')
    listed = client.get(link.get("href")).content.decode()
    count = link.getparent().getparent().xpath("./td[2]")[0].text_content().strip()
    assert f'<span data-testid="count">{count}</span>' in listed
    # Saving again under the same name updates it rather than adding a second one.
    _save(client, "Kyrgyzstan, completed", "/matrix/", "state=KGZ")
    assert SavedView.objects.filter(user=walked_world.user("editor_a")).count() == 1


def test_only_a_list_can_be_saved_and_only_its_owner_changes_it(walked_world, client):
    login(client, walked_world.user("editor_a"))
    _save(client, "Not a list", "/activities/1/", "")
    assert not SavedView.objects.exists()
    _save(client, "Mine", "/requests/", "status=received")
    view = SavedView.objects.get()
    login(client, walked_world.user("editor_b"))
    assert client.post(f"/me/views/{view.pk}/", {"action": "delete"}).status_code == 404
    others = html.fromstring(client.get("/me/views/").content)
    assert not others.xpath('//*[@data-testid="saved-views"]') and others.xpath('//*[@data-testid="empty"]')
    login(client, walked_world.user("editor_a"))
    assert client.post(f"/me/views/{view.pk}/", {"action": "explode"}).status_code == 400
    client.post(f"/me/views/{view.pk}/", {"action": "subscribe"})
    assert SavedView.objects.get().subscribed
    client.post(f"/me/views/{view.pk}/", {"action": "delete"})
    assert not SavedView.objects.exists()


def test_a_visitor_cannot_save_views(walked_world, client):
    response = _save(client, "Anonymous", "/matrix/", "")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not SavedView.objects.exists()


def test_a_subscriber_is_told_when_the_results_change_at_most_daily(walked_world, client, settings):
    from coopmatrix.matrix.models import Activity

    settings.SITE_URL = "https://coopmatrix.example.org"
    reader = walked_world.user("reader")
    reader.email = "reader@example.org"
    reader.save()
    login(client, reader)
    _save(client, "Workshops", "/matrix/", "q=made+for+the+digest", subscribed=True)
    call_command("send_view_digests")
    assert mail.outbox == []  # nothing changed since it was saved
    Activity.objects.create(title="Workshop made for the digest", confidentiality="confidential")
    call_command("send_view_digests")
    assert mail.outbox == [], "a record the subscriber may not see changed nothing they see"
    Activity.objects.create(title="Seminar made for the digest", confidentiality="public")
    call_command("send_view_digests")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["reader@example.org"]
    assert "“Workshops” now lists 1 records (0 when" in message.body
    assert "https://coopmatrix.example.org/matrix/?q=made+for+the+digest" in message.body
    assert "Workshop made for the digest" not in message.body and "Seminar" not in message.body
    # Another change the same day waits for the next day.
    Activity.objects.create(title="Course made for the digest", confidentiality="public")
    call_command("send_view_digests")
    assert len(mail.outbox) == 1
    SavedView.objects.update(last_sent=timezone.now() - dt.timedelta(days=1))
    call_command("send_view_digests")
    assert len(mail.outbox) == 2 and "now lists 2 records (1 when" in mail.outbox[1].body


@pytest.mark.parametrize("role", ["reader", "secretariat"])
def test_the_page_of_saved_views_offers_the_next_step_when_empty(walked_world, client, role):
    login(client, walked_world.user(role))
    page = html.fromstring(client.get("/me/views/").content)
    assert page.xpath('//*[@data-testid="empty"]')

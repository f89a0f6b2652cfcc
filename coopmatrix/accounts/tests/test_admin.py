def test_the_administrator_opens_the_admin_with_history(cast, client, reference):
    from coopmatrix.geo.models import State

    client.force_login(cast.user("administrator"))
    assert client.get("/admin/geo/state/").status_code == 200
    kgz = State.objects.get(code="KGZ")
    history = client.get(f"/admin/geo/state/{kgz.pk}/history/")
    assert history.status_code == 200
    assert "reference data loaded" in history.content.decode()


def test_a_staff_editor_is_kept_out_of_the_admin(cast, client):
    editor = cast.user("editor_a")
    editor.is_staff = True
    editor.save()
    client.force_login(editor)
    response = client.get("/admin/directory/organization/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]

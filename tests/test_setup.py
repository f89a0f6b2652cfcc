"""The project as a fresh clone sees it: migrations, checks, pages without dead links."""

import re

from django.core.management import call_command


def test_models_and_migrations_agree(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_deploy_checks_pass_with_production_settings(tmp_path):
    import subprocess
    import sys

    env = {
        "SECRET_KEY": "x" * 60 + "production-like-key-for-the-check",
        "ALLOWED_HOSTS": "coopmatrix.example.org",
        "SECURE_COOKIES": "true",
        "SECURE_SSL_REDIRECT": "true",
        "SECURE_HSTS_SECONDS": "31536000",
        "STATIC_MANIFEST": "true",
        "BEHIND_TLS_PROXY": "true",
        "DATABASE_URL": "postgres://coopmatrix:a-password@db.example.org:5432/coopmatrix",
        "MEDIA_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": "coopmatrix-media",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.org",
        "EMAIL_USE_TLS": "true",
        "LOG_FORMAT": "json",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", "coopmatrix.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env={**env, "COOPMATRIX_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_every_link_in_the_navigation_answers(client, reference):
    home = client.get("/").content.decode()
    links = set(re.findall(r'href="(/[^"#?]*)', home))
    assert {"/states/", "/organizations/", "/instruments/"} <= links
    for link in links:
        if link.startswith("/static/"):
            continue
        assert client.get(link).status_code == 200, link


def test_the_home_page_counts_what_is_loaded(client, reference):
    page = client.get("/").content.decode()
    assert "<strong>250</strong> States and territories" in page
    assert "<strong>193</strong> UN Member States" in page
    assert "<strong>19</strong> universal instruments" in page
    # Each figure links to what it counts, and a figure of every installed domain app is there.
    assert 'href="/states/?status=member"' in page
    assert "activities in the matrix" in page and "requests for assistance" in page


def test_search_covers_every_registered_kind_of_record(client, reference):
    """'extradition Siracusa' finds the two Siracusa activities of paragraph 20; an instrument is
    found by its place of adoption."""
    page = client.get("/search/?q=extradition+Siracusa").content.decode()
    assert "Expert group meeting on model legislation on extradition, Siracusa" in page
    assert "Training workshop on extradition in terrorism cases, Siracusa" in page
    page = client.get("/search/?q=Siracusa").content.decode()
    assert page.count("Siracusa</a>") >= 2
    page = client.get("/search/?q=Montreal").content.decode()
    assert 'data-testid="results-treaties.Instrument"' in page and "/instruments/montreal-1971/" in page


def test_search_finds_states_by_former_names_and_organizations_by_acronym(client, reference):
    page = client.get("/search/?q=Cape Verde").content.decode()
    assert "/states/CPV/" in page
    page = client.get("/search/?q=CICTE").content.decode()
    assert "Inter-American Committee against Terrorism" in page


def test_the_suite_runs_on_the_database_it_was_given(db):
    import os

    from django.db import connection

    wanted = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    assert connection.vendor == wanted

"""Fill a benchmark database with synthetic activities (never a database holding real records)."""

from __future__ import annotations

import datetime as dt
import random
import time

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from coopmatrix.core.models import Share
from coopmatrix.core.registry import registry
from coopmatrix.directory.models import Organization
from coopmatrix.geo.models import State
from coopmatrix.matrix import counts
from coopmatrix.matrix.models import Activity, ActivityProvider, ActivityReach
from coopmatrix.treaties.models import Instrument, TreatyAction
from coopmatrix.vocabulary.models import ThematicArea

PREFIX = "SYNTH-"
BATCH = 5000


class Command(BaseCommand):
    help = (
        "Generate N synthetic activities (skewed by State and provider, 1-40 recipients, 2001-2026) "
        "in a benchmark database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--activities", type=int, required=True)
        parser.add_argument("--treaty-actions", type=int, default=0, help="Synthetic treaty actions as well.")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options):
        name = str(settings.DATABASES["default"]["NAME"])
        if "bench" not in name:
            raise CommandError(
                f"generate_synthetic writes only to a benchmark database (its name must contain 'bench'); "
                f"this one is {name!r}"
            )
        if options["activities"] < 1:
            raise CommandError("--activities must be at least 1")
        if options["treaty_actions"]:
            self.stdout.write(_treaty_actions(options["treaty_actions"], options["seed"]))
        existing = Activity.objects.filter(external_id__startswith=PREFIX).count()
        wanted = options["activities"]
        if existing >= wanted:
            self.stdout.write(f"{existing} synthetic activities already there; nothing to do.")
            return
        rng = random.Random(options["seed"] * 1_000_003 + existing)
        started = time.monotonic()
        generator = _Generator(rng)
        for first in range(existing, wanted, BATCH):
            generator.batch(first, min(BATCH, wanted - first))
            done = min(first + BATCH, wanted)
            rate = (done - existing) / max(time.monotonic() - started, 0.001)
            self.stderr.write(f"\r{done}/{wanted} activities ({rate:,.0f}/s)", ending="")
        self.stderr.write("")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.stdout.write(
            f"{wanted - existing} synthetic activities written in {time.monotonic() - started:.0f} s."
        )


def _treaty_actions(wanted: int, seed: int) -> str:
    """Signatures and consents spread over States and the 19 instruments, some denounced."""
    existing = TreatyAction.objects.filter(source=SYNTHETIC_SOURCE).count()
    if existing >= wanted:
        return f"{existing} synthetic treaty actions already there."
    rng = random.Random(seed * 7919 + existing)
    states = list(State.objects.exclude(status=State.Status.HISTORIC).values_list("pk", flat=True))
    instruments = list(Instrument.objects.all())
    seen = set(TreatyAction.objects.values_list("state_id", "instrument_id", "action", "deposited"))
    rows = []
    while len(rows) < wanted - existing:
        instrument = rng.choice(instruments)
        opened = instrument.opened_for_signature or instrument.adopted
        day = opened + dt.timedelta(days=rng.randrange(0, (AS_OF - opened).days))
        action = rng.choices(("signature", "ratification", "accession", "denunciation"), (3, 5, 4, 0.2))[0]
        key = (rng.choice(states), instrument.pk, action, day)
        if key in seen:
            continue
        seen.add(key)
        record = TreatyAction(
            state_id=key[0], instrument=instrument, action=action, deposited=day, source=SYNTHETIC_SOURCE
        )
        record.effective = record.rule_effective()
        rows.append(record)
    TreatyAction.objects.bulk_create(rows, batch_size=BATCH)
    return f"{len(rows)} synthetic treaty actions written."


SYNTHETIC_SOURCE = "synthetic (benchmark)"

# Titles and descriptions as a matrix holds them: a kind of work, a subject and an audience, in
# English, French or Spanish. Two activities on the same subject read alike; two on different
# subjects share little more than their grammar, as real ones do (the overlap score reads them).
_KINDS = {
    "en": (
        "National workshop on",
        "Regional seminar on",
        "Training course on",
        "Expert mission on",
        "Legislative assistance on",
        "Study visit on",
        "Mentoring programme on",
        "Round table on",
    ),
    "fr": (
        "Atelier national sur",
        "Séminaire régional sur",
        "Formation sur",
        "Mission d'experts sur",
        "Assistance législative sur",
        "Visite d'étude sur",
    ),
    "es": (
        "Taller nacional sobre",
        "Seminario regional sobre",
        "Curso de capacitación sobre",
        "Misión de expertos sobre",
        "Asistencia legislativa sobre",
    ),
}
_SUBJECTS = {
    "en": (
        "the financing of terrorism",
        "the universal legal instruments against terrorism",
        "mutual legal assistance and extradition",
        "border control and travel documents",
        "aviation security",
        "maritime security and port facilities",
        "nuclear security",
        "the investigation of terrorist offences",
        "the prosecution of terrorist cases",
        "support to victims of terrorism",
        "terrorist use of the Internet",
        "foreign terrorist fighters",
        "preventing violent extremism in prisons",
        "freezing of terrorist assets",
        "chemical and biological terrorism",
        "international cooperation in criminal matters",
    ),
    "fr": (
        "le financement du terrorisme",
        "les instruments juridiques universels contre le terrorisme",
        "l'entraide judiciaire et l'extradition",
        "le contrôle des frontières",
        "la sûreté de l'aviation",
        "la sûreté maritime",
        "les poursuites en matière de terrorisme",
        "l'aide aux victimes du terrorisme",
        "le gel des avoirs terroristes",
    ),
    "es": (
        "la financiación del terrorismo",
        "los instrumentos jurídicos universales contra el terrorismo",
        "la asistencia judicial recíproca y la extradición",
        "el control de fronteras",
        "la seguridad de la aviación",
        "la seguridad marítima",
        "el enjuiciamiento de casos de terrorismo",
        "el apoyo a las víctimas del terrorismo",
        "el congelamiento de activos terroristas",
    ),
}
_AUDIENCES = {
    "en": (
        "for prosecutors and judges",
        "for police investigators",
        "for customs and border officers",
        "for financial intelligence units",
        "for parliamentarians",
        "for central authorities",
        "for ministry officials",
        "",
    ),
    "fr": (
        "pour les magistrats",
        "pour les enquêteurs",
        "pour les agents des douanes",
        "pour les cellules de renseignement financier",
        "",
    ),
    "es": (
        "para fiscales y jueces",
        "para investigadores policiales",
        "para funcionarios de aduanas",
        "para unidades de inteligencia financiera",
        "",
    ),
}
_CLOSINGS = {
    "en": (
        "with the national authorities",
        "on request of the Government",
        "follow-up to an earlier mission",
        "phase two",
        "with partner organizations",
    ),
    "fr": ("avec les autorités nationales", "à la demande du Gouvernement", "deuxième phase"),
    "es": ("con las autoridades nacionales", "a solicitud del Gobierno", "segunda fase"),
}


#: The day the synthetic matrix describes: what ended before it is completed, what starts after it
#: is planned, what spans it is under way (an activity "ongoing" since 2001 would reach every
#: later one, as no real matrix holds).
AS_OF = dt.date(2026, 6, 30)


def synthetic_status(drawn: str, start: dt.date, end: dt.date) -> str:
    """The status its dates give; a cancelled or suspended one stays so."""
    if drawn in ("cancelled", "suspended"):
        return drawn
    if end < AS_OF:
        return "completed"
    if start > AS_OF:
        return "pipeline" if drawn == "pipeline" else "planned"
    return "ongoing"


def synthetic_text(index: int) -> tuple[str, str]:
    """The title and description of synthetic activity `index` (the same for a given index)."""
    rng = random.Random(index * 7_919 + 17)
    language = rng.choices(("en", "fr", "es"), (6, 2, 2))[0]
    kind, subject = rng.choice(_KINDS[language]), rng.choice(_SUBJECTS[language])
    audience, closing = rng.choice(_AUDIENCES[language]), rng.choice(_CLOSINGS[language])
    title = " ".join(part for part in (kind, subject, audience) if part)
    return title, f"{title[0].upper()}{title[1:]}, {closing}."


def synthetic_instruments(index: int, instruments: list[int]) -> list[int]:
    """The instruments synthetic activity `index` names: none for most, one or two for some."""
    rng = random.Random(index * 104_729 + 3)
    count = rng.choices((0, 1, 2), (6, 3, 1))[0]
    return sorted(set(rng.sample(instruments, count))) if instruments else []


class _Generator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        states = list(State.objects.exclude(status=State.Status.HISTORIC).values_list("pk", flat=True))
        # A few States receive most assistance: Zipf-like weights over a shuffled list.
        rng.shuffle(states)
        self.states, self.state_weights = states, [1 / (rank + 1) ** 0.8 for rank in range(len(states))]
        providers = list(Organization.objects.exclude(kind="national_agency").values_list("pk", flat=True))
        rng.shuffle(providers)
        self.providers, self.provider_weights = providers, [1 / (rank + 1) for rank in range(len(providers))]
        self.themes = list(ThematicArea.objects.values_list("pk", flat=True))
        self.instruments = list(Instrument.objects.order_by("pk").values_list("pk", flat=True))
        self.modalities = list(Activity.Modality.values)
        self.statuses = list(Activity.Status.values)
        self.history_states = apps.get_model("matrix", "HistoricalActivity_recipient_states")
        self.history_model = Activity.history.model
        self.activity_type = ContentType.objects.get_for_model(Activity)

    def _recipients(self) -> list[int]:
        count = min(int(self.rng.paretovariate(1.3)), 40)
        return list(dict.fromkeys(self.rng.choices(self.states, self.state_weights, k=count)))

    @transaction.atomic
    def batch(self, first: int, size: int) -> None:
        rng = self.rng
        activities, provider_rows = [], []
        for index in range(first, first + size):
            # The organization that records an activity is one of its providers, as in real use.
            roles = {
                org: rng.choice(("implementing", "funding", "partner"))
                for org in rng.choices(self.providers, self.provider_weights, k=rng.randint(1, 3))
            }
            provider_rows.append(roles)
            start = dt.date(2001, 1, 1) + dt.timedelta(days=rng.randrange(0, 26 * 365))
            end = start + dt.timedelta(days=rng.randrange(1, 3 * 365))
            status = synthetic_status(rng.choices(self.statuses, (1, 3, 4, 8, 1, 1))[0], start, end)
            actual = status in ("ongoing", "completed")
            title, description = synthetic_text(index)
            activities.append(
                Activity(
                    external_id=f"{PREFIX}{index:08d}",
                    title=title,
                    description=description,
                    modality=rng.choice(self.modalities),
                    status=status,
                    planned_start=start,
                    planned_start_precision="day",
                    planned_end=end,
                    planned_end_precision="day",
                    actual_start=start if actual else None,
                    actual_start_precision="day" if actual else "",
                    actual_end=end if status == "completed" else None,
                    actual_end_precision="day" if status == "completed" else "",
                    period_start=start,
                    period_end=end if status != "ongoing" else None,
                    confidentiality=rng.choices(("public", "restricted", "confidential"), (7, 2, 1))[0],
                    owner_id=next(iter(roles)),
                    source="synthetic (benchmark)",
                )
            )
        Activity.objects.bulk_create(activities)
        recipients, reach, themes, providers, history, history_states, shares = [], [], [], [], [], [], []
        instruments = []
        through_instruments = Activity.instruments.through
        through_states = Activity.recipient_states.through
        through_themes = Activity.thematic_areas.through
        for activity, roles in zip(activities, provider_rows, strict=True):
            states = self._recipients()
            rows = [through_states(activity_id=activity.pk, state_id=s) for s in states]
            recipients += rows
            reach += [ActivityReach(activity_id=activity.pk, state_id=s, direct=True) for s in states]
            themes += [
                through_themes(activity_id=activity.pk, thematicarea_id=t)
                for t in set(rng.choices(self.themes, k=rng.randint(1, 3)))
            ]
            instruments += [
                through_instruments(activity_id=activity.pk, instrument_id=pk)
                for pk in synthetic_instruments(activity.pk, self.instruments)
            ]
            providers += [
                ActivityProvider(activity_id=activity.pk, organization_id=org, role=role)
                for org, role in roles.items()
            ]
            if activity.confidentiality == "confidential" and rng.random() < 0.2:
                shares.append(
                    Share(
                        content_type=self.activity_type,
                        object_id=activity.pk,
                        organization_id=rng.choices(self.providers, self.provider_weights)[0],
                    )
                )
            recorded = timezone.make_aware(
                dt.datetime.combine(
                    activity.planned_start - dt.timedelta(days=rng.randrange(0, 120)), dt.time(12)
                )
            )
            history.append(self._history(activity, recorded))
            history_states.append(rows)
        through_states.objects.bulk_create(recipients, batch_size=BATCH)
        ActivityReach.objects.bulk_create(reach, batch_size=BATCH)
        through_themes.objects.bulk_create(themes, batch_size=BATCH)
        through_instruments.objects.bulk_create(instruments, batch_size=BATCH)
        ActivityProvider.objects.bulk_create(providers, batch_size=BATCH)
        Share.objects.bulk_create(shares, batch_size=BATCH)
        self.history_model.objects.bulk_create(history, batch_size=BATCH)
        # Providers' history too, dated with their activity's: the monthly matrix reads it.
        recorded_on = {h.id: h.history_date for h in history}
        ActivityProvider.history.model.objects.bulk_create(
            [
                ActivityProvider.history.model(
                    id=p.pk,
                    activity_id=p.activity_id,
                    organization_id=p.organization_id,
                    role=p.role,
                    history_date=recorded_on[p.activity_id],
                    history_type="+",
                    history_change_reason="synthetic",
                )
                for p in providers
            ],
            batch_size=BATCH,
        )
        # simple-history's copy of each recipient row keeps the row's own id beside its own key.
        self.history_states.objects.bulk_create(
            [
                self.history_states(id=row.pk, history_id=h.pk, activity_id=h.id, state_id=row.state_id)
                for h, rows in zip(history, history_states, strict=True)
                for row in rows
            ],
            batch_size=BATCH,
        )
        # Written in bulk, so no signal counted them: count the batch in the same transaction,
        # and let the apps that keep something per activity (overlaps: its signature) keep it.
        counts.refresh(a.pk for a in activities)
        written = registry.hooks.get("activities_written_in_bulk")
        if written:
            written([a.pk for a in activities])

    def _history(self, activity: Activity, when: dt.datetime):
        fields = {f.attname: getattr(activity, f.attname) for f in Activity._meta.concrete_fields}
        return self.history_model(
            **fields, history_date=when, history_type="+", history_change_reason="synthetic"
        )

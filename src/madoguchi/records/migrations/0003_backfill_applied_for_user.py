"""Records filed before `applied_for_user` existed: the person an application was made
for is taken from the application (its subject_user, when not the applicant)."""

from django.db import migrations


def backfill(apps, schema_editor):
    Record = apps.get_model("records", "Record")
    Application = apps.get_model("counter", "Application")
    Decision = apps.get_model("counter", "Decision")
    IssuedDocument = apps.get_model("issuance", "IssuedDocument")
    made_for = {
        str(pk): subject
        for pk, applicant, subject in Application.objects.filter(
            subject_user__isnull=False
        ).values_list("pk", "applicant_id", "subject_user_id")
        if subject != applicant
    }
    if not made_for:
        return
    application_of = {
        "application": lambda ids: {i: i for i in ids},
        "decision": lambda ids: {
            str(pk): str(app)
            for pk, app in Decision.objects.filter(pk__in=ids).values_list("pk", "application_id")
        },
        "issued_document": lambda ids: {
            str(pk): str(app)
            for pk, app in IssuedDocument.objects.filter(pk__in=ids).values_list(
                "pk", "application_id"
            )
        },
    }
    for object_type, resolve in application_of.items():
        records = Record.objects.filter(
            object_type=object_type, applied_for_user__isnull=True, destroyed_at__isnull=True
        )
        ids = list(records.values_list("object_id", flat=True))
        applications = resolve(ids)
        for object_id in ids:
            subject = made_for.get(applications.get(object_id, ""))
            if subject is not None:
                records.filter(object_id=object_id).update(applied_for_user_id=subject)


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0002_record_applied_for_user"),
        ("counter", "0003_back_office"),
        ("issuance", "0001_initial"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]

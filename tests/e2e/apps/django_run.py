"""Run Django 5 (PyMySQL as MySQLdb) against a drlab node: `migrate` of the built-in apps and of
the `shop` test app, then the ORM paths applications use; prints what it saw as JSON.

A separate process: Django's settings can be configured once per process.
Usage: python django_run.py HOST PORT DATABASE
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path


def main(host: str, port: int, database: str) -> dict[str, object]:
    sys.path.insert(0, str(Path(__file__).parent))
    import pymysql

    pymysql.install_as_MySQLdb()
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "shop"],
        DATABASES={"default": {"ENGINE": "django.db.backends.mysql", "NAME": database, "USER": "root",
                               "HOST": host, "PORT": port}},
        USE_TZ=True, DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        MIGRATION_MODULES={"shop": None},  # the app's tables come from its models (syncdb-style)
    )
    django.setup()
    from django.core.management import call_command
    from django.db import IntegrityError, transaction
    from django.db.models import Count, Sum
    from shop.models import Item, Tag

    call_command("migrate", run_syncdb=True, verbosity=0)
    out: dict[str, object] = {}
    red, blue = Tag.objects.create(name="red"), Tag.objects.create(name="blue")
    a = Item.objects.create(name="a", price=Decimal("0.25"), qty=1, data={"color": "red", "n": 1})
    b = Item.objects.create(name="b", price=Decimal("0.50"), data={"size": 2}, parent=a)
    a.tags.add(red, blue)
    b.tags.add(blue)
    Item.objects.bulk_create([Item(name=f"bulk{i}", price=Decimal("9.75"), data={}) for i in range(3)])
    out["fk"] = list(Item.objects.filter(parent__name="a").values_list("name", flat=True))
    out["m2m"] = sorted(Item.objects.filter(tags__name="blue").values_list("name", flat=True))
    out["has_key"] = list(Item.objects.filter(data__has_key="color").values_list("name", flat=True))
    out["key"] = list(Item.objects.filter(data__color="red").values_list("name", flat=True))
    total = Item.objects.aggregate(s=Sum("price"))["s"]
    out["sum"] = [type(total).__name__, str(total)]
    out["count"] = Item.objects.aggregate(c=Count("id"))["c"]
    try:
        Item.objects.create(name="neg", price=1, qty=-1, data={})  # PositiveIntegerField's CHECK
        out["check"] = "accepted"
    except IntegrityError as e:
        out["check"] = e.args[0]
    with transaction.atomic():
        Item.objects.select_for_update().get(name="a")
        try:
            with transaction.atomic():  # a savepoint
                Item.objects.create(name="inner", price=1, data={})
                Tag.objects.create(name="red")  # duplicate: the inner block rolls back
        except IntegrityError:
            pass
        with transaction.atomic():
            Item.objects.create(name="kept", price=1, data={})
    out["atomic"] = sorted(Item.objects.filter(name__in=["inner", "kept"]).values_list("name", flat=True))
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), sys.argv[3])))

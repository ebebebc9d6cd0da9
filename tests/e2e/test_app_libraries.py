"""Issue 16: applications' own libraries, unchanged, against real `drlab node` processes: Django 5
(PyMySQL as MySQLdb, with the node's --mysql-version), SQLAlchemy 2 Core and ORM on PyMySQL and
mysql-connector, an Alembic `upgrade head` of several revisions, and pandas to_sql / read_sql."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import orm

from lab.harness import NodeProcess

APPS = Path(__file__).parent / "apps"
DRIVERS = ["pymysql", "mysqlconnector"]


def test_django_migrate_and_orm(node_factory) -> None:  # type: ignore[no-untyped-def]
    node = node_factory("dj", extra=["--mysql-version", "8.0.36"]).start()
    node.sql("CREATE DATABASE app")
    done = subprocess.run([sys.executable, str(APPS / "django_run.py"), node.host, str(node.port), "app"],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    kind, total = seen.pop("sum")
    assert kind == "Decimal" and Decimal(total) == Decimal("30.00")
    assert seen == {"fk": ["b"], "m2m": ["a", "b"], "has_key": ["a"], "key": ["a"], "count": 5, "check": 3819,
                    "atomic": ["kept"]}
    tables = {r[0] for r in node.sql("SHOW TABLES FROM app")}
    assert {"django_migrations", "auth_user", "shop_item", "shop_item_tags"} <= tables


def _engine(node: NodeProcess, driver: str) -> sa.Engine:
    return sa.create_engine(f"mysql+{driver}://root@{node.host}:{node.port}/app")


class Base(orm.DeclarativeBase):
    pass


class Part(Base):
    __tablename__ = "parts"
    __table_args__ = (sa.CheckConstraint("qty >= 0", name="qty_positive"),)
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(40), unique=True)
    qty: orm.Mapped[int] = orm.mapped_column(default=0)
    price: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(10, 2))
    kind: orm.Mapped[str] = orm.mapped_column(sa.Enum("bolt", "nut", name="kind"))
    attrs: orm.Mapped[dict] = orm.mapped_column(sa.JSON, default=dict)
    blob: orm.Mapped[bytes | None] = orm.mapped_column(sa.LargeBinary)


@pytest.mark.parametrize("driver", DRIVERS)
def test_sqlalchemy_orm_and_core(node: NodeProcess, driver: str) -> None:
    node.sql("CREATE DATABASE app")
    engine = _engine(node, driver)
    Base.metadata.create_all(engine)
    with orm.Session(engine) as s:
        s.add_all([Part(name="m6", qty=3, price=Decimal("0.25"), kind="bolt", attrs={"d": 6}, blob=b"ab"),
                   Part(name="m8", price=Decimal("1.50"), kind="nut")])
        s.commit()
        with pytest.raises(sa.exc.IntegrityError):  # the session's transaction survives a failed flush's savepoint
            with s.begin_nested():
                s.add(Part(name="m6", price=Decimal("1"), kind="nut"))
        s.add(Part(name="m10", price=Decimal("2.00"), kind="bolt"))
        s.commit()
        assert [p.name for p in s.scalars(sa.select(Part).order_by(Part.id))] == ["m6", "m8", "m10"]
        m6 = s.scalars(sa.select(Part).where(Part.name == "m6")).one()
        assert (m6.price, m6.kind, m6.attrs) == (Decimal("0.25"), "bolt", {"d": 6})  # blob: the i16b part
        with pytest.raises(sa.exc.DBAPIError, match="3819"):
            s.execute(sa.update(Part).where(Part.name == "m8").values(qty=-1))
        s.rollback()
    with engine.begin() as conn:  # Core, autocommit off: the DDL commits, the INSERT follows
        conn.execute(sa.text("CREATE TABLE log_rows (id INT PRIMARY KEY AUTO_INCREMENT, msg VARCHAR(20))"))
        conn.execute(sa.text("INSERT INTO log_rows (msg) VALUES (:m)"), [{"m": "one"}, {"m": "two"}])
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT msg FROM log_rows ORDER BY id")).scalars().all() == ["one", "two"]
    Base.metadata.drop_all(engine)
    engine.dispose()


ALEMBIC_REVISIONS = {
    "r1": ("None", '''
    op.create_table("account", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(50), nullable=False))
'''),
    "r2": ('"r1"', '''
    op.add_column("account", sa.Column("email", sa.String(100)))
'''),
    "r3": ('"r2"', '''
    op.create_index("ix_account_email", "account", ["email"], unique=True)
'''),
    "r4": ('"r3"', '''
    account = sa.table("account", sa.column("name", sa.String), sa.column("email", sa.String))
    op.bulk_insert(account, [{"name": "ann", "email": None}, {"name": "bob", "email": None}])
    op.execute("UPDATE account SET email = CONCAT(name, '@example.com')")
'''),
}


def test_alembic_upgrade_head(node: NodeProcess, tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    node.sql("CREATE DATABASE app")
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "migrations" / "env.py").write_text(
        "from alembic import context\nimport sqlalchemy as sa\n"
        "engine = sa.create_engine(context.config.get_main_option('sqlalchemy.url'))\n"
        "with engine.connect() as connection:\n"
        "    context.configure(connection=connection, target_metadata=None, transactional_ddl=False)\n"
        "    with context.begin_transaction():\n"
        "        context.run_migrations()\n")
    (tmp_path / "migrations" / "script.py.mako").write_text("")
    for rev, (down, body) in ALEMBIC_REVISIONS.items():
        (versions / f"{rev}.py").write_text(
            f"from alembic import op\nimport sqlalchemy as sa\nrevision = {rev!r}\ndown_revision = {down}\n"
            f"branch_labels = None\ndepends_on = None\n\ndef upgrade():{body}\n\ndef downgrade():\n    pass\n")
    cfg = Config()
    cfg.set_main_option("script_location", str(tmp_path / "migrations"))
    cfg.set_main_option("sqlalchemy.url", f"mysql+pymysql://root@{node.host}:{node.port}/app")
    command.upgrade(cfg, "head")
    assert node.sql("SELECT version_num FROM app.alembic_version") == [("r4",)]
    assert node.sql("SELECT name, email FROM app.account ORDER BY id") == [("ann", "ann@example.com"),
                                                                         ("bob", "bob@example.com")]
    assert "UNIQUE KEY `ix_account_email`" in node.sql("SHOW CREATE TABLE app.account")[0][1]


@pytest.mark.parametrize("driver", DRIVERS)
def test_pandas_to_sql_and_read_sql(node: NodeProcess, driver: str) -> None:
    node.sql("CREATE DATABASE app")
    engine = _engine(node, driver)
    df = pd.DataFrame({"n": [1, 2, 3], "label": ["x", "y", None], "ratio": [0.5, 1.25, -3.0]})
    df.to_sql("frame", engine, index=False)  # a new table inside pandas' transaction
    df.to_sql("frame", engine, index=False, if_exists="append")
    back = pd.read_sql("SELECT * FROM frame ORDER BY n", engine)
    assert len(back) == 6 and str(back["n"].dtype) == "int64" and str(back["ratio"].dtype) == "float64"
    df.to_sql("frame", engine, index=False, if_exists="replace")
    back = pd.read_sql_table("frame", engine)
    assert back["n"].tolist() == [1, 2, 3] and back["ratio"].tolist() == [0.5, 1.25, -3.0]
    assert back["label"].tolist()[:2] == ["x", "y"] and pd.isna(back["label"].tolist()[2])
    engine.dispose()

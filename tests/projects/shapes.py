"""Fixture projects: small, real Python web backends, one per shape Slipway must run.

Each shape is written the way a team would have it (its own layout, CI files and
conftest), not for Slipway: the point is to run them through ``init`` and
``run --only tests`` unchanged. Standard library only, and deterministic: the same
shape always gives the same bytes, so tests can compare trees.

Lock files that only a tool can produce (poetry.lock, uv.lock, pip-compile output)
live in ``locks/<shape>/`` and are copied in; ``python shapes.py relock`` remakes
them (see ``locks/README.md``).

    python tests/projects/shapes.py write DEST [SHAPE ...]   # DEST/<shape>/...
    python tests/projects/shapes.py list
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCKS = HERE / "locks"

Files = dict[str, str]


def _t(text: str) -> str:
    """A file body written indented in this module, without the indentation."""
    return textwrap.dedent(text).lstrip("\n")


@dataclass(frozen=True)
class Recipe:
    """How the shape's own CI installs and runs it, for verifying the shape by hand.

    Commands run in the project directory; ``{python}`` is the interpreter of a
    fresh virtual environment, ``{venv}`` its directory. Environment values may use
    ``{host}`` and ``{port}`` of the PostgreSQL server used for the check.
    """

    python: str
    db_user: str
    db_password: str
    db_name: str
    install: tuple[tuple[str, ...], ...]
    prepare: tuple[tuple[str, ...], ...] = ()
    tests: tuple[tuple[str, ...], ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    # Whether the project's own recipe supports pytest-xdist (-n).
    xdist: bool = True


# --- pieces several shapes share, as teams copy them from the tools' templates ---

_ALEMBIC_MAKO = _t(
    '''
    """${message}

    Revision ID: ${up_revision}
    Revises: ${down_revision | comma,n}
    Create Date: ${create_date}

    """
    from typing import Sequence, Union

    from alembic import op
    import sqlalchemy as sa
    ${imports if imports else ""}

    # revision identifiers, used by Alembic.
    revision: str = ${repr(up_revision)}
    down_revision: Union[str, Sequence[str], None] = ${repr(down_revision)}
    branch_labels: Union[str, Sequence[str], None] = ${repr(branch_labels)}
    depends_on: Union[str, Sequence[str], None] = ${repr(depends_on)}


    def upgrade() -> None:
        """Upgrade schema."""
        ${upgrades if upgrades else "pass"}


    def downgrade() -> None:
        """Downgrade schema."""
        ${downgrades if downgrades else "pass"}
    '''
)


def _alembic_ini(*, prepend_sys_path: bool, script_location: str = "migrations") -> str:
    """alembic.ini as ``alembic init`` writes it, with the comments trimmed."""
    prepend = (
        _t(
            """
            # sys.path path, will be prepended to sys.path if present.
            # defaults to the current working directory.
            prepend_sys_path = .
            """
        )
        if prepend_sys_path
        else ""
    )
    return (
        _t(
            f"""
        # A generic, single database configuration.

        [alembic]
        # path to migration scripts
        script_location = {script_location}

        # template used to generate migration file names
        file_template = %%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s

        """
        )
        + prepend
        + _t(
            """
        # The database URL is not here: env.py reads DATABASE_URL.

        [post_write_hooks]

        [loggers]
        keys = root,sqlalchemy,alembic

        [handlers]
        keys = console

        [formatters]
        keys = generic

        [logger_root]
        level = WARNING
        handlers = console
        qualname =

        [logger_sqlalchemy]
        level = WARNING
        handlers =
        qualname = sqlalchemy.engine

        [logger_alembic]
        level = INFO
        handlers =
        qualname = alembic

        [handler_console]
        class = StreamHandler
        args = (sys.stderr,)
        level = NOTSET
        formatter = generic

        [formatter_generic]
        format = %(levelname)-5.5s [%(name)s] %(message)s
        datefmt = %H:%M:%S
        """
        )
    )


def _alembic_env(imports: str, url_expr: str) -> str:
    """migrations/env.py: the metadata from the app, the URL from the environment."""
    return (
        _t(
            '''
        """Alembic environment: the app's metadata, the database from DATABASE_URL."""

        from logging.config import fileConfig

        from alembic import context
        from sqlalchemy import create_engine, pool

        '''
        )
        + imports
        + _t(
            f"""

        config = context.config
        if config.config_file_name is not None:
            fileConfig(config.config_file_name, disable_existing_loggers=False)

        target_metadata = Base.metadata


        def run_migrations_offline() -> None:
            context.configure(
                url={url_expr},
                target_metadata=target_metadata,
                literal_binds=True,
                dialect_opts={{"paramstyle": "named"}},
            )
            with context.begin_transaction():
                context.run_migrations()


        def run_migrations_online() -> None:
            engine = create_engine({url_expr}, poolclass=pool.NullPool)
            with engine.connect() as connection:
                context.configure(connection=connection, target_metadata=target_metadata)
                with context.begin_transaction():
                    context.run_migrations()
            engine.dispose()


        if context.is_offline_mode():
            run_migrations_offline()
        else:
            run_migrations_online()
        """
        )
    )


_PY_GITIGNORE = _t(
    """
    __pycache__/
    *.py[cod]
    .venv/
    venv/
    .env
    .pytest_cache/
    .coverage
    .coverage.*
    htmlcov/
    dist/
    *.egg-info/
    """
)

_PG_HEALTH = "--health-cmd pg_isready --health-interval 5s --health-timeout 5s --health-retries 10"


# --- 1. shared_db: FastAPI + SQLAlchemy + alembic, one DATABASE_URL, requirements.txt ---


def _shared_db() -> Files:
    f: Files = {}
    f[".gitignore"] = _PY_GITIGNORE
    f["README.md"] = _t(
        """
        # shop

        Products and orders over HTTP (FastAPI, SQLAlchemy 2, PostgreSQL).

        ```sh
        docker compose up -d db
        pip install -r requirements-dev.txt
        export DATABASE_URL=postgresql://shop:shop@localhost:5432/shop
        alembic upgrade head
        pytest -n auto
        ```

        Each test runs in a transaction that is rolled back, so the whole suite
        shares the one database, also with `-n auto`.
        """
    )
    f["requirements.txt"] = _t(
        """
        fastapi==0.165.0
        uvicorn==0.54.0
        sqlalchemy==2.1.9
        alembic==1.20.1
        psycopg[binary]==3.3.9
        """
    )
    f["requirements-dev.txt"] = _t(
        """
        -r requirements.txt
        pytest==9.2.0
        pytest-xdist==3.8.0
        httpx==0.28.1
        """
    )
    f["pytest.ini"] = _t(
        """
        [pytest]
        testpaths = tests
        pythonpath = .
        addopts = -ra --strict-markers
        markers =
            db: needs the PostgreSQL database (DATABASE_URL)
        """
    )
    f["docker-compose.yml"] = _t(
        """
        services:
          db:
            image: postgres:15
            environment:
              POSTGRES_USER: shop
              POSTGRES_PASSWORD: shop
              POSTGRES_DB: shop
            ports:
              - "5432:5432"
            volumes:
              - db-data:/var/lib/postgresql/data

          api:
            build: .
            environment:
              DATABASE_URL: postgresql://shop:shop@db:5432/shop
            ports:
              - "8000:8000"
            depends_on:
              - db

        volumes:
          db-data:
        """
    )
    f["Dockerfile"] = _t(
        """
        FROM python:3.11-slim
        WORKDIR /app
        COPY requirements.txt .
        RUN pip install --no-cache-dir -r requirements.txt
        COPY . .
        CMD ["sh", "-c", "alembic upgrade head && uvicorn app.main:app --host 0.0.0.0 --port 8000"]
        """
    )
    f[".github/workflows/ci.yml"] = _t(
        f"""
        name: CI

        on:
          push:
            branches: [main]
          pull_request:

        jobs:
          test:
            runs-on: ubuntu-latest
            services:
              postgres:
                image: postgres:15
                env:
                  POSTGRES_USER: shop
                  POSTGRES_PASSWORD: shop
                  POSTGRES_DB: shop
                ports:
                  - 5432:5432
                options: >-
                  {_PG_HEALTH}
            env:
              DATABASE_URL: postgresql://shop:shop@localhost:5432/shop
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-python@v5
                with:
                  python-version: "3.11"
                  cache: pip
              - name: Install dependencies
                run: pip install -r requirements-dev.txt
              - name: Migrate
                run: alembic upgrade head
              - name: Test
                run: pytest -n auto
        """
    )
    f["alembic.ini"] = _alembic_ini(prepend_sys_path=True)
    f["migrations/script.py.mako"] = _ALEMBIC_MAKO
    f["migrations/env.py"] = _alembic_env(
        "from app.config import database_url\nfrom app.models import Base\n", "database_url()"
    )
    f["migrations/versions/20240312_5f1c2a9d0b11_create_products.py"] = _t(
        '''
        """create products

        Revision ID: 5f1c2a9d0b11
        Revises:
        Create Date: 2024-03-12 09:41:07.118204

        """
        from typing import Sequence, Union

        from alembic import op
        import sqlalchemy as sa


        # revision identifiers, used by Alembic.
        revision: str = "5f1c2a9d0b11"
        down_revision: Union[str, Sequence[str], None] = None
        branch_labels: Union[str, Sequence[str], None] = None
        depends_on: Union[str, Sequence[str], None] = None


        def upgrade() -> None:
            """Upgrade schema."""
            op.create_table(
                "products",
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("sku", sa.String(length=32), nullable=False),
                sa.Column("name", sa.String(length=200), nullable=False),
                sa.Column("price", sa.Numeric(precision=10, scale=2), nullable=False),
                sa.Column("stock", sa.Integer(), nullable=False),
                sa.PrimaryKeyConstraint("id"),
                sa.UniqueConstraint("sku"),
            )


        def downgrade() -> None:
            """Downgrade schema."""
            op.drop_table("products")
        '''
    )
    f["migrations/versions/20240402_9a3e7c4410d2_create_orders.py"] = _t(
        '''
        """create orders

        Revision ID: 9a3e7c4410d2
        Revises: 5f1c2a9d0b11
        Create Date: 2024-04-02 16:03:55.902114

        """
        from typing import Sequence, Union

        from alembic import op
        import sqlalchemy as sa


        # revision identifiers, used by Alembic.
        revision: str = "9a3e7c4410d2"
        down_revision: Union[str, Sequence[str], None] = "5f1c2a9d0b11"
        branch_labels: Union[str, Sequence[str], None] = None
        depends_on: Union[str, Sequence[str], None] = None


        def upgrade() -> None:
            """Upgrade schema."""
            op.create_table(
                "orders",
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("product_id", sa.Integer(), nullable=False),
                sa.Column("quantity", sa.Integer(), nullable=False),
                sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=False),
                sa.ForeignKeyConstraint(["product_id"], ["products.id"]),
                sa.PrimaryKeyConstraint("id"),
            )


        def downgrade() -> None:
            """Downgrade schema."""
            op.drop_table("orders")
        '''
    )
    f["app/__init__.py"] = ""
    f["app/config.py"] = _t(
        '''
        """Settings from the environment."""

        import os

        DEFAULT_DATABASE_URL = "postgresql://shop:shop@localhost:5432/shop"


        def database_url() -> str:
            """DATABASE_URL for SQLAlchemy, which would pick psycopg2 for a bare postgresql://."""
            url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
            for prefix in ("postgresql://", "postgres://"):
                if url.startswith(prefix):
                    return "postgresql+psycopg://" + url[len(prefix) :]
            return url
        '''
    )
    f["app/db.py"] = _t(
        '''
        """The engine (made on first use) and a session per request."""

        from collections.abc import Iterator
        from functools import lru_cache

        from sqlalchemy import Engine, create_engine
        from sqlalchemy.orm import Session

        from app.config import database_url


        @lru_cache
        def get_engine() -> Engine:
            return create_engine(database_url(), pool_pre_ping=True)


        def get_session() -> Iterator[Session]:
            with Session(get_engine()) as session:
                yield session
        '''
    )
    f["app/models.py"] = _t(
        """
        from decimal import Decimal

        from sqlalchemy import ForeignKey, Numeric, String
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            pass


        class Product(Base):
            __tablename__ = "products"

            id: Mapped[int] = mapped_column(primary_key=True)
            sku: Mapped[str] = mapped_column(String(32), unique=True)
            name: Mapped[str] = mapped_column(String(200))
            price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
            stock: Mapped[int] = mapped_column(default=0)


        class Order(Base):
            __tablename__ = "orders"

            id: Mapped[int] = mapped_column(primary_key=True)
            product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
            quantity: Mapped[int]
            total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
        """
    )
    f["app/pricing.py"] = _t(
        '''
        """Prices: line totals and the bulk discount."""

        from decimal import ROUND_HALF_UP, Decimal

        CENT = Decimal("0.01")


        def line_total(price: Decimal, quantity: int) -> Decimal:
            if quantity <= 0:
                raise ValueError("quantity must be positive")
            return (price * quantity).quantize(CENT, rounding=ROUND_HALF_UP)


        def bulk_discount(quantity: int) -> Decimal:
            if quantity >= 100:
                return Decimal("0.10")
            if quantity >= 10:
                return Decimal("0.05")
            return Decimal("0")


        def order_total(price: Decimal, quantity: int) -> Decimal:
            gross = line_total(price, quantity)
            return (gross * (1 - bulk_discount(quantity))).quantize(CENT, rounding=ROUND_HALF_UP)
        '''
    )
    f["app/main.py"] = _t(
        """
        from decimal import Decimal
        from typing import Annotated

        from fastapi import Depends, FastAPI, HTTPException
        from pydantic import BaseModel, ConfigDict
        from sqlalchemy import select
        from sqlalchemy.exc import IntegrityError
        from sqlalchemy.orm import Session

        from app.db import get_session
        from app.models import Order, Product
        from app.pricing import order_total

        app = FastAPI(title="shop")
        SessionDep = Annotated[Session, Depends(get_session)]


        class ProductIn(BaseModel):
            sku: str
            name: str
            price: Decimal
            stock: int = 0


        class ProductOut(ProductIn):
            model_config = ConfigDict(from_attributes=True)

            id: int


        class OrderIn(BaseModel):
            sku: str
            quantity: int


        class OrderOut(BaseModel):
            model_config = ConfigDict(from_attributes=True)

            id: int
            quantity: int
            total: Decimal


        @app.get("/health")
        def health() -> dict[str, str]:
            return {"status": "ok"}


        @app.post("/products", status_code=201, response_model=ProductOut)
        def create_product(body: ProductIn, session: SessionDep) -> Product:
            product = Product(**body.model_dump())
            session.add(product)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                raise HTTPException(409, f"sku {body.sku} exists") from None
            session.refresh(product)
            return product


        @app.get("/products/{sku}", response_model=ProductOut)
        def get_product(sku: str, session: SessionDep) -> Product:
            product = session.scalar(select(Product).where(Product.sku == sku))
            if product is None:
                raise HTTPException(404, f"no product {sku}")
            return product


        @app.post("/orders", status_code=201, response_model=OrderOut)
        def place_order(body: OrderIn, session: SessionDep) -> Order:
            product = session.scalar(select(Product).where(Product.sku == body.sku).with_for_update())
            if product is None:
                raise HTTPException(404, f"no product {body.sku}")
            if product.stock < body.quantity:
                raise HTTPException(409, "not enough stock")
            product.stock -= body.quantity
            order = Order(
                product_id=product.id,
                quantity=body.quantity,
                total=order_total(product.price, body.quantity),
            )
            session.add(order)
            session.commit()
            session.refresh(order)
            return order
        """
    )
    f["tests/conftest.py"] = _t(
        '''
        from collections.abc import Iterator

        import pytest
        from fastapi.testclient import TestClient
        from sqlalchemy.orm import Session

        from app.db import get_engine, get_session
        from app.main import app


        @pytest.fixture
        def db_session() -> Iterator[Session]:
            """A session inside a transaction that is rolled back after the test."""
            connection = get_engine().connect()
            transaction = connection.begin()
            session = Session(bind=connection, join_transaction_mode="create_savepoint")
            try:
                yield session
            finally:
                session.close()
                transaction.rollback()
                connection.close()


        @pytest.fixture
        def client(db_session: Session) -> Iterator[TestClient]:
            app.dependency_overrides[get_session] = lambda: db_session
            with TestClient(app) as test_client:
                yield test_client
            app.dependency_overrides.clear()
        '''
    )
    f["tests/test_health.py"] = _t(
        """
        from fastapi.testclient import TestClient

        from app.main import app


        def test_health() -> None:
            response = TestClient(app).get("/health")
            assert response.json() == {"status": "ok"}
        """
    )
    f["tests/test_pricing.py"] = _t(
        """
        from decimal import Decimal

        import pytest

        from app.pricing import bulk_discount, line_total, order_total


        def test_line_total_rounds_to_cents() -> None:
            assert line_total(Decimal("0.333"), 3) == Decimal("1.00")


        def test_line_total_needs_a_positive_quantity() -> None:
            with pytest.raises(ValueError):
                line_total(Decimal("1.00"), 0)


        @pytest.mark.parametrize(
            ("quantity", "discount"), [(1, "0"), (10, "0.05"), (100, "0.10")]
        )
        def test_bulk_discount(quantity: int, discount: str) -> None:
            assert bulk_discount(quantity) == Decimal(discount)


        def test_order_total_applies_the_discount() -> None:
            assert order_total(Decimal("2.00"), 10) == Decimal("19.00")
        """
    )
    f["tests/test_products.py"] = _t(
        """
        import pytest
        from fastapi.testclient import TestClient

        pytestmark = pytest.mark.db

        WIDGET = {"sku": "W-1", "name": "Widget", "price": "2.50", "stock": 5}


        def test_create_product(client: TestClient) -> None:
            response = client.post("/products", json=WIDGET)
            assert response.status_code == 201
            assert response.json()["sku"] == "W-1"


        def test_duplicate_sku_is_a_conflict(client: TestClient) -> None:
            client.post("/products", json=WIDGET)
            assert client.post("/products", json=WIDGET).status_code == 409


        def test_get_product(client: TestClient) -> None:
            client.post("/products", json=WIDGET)
            assert client.get("/products/W-1").json()["price"] == "2.50"


        def test_missing_product(client: TestClient) -> None:
            assert client.get("/products/NOPE").status_code == 404


        def test_each_test_starts_empty(client: TestClient) -> None:
            assert client.get("/products/W-1").status_code == 404
        """
    )
    f["tests/test_orders.py"] = _t(
        """
        import pytest
        from fastapi.testclient import TestClient

        pytestmark = pytest.mark.db


        @pytest.fixture
        def gadget(client: TestClient) -> str:
            client.post("/products", json={"sku": "G-1", "name": "Gadget", "price": "2.00", "stock": 20})
            return "G-1"


        def test_order_takes_stock(client: TestClient, gadget: str) -> None:
            response = client.post("/orders", json={"sku": gadget, "quantity": 3})
            assert response.status_code == 201
            assert client.get(f"/products/{gadget}").json()["stock"] == 17


        def test_bulk_order_is_discounted(client: TestClient, gadget: str) -> None:
            response = client.post("/orders", json={"sku": gadget, "quantity": 10})
            assert response.json()["total"] == "19.00"


        def test_not_enough_stock(client: TestClient, gadget: str) -> None:
            assert client.post("/orders", json={"sku": gadget, "quantity": 21}).status_code == 409


        def test_unknown_product(client: TestClient) -> None:
            assert client.post("/orders", json={"sku": "X", "quantity": 1}).status_code == 404
        """
    )
    return f


# --- 2. worker_suffix: a conftest that appends the xdist worker id; poetry ---


def _worker_suffix() -> Files:
    f: Files = {}
    f[".gitignore"] = _PY_GITIGNORE
    f["README.md"] = _t(
        """
        # orders

        The order service (FastAPI on PostgreSQL), managed with Poetry.

        ```sh
        poetry install
        poetry run pytest tests/unit
        DATABASE_URL=postgresql://postgres:postgres@localhost:5432/orders_test \\
            poetry run pytest tests/integration -n 4
        ```

        With `-n`, every xdist worker gets its own database: `tests/conftest.py`
        appends the worker id to the database name (`orders_test_gw0`, ...),
        creates it when it is missing and migrates it.
        """
    )
    f["pyproject.toml"] = _t(
        """
        [tool.poetry]
        name = "orders"
        version = "1.4.0"
        description = "Order service"
        authors = ["Orders Team <orders@example.com>"]
        readme = "README.md"
        packages = [{ include = "orders" }]

        [tool.poetry.dependencies]
        python = "^3.11"
        fastapi = ">=0.115"
        uvicorn = ">=0.30"
        sqlalchemy = "^2.0"
        alembic = "^1.13"
        psycopg = { version = "^3.2", extras = ["binary"] }

        [tool.poetry.group.dev.dependencies]
        pytest = ">=8.0"
        pytest-xdist = "^3.6"
        httpx = ">=0.27"

        [tool.pytest.ini_options]
        testpaths = ["tests"]
        addopts = "-ra"

        [build-system]
        requires = ["poetry-core>=1.0.0"]
        build-backend = "poetry.core.masonry.api"
        """
    )
    f["Dockerfile"] = _t(
        """
        FROM python:3.11-slim
        ENV POETRY_VIRTUALENVS_CREATE=false
        RUN pip install --no-cache-dir poetry
        WORKDIR /app
        COPY pyproject.toml poetry.lock ./
        RUN poetry install --only main --no-root --no-interaction
        COPY . .
        RUN poetry install --only-root --no-interaction
        CMD ["uvicorn", "orders.api:app", "--host", "0.0.0.0", "--port", "8000"]
        """
    )
    f[".github/workflows/tests.yml"] = _t(
        f"""
        name: tests

        on: [push, pull_request]

        jobs:
          unit:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-python@v5
                with:
                  python-version: "3.11"
              - run: pip install poetry
              - run: poetry install --no-interaction
              - run: poetry run pytest tests/unit

          integration:
            runs-on: ubuntu-latest
            services:
              postgres:
                image: postgres:17
                env:
                  POSTGRES_PASSWORD: postgres
                  POSTGRES_DB: orders_test
                ports:
                  - 5432:5432
                options: {_PG_HEALTH}
            env:
              DATABASE_URL: postgresql://postgres:postgres@localhost:5432/orders_test
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-python@v5
                with:
                  python-version: "3.11"
              - run: pip install poetry
              - run: poetry install --no-interaction
              - run: poetry run pytest tests/integration -n 4
        """
    )
    f["alembic.ini"] = _alembic_ini(prepend_sys_path=True)
    f["migrations/script.py.mako"] = _ALEMBIC_MAKO
    f["migrations/env.py"] = _alembic_env(
        "from orders.db import database_url\nfrom orders.models import Base\n", "database_url()"
    )
    f["migrations/versions/20240115_2b7d0e6c1f3a_orders.py"] = _t(
        '''
        """orders

        Revision ID: 2b7d0e6c1f3a
        Revises:
        Create Date: 2024-01-15 11:20:44.310021

        """
        from typing import Sequence, Union

        from alembic import op
        import sqlalchemy as sa


        # revision identifiers, used by Alembic.
        revision: str = "2b7d0e6c1f3a"
        down_revision: Union[str, Sequence[str], None] = None
        branch_labels: Union[str, Sequence[str], None] = None
        depends_on: Union[str, Sequence[str], None] = None


        def upgrade() -> None:
            """Upgrade schema."""
            op.create_table(
                "orders",
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("customer", sa.String(length=120), nullable=False),
                sa.Column("status", sa.String(length=16), nullable=False),
                sa.Column("total_cents", sa.Integer(), nullable=False),
                sa.PrimaryKeyConstraint("id"),
            )
            op.create_index("ix_orders_customer", "orders", ["customer"])


        def downgrade() -> None:
            """Downgrade schema."""
            op.drop_index("ix_orders_customer", table_name="orders")
            op.drop_table("orders")
        '''
    )
    f["orders/__init__.py"] = ""
    f["orders/db.py"] = _t(
        '''
        """Engine and sessions; DATABASE_URL is read when the engine is first needed."""

        import os
        from collections.abc import Iterator
        from functools import lru_cache

        from sqlalchemy import Engine, create_engine
        from sqlalchemy.orm import Session

        DEFAULT_DATABASE_URL = "postgresql://postgres:postgres@localhost:5432/orders"


        def database_url() -> str:
            return os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)


        @lru_cache
        def get_engine() -> Engine:
            return create_engine(database_url(), pool_pre_ping=True)


        def get_session() -> Iterator[Session]:
            with Session(get_engine()) as session:
                yield session
        '''
    )
    f["orders/models.py"] = _t(
        """
        from sqlalchemy import String
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            pass


        class Order(Base):
            __tablename__ = "orders"

            id: Mapped[int] = mapped_column(primary_key=True)
            customer: Mapped[str] = mapped_column(String(120), index=True)
            status: Mapped[str] = mapped_column(String(16), default="new")
            total_cents: Mapped[int] = mapped_column(default=0)
        """
    )
    f["orders/status.py"] = _t(
        '''
        """The order life cycle."""

        TRANSITIONS: dict[str, frozenset[str]] = {
            "new": frozenset({"paid", "cancelled"}),
            "paid": frozenset({"shipped", "refunded"}),
            "shipped": frozenset({"delivered"}),
            "delivered": frozenset(),
            "cancelled": frozenset(),
            "refunded": frozenset(),
        }


        class InvalidTransition(ValueError):
            pass


        def advance(current: str, target: str) -> str:
            if target not in TRANSITIONS.get(current, frozenset()):
                raise InvalidTransition(f"{current} -> {target}")
            return target


        def is_final(status: str) -> bool:
            return not TRANSITIONS[status]
        '''
    )
    f["orders/money.py"] = _t(
        '''
        """Amounts are integer cents inside, strings with two decimals outside."""


        def parse_amount(text: str) -> int:
            whole, _, frac = text.strip().partition(".")
            if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
                raise ValueError(f"not an amount: {text!r}")
            return int(whole) * 100 + int(frac.ljust(2, "0") or 0)


        def format_cents(cents: int) -> str:
            return f"{cents // 100}.{cents % 100:02d}"
        '''
    )
    f["orders/api.py"] = _t(
        """
        from typing import Annotated

        from fastapi import Depends, FastAPI, HTTPException
        from pydantic import BaseModel
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from orders.db import get_session
        from orders.models import Order
        from orders.money import format_cents, parse_amount
        from orders.status import InvalidTransition, advance

        app = FastAPI(title="orders")
        SessionDep = Annotated[Session, Depends(get_session)]


        class NewOrder(BaseModel):
            customer: str
            total: str


        class StatusChange(BaseModel):
            status: str


        def _out(order: Order) -> dict[str, object]:
            return {
                "id": order.id,
                "customer": order.customer,
                "status": order.status,
                "total": format_cents(order.total_cents),
            }


        @app.post("/orders", status_code=201)
        def create_order(body: NewOrder, session: SessionDep) -> dict[str, object]:
            try:
                cents = parse_amount(body.total)
            except ValueError as exc:
                raise HTTPException(422, str(exc)) from None
            order = Order(customer=body.customer, status="new", total_cents=cents)
            session.add(order)
            session.commit()
            return _out(order)


        @app.post("/orders/{order_id}/status")
        def change_status(order_id: int, body: StatusChange, session: SessionDep) -> dict[str, object]:
            order = session.get(Order, order_id)
            if order is None:
                raise HTTPException(404, "no such order")
            try:
                order.status = advance(order.status, body.status)
            except InvalidTransition as exc:
                raise HTTPException(409, str(exc)) from None
            session.commit()
            return _out(order)


        @app.get("/customers/{customer}/orders")
        def customer_orders(customer: str, session: SessionDep) -> list[dict[str, object]]:
            rows = session.scalars(select(Order).where(Order.customer == customer).order_by(Order.id))
            return [_out(order) for order in rows]
        """
    )
    f["tests/__init__.py"] = ""
    f["tests/conftest.py"] = _t(
        '''
        """One database per xdist worker: DATABASE_URL's name plus the worker id.

        `pytest -n 4` runs four workers (gw0..gw3); each one appends its id to the
        database name, creates that database when it is missing and migrates it, so
        the workers never see each other's rows. A serial run uses DATABASE_URL as is.
        """

        import os
        from pathlib import Path

        import pytest
        from alembic import command
        from alembic.config import Config
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        ROOT = Path(__file__).resolve().parent.parent
        DEFAULT_URL = "postgresql://postgres:postgres@localhost:5432/orders_test"


        def worker_database_url() -> str:
            base = os.environ.get("DATABASE_URL", DEFAULT_URL)
            worker_id = os.environ.get("PYTEST_XDIST_WORKER")
            if not worker_id:
                return base
            url = make_url(base)
            return url.set(database=f"{url.database}_{worker_id}").render_as_string(hide_password=False)


        def create_database_if_missing(url: str) -> None:
            target = make_url(url)
            admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as conn:
                    exists = conn.scalar(
                        text("SELECT 1 FROM pg_database WHERE datname = :name"),
                        {"name": target.database},
                    )
                    if not exists:
                        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
            finally:
                admin.dispose()


        # Before the app is imported: orders.db reads DATABASE_URL on first use.
        os.environ["DATABASE_URL"] = worker_database_url()


        @pytest.fixture(scope="session")
        def database() -> str:
            url = os.environ["DATABASE_URL"]
            create_database_if_missing(url)
            command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
            return url
        '''
    )
    f["tests/unit/__init__.py"] = ""
    f["tests/unit/test_status.py"] = _t(
        """
        import pytest

        from orders.status import InvalidTransition, advance, is_final


        def test_paid_order_can_ship() -> None:
            assert advance("paid", "shipped") == "shipped"


        @pytest.mark.parametrize(("current", "target"), [("new", "shipped"), ("delivered", "new")])
        def test_invalid_transitions(current: str, target: str) -> None:
            with pytest.raises(InvalidTransition):
                advance(current, target)


        def test_final_states() -> None:
            assert is_final("delivered")
            assert not is_final("paid")
        """
    )
    f["tests/unit/test_money.py"] = _t(
        """
        import pytest

        from orders.money import format_cents, parse_amount


        @pytest.mark.parametrize(("text", "cents"), [("12", 1200), ("12.5", 1250), ("0.07", 7)])
        def test_parse_amount(text: str, cents: int) -> None:
            assert parse_amount(text) == cents


        def test_parse_rejects_three_decimals() -> None:
            with pytest.raises(ValueError):
                parse_amount("1.005")


        def test_format_cents() -> None:
            assert format_cents(1205) == "12.05"
        """
    )
    f["tests/integration/__init__.py"] = ""
    f["tests/integration/conftest.py"] = _t(
        """
        from collections.abc import Iterator

        import pytest
        from fastapi.testclient import TestClient
        from sqlalchemy.orm import Session

        from orders.api import app
        from orders.db import get_engine, get_session


        @pytest.fixture
        def db_session(database: str) -> Iterator[Session]:
            connection = get_engine().connect()
            transaction = connection.begin()
            session = Session(bind=connection, join_transaction_mode="create_savepoint")
            yield session
            session.close()
            transaction.rollback()
            connection.close()


        @pytest.fixture
        def client(db_session: Session) -> Iterator[TestClient]:
            app.dependency_overrides[get_session] = lambda: db_session
            with TestClient(app) as test_client:
                yield test_client
            app.dependency_overrides.clear()
        """
    )
    f["tests/integration/test_orders_api.py"] = _t(
        """
        from fastapi.testclient import TestClient


        def test_create_order(client: TestClient) -> None:
            response = client.post("/orders", json={"customer": "ada", "total": "10.50"})
            assert response.status_code == 201
            assert response.json()["total"] == "10.50"


        def test_bad_amount(client: TestClient) -> None:
            assert client.post("/orders", json={"customer": "ada", "total": "ten"}).status_code == 422


        def test_pay_then_ship(client: TestClient) -> None:
            order_id = client.post("/orders", json={"customer": "ada", "total": "1"}).json()["id"]
            client.post(f"/orders/{order_id}/status", json={"status": "paid"})
            response = client.post(f"/orders/{order_id}/status", json={"status": "shipped"})
            assert response.json()["status"] == "shipped"


        def test_cannot_ship_unpaid(client: TestClient) -> None:
            order_id = client.post("/orders", json={"customer": "ada", "total": "1"}).json()["id"]
            assert client.post(f"/orders/{order_id}/status", json={"status": "shipped"}).status_code == 409
        """
    )
    f["tests/integration/test_customer_orders.py"] = _t(
        """
        import os

        from fastapi.testclient import TestClient
        from sqlalchemy.orm import Session

        from orders.models import Order


        def test_orders_of_one_customer(client: TestClient, db_session: Session) -> None:
            db_session.add_all([Order(customer="bob", total_cents=100), Order(customer="eve", total_cents=5)])
            db_session.flush()
            orders = client.get("/customers/bob/orders").json()
            assert [o["total"] for o in orders] == ["1.00"]


        def test_empty_for_a_new_customer(client: TestClient) -> None:
            assert client.get("/customers/nobody/orders").json() == []


        def test_worker_has_its_own_database(database: str) -> None:
            worker_id = os.environ.get("PYTEST_XDIST_WORKER")
            if worker_id:
                assert database.endswith(f"_{worker_id}")
        """
    )
    return f


# --- 3. django: Django + pytest-django, its own test database ---


def _django() -> Files:
    f: Files = {}
    f[".gitignore"] = _PY_GITIGNORE + "staticfiles/\n"
    f["README.md"] = _t(
        """
        # library

        The library catalogue: authors and books, as JSON (Django 5.2, PostgreSQL).

        ```sh
        pip install -r requirements/test.txt
        DB_HOST=localhost DB_USER=library DB_PASSWORD=library pytest
        ```

        Settings read `DATABASE_URL`, or `DB_NAME`, `DB_USER`, `DB_PASSWORD`,
        `DB_HOST`, `DB_PORT`. pytest-django makes its own `test_library` database
        (one per xdist worker) and keeps it between runs (`--reuse-db`).
        """
    )
    f["requirements/base.txt"] = _t(
        """
        Django==5.2.19
        psycopg[binary]==3.3.9
        """
    )
    f["requirements/test.txt"] = _t(
        """
        -r base.txt
        pytest==9.2.0
        pytest-django==4.14.0
        pytest-xdist==3.8.0
        """
    )
    f["pytest.ini"] = _t(
        """
        [pytest]
        DJANGO_SETTINGS_MODULE = library.settings
        python_files = tests.py test_*.py
        addopts = --reuse-db
        """
    )
    f["Dockerfile"] = _t(
        """
        FROM python:3.13-slim
        ENV PYTHONUNBUFFERED=1
        WORKDIR /app
        COPY requirements requirements
        RUN pip install --no-cache-dir -r requirements/base.txt
        COPY . .
        CMD ["python", "manage.py", "runserver", "0.0.0.0:8000"]
        """
    )
    f[".gitlab-ci.yml"] = _t(
        """
        image: python:3.13-slim

        variables:
          POSTGRES_DB: library
          POSTGRES_USER: library
          POSTGRES_PASSWORD: library
          DB_HOST: postgres
          DB_NAME: library
          DB_USER: library
          DB_PASSWORD: library
          PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"

        cache:
          paths:
            - .cache/pip

        stages:
          - test

        test:
          stage: test
          services:
            - postgres:15
          before_script:
            - pip install -r requirements/test.txt
          script:
            - python manage.py check
            - pytest -n 2
        """
    )
    f["manage.py"] = _t(
        '''
        #!/usr/bin/env python
        """Django's command-line utility for administrative tasks."""
        import os
        import sys


        def main():
            """Run administrative tasks."""
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "library.settings")
            try:
                from django.core.management import execute_from_command_line
            except ImportError as exc:
                raise ImportError(
                    "Couldn't import Django. Are you sure it's installed and "
                    "available on your PYTHONPATH environment variable? Did you "
                    "forget to activate a virtual environment?"
                ) from exc
            execute_from_command_line(sys.argv)


        if __name__ == "__main__":
            main()
        '''
    )
    f["library/__init__.py"] = ""
    f["library/settings.py"] = _t(
        '''
        """Settings for the library project, from the environment."""

        import os
        from pathlib import Path
        from urllib.parse import unquote, urlsplit

        BASE_DIR = Path(__file__).resolve().parent.parent

        SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-not-secret")
        DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
        ALLOWED_HOSTS = ["*"]

        INSTALLED_APPS = [
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "catalog",
        ]

        MIDDLEWARE = [
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ]

        ROOT_URLCONF = "library.urls"

        TEMPLATES = [
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [],
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ],
                },
            },
        ]

        WSGI_APPLICATION = "library.wsgi.application"


        def _database() -> dict[str, str]:
            url = os.environ.get("DATABASE_URL")
            if url:
                parts = urlsplit(url)
                return {
                    "ENGINE": "django.db.backends.postgresql",
                    "NAME": parts.path.lstrip("/"),
                    "USER": unquote(parts.username or ""),
                    "PASSWORD": unquote(parts.password or ""),
                    "HOST": parts.hostname or "",
                    "PORT": str(parts.port or ""),
                }
            return {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": os.environ.get("DB_NAME", "library"),
                "USER": os.environ.get("DB_USER", "library"),
                "PASSWORD": os.environ.get("DB_PASSWORD", ""),
                "HOST": os.environ.get("DB_HOST", "localhost"),
                "PORT": os.environ.get("DB_PORT", "5432"),
            }


        DATABASES = {"default": _database()}

        DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
        LANGUAGE_CODE = "en-us"
        TIME_ZONE = "UTC"
        USE_I18N = True
        USE_TZ = True
        STATIC_URL = "static/"
        STATIC_ROOT = BASE_DIR / "staticfiles"
        '''
    )
    f["library/urls.py"] = _t(
        """
        from django.contrib import admin
        from django.urls import include, path

        urlpatterns = [
            path("admin/", admin.site.urls),
            path("", include("catalog.urls")),
        ]
        """
    )
    f["library/wsgi.py"] = _t(
        """
        import os

        from django.core.wsgi import get_wsgi_application

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "library.settings")

        application = get_wsgi_application()
        """
    )
    f["library/asgi.py"] = _t(
        """
        import os

        from django.core.asgi import get_asgi_application

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "library.settings")

        application = get_asgi_application()
        """
    )
    f["catalog/__init__.py"] = ""
    f["catalog/apps.py"] = _t(
        """
        from django.apps import AppConfig


        class CatalogConfig(AppConfig):
            default_auto_field = "django.db.models.BigAutoField"
            name = "catalog"
        """
    )
    f["catalog/admin.py"] = _t(
        """
        from django.contrib import admin

        from .models import Author, Book

        admin.site.register(Author)
        admin.site.register(Book)
        """
    )
    f["catalog/isbn.py"] = _t(
        '''
        """ISBN-13 checks and ISBN-10 conversion."""


        def normalize(isbn: str) -> str:
            return isbn.replace("-", "").replace(" ", "").upper()


        def is_valid_isbn13(isbn: str) -> bool:
            digits = normalize(isbn)
            if len(digits) != 13 or not digits.isdigit():
                return False
            total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits))
            return total % 10 == 0


        def isbn10_to_isbn13(isbn10: str) -> str:
            digits = normalize(isbn10)
            if len(digits) != 10:
                raise ValueError(f"not an ISBN-10: {isbn10!r}")
            core = "978" + digits[:9]
            check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(core)) % 10) % 10
            return core + str(check)
        '''
    )
    f["catalog/models.py"] = _t(
        """
        from django.db import models


        class Author(models.Model):
            name = models.CharField(max_length=200)

            def __str__(self) -> str:
                return self.name


        class BookQuerySet(models.QuerySet):
            def available(self):
                return self.filter(available=True)


        class Book(models.Model):
            title = models.CharField(max_length=300)
            isbn = models.CharField(max_length=13, unique=True)
            author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
            published = models.PositiveSmallIntegerField(null=True, blank=True)
            available = models.BooleanField(default=True)

            objects = BookQuerySet.as_manager()

            class Meta:
                ordering = ["title"]

            def __str__(self) -> str:
                return f"{self.title} ({self.author})"
        """
    )
    f["catalog/migrations/__init__.py"] = ""
    f["catalog/migrations/0001_initial.py"] = _t(
        """
        # Generated by Django 5.2.19 on 2025-02-03 10:12

        import django.db.models.deletion
        from django.db import migrations, models


        class Migration(migrations.Migration):

            initial = True

            dependencies = [
            ]

            operations = [
                migrations.CreateModel(
                    name='Author',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200)),
                    ],
                ),
                migrations.CreateModel(
                    name='Book',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('title', models.CharField(max_length=300)),
                        ('isbn', models.CharField(max_length=13, unique=True)),
                        ('published', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('available', models.BooleanField(default=True)),
                        ('author', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='books', to='catalog.author')),
                    ],
                    options={
                        'ordering': ['title'],
                    },
                ),
            ]
        """
    )
    f["catalog/views.py"] = _t(
        """
        from django.http import Http404, JsonResponse
        from django.shortcuts import get_object_or_404

        from .isbn import normalize
        from .models import Book


        def _book(book: Book) -> dict[str, object]:
            return {
                "title": book.title,
                "isbn": book.isbn,
                "author": book.author.name,
                "available": book.available,
            }


        def book_list(request):
            books = Book.objects.select_related("author")
            if request.GET.get("available") == "1":
                books = books.available()
            return JsonResponse({"books": [_book(b) for b in books]})


        def book_detail(request, isbn: str):
            code = normalize(isbn)
            if not code.isdigit():
                raise Http404("not an ISBN")
            return JsonResponse(_book(get_object_or_404(Book.objects.select_related("author"), isbn=code)))
        """
    )
    f["catalog/urls.py"] = _t(
        """
        from django.urls import path

        from . import views

        urlpatterns = [
            path("books/", views.book_list, name="book-list"),
            path("books/<str:isbn>/", views.book_detail, name="book-detail"),
        ]
        """
    )
    f["catalog/tests/__init__.py"] = ""
    f["catalog/tests/test_isbn.py"] = _t(
        """
        import pytest

        from catalog.isbn import is_valid_isbn13, isbn10_to_isbn13, normalize


        def test_normalize_strips_hyphens() -> None:
            assert normalize("978-0-13-468599-1") == "9780134685991"


        @pytest.mark.parametrize(
            ("isbn", "valid"),
            [("9780134685991", True), ("9780134685992", False), ("97801346", False)],
        )
        def test_isbn13_checksum(isbn: str, valid: bool) -> None:
            assert is_valid_isbn13(isbn) is valid


        def test_isbn10_conversion() -> None:
            assert isbn10_to_isbn13("0-13-468599-7") == "9780134685991"


        def test_isbn10_conversion_rejects_short_codes() -> None:
            with pytest.raises(ValueError):
                isbn10_to_isbn13("12345")
        """
    )
    f["catalog/tests/test_models.py"] = _t(
        """
        import pytest
        from django.db import IntegrityError

        from catalog.models import Author, Book


        @pytest.fixture
        def author(db) -> Author:
            return Author.objects.create(name="Ursula K. Le Guin")


        @pytest.mark.django_db
        def test_book_str(author: Author) -> None:
            book = Book.objects.create(title="The Dispossessed", isbn="9780061054884", author=author)
            assert str(book) == "The Dispossessed (Ursula K. Le Guin)"


        @pytest.mark.django_db
        def test_isbn_is_unique(author: Author) -> None:
            Book.objects.create(title="A", isbn="9780061054884", author=author)
            with pytest.raises(IntegrityError):
                Book.objects.create(title="B", isbn="9780061054884", author=author)


        @pytest.mark.django_db
        def test_available_books(author: Author) -> None:
            Book.objects.create(title="In", isbn="9780000000001", author=author)
            Book.objects.create(title="Out", isbn="9780000000002", author=author, available=False)
            assert [b.title for b in Book.objects.available()] == ["In"]
        """
    )
    f["catalog/tests/test_views.py"] = _t(
        """
        import pytest

        from catalog.models import Author, Book

        pytestmark = pytest.mark.django_db


        @pytest.fixture
        def book() -> Book:
            author = Author.objects.create(name="Octavia E. Butler")
            return Book.objects.create(title="Kindred", isbn="9780807083697", author=author)


        def test_empty_list(client) -> None:
            assert client.get("/books/").json() == {"books": []}


        def test_list(client, book: Book) -> None:
            assert client.get("/books/").json()["books"][0]["title"] == "Kindred"


        def test_detail_accepts_hyphens(client, book: Book) -> None:
            assert client.get("/books/978-0807083697/").json()["author"] == "Octavia E. Butler"


        def test_unknown_book(client) -> None:
            assert client.get("/books/9780000000000/").status_code == 404
        """
    )
    return f


# --- 4. create_all: tables made and dropped around every test; requirements.txt ---


def _create_all() -> Files:
    f: Files = {}
    f[".gitignore"] = _PY_GITIGNORE
    f["README.md"] = _t(
        """
        # notes

        Notebooks and notes (Flask, SQLAlchemy, PostgreSQL). No migrations yet: the
        app creates its tables on start, and the tests create and drop them around
        every test, so run the suite serially.

        ```sh
        pip install -r requirements.txt -r requirements-test.txt
        DATABASE_URL=postgresql://notes:notes@localhost:5432/notes pytest
        ```
        """
    )
    f["requirements.txt"] = _t(
        """
        Flask==3.1.3
        SQLAlchemy==2.1.9
        psycopg[binary]==3.3.9
        gunicorn==23.0.0
        """
    )
    f["requirements-test.txt"] = _t(
        """
        pytest==9.2.0
        """
    )
    f["setup.cfg"] = _t(
        """
        [tool:pytest]
        testpaths = tests
        pythonpath = .

        [flake8]
        max-line-length = 100
        exclude = .venv
        """
    )
    f[".woodpecker.yml"] = _t(
        """
        when:
          - event: [push, pull_request]

        steps:
          - name: test
            image: python:3.11
            environment:
              DATABASE_URL: postgresql://notes:notes@database:5432/notes
            commands:
              - pip install -r requirements.txt -r requirements-test.txt
              - pytest

        services:
          - name: database
            image: postgres:15
            environment:
              POSTGRES_USER: notes
              POSTGRES_PASSWORD: notes
              POSTGRES_DB: notes
        """
    )
    f["notes/__init__.py"] = _t(
        '''
        """The notes app: create_app() builds it."""

        import os
        from typing import Any

        from flask import Flask
        from sqlalchemy import Engine, create_engine

        from notes.models import Base


        def _url(url: str) -> str:
            # SQLAlchemy would pick psycopg2 for a bare postgresql://.
            if url.startswith("postgresql://"):
                return "postgresql+psycopg://" + url[len("postgresql://") :]
            return url


        def create_app(config: dict[str, Any] | None = None) -> Flask:
            app = Flask(__name__)
            app.config.from_mapping(
                DATABASE_URL=os.environ.get("DATABASE_URL", "postgresql://notes:notes@localhost:5432/notes"),
                CREATE_TABLES=True,
            )
            app.config.update(config or {})
            engine: Engine = app.config.get("ENGINE") or create_engine(_url(app.config["DATABASE_URL"]))
            if app.config["CREATE_TABLES"]:
                Base.metadata.create_all(engine)
            app.extensions["engine"] = engine

            from notes.routes import bp

            app.register_blueprint(bp)
            return app
        '''
    )
    f["notes/models.py"] = _t(
        """
        from sqlalchemy import ForeignKey, String, Text
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


        class Base(DeclarativeBase):
            pass


        class Notebook(Base):
            __tablename__ = "notebooks"

            id: Mapped[int] = mapped_column(primary_key=True)
            title: Mapped[str] = mapped_column(String(120), unique=True)
            notes: Mapped[list["Note"]] = relationship(back_populates="notebook", cascade="all, delete-orphan")


        class Note(Base):
            __tablename__ = "notes"

            id: Mapped[int] = mapped_column(primary_key=True)
            notebook_id: Mapped[int] = mapped_column(ForeignKey("notebooks.id"))
            slug: Mapped[str] = mapped_column(String(140), unique=True)
            title: Mapped[str] = mapped_column(String(140))
            body: Mapped[str] = mapped_column(Text, default="")
            notebook: Mapped[Notebook] = relationship(back_populates="notes")
        """
    )
    f["notes/slugs.py"] = _t(
        """
        import re
        import unicodedata

        _NON_WORD = re.compile(r"[^a-z0-9]+")


        def slugify(title: str, max_length: int = 60) -> str:
            ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
            slug = _NON_WORD.sub("-", ascii_title.lower()).strip("-")
            return slug[:max_length].rstrip("-") or "note"


        def unique_slug(title: str, taken: set[str]) -> str:
            base = slugify(title)
            slug, n = base, 2
            while slug in taken:
                slug, n = f"{base}-{n}", n + 1
            return slug
        """
    )
    f["notes/routes.py"] = _t(
        """
        from flask import Blueprint, abort, current_app, jsonify, request
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from notes.models import Note, Notebook
        from notes.slugs import unique_slug

        bp = Blueprint("notes", __name__)


        def _session() -> Session:
            return Session(current_app.extensions["engine"])


        @bp.post("/notebooks")
        def create_notebook():
            with _session() as session:
                notebook = Notebook(title=request.json["title"])
                session.add(notebook)
                session.commit()
                return jsonify(id=notebook.id, title=notebook.title), 201


        @bp.post("/notebooks/<int:notebook_id>/notes")
        def create_note(notebook_id: int):
            with _session() as session:
                if session.get(Notebook, notebook_id) is None:
                    abort(404)
                taken = set(session.scalars(select(Note.slug)))
                note = Note(
                    notebook_id=notebook_id,
                    title=request.json["title"],
                    body=request.json.get("body", ""),
                    slug=unique_slug(request.json["title"], taken),
                )
                session.add(note)
                session.commit()
                return jsonify(slug=note.slug), 201


        @bp.get("/notes/<slug>")
        def get_note(slug: str):
            with _session() as session:
                note = session.scalar(select(Note).where(Note.slug == slug))
                if note is None:
                    abort(404)
                return jsonify(title=note.title, body=note.body, notebook=note.notebook.title)
        """
    )
    f["tests/conftest.py"] = _t(
        '''
        import os

        import pytest
        from sqlalchemy import create_engine
        from sqlalchemy.orm import Session

        from notes import _url, create_app
        from notes.models import Base

        DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://notes:notes@localhost:5432/notes")


        @pytest.fixture(scope="session")
        def engine():
            engine = create_engine(_url(DATABASE_URL))
            yield engine
            engine.dispose()


        @pytest.fixture
        def tables(engine):
            """Fresh tables for every test: create them, hand over, drop them."""
            Base.metadata.create_all(engine)
            yield
            Base.metadata.drop_all(engine)


        @pytest.fixture
        def session(engine, tables):
            with Session(engine) as session:
                yield session


        @pytest.fixture
        def app(engine, tables):
            return create_app({"TESTING": True, "ENGINE": engine, "CREATE_TABLES": False})


        @pytest.fixture
        def client(app):
            return app.test_client()
        '''
    )
    f["tests/test_slugs.py"] = _t(
        """
        import pytest

        from notes.slugs import slugify, unique_slug


        @pytest.mark.parametrize(
            ("title", "slug"),
            [("Hello, World!", "hello-world"), ("Crème brûlée", "creme-brulee"), ("!!!", "note")],
        )
        def test_slugify(title, slug):
            assert slugify(title) == slug


        def test_slug_length_is_capped():
            assert len(slugify("word " * 40)) <= 60


        def test_unique_slug_counts_up():
            assert unique_slug("Plan", {"plan", "plan-2"}) == "plan-3"
        """
    )
    f["tests/test_models.py"] = _t(
        """
        import pytest
        from sqlalchemy import inspect, select
        from sqlalchemy.exc import IntegrityError

        from notes.models import Note, Notebook


        def test_tables_exist(engine, tables):
            assert set(inspect(engine).get_table_names()) >= {"notebooks", "notes"}


        def test_notebook_owns_its_notes(session):
            notebook = Notebook(title="Work", notes=[Note(slug="a", title="A"), Note(slug="b", title="B")])
            session.add(notebook)
            session.commit()
            session.delete(notebook)
            session.commit()
            assert session.scalars(select(Note)).all() == []


        def test_notebook_titles_are_unique(session):
            session.add_all([Notebook(title="Home"), Notebook(title="Home")])
            with pytest.raises(IntegrityError):
                session.commit()
        """
    )
    f["tests/test_routes.py"] = _t(
        """
        def test_create_and_read_a_note(client):
            notebook = client.post("/notebooks", json={"title": "Ideas"}).get_json()
            created = client.post(f"/notebooks/{notebook['id']}/notes", json={"title": "Big Idea", "body": "x"})
            assert created.status_code == 201
            note = client.get(f"/notes/{created.get_json()['slug']}").get_json()
            assert note == {"title": "Big Idea", "body": "x", "notebook": "Ideas"}


        def test_same_title_gets_a_new_slug(client):
            notebook_id = client.post("/notebooks", json={"title": "N"}).get_json()["id"]
            first = client.post(f"/notebooks/{notebook_id}/notes", json={"title": "Todo"}).get_json()
            second = client.post(f"/notebooks/{notebook_id}/notes", json={"title": "Todo"}).get_json()
            assert (first["slug"], second["slug"]) == ("todo", "todo-2")


        def test_unknown_notebook(client):
            assert client.post("/notebooks/999/notes", json={"title": "x"}).status_code == 404


        def test_unknown_note(client):
            assert client.get("/notes/nothing-here").status_code == 404


        def test_starts_with_no_notebooks(client, session):
            from notes.models import Notebook

            assert session.query(Notebook).count() == 0
        """
    )
    return f


# --- 5. uv_workspace: an app package and a lib package, src layout, uv.lock ---


def _uv_workspace() -> Files:
    f: Files = {}
    f[".gitignore"] = _PY_GITIGNORE
    f[".python-version"] = "3.11\n"
    f["README.md"] = _t(
        """
        # fleet

        A uv workspace: `packages/core` (routing maths, no I/O) and `packages/api`
        (FastAPI + SQLAlchemy on PostgreSQL).

        ```sh
        uv sync --all-packages
        DATABASE_URL=postgresql://fleet:fleet@localhost:5432/fleet uv run pytest -n auto
        ```
        """
    )
    f["pyproject.toml"] = _t(
        """
        [project]
        name = "fleet"
        version = "0.1.0"
        description = "Fleet tracking: the workspace root"
        requires-python = ">=3.11"
        dependencies = ["fleet-api", "fleet-core"]

        [dependency-groups]
        dev = [
            "pytest>=8",
            "pytest-xdist>=3.6",
            "httpx>=0.27",
        ]

        [tool.uv]
        package = false

        [tool.uv.sources]
        fleet-api = { workspace = true }
        fleet-core = { workspace = true }

        [tool.uv.workspace]
        members = ["packages/*"]

        [tool.pytest.ini_options]
        testpaths = ["packages/core/tests", "packages/api/tests"]
        addopts = ["--import-mode=importlib", "-ra"]
        """
    )
    f["packages/core/pyproject.toml"] = _t(
        """
        [project]
        name = "fleet-core"
        version = "0.1.0"
        description = "Routing maths for the fleet"
        requires-python = ">=3.11"
        dependencies = []

        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [tool.hatch.build.targets.wheel]
        packages = ["src/fleet_core"]
        """
    )
    f["packages/core/src/fleet_core/__init__.py"] = ""
    f["packages/core/src/fleet_core/geo.py"] = _t(
        '''
        """Great-circle distances."""

        from math import asin, cos, radians, sin, sqrt

        EARTH_RADIUS_KM = 6371.0


        def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
            lat1, lon1, lat2, lon2 = map(radians, (*a, *b))
            h = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos(lat2) * sin((lon2 - lon1) / 2) ** 2
            return 2 * EARTH_RADIUS_KM * asin(sqrt(h))
        '''
    )
    f["packages/core/src/fleet_core/planning.py"] = _t(
        '''
        """Which vehicle goes where."""

        from collections.abc import Mapping

        from fleet_core.geo import distance_km


        def nearest(target: tuple[float, float], positions: Mapping[str, tuple[float, float]]) -> str | None:
            if not positions:
                return None
            return min(sorted(positions), key=lambda name: distance_km(target, positions[name]))


        def within(target: tuple[float, float], positions: Mapping[str, tuple[float, float]], km: float) -> list[str]:
            return sorted(name for name, pos in positions.items() if distance_km(target, pos) <= km)
        '''
    )
    f["packages/core/tests/test_geo.py"] = _t(
        """
        import pytest

        from fleet_core.geo import distance_km

        PARIS = (48.8566, 2.3522)
        LONDON = (51.5074, -0.1278)


        def test_same_point_is_zero() -> None:
            assert distance_km(PARIS, PARIS) == 0


        def test_paris_london() -> None:
            assert distance_km(PARIS, LONDON) == pytest.approx(343.5, abs=1)


        def test_symmetric() -> None:
            assert distance_km(PARIS, LONDON) == pytest.approx(distance_km(LONDON, PARIS))
        """
    )
    f["packages/core/tests/test_planning.py"] = _t(
        """
        from fleet_core.planning import nearest, within

        POSITIONS = {"van-1": (48.85, 2.35), "van-2": (51.5, -0.12), "van-3": (48.86, 2.34)}


        def test_nearest() -> None:
            assert nearest((48.857, 2.341), POSITIONS) == "van-3"


        def test_nearest_of_nothing() -> None:
            assert nearest((0, 0), {}) is None


        def test_within_radius() -> None:
            assert within((48.85, 2.35), POSITIONS, 5) == ["van-1", "van-3"]
        """
    )
    f["packages/api/pyproject.toml"] = _t(
        """
        [project]
        name = "fleet-api"
        version = "0.1.0"
        description = "The fleet HTTP API"
        requires-python = ">=3.11"
        dependencies = [
            "fleet-core",
            "fastapi>=0.115",
            "sqlalchemy>=2.0",
            "psycopg[binary]>=3.2",
        ]

        [tool.uv.sources]
        fleet-core = { workspace = true }

        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [tool.hatch.build.targets.wheel]
        packages = ["src/fleet_api"]
        """
    )
    f["packages/api/src/fleet_api/__init__.py"] = ""
    f["packages/api/src/fleet_api/db.py"] = _t(
        """
        import os
        from collections.abc import Iterator
        from functools import lru_cache

        from sqlalchemy import Engine, create_engine
        from sqlalchemy.orm import Session


        def database_url() -> str:
            url = os.environ.get("DATABASE_URL", "postgresql://fleet:fleet@localhost:5432/fleet")
            return url.replace("postgresql://", "postgresql+psycopg://", 1)


        @lru_cache
        def get_engine() -> Engine:
            return create_engine(database_url())


        def get_session() -> Iterator[Session]:
            with Session(get_engine()) as session:
                yield session
        """
    )
    f["packages/api/src/fleet_api/models.py"] = _t(
        """
        from sqlalchemy import String
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            pass


        class Vehicle(Base):
            __tablename__ = "vehicles"

            id: Mapped[int] = mapped_column(primary_key=True)
            plate: Mapped[str] = mapped_column(String(16), unique=True)
            lat: Mapped[float]
            lon: Mapped[float]
        """
    )
    f["packages/api/src/fleet_api/main.py"] = _t(
        """
        from typing import Annotated

        from fastapi import Depends, FastAPI, HTTPException
        from fleet_core.planning import nearest
        from pydantic import BaseModel
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from fleet_api.db import get_session
        from fleet_api.models import Vehicle

        app = FastAPI(title="fleet")
        SessionDep = Annotated[Session, Depends(get_session)]


        class VehicleIn(BaseModel):
            plate: str
            lat: float
            lon: float


        @app.post("/vehicles", status_code=201)
        def add_vehicle(body: VehicleIn, session: SessionDep) -> dict[str, object]:
            vehicle = Vehicle(**body.model_dump())
            session.add(vehicle)
            session.commit()
            return {"id": vehicle.id, "plate": vehicle.plate}


        @app.get("/vehicles/nearest")
        def nearest_vehicle(lat: float, lon: float, session: SessionDep) -> dict[str, str]:
            positions = {v.plate: (v.lat, v.lon) for v in session.scalars(select(Vehicle))}
            plate = nearest((lat, lon), positions)
            if plate is None:
                raise HTTPException(404, "no vehicles")
            return {"plate": plate}
        """
    )
    f["packages/api/tests/conftest.py"] = _t(
        """
        from collections.abc import Iterator

        import pytest
        from fastapi.testclient import TestClient
        from sqlalchemy.orm import Session

        from fleet_api.db import get_engine, get_session
        from fleet_api.main import app
        from fleet_api.models import Base


        @pytest.fixture(scope="session")
        def schema() -> None:
            Base.metadata.create_all(get_engine())


        @pytest.fixture
        def db_session(schema: None) -> Iterator[Session]:
            connection = get_engine().connect()
            transaction = connection.begin()
            session = Session(bind=connection, join_transaction_mode="create_savepoint")
            yield session
            session.close()
            transaction.rollback()
            connection.close()


        @pytest.fixture
        def client(db_session: Session) -> Iterator[TestClient]:
            app.dependency_overrides[get_session] = lambda: db_session
            with TestClient(app) as test_client:
                yield test_client
            app.dependency_overrides.clear()
        """
    )
    f["packages/api/tests/test_vehicles.py"] = _t(
        """
        from fastapi.testclient import TestClient


        def test_add_vehicle(client: TestClient) -> None:
            response = client.post("/vehicles", json={"plate": "AB-123", "lat": 48.85, "lon": 2.35})
            assert response.status_code == 201


        def test_nearest_vehicle(client: TestClient) -> None:
            client.post("/vehicles", json={"plate": "PARIS", "lat": 48.85, "lon": 2.35})
            client.post("/vehicles", json={"plate": "LONDON", "lat": 51.5, "lon": -0.12})
            assert client.get("/vehicles/nearest", params={"lat": 50.9, "lon": 1.0}).json() == {"plate": "LONDON"}


        def test_no_vehicles(client: TestClient) -> None:
            assert client.get("/vehicles/nearest", params={"lat": 0, "lon": 0}).status_code == 404
        """
    )
    f["docker-bake.hcl"] = _t(
        """
        variable "TAG" {
          default = "dev"
        }

        group "default" {
          targets = ["api"]
        }

        target "api" {
          context    = "."
          dockerfile = "packages/api/Dockerfile"
          tags       = ["ghcr.io/fleet/api:${TAG}"]
        }
        """
    )
    f["packages/api/Dockerfile"] = _t(
        """
        FROM python:3.11-slim AS build
        RUN pip install --no-cache-dir uv
        WORKDIR /app
        COPY . .
        RUN uv sync --locked --no-dev --package fleet-api

        FROM python:3.11-slim
        COPY --from=build /app /app
        ENV PATH=/app/.venv/bin:$PATH
        CMD ["uvicorn", "fleet_api.main:app", "--host", "0.0.0.0"]
        """
    )
    f[".github/workflows/ci.yml"] = _t(
        f"""
        name: ci

        on:
          push:
          pull_request:

        jobs:
          test:
            runs-on: ubuntu-latest
            services:
              db:
                image: postgres:17-alpine
                env:
                  POSTGRES_USER: fleet
                  POSTGRES_PASSWORD: fleet
                  POSTGRES_DB: fleet
                ports: ["5432:5432"]
                options: {_PG_HEALTH}
            steps:
              - uses: actions/checkout@v4
              - uses: astral-sh/setup-uv@v5
              - run: uv sync --locked --all-packages
              - run: uv run pytest -n auto
                env:
                  DATABASE_URL: postgresql://fleet:fleet@localhost:5432/fleet
        """
    )
    return f


# --- 6. alembic_no_syspath: migrations import the app, which only an editable install provides ---


def _alembic_no_syspath() -> Files:
    f: Files = {}
    f[".gitignore"] = _PY_GITIGNORE
    f["README.md"] = _t(
        """
        # tickets

        A help-desk ticket API (FastAPI, SQLAlchemy, Alembic, PostgreSQL).

        ```sh
        pip install -e ".[test]"
        export DATABASE_URL=postgresql://tickets:tickets@localhost:5432/tickets
        alembic upgrade head
        pytest
        ```
        """
    )
    f["pyproject.toml"] = _t(
        """
        [build-system]
        requires = ["setuptools>=69"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "tickets"
        version = "2.0.1"
        requires-python = ">=3.11"
        dependencies = [
            "fastapi>=0.115",
            "sqlalchemy>=2.0",
            "alembic>=1.13",
            "psycopg[binary]>=3.2",
        ]

        [project.optional-dependencies]
        test = [
            "pytest>=8",
            "pytest-xdist>=3.6",
            "httpx>=0.27",
        ]

        [tool.setuptools.packages.find]
        include = ["app*"]

        [tool.pytest.ini_options]
        testpaths = ["tests"]
        markers = ["integration: talks to PostgreSQL"]
        """
    )
    f["alembic.ini"] = _alembic_ini(prepend_sys_path=False)
    f["migrations/script.py.mako"] = _ALEMBIC_MAKO
    f["migrations/env.py"] = _alembic_env(
        "from app.config import database_url\nfrom app.models import Base\n", "database_url()"
    )
    f["migrations/versions/20240601_c0ffee000001_tickets.py"] = _t(
        '''
        """tickets

        Revision ID: c0ffee000001
        Revises:
        Create Date: 2024-06-01 08:00:12.000000

        """
        from typing import Sequence, Union

        from alembic import op
        import sqlalchemy as sa


        # revision identifiers, used by Alembic.
        revision: str = "c0ffee000001"
        down_revision: Union[str, Sequence[str], None] = None
        branch_labels: Union[str, Sequence[str], None] = None
        depends_on: Union[str, Sequence[str], None] = None


        def upgrade() -> None:
            """Upgrade schema."""
            op.create_table(
                "tickets",
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("title", sa.String(length=200), nullable=False),
                sa.Column("priority", sa.Integer(), nullable=False),
                sa.Column("status", sa.String(length=16), nullable=False),
                sa.PrimaryKeyConstraint("id"),
            )


        def downgrade() -> None:
            """Downgrade schema."""
            op.drop_table("tickets")
        '''
    )
    f["app/__init__.py"] = ""
    f["app/config.py"] = _t(
        """
        import os


        def database_url() -> str:
            url = os.environ.get("DATABASE_URL", "postgresql://tickets:tickets@localhost:5432/tickets")
            return url.replace("postgresql://", "postgresql+psycopg://", 1)
        """
    )
    f["app/db.py"] = _t(
        """
        from collections.abc import Iterator
        from functools import lru_cache

        from sqlalchemy import Engine, create_engine
        from sqlalchemy.orm import Session

        from app.config import database_url


        @lru_cache
        def get_engine() -> Engine:
            return create_engine(database_url())


        def get_session() -> Iterator[Session]:
            with Session(get_engine()) as session:
                yield session
        """
    )
    f["app/models.py"] = _t(
        """
        from sqlalchemy import String
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            pass


        class Ticket(Base):
            __tablename__ = "tickets"

            id: Mapped[int] = mapped_column(primary_key=True)
            title: Mapped[str] = mapped_column(String(200))
            priority: Mapped[int]
            status: Mapped[str] = mapped_column(String(16), default="open")
        """
    )
    f["app/triage.py"] = _t(
        '''
        """Priority from the words in a ticket's title: 1 (urgent) to 4 (whenever)."""

        URGENT = ("outage", "down", "security", "data loss")
        HIGH = ("error", "fails", "broken", "cannot")


        def priority(title: str) -> int:
            text = title.lower()
            if any(word in text for word in URGENT):
                return 1
            if any(word in text for word in HIGH):
                return 2
            if text.endswith("?"):
                return 4
            return 3


        def sla_hours(priority: int) -> int:
            return {1: 4, 2: 24, 3: 72, 4: 168}[priority]
        '''
    )
    f["app/main.py"] = _t(
        """
        from typing import Annotated

        from fastapi import Depends, FastAPI, HTTPException
        from pydantic import BaseModel
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from app.db import get_session
        from app.models import Ticket
        from app.triage import priority, sla_hours

        app = FastAPI(title="tickets")
        SessionDep = Annotated[Session, Depends(get_session)]


        class TicketIn(BaseModel):
            title: str


        def _out(ticket: Ticket) -> dict[str, object]:
            return {
                "id": ticket.id,
                "title": ticket.title,
                "priority": ticket.priority,
                "status": ticket.status,
                "sla_hours": sla_hours(ticket.priority),
            }


        @app.post("/tickets", status_code=201)
        def open_ticket(body: TicketIn, session: SessionDep) -> dict[str, object]:
            ticket = Ticket(title=body.title, priority=priority(body.title), status="open")
            session.add(ticket)
            session.commit()
            return _out(ticket)


        @app.post("/tickets/{ticket_id}/close")
        def close_ticket(ticket_id: int, session: SessionDep) -> dict[str, object]:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                raise HTTPException(404, "no such ticket")
            ticket.status = "closed"
            session.commit()
            return _out(ticket)


        @app.get("/tickets")
        def queue(session: SessionDep) -> list[dict[str, object]]:
            rows = session.scalars(
                select(Ticket).where(Ticket.status == "open").order_by(Ticket.priority, Ticket.id)
            )
            return [_out(t) for t in rows]
        """
    )
    f["tests/conftest.py"] = _t(
        '''
        from collections.abc import Iterator

        import pytest
        from fastapi.testclient import TestClient
        from sqlalchemy.orm import Session

        from app.db import get_engine, get_session
        from app.main import app


        @pytest.fixture
        def client() -> Iterator[TestClient]:
            """The API on a transaction that is rolled back: the schema comes from `alembic upgrade head`."""
            connection = get_engine().connect()
            transaction = connection.begin()
            session = Session(bind=connection, join_transaction_mode="create_savepoint")
            app.dependency_overrides[get_session] = lambda: session
            with TestClient(app) as test_client:
                yield test_client
            app.dependency_overrides.clear()
            session.close()
            transaction.rollback()
            connection.close()
        '''
    )
    f["tests/test_triage.py"] = _t(
        """
        import pytest

        from app.triage import priority, sla_hours


        @pytest.mark.parametrize(
            ("title", "expected"),
            [
                ("Checkout is DOWN", 1),
                ("Export fails with an error", 2),
                ("Change my avatar", 3),
                ("Can I get an invoice copy?", 4),
            ],
        )
        def test_priority(title: str, expected: int) -> None:
            assert priority(title) == expected


        def test_sla_for_urgent() -> None:
            assert sla_hours(1) == 4


        def test_unknown_priority() -> None:
            with pytest.raises(KeyError):
                sla_hours(9)
        """
    )
    f["tests/test_tickets_api.py"] = _t(
        """
        import pytest
        from fastapi.testclient import TestClient

        pytestmark = pytest.mark.integration


        def test_open_ticket(client: TestClient) -> None:
            response = client.post("/tickets", json={"title": "Login is down"})
            assert response.status_code == 201
            assert response.json()["priority"] == 1


        def test_queue_is_ordered_by_priority(client: TestClient) -> None:
            client.post("/tickets", json={"title": "New logo?"})
            client.post("/tickets", json={"title": "Security hole"})
            assert [t["priority"] for t in client.get("/tickets").json()] == [1, 4]


        def test_close_ticket(client: TestClient) -> None:
            ticket = client.post("/tickets", json={"title": "Broken link"}).json()
            client.post(f"/tickets/{ticket['id']}/close")
            assert client.get("/tickets").json() == []


        def test_close_unknown_ticket(client: TestClient) -> None:
            assert client.post("/tickets/424242/close").status_code == 404
        """
    )
    f[".github/workflows/test.yml"] = _t(
        f"""
        name: test

        on: [push, pull_request]

        jobs:
          test:
            runs-on: ubuntu-latest
            services:
              postgres:
                image: postgres:15
                env:
                  POSTGRES_USER: tickets
                  POSTGRES_PASSWORD: tickets
                  POSTGRES_DB: tickets
                ports:
                  - 5432:5432
                options: {_PG_HEALTH}
            env:
              DATABASE_URL: postgresql://tickets:tickets@localhost:5432/tickets
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-python@v5
                with:
                  python-version: "3.11"
              - name: Install
                run: |
                  python -m pip install --upgrade pip
                  pip install -e ".[test]"
              - name: Unit tests
                run: pytest -m "not integration"
              - name: Migrate
                run: alembic upgrade head
              - name: Integration tests
                run: pytest -m integration -n auto
        """
    )
    return f


# --- 7. coverage_contexts: coverage run with dynamic contexts; pip-tools ---


def _coverage_contexts() -> Files:
    f: Files = {}
    f[".gitignore"] = _PY_GITIGNORE
    f["README.md"] = _t(
        """
        # billing

        Invoices over HTTP (Flask, psycopg 3, plain SQL in `schema.sql`).
        Dependencies are pinned with pip-tools: edit `requirements.in` /
        `requirements-dev.in`, then `pip-compile`.

        ```sh
        pip install -r requirements.txt -r requirements-dev.txt
        DATABASE_URL=postgresql://billing:billing@localhost:5432/billing coverage run -m pytest
        coverage report
        coverage html --show-contexts   # which test ran each line
        ```
        """
    )
    f["requirements.in"] = "flask\npsycopg[binary]\n"
    f["requirements-dev.in"] = "-c requirements.txt\npytest\ncoverage\n"
    f["pyproject.toml"] = _t(
        """
        [tool.pytest.ini_options]
        testpaths = ["tests"]
        pythonpath = ["."]
        addopts = "-ra"

        [tool.coverage.run]
        source = ["billing"]
        branch = true
        dynamic_context = "test_function"

        [tool.coverage.report]
        show_missing = true
        skip_covered = true
        fail_under = 85

        [tool.coverage.html]
        show_contexts = true
        """
    )
    f["schema.sql"] = _t(
        """
        CREATE TABLE IF NOT EXISTS customers (
            id serial PRIMARY KEY,
            name text NOT NULL UNIQUE
        );

        CREATE TABLE IF NOT EXISTS invoices (
            id serial PRIMARY KEY,
            customer_id integer NOT NULL REFERENCES customers (id),
            net_cents integer NOT NULL,
            tax_cents integer NOT NULL,
            paid boolean NOT NULL DEFAULT false
        );
        """
    )
    f["billing/__init__.py"] = _t(
        '''
        import os
        from typing import Any

        import psycopg
        from flask import Flask, current_app, g


        def create_app(config: dict[str, Any] | None = None) -> Flask:
            app = Flask(__name__)
            app.config["DATABASE_URL"] = os.environ.get(
                "DATABASE_URL", "postgresql://billing:billing@localhost:5432/billing"
            )
            app.config.update(config or {})

            @app.teardown_appcontext
            def close_connection(_exc: BaseException | None) -> None:
                conn = g.pop("conn", None)
                if conn is not None and conn is not app.config.get("CONNECTION"):
                    conn.close()

            from billing.api import bp

            app.register_blueprint(bp)
            return app


        def connection() -> psycopg.Connection:
            """The request's connection (or the one a test handed in); writes use transaction blocks."""
            if "conn" not in g:
                g.conn = current_app.config.get("CONNECTION") or psycopg.connect(
                    current_app.config["DATABASE_URL"], autocommit=True
                )
            return g.conn
        '''
    )
    f["billing/invoices.py"] = _t(
        '''
        """Invoice arithmetic, in integer cents."""

        TAX_RATES = {"standard": 20, "reduced": 5, "zero": 0}


        def tax_cents(net_cents: int, rate: str = "standard") -> int:
            if net_cents < 0:
                raise ValueError("net amount cannot be negative")
            percent = TAX_RATES[rate]
            return (net_cents * percent + 50) // 100


        def total_cents(net_cents: int, rate: str = "standard") -> int:
            return net_cents + tax_cents(net_cents, rate)


        def balance(invoices: list[tuple[int, int, bool]]) -> int:
            """What is still owed: (net, tax, paid) rows."""
            return sum(net + tax for net, tax, paid in invoices if not paid)
        '''
    )
    f["billing/repository.py"] = _t(
        """
        import psycopg

        from billing.invoices import balance, tax_cents


        def add_customer(conn: psycopg.Connection, name: str) -> int:
            row = conn.execute("INSERT INTO customers (name) VALUES (%s) RETURNING id", (name,)).fetchone()
            assert row is not None
            return int(row[0])


        def issue_invoice(conn: psycopg.Connection, customer_id: int, net_cents: int, rate: str = "standard") -> int:
            row = conn.execute(
                "INSERT INTO invoices (customer_id, net_cents, tax_cents) VALUES (%s, %s, %s) RETURNING id",
                (customer_id, net_cents, tax_cents(net_cents, rate)),
            ).fetchone()
            assert row is not None
            return int(row[0])


        def mark_paid(conn: psycopg.Connection, invoice_id: int) -> bool:
            cur = conn.execute("UPDATE invoices SET paid = true WHERE id = %s AND NOT paid", (invoice_id,))
            return cur.rowcount == 1


        def outstanding(conn: psycopg.Connection, customer_id: int) -> int:
            rows = conn.execute(
                "SELECT net_cents, tax_cents, paid FROM invoices WHERE customer_id = %s", (customer_id,)
            ).fetchall()
            return balance([(net, tax, paid) for net, tax, paid in rows])
        """
    )
    f["billing/api.py"] = _t(
        """
        from flask import Blueprint, abort, jsonify, request

        from billing import connection
        from billing.repository import add_customer, issue_invoice, mark_paid, outstanding

        bp = Blueprint("billing", __name__)


        @bp.post("/customers")
        def new_customer():
            conn = connection()
            with conn.transaction():
                customer_id = add_customer(conn, request.json["name"])
            return jsonify(id=customer_id), 201


        @bp.post("/customers/<int:customer_id>/invoices")
        def new_invoice(customer_id: int):
            conn = connection()
            body = request.json
            with conn.transaction():
                invoice_id = issue_invoice(conn, customer_id, int(body["net_cents"]), body.get("rate", "standard"))
            return jsonify(id=invoice_id), 201


        @bp.post("/invoices/<int:invoice_id>/pay")
        def pay(invoice_id: int):
            conn = connection()
            with conn.transaction():
                if not mark_paid(conn, invoice_id):
                    abort(409)
            return jsonify(paid=True)


        @bp.get("/customers/<int:customer_id>/balance")
        def customer_balance(customer_id: int):
            return jsonify(balance_cents=outstanding(connection(), customer_id))
        """
    )
    f["tests/conftest.py"] = _t(
        '''
        import os
        from pathlib import Path

        import psycopg
        import pytest

        from billing import create_app

        DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://billing:billing@localhost:5432/billing")
        SCHEMA = Path(__file__).resolve().parent.parent / "schema.sql"


        @pytest.fixture(scope="session")
        def schema() -> None:
            with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
                conn.execute(SCHEMA.read_text())


        @pytest.fixture
        def conn(schema):
            """One transaction per test, rolled back: the app's own transaction blocks nest as savepoints."""
            with psycopg.connect(DATABASE_URL, autocommit=True) as conn, conn.transaction(force_rollback=True):
                yield conn


        @pytest.fixture
        def client(conn):
            return create_app({"TESTING": True, "CONNECTION": conn}).test_client()
        '''
    )
    f["tests/test_invoices.py"] = _t(
        """
        import pytest

        from billing.invoices import balance, tax_cents, total_cents


        @pytest.mark.parametrize(("rate", "tax"), [("standard", 200), ("reduced", 50), ("zero", 0)])
        def test_tax(rate, tax):
            assert tax_cents(1000, rate) == tax


        def test_tax_rounds_half_up():
            assert tax_cents(1, "reduced") == 0
            assert tax_cents(10, "reduced") == 1


        def test_negative_net_is_refused():
            with pytest.raises(ValueError):
                tax_cents(-1)


        def test_total():
            assert total_cents(1000) == 1200


        def test_balance_ignores_paid():
            assert balance([(100, 20, False), (50, 10, True)]) == 120
        """
    )
    f["tests/test_repository.py"] = _t(
        """
        from billing.repository import add_customer, issue_invoice, mark_paid, outstanding


        def test_outstanding_balance(conn):
            customer = add_customer(conn, "Acme")
            issue_invoice(conn, customer, 1000)
            issue_invoice(conn, customer, 500, "zero")
            assert outstanding(conn, customer) == 1700


        def test_paying_twice(conn):
            invoice = issue_invoice(conn, add_customer(conn, "Initech"), 100)
            assert mark_paid(conn, invoice)
            assert not mark_paid(conn, invoice)
        """
    )
    f["tests/test_api.py"] = _t(
        """
        def test_invoice_then_pay(client):
            customer = client.post("/customers", json={"name": "Globex"}).get_json()["id"]
            invoice = client.post(f"/customers/{customer}/invoices", json={"net_cents": 1000}).get_json()["id"]
            assert client.get(f"/customers/{customer}/balance").get_json() == {"balance_cents": 1200}
            assert client.post(f"/invoices/{invoice}/pay").get_json() == {"paid": True}
            assert client.get(f"/customers/{customer}/balance").get_json() == {"balance_cents": 0}


        def test_pay_unknown_invoice(client):
            assert client.post("/invoices/999999/pay").status_code == 409


        def test_reduced_rate(client):
            customer = client.post("/customers", json={"name": "Hooli"}).get_json()["id"]
            client.post(f"/customers/{customer}/invoices", json={"net_cents": 1000, "rate": "reduced"})
            assert client.get(f"/customers/{customer}/balance").get_json() == {"balance_cents": 1050}
        """
    )
    f[".github/workflows/ci.yml"] = _t(
        f"""
        name: CI
        on:
          push:
            branches: [main]
          pull_request:

        jobs:
          tests:
            runs-on: ubuntu-latest
            services:
              postgres:
                image: postgres:15
                env:
                  POSTGRES_USER: billing
                  POSTGRES_PASSWORD: billing
                  POSTGRES_DB: billing
                ports: ["5432:5432"]
                options: {_PG_HEALTH}
            env:
              DATABASE_URL: postgresql://billing:billing@localhost:5432/billing
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-python@v5
                with:
                  python-version: "3.11"
              - run: pip install -r requirements.txt -r requirements-dev.txt
              - run: coverage run -m pytest
              - run: coverage report
              - run: coverage html --show-contexts
              - uses: actions/upload-artifact@v4
                with:
                  name: coverage-html
                  path: htmlcov/
        """
    )
    return f


# --- 8. py314: a Python version only the newest suite has; postgres:18 ---


def _py314() -> Files:
    f: Files = {}
    f[".gitignore"] = _PY_GITIGNORE
    f[".python-version"] = "3.14\n"
    f["README.md"] = _t(
        """
        # events

        Event listings (FastAPI, SQLModel, PostgreSQL 18) on Python 3.14: badges are
        rendered from template strings (PEP 750).

        ```sh
        docker compose up -d db
        uv sync
        uv run pytest
        ```
        """
    )
    f["pyproject.toml"] = _t(
        """
        [project]
        name = "events"
        version = "0.3.0"
        description = "Event listings"
        requires-python = ">=3.14"
        dependencies = [
            "fastapi>=0.115",
            "sqlmodel>=0.0.24",
            "psycopg[binary]>=3.2.10",
        ]

        [dependency-groups]
        dev = [
            "pytest>=8.4",
            "httpx>=0.28",
        ]

        [tool.uv]
        package = false

        [tool.pytest.ini_options]
        testpaths = ["tests"]
        pythonpath = ["."]
        """
    )
    f["compose.yaml"] = _t(
        """
        services:
          db:
            image: postgres:18
            restart: always
            environment:
              POSTGRES_USER: events
              POSTGRES_PASSWORD: changethis
              POSTGRES_DB: events
            ports:
              - "5432:5432"
            volumes:
              - app-db-data:/var/lib/postgresql
            healthcheck:
              test: ["CMD-SHELL", "pg_isready -U events -d events"]
              interval: 10s
              retries: 5

          backend:
            build: .
            depends_on:
              db:
                condition: service_healthy
            environment:
              DATABASE_URL: postgresql://events:changethis@db:5432/events

        volumes:
          app-db-data:
        """
    )
    f["Dockerfile"] = _t(
        """
        FROM python:3.14-slim
        COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /bin/uv
        WORKDIR /app
        COPY pyproject.toml uv.lock ./
        RUN uv sync --locked --no-dev
        COPY app app
        CMD ["uv", "run", "fastapi", "run", "app/main.py"]
        """
    )
    f[".github/workflows/test.yml"] = _t(
        """
        name: Test

        on:
          push:
            branches: [main]
          pull_request:

        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: astral-sh/setup-uv@v6
                with:
                  python-version: "3.14"
              - run: docker compose up -d --wait db
              - run: uv sync --locked
              - run: uv run pytest
                env:
                  DATABASE_URL: postgresql://events:changethis@localhost:5432/events
        """
    )
    f["app/__init__.py"] = ""
    f["app/db.py"] = _t(
        """
        import os
        from collections.abc import Iterator
        from functools import cache

        from sqlalchemy import Engine
        from sqlmodel import Session, create_engine


        def database_url() -> str:
            url = os.environ.get("DATABASE_URL", "postgresql://events:changethis@localhost:5432/events")
            return url.replace("postgresql://", "postgresql+psycopg://", 1)


        @cache
        def get_engine() -> Engine:
            return create_engine(database_url())


        def get_session() -> Iterator[Session]:
            with Session(get_engine()) as session:
                yield session
        """
    )
    f["app/models.py"] = _t(
        """
        from datetime import datetime

        from sqlmodel import Field, SQLModel


        class EventBase(SQLModel):
            title: str = Field(max_length=200)
            starts_at: datetime
            capacity: int = Field(ge=1)


        class Event(EventBase, table=True):
            id: int | None = Field(default=None, primary_key=True)
            booked: int = 0


        class EventCreate(EventBase):
            pass
        """
    )
    f["app/badges.py"] = _t(
        '''
        """HTML badges from template strings (PEP 750): values are escaped, markup is not."""

        from html import escape
        from string.templatelib import Interpolation, Template


        def render(template: Template) -> str:
            parts: list[str] = []
            for item in template:
                match item:
                    case Interpolation(value=value, conversion=conversion, format_spec=spec):
                        text = repr(value) if conversion == "r" else format(value, spec)
                        parts.append(escape(text))
                    case str() as text:
                        parts.append(text)
            return "".join(parts)


        def seats_badge(title: str, free: int) -> str:
            kind = "full" if free <= 0 else "open"
            return render(t'<span class="badge {kind}">{title}: {free:d} seats</span>')
        '''
    )
    f["app/parsing.py"] = _t(
        '''
        """Query-string values, forgivingly."""


        def capacity_or_none(raw: object) -> int | None:
            try:
                value = int(raw)  # type: ignore[call-overload]
            except ValueError, TypeError:  # PEP 758: no parentheses needed since 3.14
                return None
            return value if value > 0 else None
        '''
    )
    f["app/main.py"] = _t(
        """
        from typing import Annotated

        from fastapi import Depends, FastAPI, HTTPException
        from fastapi.responses import HTMLResponse
        from sqlmodel import Session, select

        from app.badges import seats_badge
        from app.db import get_session
        from app.models import Event, EventCreate
        from app.parsing import capacity_or_none

        app = FastAPI(title="events")
        SessionDep = Annotated[Session, Depends(get_session)]


        @app.post("/events", status_code=201)
        def create_event(body: EventCreate, session: SessionDep) -> Event:
            event = Event.model_validate(body)
            session.add(event)
            session.commit()
            session.refresh(event)
            return event


        @app.get("/events")
        def list_events(session: SessionDep, min_capacity: str | None = None) -> list[Event]:
            query = select(Event).order_by(Event.starts_at)
            if (minimum := capacity_or_none(min_capacity)) is not None:
                query = query.where(Event.capacity >= minimum)
            return list(session.exec(query))


        @app.post("/events/{event_id}/book")
        def book(event_id: int, session: SessionDep) -> Event:
            event = session.get(Event, event_id)
            if event is None:
                raise HTTPException(404, "no such event")
            if event.booked >= event.capacity:
                raise HTTPException(409, "sold out")
            event.booked += 1
            session.commit()
            session.refresh(event)
            return event


        @app.get("/events/{event_id}/badge", response_class=HTMLResponse)
        def badge(event_id: int, session: SessionDep) -> str:
            event = session.get(Event, event_id)
            if event is None:
                raise HTTPException(404, "no such event")
            return seats_badge(event.title, event.capacity - event.booked)
        """
    )
    f["tests/conftest.py"] = _t(
        """
        from collections.abc import Iterator

        import pytest
        from fastapi.testclient import TestClient
        from sqlmodel import Session, SQLModel

        from app.db import get_engine, get_session
        from app.main import app


        @pytest.fixture(scope="session", autouse=True)
        def init_db() -> None:
            SQLModel.metadata.create_all(get_engine())


        @pytest.fixture
        def session() -> Iterator[Session]:
            connection = get_engine().connect()
            transaction = connection.begin()
            session = Session(bind=connection, join_transaction_mode="create_savepoint")
            yield session
            session.close()
            transaction.rollback()
            connection.close()


        @pytest.fixture
        def client(session: Session) -> Iterator[TestClient]:
            app.dependency_overrides[get_session] = lambda: session
            with TestClient(app) as c:
                yield c
            app.dependency_overrides.clear()
        """
    )
    f["tests/test_badges.py"] = _t(
        """
        from app.badges import render, seats_badge


        def test_values_are_escaped() -> None:
            name = "<script>"
            assert render(t"<b>{name}</b>") == "<b>&lt;script&gt;</b>"


        def test_format_spec_and_conversion() -> None:
            price, word = 3.5, "hi"
            assert render(t"{price:.2f} {word!r}") == "3.50 &#x27;hi&#x27;"


        def test_full_badge() -> None:
            assert 'class="badge full"' in seats_badge("Gala", 0)


        def test_open_badge() -> None:
            assert seats_badge("Tom & Jerry", 3) == '<span class="badge open">Tom &amp; Jerry: 3 seats</span>'
        """
    )
    f["tests/test_parsing.py"] = _t(
        """
        import pytest

        from app.parsing import capacity_or_none


        @pytest.mark.parametrize(("raw", "expected"), [("12", 12), ("0", None), ("x", None), (None, None)])
        def test_capacity_or_none(raw: object, expected: int | None) -> None:
            assert capacity_or_none(raw) == expected
        """
    )
    f["tests/test_events_api.py"] = _t(
        """
        from fastapi.testclient import TestClient

        EVENT = {"title": "PyCon", "starts_at": "2026-05-14T09:00:00+00:00", "capacity": 2}


        def test_create_event(client: TestClient) -> None:
            response = client.post("/events", json=EVENT)
            assert response.status_code == 201
            assert response.json()["booked"] == 0


        def test_booking_until_sold_out(client: TestClient) -> None:
            event_id = client.post("/events", json=EVENT).json()["id"]
            assert client.post(f"/events/{event_id}/book").status_code == 200
            assert client.post(f"/events/{event_id}/book").status_code == 200
            assert client.post(f"/events/{event_id}/book").status_code == 409


        def test_filter_by_capacity(client: TestClient) -> None:
            client.post("/events", json=EVENT)
            client.post("/events", json={**EVENT, "title": "Meetup", "capacity": 50})
            titles = [e["title"] for e in client.get("/events", params={"min_capacity": "10"}).json()]
            assert titles == ["Meetup"]


        def test_badge(client: TestClient) -> None:
            event_id = client.post("/events", json=EVENT).json()["id"]
            assert "2 seats" in client.get(f"/events/{event_id}/badge").text
        """
    )
    return f


SHAPES: dict[str, Callable[[], Files]] = {
    "shared_db": _shared_db,
    "worker_suffix": _worker_suffix,
    "django": _django,
    "create_all": _create_all,
    "uv_workspace": _uv_workspace,
    "alembic_no_syspath": _alembic_no_syspath,
    "coverage_contexts": _coverage_contexts,
    "py314": _py314,
}

# Files only a tool can write, kept in locks/<shape>/ (see relock()).
LOCKED: dict[str, tuple[str, ...]] = {
    "worker_suffix": ("poetry.lock",),
    "uv_workspace": ("uv.lock",),
    "coverage_contexts": ("requirements.txt", "requirements-dev.txt"),
    "py314": ("uv.lock",),
}

RECIPES: dict[str, Recipe] = {
    "shared_db": Recipe(
        python="3.11",
        db_user="shop",
        db_password="shop",
        db_name="shop",
        install=(("{python}", "-m", "pip", "install", "-q", "-r", "requirements-dev.txt"),),
        prepare=(("{venv}/bin/alembic", "upgrade", "head"),),
        tests=(("{venv}/bin/pytest", "-q"), ("{venv}/bin/pytest", "-q", "-n", "2")),
        env={"DATABASE_URL": "postgresql://shop:shop@{host}:{port}/shop"},
    ),
    "worker_suffix": Recipe(
        python="3.11",
        db_user="postgres",
        db_password="postgres",
        db_name="orders_test",
        install=(("poetry", "install", "--no-interaction"),),
        tests=(
            ("poetry", "run", "pytest", "-q", "tests/unit"),
            ("poetry", "run", "pytest", "-q", "tests/integration"),
            ("poetry", "run", "pytest", "-q", "tests/integration", "-n", "2"),
        ),
        env={"DATABASE_URL": "postgresql://postgres:postgres@{host}:{port}/orders_test"},
    ),
    "django": Recipe(
        python="3.11",
        db_user="library",
        db_password="library",
        db_name="library",
        install=(("{python}", "-m", "pip", "install", "-q", "-r", "requirements/test.txt"),),
        prepare=(("{python}", "manage.py", "check"),),
        tests=(("{venv}/bin/pytest", "-q"), ("{venv}/bin/pytest", "-q", "-n", "2")),
        env={
            "DB_HOST": "{host}",
            "DB_PORT": "{port}",
            "DB_NAME": "library",
            "DB_USER": "library",
            "DB_PASSWORD": "library",
        },
    ),
    "create_all": Recipe(
        python="3.11",
        db_user="notes",
        db_password="notes",
        db_name="notes",
        install=(
            (
                "{python}",
                "-m",
                "pip",
                "install",
                "-q",
                "-r",
                "requirements.txt",
                "-r",
                "requirements-test.txt",
            ),
        ),
        tests=(("{venv}/bin/pytest", "-q"),),
        env={"DATABASE_URL": "postgresql://notes:notes@{host}:{port}/notes"},
        xdist=False,
    ),
    "uv_workspace": Recipe(
        python="3.11",
        db_user="fleet",
        db_password="fleet",
        db_name="fleet",
        install=(("uv", "sync", "--locked", "--all-packages"),),
        tests=(("uv", "run", "pytest", "-q"), ("uv", "run", "pytest", "-q", "-n", "2")),
        env={"DATABASE_URL": "postgresql://fleet:fleet@{host}:{port}/fleet"},
    ),
    "alembic_no_syspath": Recipe(
        python="3.11",
        db_user="tickets",
        db_password="tickets",
        db_name="tickets",
        install=(("{python}", "-m", "pip", "install", "-q", "-e", ".[test]"),),
        prepare=(("{venv}/bin/alembic", "upgrade", "head"),),
        tests=(
            ("{venv}/bin/pytest", "-q", "-m", "not integration"),
            ("{venv}/bin/pytest", "-q", "-m", "integration", "-n", "2"),
            ("{venv}/bin/pytest", "-q"),
        ),
        env={"DATABASE_URL": "postgresql://tickets:tickets@{host}:{port}/tickets"},
    ),
    "coverage_contexts": Recipe(
        python="3.11",
        db_user="billing",
        db_password="billing",
        db_name="billing",
        install=(
            (
                "{python}",
                "-m",
                "pip",
                "install",
                "-q",
                "-r",
                "requirements.txt",
                "-r",
                "requirements-dev.txt",
            ),
        ),
        tests=(("{venv}/bin/coverage", "run", "-m", "pytest", "-q"), ("{venv}/bin/coverage", "report")),
        env={"DATABASE_URL": "postgresql://billing:billing@{host}:{port}/billing"},
        xdist=False,
    ),
    "py314": Recipe(
        python="3.14",
        db_user="events",
        db_password="changethis",
        db_name="events",
        install=(("uv", "sync", "--locked"),),
        tests=(("uv", "run", "pytest", "-q"),),
        env={"DATABASE_URL": "postgresql://events:changethis@{host}:{port}/events"},
        # Its tests share one database through rolled-back transactions, but the
        # project does not depend on pytest-xdist.
        xdist=False,
    ),
}


def files(shape: str) -> Files:
    """Every file of ``shape``, by relative path, lock files included."""
    try:
        make = SHAPES[shape]
    except KeyError:
        raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}") from None
    out = make()
    for name in LOCKED.get(shape, ()):
        out[name] = (LOCKS / shape / name).read_text(encoding="utf-8")
    return dict(sorted(out.items()))


def write(shape: str, dest: Path) -> Path:
    """Write ``shape`` into ``dest`` (created; must be empty or absent) and return it."""
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty")
    for rel, text in files(shape).items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        # manage.py is executable in every Django checkout.
        path.chmod(0o755 if rel == "manage.py" else 0o644)
    return dest


def write_all(dest: Path, shapes: list[str] | None = None) -> dict[str, Path]:
    """Write each shape into ``dest/<shape>``."""
    return {name: write(name, dest / name) for name in (shapes or list(SHAPES))}


def relock(shape: str, *, uv: str = "uv", poetry: str = "poetry", pip_compile: str = "pip-compile") -> None:
    """Regenerate ``locks/<shape>/`` with the real tool (network needed).

    py314's uv.lock needs a Python 3.14 interpreter for uv to resolve with:
    pass ``uv`` as a command that runs inside such a container (see locks/README.md).
    """
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / shape
        root.mkdir()
        for rel, text in SHAPES[shape]().items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        # No machine-specific settings may leak into the files: a local wheel
        # folder (PIP_FIND_LINKS) would be written into pip-compile's output.
        env = {k: v for k, v in os.environ.items() if k != "PIP_FIND_LINKS"}
        env |= {"UV_PYTHON_DOWNLOADS": "never", "POETRY_VIRTUALENVS_IN_PROJECT": "true"}
        if shape == "worker_suffix":
            subprocess.run([poetry, "lock"], cwd=root, check=True, env=env)
        elif shape in ("uv_workspace", "py314"):
            # "{cwd}" lets the command run uv in a container that mounts the project.
            command = [part.replace("{cwd}", str(root)) for part in uv.split()]
            subprocess.run([*command, "lock"], cwd=root, check=True, env=env)
        elif shape == "coverage_contexts":
            for src in ("requirements.in", "requirements-dev.in"):
                subprocess.run(
                    [pip_compile, "--quiet", "--no-strip-extras", "--no-emit-find-links", src],
                    cwd=root,
                    check=True,
                    env={**env, "CUSTOM_COMPILE_COMMAND": "pip-compile " + src},
                )
        else:
            raise ValueError(f"{shape} has no lock files")
        out = LOCKS / shape
        out.mkdir(parents=True, exist_ok=True)
        for name in LOCKED[shape]:
            shutil.copyfile(root / name, out / name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write", help="write shapes into DEST/<shape>")
    w.add_argument("dest", type=Path)
    w.add_argument("shapes", nargs="*", help="default: all")
    sub.add_parser("list", help="the shapes")
    r = sub.add_parser("relock", help="regenerate lock files with uv / poetry / pip-compile")
    r.add_argument("shapes", nargs="+", choices=list(LOCKED))
    r.add_argument("--uv", default="uv")
    r.add_argument("--poetry", default="poetry")
    r.add_argument("--pip-compile", default="pip-compile")
    args = parser.parse_args(argv)
    if args.cmd == "list":
        print("\n".join(SHAPES))
    elif args.cmd == "write":
        for name, path in write_all(args.dest, args.shapes or None).items():
            print(f"{name}: {path}")
    else:
        for name in args.shapes:
            relock(name, uv=args.uv, poetry=args.poetry, pip_compile=args.pip_compile)
            print(f"relocked {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

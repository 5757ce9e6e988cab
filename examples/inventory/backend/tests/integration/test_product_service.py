from __future__ import annotations

from decimal import Decimal

import pytest
from inventory.domain.errors import ConflictError, NotFoundError
from inventory.domain.pagination import Page
from inventory.models import Product
from inventory.repositories import ProductRepository
from inventory.schemas import ProductCreate, ProductUpdate
from inventory.services import ProductService
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import make_product


@pytest.fixture
def service(db_session: Session) -> ProductService:
    return ProductService(db_session)


def test_create_persists_product(service: ProductService, db_session: Session) -> None:
    product = service.create(
        ProductCreate(sku="bolt m8", name="Hex bolt", unit_price=Decimal("0.35"), reorder_level=100)
    )
    stored = db_session.scalars(select(Product).where(Product.id == product.id)).one()
    assert (stored.sku, stored.name, stored.unit_price, stored.reorder_level) == (
        "BOLT-M8",
        "Hex bolt",
        Decimal("0.35"),
        100,
    )
    assert stored.active is True
    assert stored.created_at is not None


def test_create_assigns_increasing_ids(db_session: Session) -> None:
    first, second = make_product(db_session), make_product(db_session)
    assert second.id > first.id


@pytest.mark.parametrize("spelling", ["BOLT-M8", "bolt-m8", " bolt_m8 ", "bolt  m8"])
def test_duplicate_sku_in_any_spelling_conflicts(
    service: ProductService, db_session: Session, spelling: str
) -> None:
    make_product(db_session, sku="BOLT-M8")
    with pytest.raises(ConflictError, match="BOLT-M8"):
        service.create(ProductCreate(sku=spelling, name="Again", unit_price=Decimal(1)))


def test_get_returns_product(service: ProductService, db_session: Session) -> None:
    product = make_product(db_session, name="Washer")
    assert service.get(product.id).name == "Washer"


def test_get_missing_raises_not_found(service: ProductService) -> None:
    with pytest.raises(NotFoundError) as info:
        service.get(987654)
    assert (info.value.kind, info.value.key) == ("product", 987654)


def test_get_by_sku(service: ProductService, db_session: Session) -> None:
    product = make_product(db_session, sku="NUT-M6")
    assert service.get_by_sku("NUT-M6").id == product.id


def test_get_by_unknown_sku(service: ProductService) -> None:
    with pytest.raises(NotFoundError):
        service.get_by_sku("NOPE-1")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"name": "Renamed"}, {"name": "Renamed"}),
        ({"unit_price": Decimal("9.99")}, {"unit_price": Decimal("9.99")}),
        ({"reorder_level": 7}, {"reorder_level": 7}),
        ({"description": "zinc plated"}, {"description": "zinc plated"}),
        ({"active": False}, {"active": False}),
        ({"name": "A", "reorder_level": 1}, {"name": "A", "reorder_level": 1}),
    ],
)
def test_update_changes_only_given_fields(
    service: ProductService,
    db_session: Session,
    changes: dict[str, object],
    expected: dict[str, object],
) -> None:
    product = make_product(db_session, name="Original", unit_price="1.00", reorder_level=3)
    before = {c: getattr(product, c) for c in ("name", "unit_price", "reorder_level", "active")}
    service.update(product.id, ProductUpdate.model_validate(changes))
    db_session.expire_all()
    stored = service.get(product.id)
    for column, value in {**before, **expected}.items():
        assert getattr(stored, column) == value


def test_update_ignores_explicit_nulls(service: ProductService, db_session: Session) -> None:
    product = make_product(db_session, name="Keep me")
    service.update(product.id, ProductUpdate.model_validate({"name": None}))
    assert service.get(product.id).name == "Keep me"


def test_update_missing_product(service: ProductService) -> None:
    with pytest.raises(NotFoundError):
        service.update(424242, ProductUpdate(name="x"))


def test_deactivate_keeps_the_row(service: ProductService, db_session: Session) -> None:
    product = make_product(db_session)
    service.deactivate(product.id)
    db_session.expire_all()
    assert service.get(product.id).active is False


def test_list_page_orders_by_id_and_fetches_one_extra(service: ProductService, db_session: Session) -> None:
    ids = [make_product(db_session).id for _ in range(5)]
    # Start just before our first product: rows committed by others may precede it.
    rows = service.list_page(Page(limit=3, after_id=ids[0] - 1))
    assert [p.id for p in rows] == ids[:4]


def test_list_page_after_cursor(service: ProductService, db_session: Session) -> None:
    ids = [make_product(db_session).id for _ in range(5)]
    rows = service.list_page(Page(limit=10, after_id=ids[2]))
    assert [p.id for p in rows] == ids[3:]


def test_list_page_active_only(service: ProductService, db_session: Session) -> None:
    keep = make_product(db_session)
    gone = make_product(db_session)
    service.deactivate(gone.id)
    ids = [p.id for p in service.list_page(Page(limit=10), active_only=True)]
    assert keep.id in ids
    assert gone.id not in ids


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("BOLT", ["BOLT-M6", "BOLT-M8"]), ("NUT", ["NUT-M6"]), ("BOLT-M8", ["BOLT-M8"]), ("X", [])],
)
def test_list_page_by_sku_prefix(
    service: ProductService, db_session: Session, prefix: str, expected: list[str]
) -> None:
    for sku in ("BOLT-M6", "BOLT-M8", "NUT-M6"):
        make_product(db_session, sku=sku)
    rows = service.list_page(Page(limit=10), sku_prefix=prefix)
    assert sorted(p.sku for p in rows) == expected


def test_repository_count(db_session: Session) -> None:
    repo = ProductRepository(db_session)
    before, before_active = repo.count(), repo.count(active_only=True)
    make_product(db_session)
    ProductService(db_session).deactivate(make_product(db_session).id)
    assert repo.count() == before + 2
    assert repo.count(active_only=True) == before_active + 1


def test_changes_are_invisible_to_other_connections(db_session: Session) -> None:
    # The per-test transaction is never committed for real: another connection
    # must not see this product. This is what keeps tests independent.
    product = make_product(db_session, sku="ONLY-HERE")
    engine = db_session.get_bind().engine
    with engine.connect() as other:
        found = other.execute(select(Product.id).where(Product.sku == "ONLY-HERE")).first()
    assert product.id is not None
    assert found is None

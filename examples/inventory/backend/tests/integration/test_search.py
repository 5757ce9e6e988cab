"""Full-text search against PostgreSQL's tsvector column and GIN index."""

from __future__ import annotations

import pytest
from inventory.services import ProductService
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.factories import make_product

CATALOGUE = [
    ("BOLT-M8-40", "Hex bolt M8x40", "Zinc plated steel hex head bolt"),
    ("BOLT-M8-SS", "Hex bolt M8 stainless", "A2 stainless steel, hex head"),
    ("SCRW-WD-4", "Wood screw 4x40", "Countersunk, for soft and hard wood"),
    ("SCRW-DRV", "Screwdriver set", "Six screwdrivers, magnetic tips"),
    ("NUT-M8", "Hex nut M8", "Zinc plated steel nut"),
    ("WASH-M8", "Washer M8", "Flat washer to go with bolt and nut"),
]


@pytest.fixture
def service(db_session: Session) -> ProductService:
    for sku, name, description in CATALOGUE:
        make_product(db_session, sku=sku, name=name, description=description)
    return ProductService(db_session)


OURS = {sku for sku, _, _ in CATALOGUE}


def skus(service: ProductService, query: str) -> list[str]:
    # Only this test's products: the database may hold rows committed by someone else.
    return [hit.product.sku for hit in service.search(query).hits if hit.product.sku in OURS]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("bolt ", {"BOLT-M8-40", "BOLT-M8-SS", "WASH-M8"}),
        ("hex bolt ", {"BOLT-M8-40", "BOLT-M8-SS"}),
        ("screw", {"SCRW-WD-4", "SCRW-DRV"}),  # prefix: screw, screwdriver(s)
        ("screw ", {"SCRW-WD-4"}),
        ("zinc ", {"BOLT-M8-40", "NUT-M8"}),
        ("zinc -nut ", {"BOLT-M8-40"}),
        ('"hex head"', {"BOLT-M8-40", "BOLT-M8-SS"}),
        ('"head hex"', set()),
        ("stainless", {"BOLT-M8-SS"}),
        ("m8 ", {"BOLT-M8-40", "BOLT-M8-SS", "NUT-M8", "WASH-M8"}),  # SKU parts count
        ("magnetic", {"SCRW-DRV"}),
        ("titanium", set()),
        ("HEX NUT ", {"NUT-M8"}),
    ],
)
def test_search_finds(service: ProductService, query: str, expected: set[str]) -> None:
    assert set(skus(service, query)) == expected


def test_name_hit_ranks_above_description_hit(service: ProductService) -> None:
    # "bolt" is in the bolts' names but only in the washer's description.
    assert skus(service, "bolt ")[-1] == "WASH-M8"


def test_sku_is_searchable(service: ProductService) -> None:
    assert skus(service, "bolt-m8-40 ")[0] == "BOLT-M8-40"


@pytest.mark.parametrize("query", ["", "   ", "-bolt", "&|!", '""'])
def test_empty_query_returns_nothing_without_querying(service: ProductService, query: str) -> None:
    result = service.search(query)
    assert (result.tsquery, result.hits) == ("", [])


@pytest.mark.parametrize("query", ["bolt & | !", "(((", "a:*:*", "'; DROP TABLE products; --"])
def test_hostile_input_is_not_a_syntax_error(service: ProductService, query: str) -> None:
    service.search(query)  # must not raise
    assert service.search("bolt ").hits


def test_inactive_products_are_not_found(service: ProductService) -> None:
    product = service.get_by_sku("NUT-M8")
    service.deactivate(product.id)
    assert "NUT-M8" not in skus(service, "nut ")


def test_search_vector_follows_updates(service: ProductService) -> None:
    from inventory.schemas import ProductUpdate

    product = service.get_by_sku("WASH-M8")
    service.update(product.id, ProductUpdate(name="Spring lock washer"))
    assert skus(service, "spring ") == ["WASH-M8"]


def test_limit(service: ProductService) -> None:
    assert len(service.search("m8", limit=2).hits) == 2
    assert len(service.search("m8", limit=50).hits) >= 4


def test_snippet_highlights_matches(service: ProductService) -> None:
    hit = service.search("screwdriver ").hits[0]
    assert hit.snippet == "**Screwdriver** set"


def test_ranks_are_descending(service: ProductService) -> None:
    ranks = [hit.rank for hit in service.search("hex").hits]
    assert ranks == sorted(ranks, reverse=True)
    assert all(rank > 0 for rank in ranks)


def test_search_uses_generated_column(db_session: Session) -> None:
    product = make_product(db_session, name="Cable tie", description="Nylon")
    vector = db_session.execute(
        text("SELECT search_vector::text FROM products WHERE id = :id"), {"id": product.id}
    ).scalar_one()
    assert "'cable'" in vector
    assert "'nylon'" in vector

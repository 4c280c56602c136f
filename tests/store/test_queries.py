"""The named-query file: one statement per name, dialect overrides, psycopg parameter style."""

from __future__ import annotations

from gateway.store import queries


def test_a_dialect_block_overrides_the_plain_one_on_that_dialect_only() -> None:
    parsed = queries.parse("-- name: pick\nSELECT 1;\n-- name: pick@postgresql\nSELECT 2;\n")
    assert parsed["sqlite"]["pick"] == "SELECT 1"
    assert parsed["postgresql"]["pick"] == "SELECT 2"


def test_named_parameters_become_pyformat_and_casts_and_percent_signs_survive() -> None:
    sql = "SELECT :a::text, x LIKE 'a%' FROM t WHERE b = :b_2"
    assert queries.to_pyformat(sql) == "SELECT %(a)s::text, x LIKE 'a%%' FROM t WHERE b = %(b_2)s"


def test_both_dialects_know_every_statement() -> None:
    assert queries.load("sqlite").keys() == queries.load("postgresql").keys()
    assert "FOR UPDATE OF e SKIP LOCKED" in queries.load("postgresql")["claim_candidates"]
    assert "SKIP LOCKED" not in queries.load("sqlite")["claim_candidates"]


def test_a_statement_can_include_another_of_its_own_dialect() -> None:
    parsed = queries.parse(
        "-- name: lock\n\n-- name: lock@postgresql\nFOR UPDATE;\n-- name: pick\nSELECT 1 {lock} {rows};\n"
    )
    assert parsed["sqlite"]["pick"] == "SELECT 1  {rows}"
    assert parsed["postgresql"]["pick"] == "SELECT 1 FOR UPDATE {rows}"

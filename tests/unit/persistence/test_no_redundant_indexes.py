"""No index repeats what another index or key of its table already serves. An index on columns that lead a longer
index or key (or that a unique key already has) answers no lookup the other does not, and every insert pays for
it: device_acks carried one on device_id, one more index insertion per ack on the inbox's hottest statement."""
from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Column, Index, MetaData, PrimaryKeyConstraint, String, Table, UniqueConstraint

from broadcast.persistence.models import Base


class Key(NamedTuple):
    name: str
    columns: tuple[str, ...]
    unique: bool


def is_partial(index: Index) -> bool:
    return any(key.endswith("_where") and value is not None for key, value in index.dialect_kwargs.items())


def full_keys(table: Table) -> list[Key]:
    """Every index and key of the table that covers all its rows (a partial index does not)."""
    keys = [Key(str(ix.name), tuple(c.name for c in ix.columns), ix.unique) for ix in table.indexes
            if not is_partial(ix)]
    keys += [Key(str(c.name), tuple(col.name for col in c.columns), True) for c in table.constraints
             if isinstance(c, PrimaryKeyConstraint | UniqueConstraint) and c.columns]
    return keys


def redundant_indexes(table: Table) -> list[str]:
    keys = full_keys(table)
    redundant = []
    for index in (k for k in keys if not k.unique and k.columns):
        width = len(index.columns)
        served_by = next((k for k in keys if k.name != index.name and k.columns[:width] == index.columns
                          and (len(k.columns) > width or k.unique)), None)
        if served_by is not None:
            redundant.append(f"{table.name}.{index.name} is served by {served_by.name} {served_by.columns}")
    return redundant


def test_no_index_is_a_prefix_of_another_key_of_its_table() -> None:
    problems = [p for table in Base.metadata.sorted_tables for p in redundant_indexes(table)]
    assert problems == []


def test_the_check_finds_an_index_that_leads_a_unique_key() -> None:
    table = Table("t", MetaData(), Column("a", String), Column("b", String), Index("ix_t_a", "a"),
                  UniqueConstraint("a", "b", name="uq_t"))
    assert redundant_indexes(table) == ["t.ix_t_a is served by uq_t ('a', 'b')"]

"""No index repeats what another index or key of its table already serves. An index on columns that lead another
index (or the primary or a unique key) answers no lookup the longer one does not, and every insert pays for it:
device_acks carried one on device_id, one more index insertion per ack on the inbox's hottest statement."""
from __future__ import annotations

from sqlalchemy import Index, PrimaryKeyConstraint, Table, UniqueConstraint

from broadcast.persistence.models import Base


def column_lists(table: Table) -> list[tuple[str, tuple[str, ...], bool]]:
    """(name, columns, partial) of every index and key of the table."""
    found: list[tuple[str, tuple[str, ...], bool]] = []
    for index in table.indexes:
        partial = any(key.endswith("_where") and value is not None for key, value in index.dialect_kwargs.items())
        found.append((str(index.name), tuple(c.name for c in index.columns), partial))
    for constraint in table.constraints:
        if isinstance(constraint, PrimaryKeyConstraint | UniqueConstraint) and constraint.columns:
            columns = tuple(c.name for c in constraint.columns)
            found.append((str(constraint.name or f"{table.name} key"), columns, False))
    return found


def redundant_indexes(table: Table) -> list[str]:
    keys = column_lists(table)
    redundant = []
    for index in table.indexes:
        columns = tuple(c.name for c in index.columns)
        if not columns or index.unique:  # a unique index is a constraint of its own, not just a lookup path
            continue
        for name, other, partial in keys:
            if name != index.name and not partial and len(other) >= len(columns) and other[:len(columns)] == columns \
                    and (len(other) > len(columns) or name < str(index.name)):
                redundant.append(f"{table.name}.{index.name} is served by {name} {other}")
                break
    return redundant


def test_no_index_is_a_prefix_of_another_key_of_its_table() -> None:
    problems = [p for table in Base.metadata.sorted_tables for p in redundant_indexes(table)]
    assert problems == []


def test_the_check_finds_an_index_that_leads_a_unique_key() -> None:
    from sqlalchemy import Column, MetaData, String

    table = Table("t", MetaData(), Column("a", String), Column("b", String), Index("ix_t_a", "a"),
                  UniqueConstraint("a", "b", name="uq_t"))
    assert redundant_indexes(table) == ["t.ix_t_a is served by uq_t ('a', 'b')"]

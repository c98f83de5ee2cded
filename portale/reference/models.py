"""Reference tables loaded from ISTAT data shipped by packages (see DATA.md)."""

from __future__ import annotations

from sqlalchemy import Boolean, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from portale.db import Base


class Municipality(Base):
    """A municipality (*Comune*) identified by its six-character ISTAT code."""

    __tablename__ = "municipality"

    istat_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    cadastral_code: Mapped[str] = mapped_column(String(4), unique=True)
    province_code: Mapped[str] = mapped_column(String(3))
    supra_code: Mapped[str] = mapped_column(String(3), index=True)
    province_abbr: Mapped[str] = mapped_column(String(2))
    is_capital: Mapped[bool] = mapped_column(Boolean, default=False)
    # The patron saint's day is a local holiday that moves legal deadlines (art. 2963 c.c.).
    patron_month: Mapped[int | None] = mapped_column(SmallInteger)
    patron_day: Mapped[int | None] = mapped_column(SmallInteger)

    def __str__(self) -> str:
        return f"{self.name} ({self.province_abbr})"


class AtecoCode(Base):
    """An ATECO activity code (ISTAT classification, edition in force)."""

    __tablename__ = "ateco_code"

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    edition: Mapped[str] = mapped_column(String(4), default="2025")
    level: Mapped[str] = mapped_column(String(16))
    title_it: Mapped[str] = mapped_column(String(400))
    title_en: Mapped[str | None] = mapped_column(String(400))
    parent_code: Mapped[str | None] = mapped_column(String(10))

    def __str__(self) -> str:
        return f"{self.code} {self.title_it}"

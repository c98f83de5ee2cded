"""``portale data generate`` fills the database and says what it wrote and how fast."""

from __future__ import annotations

from sqlalchemy import func, select

from portale.procedures.models import Procedure


def test_data_generate_writes_the_procedures_asked_for(app, session) -> None:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(
        args=["data", "generate", "--companies", "8", "--procedures", "30", "--seed", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "30 procedures" in result.output and "procedures/s" in result.output
    assert session.scalar(select(func.count()).select_from(Procedure)) == 30


def test_data_generate_refuses_a_negative_count(app, session) -> None:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(
        args=["data", "generate", "--companies", "8", "--procedures", "-1"]
    )
    assert result.exit_code != 0
    assert "procedures" in result.output

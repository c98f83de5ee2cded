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


def test_if_empty_generates_once_so_make_demo_can_run_again(app, session) -> None:  # type: ignore[no-untyped-def]
    args = [
        "data",
        "generate",
        "--companies",
        "5",
        "--procedures",
        "12",
        "--seed",
        "3",
        "--if-empty",
    ]
    first = app.test_cli_runner().invoke(args=args)
    again = app.test_cli_runner().invoke(args=args)
    assert first.exit_code == 0 and again.exit_code == 0, again.output
    assert "nothing to do" in again.output
    assert session.scalar(select(func.count()).select_from(Procedure)) == 12

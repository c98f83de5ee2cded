"""``portale data generate`` fills the database and says what it wrote and how fast."""

from __future__ import annotations

from sqlalchemy import func, select

from portale.cases.models import Procedure


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


def test_make_demo_s_generation_runs_on_a_real_sqlite_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # As `make demo` runs it: separate processes, a database file, the generator's writer thread.
    import os
    import subprocess
    import sys
    from pathlib import Path

    portale = str(Path(sys.executable).with_name("portale"))
    env = {
        **os.environ,
        "PORTALE_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "PORTALE_VAR_DIR": str(tmp_path),
    }
    for args in (
        ["db", "upgrade"],
        ["data", "generate", "--companies", "6", "--procedures", "40", "--seed", "1", "--if-empty"],
    ):
        done = subprocess.run(
            [portale, *args], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
    assert "40 procedures" in done.stdout

"""``portale reference load`` prints what it loaded and where the data comes from."""

from __future__ import annotations


def test_reference_load_command_names_istat_as_source(app, session) -> None:  # type: ignore[no-untyped-def]
    # The ``session`` fixture binds the app's scoped session to the test's transaction.
    result = app.test_cli_runner().invoke(args=["reference", "load"])
    assert result.exit_code == 0, result.output
    assert "municipalities: 312 rows" in result.output
    assert "ATECO 2025 codes: 3257 rows" in result.output
    assert "ISTAT" in result.output

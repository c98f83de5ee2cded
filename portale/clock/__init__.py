"""The legal clock: calendars, terms and the lifecycle, as pure functions over plain values."""

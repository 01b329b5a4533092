"""Errors the calendar raises; callers (CLI, worker) turn them into one-line messages."""
from __future__ import annotations


class CalendarError(ValueError):
    """A calendar data file cannot be used; the message names the file and the problem."""


class OutOfRange(ValueError):
    """A date, or a date a computation reaches, lies outside the supported range."""

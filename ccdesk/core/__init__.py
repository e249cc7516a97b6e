"""The job itself, without Qt: read the sheet, look up, plan, run, journal, export."""

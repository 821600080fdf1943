"""Fixing what the audit found (issue 14): a reviewed plan, applied through the Mattermost API with
compare-and-set, journalled and undoable. ``plan_file`` is the plan's format, ``plan`` builds it from an
audit, ``apply`` carries it out (and undoes it) against a server."""

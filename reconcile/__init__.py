"""reconcile: will everyone pass Intune MAM enrollment for the Mattermost iOS app, and if not, why."""

__version__ = "0.1.0"

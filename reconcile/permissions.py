"""The permissions every input, rule and live call needs (issue 13, "Permissions, declared and checked"):
the one place that knows them.

Why checked before pulling: a Graph call without its permission answers 403, and until now a 403 on,
say, the Intune policies failed the whole run, leaving the admin to learn per check what to grant. The
live Graph source now reads the token's ``roles`` (application) or ``scp`` (delegated) first and skips
each part whose permission is missing, naming the permission and the app registration to grant it to;
the run is partial (exit 4), and the rules that needed the part are skipped with the same sentence,
never reported as passing. An opaque token (not a JWT) cannot be read: then a 403 on a call leads to
the same skip, naming the permission that call declares.

A broader permission satisfies a narrower one only where Microsoft documents it for the call made: each
entry of GRAPH_ACCEPTED lists the "least privileged" permission and the "higher privileged" ones of the
call's Graph API reference page (Permissions section). Being strict here costs a skipped check; being
generous would cost a failed run later, so nothing is inferred from names.

Mattermost permissions are declared, not checked against the token: the API source already refuses a
token without ``manage_system`` (reconcile/sources/mattermost_api.py ``check_admin``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

APPLICATION, DELEGATED = "application", "delegated"

# needed permission -> every permission that grants the calls made with it (the needed one included).
# Application and delegated permissions of these calls carry the same names.
GRAPH_ACCEPTED: dict[str, frozenset[str]] = {
    # GET /users, /users/delta (user-list, user-delta): User.Read.All; higher User.ReadWrite.All,
    # Directory.Read.All, Directory.ReadWrite.All
    "User.Read.All": frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All",
                                "Directory.ReadWrite.All"}),
    # GET /groups/{id}/transitiveMembers (group-list-transitivemembers): GroupMember.Read.All; higher
    # Group.Read.All, Directory.Read.All, GroupMember.ReadWrite.All, Group.ReadWrite.All, Directory.ReadWrite.All
    "GroupMember.Read.All": frozenset({"GroupMember.Read.All", "Group.Read.All", "GroupMember.ReadWrite.All",
                                       "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}),
    # GET /applications(appId=) (application-get): application Application.Read.All, higher
    # Application.ReadWrite.All (and .OwnedBy, which reads only the apps it owns: not counted); delegated
    # adds Directory.Read.All (DELEGATED_ALSO). GET /servicePrincipals (serviceprincipal-list) allows as much.
    "Application.Read.All": frozenset({"Application.Read.All", "Application.ReadWrite.All"}),
    # GET /oauth2PermissionGrants?$filter=clientId (oauth2permissiongrant-list): the reference lists
    # Directory.Read.All as least privileged, higher DelegatedPermissionGrant.ReadWrite.All and
    # Directory.ReadWrite.All; DelegatedPermissionGrant.Read.All (the narrower permission Entra offers for
    # exactly this read) is what the run asks for, and should Graph refuse it, the 403 skips the grants alone
    "DelegatedPermissionGrant.Read.All": frozenset({"DelegatedPermissionGrant.Read.All",
                                                    "DelegatedPermissionGrant.ReadWrite.All", "Directory.Read.All",
                                                    "Directory.ReadWrite.All"}),
    # GET /policies/authorizationPolicy (authorizationpolicy-get): Policy.Read.All; higher
    # Policy.ReadWrite.Authorization
    "Policy.Read.All": frozenset({"Policy.Read.All", "Policy.ReadWrite.Authorization"}),
    # GET /deviceAppManagement/iosManagedAppProtections (intune-mam-iosmanagedappprotection-list):
    # DeviceManagementApps.Read.All; higher DeviceManagementApps.ReadWrite.All
    "DeviceManagementApps.Read.All": frozenset({"DeviceManagementApps.Read.All",
                                                "DeviceManagementApps.ReadWrite.All"}),
}

# Delegated tokens only: what the reference lists as higher privileged for the delegated case alone.
DELEGATED_ALSO: dict[str, frozenset[str]] = {
    "Application.Read.All": frozenset({"Directory.Read.All", "Directory.ReadWrite.All"}),
}

# What the live source of each input calls, as the Graph permissions those calls need. Inputs only ever
# read from files (saml, saml_metadata, msal_tokens, exceptions) need none; ldap needs a directory bind.
INPUT_GRAPH: dict[str, tuple[str, ...]] = {
    "entra_users": ("User.Read.All",),
    "entra_licenses": ("User.Read.All",),           # assignedPlans, read with the users
    "entra_groups": ("GroupMember.Read.All",),
    "entra_application": ("Application.Read.All",),
    "entra_service_principals": ("Application.Read.All",),
    "entra_grants": ("Application.Read.All", "DelegatedPermissionGrant.Read.All"),  # found through the SPs
    "entra_authorization_policy": ("Policy.Read.All",),
    "intune_policies": ("DeviceManagementApps.Read.All",),
    # GET /deviceAppManagement/managedAppRegistrations (intune-mam-managedappregistration-list):
    # DeviceManagementApps.Read.All; higher DeviceManagementApps.ReadWrite.All
    "intune_registrations": ("DeviceManagementApps.Read.All",),
}
# The Mattermost API source: auth_data is returned only to manage_system (model.User.Sanitize), and
# GET /api/v4/config needs it too; the full licence is an admin's read as well.
INPUT_MATTERMOST: dict[str, tuple[str, ...]] = {
    "mattermost_users": ("manage_system",),
    "mattermost_config": ("manage_system",),
    "mattermost_license": ("manage_system",),
}
NO_REQUIREMENTS = "none"


def requires_of(depends_on: Iterable[str]) -> str:
    """The ``requires:`` header a rule with these inputs must carry: ``graph A, B; mattermost c`` (each
    list sorted), or ``none``. tests/test_rule_contract.py holds every rule to it."""
    depends = list(depends_on)
    graph = sorted({p for dep in depends for p in INPUT_GRAPH.get(dep, ())})
    mattermost = sorted({p for dep in depends for p in INPUT_MATTERMOST.get(dep, ())})
    parts = [f"{system} {', '.join(names)}" for system, names in (("graph", graph), ("mattermost", mattermost))
             if names]
    return "; ".join(parts) or NO_REQUIREMENTS


def graph_permissions_of(requires: str) -> tuple[str, ...]:
    """The Graph permissions named in a ``requires:`` header."""
    for part in requires.split(";"):
        system, _, names = part.strip().partition(" ")
        if system == "graph":
            return tuple(n.strip() for n in names.split(",") if n.strip())
    return ()


def satisfied(needed: str, granted: Iterable[str], kind: str = APPLICATION) -> bool:
    """Whether any granted permission of a token of ``kind`` grants what ``needed`` is needed for."""
    accepted = GRAPH_ACCEPTED.get(needed, frozenset({needed}))
    if kind == DELEGATED:
        accepted |= DELEGATED_ALSO.get(needed, frozenset())
    return bool(accepted & set(granted))


@dataclass(frozen=True)
class TokenGrants:
    """What a Graph access token says it may do: its kind, the permissions, and the app it was issued to."""

    kind: str                      # application (roles) | delegated (scp)
    permissions: frozenset[str]
    app_id: str | None             # appid (v1 tokens) or azp (v2)

    def missing(self, needed: Iterable[str]) -> list[str]:
        return [p for p in needed if not satisfied(p, self.permissions, self.kind)]


def grants_from_claims(claims: Mapping[str, object], fallback_app_id: str | None = None) -> TokenGrants:
    """``scp`` (space-separated) makes a delegated token; otherwise it is an application token whose
    ``roles`` are its permissions (an app-only token without ``roles`` has been granted none)."""
    app_id = claims.get("appid") or claims.get("azp") or fallback_app_id
    scp = claims.get("scp")
    if isinstance(scp, str):
        return TokenGrants(DELEGATED, frozenset(scp.split()), str(app_id) if app_id else None)
    roles = claims.get("roles")
    names = frozenset(str(r) for r in roles) if isinstance(roles, list) else frozenset()
    return TokenGrants(APPLICATION, names, str(app_id) if app_id else None)


def skip_reason(permission: str, kind: str, app_id: str | None) -> str:
    """The sentence a skipped part or rule carries, in summary.json, the console and the report."""
    which = f"the app registration `{app_id}`" if app_id else "the app registration the token was issued to"
    return f"needs Graph permission `{permission}` ({kind}): grant it to {which} and consent"


@dataclass(frozen=True)
class MissingPermission:
    """A Graph permission a run lacked, and what it was needed by (source parts, then rules)."""

    permission: str
    kind: str
    needed_by: tuple[str, ...]

    def as_summary(self) -> dict:
        return {"permission": self.permission, "type": self.kind, "needed_by": list(self.needed_by)}


def missing_permissions(skipped_parts: Iterable[tuple[str, str, str]],
                        skipped_rules: Iterable[tuple[str, Iterable[str]]]) -> list[MissingPermission]:
    """summary.json's ``missing_permissions``: each permission once, with every source part (``graph.X``
    for an input X) and rule skipped for it. ``skipped_parts`` is (input, permission, kind);
    ``skipped_rules`` is (rule id, the inputs it was skipped for)."""
    by_permission: dict[tuple[str, str], set[str]] = {}
    input_permission: dict[str, tuple[str, str]] = {}
    for name, permission, kind in skipped_parts:
        by_permission.setdefault((permission, kind), set()).add(f"graph.{name}")
        input_permission[name] = (permission, kind)
    for rule_id, inputs in skipped_rules:
        for name in inputs:
            if name in input_permission:
                by_permission[input_permission[name]].add(rule_id)
    return [MissingPermission(permission, kind, tuple(sorted(needed)))
            for (permission, kind), needed in sorted(by_permission.items())]


def summary(inputs: Iterable, results: Iterable) -> list[dict]:
    """summary.json's ``missing_permissions`` for a run: from its inputs (InputInfo with
    ``missing_permission``) and its rule results (RuleResult)."""
    parts = [(i.name, *i.missing_permission) for i in inputs if i.missing_permission]
    lacking = {name for name, _, _ in parts}
    rules = [(r.rule.rule_id, [d for d in r.rule.depends_on if d in lacking]) for r in results
             if r.status == "skipped"]
    return [m.as_summary() for m in missing_permissions(parts, rules)]


def needed_by(permission: str, rules: Iterable) -> list[str]:
    """The source parts (``graph.<input>``) and rules (from their ``requires:``) that need ``permission``."""
    parts = [f"graph.{name}" for name, needs in INPUT_GRAPH.items() if permission in needs]
    return parts + sorted(r.rule_id for r in rules if permission in graph_permissions_of(r.requires))

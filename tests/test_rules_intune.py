"""Intune iOS App Protection Policies: targeting discovered from them, and the policy rules."""

from __future__ import annotations

import json

import pytest
from tenant import Tenant, entra_user, mm_admin, oid

from reconcile.audit import run_audit
from reconcile.errors import InputError
from reconcile.sources.base import TargetingOptions

GROUP_A = "0a000000-0000-4000-8000-00000000000a"
GROUP_B = "0b000000-0000-4000-8000-00000000000b"
EXCLUDED = "0e000000-0000-4000-8000-00000000000e"


def policy(bundle_id: str, *targets: tuple[str, str | None], policy_id: str = "T_1") -> dict:
    return {"@odata.type": "#microsoft.graph.iosManagedAppProtection", "id": policy_id, "displayName": bundle_id,
            "apps": [{"id": f"{bundle_id}.ios", "mobileAppIdentifier": {
                "@odata.type": "#microsoft.graph.iosMobileAppIdentifier", "bundleId": bundle_id}}],
            "assignments": [{"id": f"a{i}", "target": {"@odata.type": f"#microsoft.graph.{kind}",
                                                        **({"groupId": group} if group else {})}}
                            for i, (kind, group) in enumerate(targets)]}


def include(group: str) -> tuple[str, str]:
    return ("groupAssignmentTarget", group)


def exclude(group: str) -> tuple[str, str]:
    return ("exclusionGroupAssignmentTarget", group)


def member(n: int) -> dict:
    return {"@odata.type": "#microsoft.graph.user", "id": oid(n), "userPrincipalName": f"user{n}@contoso.com"}


def run(tmp_path, policies: list[dict], groups: dict[str, list[int]], **options):
    # Nobody but the admin has a Mattermost account yet (SAML), so every targeted person is
    # USER_SAML_UNPROVISIONED and has a readiness row: both say exactly who was targeted. user5 has no
    # Intune licence.
    people = [entra_user(n) for n in range(1, 5)] + [entra_user(5, assignedPlans=[])]
    tenant = Tenant(entra=people, mattermost=[mm_admin()],
                    groups={g: [member(n) for n in ns] for g, ns in groups.items()})
    export = tenant.write(tmp_path / "export")
    (export / "intune_ios_app_protections.json").write_text(json.dumps({"value": policies}))
    from tenant import load_outcome


    result = run_audit(export, tmp_path / "out", tmp_path / "s.duckdb",
                       targeting=TargetingOptions(**options) if options else None)
    return load_outcome(result)


def targeted(outcome) -> set[str]:
    people = {r["entra_object_id"] for r in outcome.readiness}
    assert people == {f["entra_object_id"] for f in outcome.rule("USER_SAML_UNPROVISIONED")}
    return people


def test_policy_groups_decide_who_is_targeted(tmp_path):
    outcome = run(tmp_path, [policy("com.mattermost.rn", include(GROUP_A))], {GROUP_A: [1, 2], GROUP_B: [3]})
    assert targeted(outcome) == {oid(1), oid(2)}
    assert "intune_ios_app_protections.json: 1 included group(s)" in outcome.result.targeting
    assert outcome.fired() & {"INTUNE_POLICY_MISSING", "INTUNE_POLICY_UNASSIGNED"} == set()


def test_exclusion_wins(tmp_path):
    outcome = run(tmp_path, [policy("com.mattermost.rn", include(GROUP_A), exclude(EXCLUDED))],
                  {GROUP_A: [1, 2, 3], EXCLUDED: [2]})
    assert targeted(outcome) == {oid(1), oid(3)}
    assert "minus 1 excluded group(s)" in outcome.result.targeting


def test_all_licensed_users(tmp_path):
    outcome = run(tmp_path, [policy("com.mattermost.rn", ("allLicensedUsersAssignmentTarget", None),
                                    exclude(EXCLUDED))], {EXCLUDED: [1]})
    assert targeted(outcome) == {oid(2), oid(3), oid(4)}, "user5 has no Intune licence, user1 is excluded"


def test_other_apps_policies_do_not_target(tmp_path):
    policies = [policy("com.mattermost.rn", include(GROUP_A)),
                policy("com.microsoft.Office.Outlook", include(GROUP_B), policy_id="T_2")]
    outcome = run(tmp_path, policies, {GROUP_A: [1], GROUP_B: [2, 3]})
    assert targeted(outcome) == {oid(1)}


def test_intune_group_option_overrides_discovery(tmp_path):
    outcome = run(tmp_path, [policy("com.mattermost.rn", include(GROUP_A))], {GROUP_A: [1], GROUP_B: [2, 3]},
                  intune_groups=(GROUP_B,))
    assert targeted(outcome) == {oid(2), oid(3)}
    assert "--intune-group" in outcome.result.targeting


def test_policy_missing_for_the_production_app(tmp_path):
    outcome = run(tmp_path, [policy("com.mattermost.rnbeta", include(GROUP_A))], {GROUP_A: [1]},
                  ios_bundle_ids=("com.mattermost.rn",))
    [row] = outcome.rule("INTUNE_POLICY_MISSING")
    assert row["subject_type"] == "tenant"
    assert row["observed"] == "com.mattermost.rn is in no iOS App Protection Policy"
    assert all(r["status"] == "will_fail" for r in outcome.readiness)


def test_each_deployed_bundle_id_needs_its_own_policy(tmp_path):
    outcome = run(tmp_path, [policy("com.mattermost.rn", include(GROUP_A))], {GROUP_A: [1]},
                  ios_bundle_ids=("com.mattermost.rn", "com.mattermost.rnbeta"))
    [row] = outcome.rule("INTUNE_POLICY_MISSING")
    assert row["observed"].startswith("com.mattermost.rnbeta")


def test_unassigned_policy(tmp_path):
    policies = [policy("com.mattermost.rn", include(GROUP_A)), policy("com.mattermost.rnbeta", policy_id="T_2"),
                policy("com.microsoft.Office.Outlook", policy_id="T_3")]
    outcome = run(tmp_path, policies, {GROUP_A: [1]})
    [row] = outcome.rule("INTUNE_POLICY_UNASSIGNED")
    assert "T_2" in row["observed"] and "com.mattermost.rnbeta" in row["observed"]
    assert "INTUNE_POLICY_MISSING" not in outcome.fired()
    assert outcome.status_of(oid(1)) == "will_fail", "unprovisioned, and only that"
    assert outcome.readiness[0]["rule_ids"] == "USER_SAML_UNPROVISIONED", "a tenant warning is not the person's"


def test_only_an_exclusion_is_missing_policy(tmp_path):
    outcome = run(tmp_path, [policy("com.mattermost.rn", exclude(GROUP_A))], {GROUP_A: [1]})
    [row] = outcome.rule("INTUNE_POLICY_MISSING")
    assert row["observed"] == "com.mattermost.rn is only in policies without an inclusion assignment"
    assert len(outcome.rule("INTUNE_POLICY_UNASSIGNED")) == 1


def test_targeting_group_without_members_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=f"group {GROUP_B} decides who is targeted.*entra_groups/{GROUP_B}.json"):
        run(tmp_path, [policy("com.mattermost.rn", include(GROUP_A), exclude(GROUP_B))], {GROUP_A: [1]})


def test_policies_without_expand_are_refused(tmp_path):
    broken = policy("com.mattermost.rn", include(GROUP_A))
    del broken["assignments"]
    with pytest.raises(InputError, match=r"\$expand=apps,assignments"):
        run(tmp_path, [broken], {GROUP_A: [1]})

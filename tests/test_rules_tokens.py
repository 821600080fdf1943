"""MSAL access-token rules: each fires on a token that breaks it, and not on a good one."""

from __future__ import annotations

from pathlib import Path

import pytest
from tenant import (
    BETA_APP_ID,
    CLIENT_ID,
    TENANT_ID,
    Tenant,
    audit,
    entra_user,
    jwt,
    mm_id,
    mm_user,
    oid,
    v2_claims,
)

from reconcile.errors import InputError

REALWORLD = Path(__file__).resolve().parent / "realworld"  # copied from shared/realworld (README there)
TOKEN_RULES = {"TOKEN_VERSION_1", "TOKEN_OID_MISSING", "TOKEN_TENANT_MISMATCH", "TOKEN_AUDIENCE_MISMATCH",
               "TOKEN_SCOPE_MISSING", "TOKEN_CLIENT_NOT_MOBILE", "USER_TOKEN_OID_MISMATCH"}


def _audit(tmp_path, *tokens: str, accounts=None):
    tenant = Tenant(entra=[entra_user(1), entra_user(2)],
                    mattermost=accounts if accounts is not None else [mm_user(1), mm_user(2)],
                    tokens=list(tokens))
    return audit(tenant, tmp_path)


def test_good_v2_token_passes_every_token_rule(tmp_path):
    outcome = _audit(tmp_path, jwt(v2_claims(1)), jwt(v2_claims(2, aud=f"api://{CLIENT_ID}")))
    assert outcome.fired() & TOKEN_RULES == set()
    assert outcome.result.summary["findings_by_rule"]["TOKEN_VERSION_1"] == 0
    note = next(i["note"] for i in outcome.result.summary["inputs"] if i["name"] == "msal_tokens")
    assert "not verified offline" in note


def test_console_says_token_signatures_are_not_verified(tmp_path):
    from click.testing import CliRunner

    from reconcile.cli import main

    export = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)], tokens=[jwt(v2_claims(1))]).write(tmp_path / "e")
    result = CliRunner().invoke(main, ["audit", "--input-dir", str(export), "--output-dir", str(tmp_path / "o")])
    assert "msal_tokens.txt: token signatures are not verified offline" in " ".join(result.output.split())


def test_v1_token_from_claims(tmp_path):
    claims = v2_claims(1, ver="1.0", iss=f"https://sts.windows.net/{TENANT_ID}/", upn="user1@contoso.com")
    del claims["preferred_username"]
    outcome = _audit(tmp_path, "# captured 2026-11-20", "", jwt(claims))
    [row] = outcome.rule("TOKEN_VERSION_1")
    assert row["subject_type"] == "token"
    assert (row["entra_object_id"], row["mattermost_user_id"]) == (oid(1), mm_id(1))
    assert row["observed"].startswith("line 3: ver = 1.0, iss = https://sts.windows.net/")
    assert outcome.status_of(oid(1)) == "will_fail"
    assert outcome.status_of(oid(2)) == "ready"


def test_v1_issuer_alone_is_a_v1_token(tmp_path):
    outcome = _audit(tmp_path, jwt(v2_claims(1, iss=f"https://sts.windows.net/{TENANT_ID}/")))
    assert len(outcome.rule("TOKEN_VERSION_1")) == 1


def test_real_azure_ad_v1_token(tmp_path):
    token = (REALWORLD / "aad-v1-access-token-app-2014.jwt").read_text().strip()
    outcome = _audit(tmp_path, token)
    [row] = outcome.rule("TOKEN_VERSION_1")
    assert "ver = 1.0" in row["observed"]
    assert "iss = https://sts.windows.net/add29489-7269-41f4-8841-b63c95564420/" in row["observed"]
    assert {"TOKEN_TENANT_MISMATCH", "TOKEN_AUDIENCE_MISMATCH"} <= outcome.fired()


def test_token_without_oid_is_only_oid_missing(tmp_path):
    claims = v2_claims(1)
    del claims["oid"]
    outcome = _audit(tmp_path, jwt(claims))
    [row] = outcome.rule("TOKEN_OID_MISSING")
    assert row["predicted_error"].startswith("MissingAuthAccountError")
    assert (row["entra_object_id"], row["mattermost_user_id"]) == (oid(1), mm_id(1))  # matched by username
    assert "USER_TOKEN_OID_MISMATCH" not in outcome.fired()


def test_tenant_and_audience_mismatch(tmp_path):
    other = "11111111-2222-4333-8444-555555555555"
    outcome = _audit(tmp_path, jwt(v2_claims(1, tid=other)), jwt(v2_claims(2, aud="api://something-else")))
    [tenant_row] = outcome.rule("TOKEN_TENANT_MISMATCH")
    assert tenant_row["observed"] == f"line 1: tid = {other}" and tenant_row["expected"] == TENANT_ID
    [aud_row] = outcome.rule("TOKEN_AUDIENCE_MISMATCH")
    assert aud_row["observed"] == "line 2: aud = api://something-else"
    assert aud_row["entra_object_id"] == oid(2)


def test_audience_compares_guid_case_insensitively(tmp_path):
    outcome = _audit(tmp_path, jwt(v2_claims(1, aud=f"api://{CLIENT_ID.upper()}")))
    assert "TOKEN_AUDIENCE_MISMATCH" not in outcome.fired()


def test_oid_of_another_user(tmp_path):
    outcome = _audit(tmp_path, jwt(v2_claims(1, oid="0f0f0f0f-0000-4000-8000-000000000000")))
    [row] = outcome.rule("USER_TOKEN_OID_MISMATCH")
    assert row["subject_type"] == "user" and row["entra_object_id"] == oid(1)
    assert "matched by username" in row["observed"]


def test_oid_right_but_account_bound_otherwise(tmp_path):
    outcome = _audit(tmp_path, jwt(v2_claims(1)),
                     accounts=[mm_user(1, auth_data="user1@contoso.com"), mm_user(2)])
    [row] = outcome.rule("USER_TOKEN_OID_MISMATCH")
    assert row["mattermost_user_id"] == mm_id(1)
    assert row["observed"] == f'line 1: oid = {oid(1)}, but the enrolling account has auth_data "user1@contoso.com"'
    assert "USER_AUTHDATA_IS_EMAIL" in outcome.fired()


def test_unknown_user_token_is_not_a_user_mismatch(tmp_path):
    outcome = _audit(tmp_path, jwt(v2_claims(9, preferred_username="stranger@fabrikam.com")))
    assert outcome.fired() & TOKEN_RULES == set()


def test_bearer_prefix_is_tolerated(tmp_path):
    outcome = _audit(tmp_path, "Bearer " + jwt(v2_claims(1)))
    assert outcome.fired() & TOKEN_RULES == set()


@pytest.mark.parametrize("line", ["not a token", "a.b", "eyJhbGciOiJub25lIn0.bm90IGpzb24.sig"])
def test_a_line_that_is_not_a_jwt_is_an_input_error(tmp_path, line):
    tenant = Tenant(entra=[entra_user(1)], mattermost=[mm_user(1)], tokens=[jwt(v2_claims(1)), line])
    with pytest.raises(InputError, match=r"msal_tokens.txt: line 2: expected a JWT"):
        audit(tenant, tmp_path)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("scp", "observed"), [
    pytest.param(None, "no scp claim (an app-only token?)", id="app-only"),
    pytest.param("access_as_user", 'scp = "access_as_user"', id="another-scope"),
    pytest.param("User.Read openid", 'scp = "User.Read openid"', id="graph-token"),
    pytest.param("login.mattermost.extra", 'scp = "login.mattermost.extra"', id="prefix-only"),
])
def test_token_without_the_login_scope_is_refused(tmp_path, scp, observed):
    outcome = _audit(tmp_path, jwt(v2_claims(1, scp=scp)))
    [row] = outcome.rule("TOKEN_SCOPE_MISSING")
    assert row["observed"] == f"line 1: {observed}"
    assert row["severity"] == "blocking" and row["entra_object_id"] == oid(1)
    assert row["predicted_error"].startswith("ent.intune.validate_token.invalid_token")
    assert outcome.status_of(oid(1)) == "will_fail"


def test_login_scope_among_others_passes(tmp_path):
    outcome = _audit(tmp_path, jwt(v2_claims(1, scp="openid login.mattermost profile")),
                     jwt(v2_claims(2, scp="Login.Mattermost")))
    assert "TOKEN_SCOPE_MISSING" not in outcome.fired()


def test_token_from_another_client_is_info(tmp_path):
    azure_cli = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
    outcome = _audit(tmp_path, jwt(v2_claims(1, azp=azure_cli)))
    [row] = outcome.rule("TOKEN_CLIENT_NOT_MOBILE")
    assert row["severity"] == "info"
    assert row["observed"] == f"line 1: azp = {azure_cli}"
    assert "9ac649f1-4f77-44d6-9792-b2f54ab3c9a7" in row["expected"]
    assert outcome.status_of(oid(1)) == "ready", "info: the verdicts stand, the capture is only labelled"


def test_v1_token_client_is_read_from_appid(tmp_path):
    claims = v2_claims(1, ver="1.0", iss=f"https://sts.windows.net/{TENANT_ID}/", aud=f"api://{CLIENT_ID}",
                       appid="04b07795-8ddb-461a-bbee-02f9e1bf7b46", azp=None)
    [row] = _audit(tmp_path, jwt({k: v for k, v in claims.items() if v is not None})).rule("TOKEN_CLIENT_NOT_MOBILE")
    assert row["observed"] == "line 1: appid = 04b07795-8ddb-461a-bbee-02f9e1bf7b46"


def test_mobile_clients_are_not_labelled(tmp_path):
    """The App Store and TestFlight ids (any case), and one given with --mobile-client-id."""
    from reconcile.sources.base import TargetingOptions
    own = "7a7a7a7a-0000-4000-8000-000000000001"
    tenant = Tenant(entra=[entra_user(1), entra_user(2), entra_user(3)],
                    mattermost=[mm_user(1), mm_user(2), mm_user(3)],
                    tokens=[jwt(v2_claims(1)), jwt(v2_claims(2, azp=BETA_APP_ID.upper())),
                            jwt(v2_claims(3, azp=own))])
    outcome = audit(tenant, tmp_path, targeting=TargetingOptions(mobile_client_ids=(own,)))
    assert "TOKEN_CLIENT_NOT_MOBILE" not in outcome.fired()

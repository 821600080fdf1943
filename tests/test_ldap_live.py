"""Live LDAP extraction against a real OpenLDAP slapd on loopback: paging, binary objectGUID, binds, TLS,
a server that dies in the middle of a paged search, and records identical to an LDIF export's."""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from ldap_server import (
    AWKWARD_GUID,
    BASE_DN,
    LIMITED_DN,
    READER_DN,
    READER_PASSWORD,
    SLAPD,
    USER_FILTER,
    WORKED_EXAMPLE_GUID,
    Slapd,
    TlsFiles,
    User,
    directory_ldif,
    load_database,
    make_tls_files,
    make_users,
)
from staged import staged

import reconcile.sources.ldap_live as ldap_live
from reconcile.errors import ExitCode, InputError
from reconcile.identifiers import guid_windows
from reconcile.sources.ldap import RAW_COLUMNS, raw_rows
from reconcile.sources.ldap_live import (
    BASE_ATTRIBUTES,
    LdapAuthError,
    LdapConfigError,
    LdapSearch,
    LdapSettings,
    LdapSourceError,
    connect_ldap,
    iter_ldap_entries,
    ldap_settings,
)
from reconcile.sources.ldif import read_ldif
from reconcile.store import load_rows

USER_COUNT = 3000
PAGE_SIZE = 100


@dataclasses.dataclass(frozen=True)
class Loaded:
    users: list[User]
    data: Path  # the slapadd-loaded mdb directory each server copies


@pytest.fixture(scope="session")
def loaded(tmp_path_factory) -> Loaded:
    if not SLAPD.exists():
        pytest.skip(f"OpenLDAP's slapd is not installed ({SLAPD}); apt-get install slapd ldap-utils")
    users = make_users(USER_COUNT)
    return Loaded(users, load_database(tmp_path_factory.mktemp("ldap-template"), directory_ldif(users)))


@pytest.fixture(scope="session")
def slapd(loaded, tmp_path_factory):
    server = Slapd(tmp_path_factory.mktemp("slapd") / "server", loaded.data).start()
    yield server
    server.stop()


@pytest.fixture
def own_slapd(loaded, tmp_path):
    """A server of this test's own, free to be killed and restarted."""
    server = Slapd(tmp_path / "server", loaded.data).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> TlsFiles:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl CLI is needed to make a throwaway CA and server certificate")
    return make_tls_files(tmp_path_factory.mktemp("ldap-tls"), openssl)


@pytest.fixture(scope="session")
def tls_slapd(loaded, tls_files, tmp_path_factory):
    """slapd with a certificate from a throwaway CA: StartTLS on ldap://, and an ldaps:// listener."""
    server = Slapd(tmp_path_factory.mktemp("slapd-tls") / "server", loaded.data, tls_files).start()
    yield server
    server.stop()


def plain_settings(server: Slapd, **changes) -> LdapSettings:
    settings = LdapSettings(url=server.url, base_dn=BASE_DN, user_filter=USER_FILTER, bind_dn=READER_DN,
                            password=READER_PASSWORD, insecure=True, page_size=PAGE_SIZE)
    return dataclasses.replace(settings, **changes)


@pytest.fixture(scope="session")
def live(slapd) -> tuple[list[dict], list[int]]:
    """One full paged read of the session server: the records and on_page's counts. Tests must not mutate it."""
    pages: list[int] = []
    records = list(iter_ldap_entries(plain_settings(slapd), on_page=pages.append))
    return records, pages


def by_sam(records: list[dict]) -> dict[str, dict]:
    return {r["attributes"]["samaccountname"][0].decode(): r for r in records}


@pytest.fixture
def no_sleep(monkeypatch) -> list[float]:
    """Reconnect back-off recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr(ldap_live, "_sleep", waits.append)
    return waits


# --- paging and record shape -------------------------------------------------------------------------------


def test_paging_returns_every_entry_once(live, loaded):
    records, pages = live
    assert pages == [PAGE_SIZE] * (USER_COUNT // PAGE_SIZE)  # 30 pages of 100, counted by on_page
    dns = Counter(r["dn"].lower() for r in records)
    assert len(dns) == USER_COUNT and max(dns.values()) == 1
    assert set(by_sam(records)) == {u.sam for u in loaded.users}
    assert records[0]["_where"] == "ldap: page 1" and records[-1]["_where"] == "ldap: page 30"


def test_records_stream_page_by_page(slapd):
    """The first entry arrives after one page, not after the directory."""
    pages: list[int] = []
    entries = iter_ldap_entries(plain_settings(slapd), on_page=pages.append)
    next(entries)
    assert pages == [PAGE_SIZE]
    entries.close()


def test_object_guid_bytes_round_trip(live, loaded):
    records = by_sam(live[0])
    for user in loaded.users:
        got = records[user.sam]["attributes"].get("objectguid")
        assert got == ([user.object_guid] if user.object_guid is not None else None), user.sam
    worked = records["user00000"]["attributes"]["objectguid"][0]
    assert worked == WORKED_EXAMPLE_GUID and guid_windows(worked) == "1effbc1e-4aa3-4f9d-a508-d4d81f1f5873"
    assert records["user00001"]["attributes"]["objectguid"] == [AWKWARD_GUID]  # NUL, CR, LF, ':' and '<' intact


def test_missing_attributes_are_absent_and_values_exact(live, loaded):
    records = by_sam(live[0])
    seen = Counter()
    for user in loaded.users:
        attributes = records[user.sam]["attributes"]
        assert all(name == name.lower() and values and all(isinstance(v, bytes) for v in values)
                   for name, values in attributes.items())
        aad = attributes.get("msds-aadobjectid")
        assert aad == ([user.aad.encode()] if user.aad else None)  # case kept: uppercase is itself a finding
        assert attributes.get("userprincipalname") == ([user.upn.encode()] if user.upn else None)
        assert attributes.get("mail") == ([m.encode() for m in user.mails] or None)
        assert attributes["samaccountname"] == [user.sam.encode()]
        seen.update(name for name in ("msds-aadobjectid", "objectguid", "userprincipalname", "mail")
                    if name not in attributes)
    assert all(seen[name] > 10 for name in ("msds-aadobjectid", "objectguid", "userprincipalname", "mail"))
    assert any(u.aad and u.aad != u.aad.lower() for u in loaded.users)


def test_records_feed_staging_unchanged(live):
    got = staged(lambda con: load_rows(con, "raw_ldap_users", RAW_COLUMNS, raw_rows(live[0], "objectGUID")),
                 "ldap_users")["ldap_users"]
    rows = {row["sam_account_name"]: row for row in got}
    assert len(rows) == USER_COUNT
    assert rows["user00000"]["object_guid"] == "1effbc1e-4aa3-4f9d-a508-d4d81f1f5873"  # Windows form
    assert rows["user00000"]["id_attribute_value"] == (
        "\\1e\\bc\\ff\\1e\\a3\\4a\\9d\\4f\\a5\\08\\d4\\d8\\1f\\1f\\58\\73")


def test_live_records_equal_an_ldif_export(slapd, live, tmp_path):
    """ldapsearch's export of the same entries reads back as the same records: every rule works either way."""
    export = slapd.ldapsearch("-LLL", "-b", BASE_DN, "-E", "pr=500/noprompt", USER_FILTER, *BASE_ATTRIBUTES)
    (tmp_path / "export.ldif").write_bytes(export)

    def comparable(records) -> list[tuple]:
        return sorted((r["dn"], r["attributes"]) for r in records)

    from_file = list(read_ldif(tmp_path / "export.ldif"))
    assert len(from_file) == USER_COUNT
    assert comparable(from_file) == comparable(live[0])


@pytest.mark.parametrize("mode", ["extended", "LLL"])
def test_real_ldapsearch_export_without_final_newline_is_complete(slapd, live, tmp_path, mode):
    """ldapsearch's own output, default and -LLL, with its final line ending(s) removed: every entry is read.
    Cut inside the last entry's objectGUID it is truncated: the trailer is missing, or the value cannot be whole."""
    args = ("-LLL",) if mode == "LLL" else ()
    export = slapd.ldapsearch(*args, "-b", BASE_DN, "-E", "pr=500/noprompt", USER_FILTER, *BASE_ATTRIBUTES)
    path = tmp_path / "export.ldif"
    path.write_bytes(export.rstrip(b"\n"))
    assert not path.read_bytes().endswith(b"\n")
    assert sorted((r["dn"], r["attributes"]) for r in read_ldif(path)) == sorted(
        (r["dn"], r["attributes"]) for r in live[0])

    path.write_bytes(export[: export.rindex(b"objectGUID:: ") + len(b"objectGUID:: ") + 5])
    with pytest.raises(InputError, match="ends in the middle of a line"):
        list(read_ldif(path))
    if mode == "extended":  # cut between lines, before the last page's trailer: only the trailer can tell
        path.write_bytes(export[: export.rindex(b"# search result")].rstrip(b"\n"))
        with pytest.raises(InputError, match="'result:' line"):
            list(read_ldif(path))


SYNC_SETTINGS = {"BaseDN": BASE_DN, "UserFilter": "", "IdAttribute": "msDS-aadObjectId",
                 "LoginIdAttribute": "sAMAccountName", "EmailAttribute": "mail"}


def _settings_from(slapd: Slapd, **ldap_settings_block) -> LdapSettings:
    return ldap_settings(slapd.url, base_dn=None, user_filter=None, insecure=True, page_size=500,
                         environ={"RECONCILE_LDAP_BIND_DN": READER_DN, "RECONCILE_LDAP_PASSWORD": READER_PASSWORD},
                         mattermost_config={"LdapSettings": ldap_settings_block})


def test_empty_user_filter_reads_the_entries_mattermost_can_sync(slapd, loaded):
    """UserFilter empty (Mattermost's default): the entries with the email, login id and id attributes. This
    directory is inetOrgPerson, not AD: the AD-only filter the audit used to default to matches nothing here."""
    settings = _settings_from(slapd, **SYNC_SETTINGS)
    assert settings.user_filter == "(&(mail=*)(sAMAccountName=*)(msDS-aadObjectId=*))"
    records = by_sam(iter_ldap_entries(settings))
    syncable = {u.sam for u in loaded.users if u.aad and u.mails}
    assert set(records) == syncable and len(syncable) < USER_COUNT  # those lacking the id attribute are not read
    assert all("msds-aadobjectid" in r["attributes"] for r in records.values())

    old_ad_default = "(&(objectCategory=person)(objectClass=user))"
    assert list(iter_ldap_entries(plain_settings(slapd, user_filter=old_ad_default))) == []

    plain = _settings_from(slapd, BaseDN=BASE_DN, IdAttribute="uid", LoginIdAttribute="uid", EmailAttribute="mail")
    assert plain.user_filter == "(&(mail=*)(uid=*))"  # uid named twice, asked for once
    assert set(by_sam(iter_ldap_entries(plain))) == {u.sam for u in loaded.users if u.mails}


def test_user_filter_of_the_config_wins_over_the_built_one(slapd):
    settings = _settings_from(slapd, **{**SYNC_SETTINGS, "UserFilter": "sAMAccountName=user0000*"})
    assert (settings.user_filter, settings.filter_source) == ("(sAMAccountName=user0000*)",
                                                              "taken from LdapSettings.UserFilter")
    assert len(list(iter_ldap_entries(settings))) == 10


def test_no_sync_attributes_reads_every_entry_and_says_so(slapd):
    settings = _settings_from(slapd, BaseDN=BASE_DN)
    assert settings.user_filter == "(objectClass=*)"
    assert settings.filter_source == ("set to match every entry, as UserFilter is empty and LdapSettings names none "
                                      "of EmailAttribute, LoginIdAttribute, IdAttribute")
    assert LdapSearch(settings).note() == f'base DN "{BASE_DN}", filter "(objectClass=*)" ({settings.filter_source})'
    assert len(list(LdapSearch(settings))) == USER_COUNT + 5  # and the base, two OUs, two service accounts


def test_mattermost_ldap_attributes_are_requested(slapd):
    config = {"LdapSettings": {"BaseDN": BASE_DN, "UserFilter": USER_FILTER, "IdAttribute": "uid",
                               "LoginIdAttribute": "cn", "EmailAttribute": "MAIL"}}
    settings = ldap_settings(slapd.url, base_dn=None, user_filter=None, insecure=True, page_size=500,
                             environ={"RECONCILE_LDAP_BIND_DN": READER_DN, "RECONCILE_LDAP_PASSWORD": READER_PASSWORD},
                             mattermost_config=config)
    assert settings.attributes == (*BASE_ATTRIBUTES, "uid", "cn")  # MAIL is mail, asked for once
    record = by_sam(iter_ldap_entries(settings))["user00002"]
    assert record["attributes"]["uid"] == [b"user00002"]
    assert record["attributes"]["cn"] == [b"user00002"]
    nunez = by_sam(iter_ldap_entries(settings))["user00097"]
    assert nunez["attributes"]["cn"] == ["Núñez, Ana María 97".encode()]


# --- binds, passwords and TLS ----------------------------------------------------------------------------


def test_wrong_password_fails_at_once_without_showing_it(slapd, no_sleep):
    wrong = "Not-the-Reader-Password-42"
    calls: list[LdapSettings] = []

    def counting_connect(settings):
        calls.append(settings)
        return connect_ldap(settings)

    with pytest.raises(LdapAuthError) as caught:
        list(iter_ldap_entries(plain_settings(slapd, password=wrong), connect=counting_connect))
    message = str(caught.value)
    assert READER_DN in message and slapd.url in message and "invalidCredentials" in message
    assert wrong not in message and wrong not in repr(caught.value.__cause__ or "")
    assert caught.value.exit_code == ExitCode.INPUT_ERROR
    assert len(calls) == 1 and no_sleep == []  # no retries of a refused bind


def test_password_from_file(slapd, tmp_path):
    password_file = tmp_path / "ldap.pw"
    password_file.write_text(READER_PASSWORD + "\n")  # as `echo` or an editor leaves it
    environ = {"RECONCILE_LDAP_BIND_DN": READER_DN, "RECONCILE_LDAP_PASSWORD_FILE": str(password_file)}
    settings = ldap_settings(slapd.url, base_dn=BASE_DN, user_filter=USER_FILTER, insecure=True, environ=environ,
                             mattermost_config=None)
    assert settings.password == READER_PASSWORD and READER_PASSWORD not in repr(settings)
    assert sum(1 for _ in iter_ldap_entries(settings)) == USER_COUNT


def test_plain_ldap_only_when_insecure(slapd):
    """ldap:// means StartTLS unless insecure; this slapd has no certificate, so it refuses StartTLS."""
    with pytest.raises(LdapConfigError, match="TLS") as caught:
        list(iter_ldap_entries(plain_settings(slapd, insecure=False)))
    assert "StartTLS" in str(caught.value) and caught.value.exit_code == ExitCode.INPUT_ERROR
    assert sum(1 for _ in iter_ldap_entries(plain_settings(slapd, insecure=True, page_size=1000))) == USER_COUNT


@pytest.mark.parametrize("scheme", ["ldaps", "starttls"])
def test_tls_with_the_ca_file(tls_slapd, tls_files, scheme):
    url = tls_slapd.ldaps_url if scheme == "ldaps" else tls_slapd.url
    settings = plain_settings(tls_slapd, url=url, insecure=False, ca_file=tls_files.ca, page_size=1000)
    assert sum(1 for _ in iter_ldap_entries(settings)) == USER_COUNT


@pytest.mark.parametrize("scheme", ["ldaps", "starttls"])
def test_untrusted_certificate_asks_for_the_ca_file(tls_slapd, scheme, no_sleep):
    url = tls_slapd.ldaps_url if scheme == "ldaps" else tls_slapd.url
    with pytest.raises(LdapConfigError, match="RECONCILE_LDAP_CA_FILE") as caught:
        list(iter_ldap_entries(plain_settings(tls_slapd, url=url, insecure=False)))
    assert "not trusted" in str(caught.value) and no_sleep == []


def test_certificate_for_another_host_name(tls_slapd, tls_files, no_sleep):
    """The certificate names 127.0.0.1 only; localhost is the same machine but not the same name."""
    url = tls_slapd.ldaps_url.replace("127.0.0.1", "localhost")
    with pytest.raises(LdapConfigError, match="does not name host 'localhost'"):
        list(iter_ldap_entries(plain_settings(tls_slapd, url=url, insecure=False, ca_file=tls_files.ca)))
    assert no_sleep == []


# --- a server that goes away -------------------------------------------------------------------------------


@pytest.mark.parametrize("kill", [True, False], ids=["killed", "shut-down"])
def test_server_back_after_a_restart_gives_every_entry_once(own_slapd, loaded, monkeypatch, kill):
    """slapd dies after the first page; it is back when the reconnect comes (restarted during the back-off)."""
    pages: list[int] = []
    waits: list[float] = []

    def on_page(count: int) -> None:
        pages.append(count)
        if len(pages) == 1:
            own_slapd.stop(kill=kill)

    def back_off(seconds: float) -> None:
        waits.append(seconds)
        if not own_slapd.running:
            own_slapd.start()  # same port, same data

    monkeypatch.setattr(ldap_live, "_sleep", back_off)
    records = list(iter_ldap_entries(plain_settings(own_slapd), on_page=on_page))
    dns = Counter(r["dn"].lower() for r in records)
    assert len(records) == USER_COUNT and max(dns.values()) == 1
    assert set(by_sam(records)) == {u.sam for u in loaded.users}
    assert waits == [1]
    # the search started over: its first page held only entries already yielded
    assert pages[:2] == [PAGE_SIZE, 0] and sum(pages) == USER_COUNT


def test_server_that_stays_down_fails_the_source(own_slapd, no_sleep):
    def on_page(count: int) -> None:
        own_slapd.stop(kill=True)

    read = []
    with pytest.raises(LdapSourceError) as caught:
        read.extend(iter_ldap_entries(plain_settings(own_slapd), max_reconnects=3, on_page=on_page))
    error = caught.value
    assert no_sleep == [1, 2, 4]  # three reconnects, backing off
    assert error.entries_read == PAGE_SIZE and error.server == own_slapd.url
    assert own_slapd.url in str(error) and "100 entries read" in str(error) and "4 attempt" in str(error)


def test_unreachable_server_fails_the_source(no_sleep):
    settings = LdapSettings(url="ldap://127.0.0.1:1", base_dn=BASE_DN, user_filter=USER_FILTER, bind_dn=None,
                            insecure=True)
    with pytest.raises(LdapSourceError, match="0 entries read"):
        list(iter_ldap_entries(settings, max_reconnects=1))
    assert no_sleep == [1]


def test_search_errors_are_named(slapd):
    with pytest.raises(LdapConfigError, match="base DN 'ou=nowhere,dc=example,dc=com' does not exist"):
        list(iter_ldap_entries(plain_settings(slapd, base_dn="ou=nowhere,dc=example,dc=com")))
    with pytest.raises(LdapConfigError, match="filter"):
        list(iter_ldap_entries(plain_settings(slapd, user_filter="(objectClass=adLikeUser")))


def test_a_server_limit_is_an_incomplete_directory_not_a_smaller_one(slapd):
    """An account under slapd's default 500-entry limit: the search ends early, and that must not pass."""
    with pytest.raises(LdapSourceError, match="sizeLimitExceeded") as caught:
        list(iter_ldap_entries(plain_settings(slapd, bind_dn=LIMITED_DN)))
    assert "not read completely" in str(caught.value) and "limit" in str(caught.value)


# --- settings (no server needed) ---------------------------------------------------------------------------

ENV = {"RECONCILE_LDAP_BIND_DN": "CN=svc-audit,OU=Service,DC=corp,DC=contoso,DC=com",
       "RECONCILE_LDAP_PASSWORD": "pa55word"}


def test_settings_default_from_mattermost_ldap_settings():
    config = {"LdapSettings": {"BaseDN": "DC=corp,DC=contoso,DC=com", "UserFilter": "",
                               "IdAttribute": "msDS-aadObjectId", "LoginIdAttribute": "userPrincipalName",
                               "EmailAttribute": "mail"}}
    settings = ldap_settings("ldaps://dc1.corp.contoso.com", base_dn=None, user_filter=None, insecure=False,
                             environ=ENV, mattermost_config=config)
    assert settings.base_dn == "DC=corp,DC=contoso,DC=com"
    assert settings.user_filter == "(&(mail=*)(userPrincipalName=*)(msDS-aadObjectId=*))"  # never objectCategory
    assert settings.filter_source == ("built from LdapSettings EmailAttribute, LoginIdAttribute, IdAttribute, "
                                      "as UserFilter is empty")
    assert settings.attributes == BASE_ATTRIBUTES and settings.page_size == 1000
    assert settings.bind_dn == ENV["RECONCILE_LDAP_BIND_DN"] and settings.ca_file is None
    assert "pa55word" not in repr(settings)
    options = ldap_settings("ldap://dc1", base_dn="OU=Staff,DC=corp", user_filter="objectClass=user", insecure=True,
                            environ=ENV, mattermost_config=config)
    assert (options.base_dn, options.user_filter) == ("OU=Staff,DC=corp", "(objectClass=user)")
    assert options.filter_source == "given with --ldap-filter"


def test_missing_values_name_every_place_tried(tmp_path):
    with pytest.raises(LdapConfigError) as caught:
        ldap_settings("ldaps://dc1", base_dn=None, user_filter=None, insecure=False, environ=ENV,
                      mattermost_config=None)
    assert "--ldap-base-dn" in str(caught.value) and "LdapSettings.BaseDN" in str(caught.value)
    with pytest.raises(LdapConfigError) as caught:
        ldap_settings("ldaps://dc1", base_dn="DC=x", user_filter=None, insecure=False,
                      environ={"RECONCILE_LDAP_PASSWORD": "x"}, mattermost_config={"LdapSettings": {}})
    assert "RECONCILE_LDAP_BIND_DN" in str(caught.value) and "LdapSettings.BindUsername" in str(caught.value)
    with pytest.raises(LdapConfigError) as caught:
        ldap_settings("ldaps://dc1", base_dn="DC=x", user_filter=None, insecure=False,
                      environ={"RECONCILE_LDAP_BIND_DN": "cn=a"}, mattermost_config=None)
    assert "RECONCILE_LDAP_PASSWORD" in str(caught.value) and "RECONCILE_LDAP_PASSWORD_FILE" in str(caught.value)
    empty = tmp_path / "empty.pw"
    empty.write_text("\n")
    with pytest.raises(LdapConfigError, match="empty"):
        ldap_settings("ldaps://dc1", base_dn="DC=x", user_filter=None, insecure=False, mattermost_config=None,
                      environ={"RECONCILE_LDAP_BIND_DN": "cn=a", "RECONCILE_LDAP_PASSWORD_FILE": str(empty)})
    with pytest.raises(LdapConfigError, match="RECONCILE_LDAP_CA_FILE"):
        ldap_settings("ldaps://dc1", base_dn="DC=x", user_filter=None, insecure=False, mattermost_config=None,
                      environ={**ENV, "RECONCILE_LDAP_CA_FILE": str(tmp_path / "missing.pem")})


@pytest.mark.parametrize(("url", "insecure", "problem"), [
    ("https://dc1", False, "expected ldaps://"),
    ("ldaps://svc:pa55word@dc1", False, "credentials do not belong"),
    ("ldap://dc1/DC=corp?uid?sub", False, "base DN and filter as options"),
    ("ldaps://dc1:636", True, "insecure means plain LDAP"),
    ("ldap://dc1:notaport", False, "ldap://dc1:notaport"),
])
def test_bad_urls_are_config_errors(url, insecure, problem):
    with pytest.raises(LdapConfigError) as caught:
        ldap_settings(url, base_dn="DC=x", user_filter=None, insecure=insecure, environ=ENV, mattermost_config=None)
    assert problem in str(caught.value) and "pa55word" not in str(caught.value)


def test_ad_bind_sub_codes_are_explained():
    settings = LdapSettings(url="ldaps://dc1", base_dn="DC=x", user_filter="(x=y)", bind_dn="svc@corp",
                            password="hunter2-secret")
    result = {"result": 49, "description": "invalidCredentials",
              "message": "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v4563 "
                         "hunter2-secret"}
    error = ldap_live._bind_error(result, settings)
    assert isinstance(error, LdapAuthError) and "locked out" in str(error)
    assert "hunter2-secret" not in str(error) and re.search(r"'svc@corp' to ldaps://dc1:636", str(error))


def test_missing_ca_file_of_direct_settings_is_a_config_error(tmp_path, no_sleep):
    settings = LdapSettings(url="ldaps://127.0.0.1:1", base_dn=BASE_DN, user_filter=USER_FILTER, bind_dn=None,
                            ca_file=tmp_path / "missing.pem")
    with pytest.raises(LdapConfigError, match="RECONCILE_LDAP_CA_FILE"):
        list(iter_ldap_entries(settings))
    assert no_sleep == []

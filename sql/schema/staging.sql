-- Staging tables: one run's snapshot of every source, as the rules see it.
-- Created empty for every run, so views and rules always compile; a source that was not read
-- is marked unavailable in run_inputs and the rules depending on it are skipped.
-- *_lower / *_norm columns are single-value normal forms computed while loading
-- (reconcile/staging.py); raw values are kept beside them because the server compares exactly.

CREATE TABLE entra_users (
    object_id            VARCHAR NOT NULL,  -- Graph id as exported
    object_id_norm       VARCHAR NOT NULL,  -- canonical GUID
    upn                  VARCHAR,
    upn_lower            VARCHAR,
    mail                 VARCHAR,
    mail_lower           VARCHAR,
    immutable_id         VARCHAR,           -- onPremisesImmutableId as exported
    immutable_guid       VARCHAR,           -- objectGUID decoded from it, Windows form
    immutable_guid_naive VARCHAR,           -- the same bytes read in naive byte order
    account_enabled      BOOLEAN,
    user_type            VARCHAR,
    display_name         VARCHAR,
    intune_plan_status   VARCHAR,           -- NULL unknown, 'Enabled', another capabilityStatus, or 'none'
    source_ref           VARCHAR
);

CREATE TABLE entra_other_mails (
    object_id_norm VARCHAR NOT NULL,
    email_lower    VARCHAR NOT NULL
);

CREATE TABLE entra_group_members (
    group_id       VARCHAR NOT NULL,
    object_id_norm VARCHAR NOT NULL,
    upn            VARCHAR,
    source_ref     VARCHAR
);

-- Every group whose members a source tried to read, and why: 'export' (a file in entra_groups/),
-- 'targeting' (a policy or --intune-group group pulled from Graph), 'exception' (pulled only because
-- an exceptions entry names it: never a targeting group). An exception group that is not here, or is
-- here unreadable, covers nothing (sql/exceptions/10_cover.sql) and EXCEPTION_UNUSED says why.
CREATE TABLE entra_groups_read (
    group_id VARCHAR NOT NULL,
    purpose  VARCHAR NOT NULL,
    readable BOOLEAN NOT NULL,
    note     VARCHAR
);

CREATE TABLE mm_users (
    id                 VARCHAR NOT NULL,
    username           VARCHAR,
    email              VARCHAR,
    email_lower        VARCHAR,
    auth_service       VARCHAR,           -- '' for email/password accounts
    auth_data          VARCHAR,           -- exact stored value
    auth_data_lower    VARCHAR,
    auth_data_guid     VARCHAR,           -- canonical GUID when auth_data is GUID-shaped in any form
    auth_data_hex_guid VARCHAR,           -- Windows-form GUID when auth_data is \xx\xx.. hex (LDAP objectGUID)
    auth_data_b64_guid VARCHAR,           -- Windows-form GUID when auth_data is base64 of 16 bytes (an immutableId)
    delete_at          BIGINT NOT NULL,   -- 0 = active
    is_bot             BOOLEAN NOT NULL,
    source_ref         VARCHAR
);

CREATE TABLE ldap_users (
    dn                 VARCHAR NOT NULL,
    aad_object_id_raw  VARCHAR,           -- msDS-aadObjectId as stored (text, or canonical form of 16 bytes)
    aad_object_id      VARCHAR,           -- canonical GUID
    object_guid        VARCHAR,           -- objectGUID, Windows form
    object_guid_naive  VARCHAR,           -- objectGUID, naive byte order
    upn                VARCHAR,
    upn_lower          VARCHAR,
    mail               VARCHAR,
    mail_lower         VARCHAR,
    sam_account_name   VARCHAR,
    id_attribute_value VARCHAR,           -- value of LdapSettings.IdAttribute as Mattermost would store it
    id_attribute_lower VARCHAR,
    source_ref         VARCHAR
);

CREATE TABLE mm_config (
    intune_present          BOOLEAN,
    intune_enable           BOOLEAN,
    intune_tenant_id        VARCHAR,
    intune_client_id        VARCHAR,
    intune_auth_service     VARCHAR,
    office365_enable        BOOLEAN,
    office365_directory_id  VARCHAR,
    saml_enable             BOOLEAN,
    saml_id_attribute       VARCHAR,
    saml_email_attribute    VARCHAR,
    saml_sync_with_ldap     BOOLEAN,
    ldap_enable             BOOLEAN,
    ldap_id_attribute       VARCHAR,
    ldap_login_id_attribute VARCHAR,
    ldap_email_attribute    VARCHAR,
    ldap_base_dn            VARCHAR,
    ldap_user_filter        VARCHAR,
    site_url                VARCHAR,           -- ServiceSettings.SiteURL
    saml_sp_identifier      VARCHAR,           -- SamlSettings.ServiceProviderIdentifier (the SAML audience)
    saml_sync_with_ldap_include_auth BOOLEAN,  -- SamlSettings.EnableSyncWithLdapIncludeAuth (LDAP id overrides SAML's)
    ldap_enable_sync        BOOLEAN            -- LdapSettings.EnableSync
);

CREATE TABLE mm_license (
    is_licensed    BOOLEAN,
    sku_short_name VARCHAR,
    sku_name       VARCHAR,
    expires_at     TIMESTAMPTZ                -- ExpiresAt (milliseconds since the epoch)
);

-- SAML: one row per validly signed assertion (identity data comes only from these), every
-- attribute of those assertions, and the captures that were rejected (no identity data).
CREATE TABLE saml_assertions (
    file                    VARCHAR NOT NULL,
    kind                    VARCHAR,           -- response | assertion | wsfed
    signed_element          VARCHAR,           -- response | assertion
    response_issuer         VARCHAR,
    assertion_issuer        VARCHAR,
    destination             VARCHAR,
    in_response_to          VARCHAR,
    recipient               VARCHAR,
    audiences               VARCHAR,           -- space-separated
    not_before              TIMESTAMPTZ,
    not_on_or_after         TIMESTAMPTZ,
    subject_not_on_or_after TIMESTAMPTZ,
    issue_instant           TIMESTAMPTZ,
    certificate_not_after   TIMESTAMPTZ,
    name_id                 VARCHAR,
    name_id_format          VARCHAR,
    objectidentifier        VARCHAR,           -- value of the full objectidentifier claim URI, as sent
    objectidentifier_norm   VARCHAR,
    tenantid                VARCHAR,
    claim_name              VARCHAR,           -- .../claims/name (the UPN in Entra)
    claim_name_lower        VARCHAR,
    emailaddress_lower      VARCHAR,
    upn_lower               VARCHAR,
    immutableid             VARCHAR,
    id_attribute_value      VARCHAR,           -- value of the claim SamlSettings.IdAttribute names, exactly
    source_ref              VARCHAR
);

CREATE TABLE saml_attributes (
    file  VARCHAR NOT NULL,
    name  VARCHAR NOT NULL,
    value VARCHAR
);

CREATE TABLE saml_rejected (
    file   VARCHAR NOT NULL,
    reason VARCHAR NOT NULL
);

CREATE TABLE saml_metadata (
    file              VARCHAR NOT NULL,
    entity_id         VARCHAR,
    certificate_count INTEGER
);

-- MSAL access tokens, one row per token line (decoded, not verified).
CREATE TABLE msal_tokens (
    line                 INTEGER NOT NULL,
    alg                  VARCHAR,
    ver                  VARCHAR,
    iss                  VARCHAR,
    tid                  VARCHAR,
    aud                  VARCHAR,
    oid                  VARCHAR,           -- as issued
    oid_norm             VARCHAR,
    username_lower       VARCHAR,           -- preferred_username (v2) or upn/unique_name (v1), lowercased
    app_id               VARCHAR,           -- azp (v2) or appid (v1)
    scp                  VARCHAR,
    expires_at           TIMESTAMPTZ,
    source_ref           VARCHAR
);

-- The Entra app registration of the server API app, its consent and the MAM resource.
CREATE TABLE entra_application (
    app_id                          VARCHAR NOT NULL,
    object_id                       VARCHAR,
    display_name                    VARCHAR,
    requested_access_token_version  INTEGER,   -- NULL means 1
    source_ref                      VARCHAR,
    identifier_uris                 VARCHAR    -- identifierUris, space-separated (a URI holds no space)
);

-- The delegated scopes the server API app defines (api.oauth2PermissionScopes), and the clients
-- pre-authorized for them (api.preAuthorizedApplications: no consent prompt for those clients).
CREATE TABLE entra_app_scopes (
    scope_id   VARCHAR,
    value      VARCHAR,
    is_enabled BOOLEAN,
    type       VARCHAR                         -- User | Admin: who may consent
);

CREATE TABLE entra_app_preauthorized (
    app_id        VARCHAR NOT NULL,            -- the client's appId, lowercase
    permission_id VARCHAR                      -- a scope id of entra_app_scopes
);

-- The tenant's authorization policy (GET /policies/authorizationPolicy): may users consent to apps?
CREATE TABLE entra_authorization_policy (
    user_consent VARCHAR NOT NULL,             -- enabled | limited | disabled
    policies     VARCHAR,                      -- permissionGrantPoliciesAssigned, space-separated
    source_ref   VARCHAR
);

CREATE TABLE entra_app_required_access (
    resource_app_id VARCHAR NOT NULL,
    access_id       VARCHAR,
    access_type     VARCHAR                    -- Scope (delegated) | Role (application)
);

CREATE TABLE entra_service_principals (
    id           VARCHAR NOT NULL,
    app_id       VARCHAR,
    display_name VARCHAR,
    source_ref   VARCHAR
);

CREATE TABLE entra_sp_scopes (          -- delegated scopes a service principal publishes
    sp_id    VARCHAR NOT NULL,
    scope_id VARCHAR,
    value    VARCHAR
);

CREATE TABLE entra_oauth2_grants (
    id           VARCHAR,
    client_id    VARCHAR,
    consent_type VARCHAR,
    principal_id VARCHAR,
    resource_id  VARCHAR,
    scope        VARCHAR,                      -- space-separated scope values
    source_ref   VARCHAR
);

-- Intune iOS App Protection Policies (GET /deviceAppManagement/iosManagedAppProtections
-- ?$expand=apps,assignments): the apps each policy protects and whom it is assigned to.
CREATE TABLE intune_policy_apps (
    policy_id    VARCHAR NOT NULL,
    display_name VARCHAR,
    bundle_id    VARCHAR                -- iosMobileAppIdentifier.bundleId
);

CREATE TABLE intune_policy_targets (
    policy_id   VARCHAR NOT NULL,
    target_type VARCHAR NOT NULL,       -- groupAssignmentTarget | exclusionGroupAssignmentTarget | allLicensedUsersAssignmentTarget | ...
    group_id    VARCHAR
);

-- Intune's MAM registrations (issue 15): every app registration read; ``kept`` marks the iOS ones of
-- a Mattermost bundle id (registration_bundle_ids), the only ones the outcomes read.
CREATE TABLE intune_registrations (
    registration_id     VARCHAR,
    user_id_norm        VARCHAR,                 -- canonical GUID (NULL when not one: only for others)
    bundle_id           VARCHAR,
    kept                BOOLEAN NOT NULL,
    created_at          TIMESTAMPTZ,
    last_sync_at        TIMESTAMPTZ,
    application_version VARCHAR,
    platform_version    VARCHAR,
    device_name         VARCHAR,
    flagged_reasons     VARCHAR,                 -- ';'-joined, 'none' left out
    source_ref          VARCHAR
);
-- The Mattermost iOS bundle ids whose registrations count as enrolled: --ios-bundle-id, or both
-- published apps (com.mattermost.rn, com.mattermost.rnbeta) by default.
CREATE TABLE registration_bundle_ids (bundle_id VARCHAR NOT NULL);
-- Filled by sql/outcomes/10_outcomes.sql after readiness (when registrations were read): each user's
-- latest kept registration, and each targeted person's outcome.
CREATE TABLE registration_latest (
    user_id_norm    VARCHAR,
    bundle_id       VARCHAR,
    last_sync_at    TIMESTAMPTZ,
    last_sync       VARCHAR,              -- the same, as the reports write it: ISO 8601 UTC
    flagged_reasons VARCHAR,
    recent          BOOLEAN NOT NULL      -- synced within the window: enrolled
);
CREATE TABLE outcomes (
    entra_object_id     VARCHAR,
    mattermost_user_id  VARCHAR,
    user_principal_name VARCHAR,
    email               VARCHAR,
    readiness           VARCHAR NOT NULL,
    rule_ids            VARCHAR,
    failing_rule_ids    VARCHAR,
    enrolled            BOOLEAN NOT NULL,
    last_sync           VARCHAR,          -- ISO 8601 UTC of the latest kept registration's sync
    bundle_id           VARCHAR,
    flagged_reasons     VARCHAR,
    outcome             VARCHAR NOT NULL
);

-- Run options the SQL needs: the iOS bundle ids the organisation deploys, and --intune-group.
CREATE TABLE ios_bundle_ids (bundle_id VARCHAR NOT NULL);
CREATE TABLE intune_group_override (group_id VARCHAR NOT NULL);
-- The Mattermost Mobile client ids (appIds of Mattermost's multi-tenant mobile app): the published
-- production and beta ids with the bundle each signs in from, and any given with --mobile-client-id.
CREATE TABLE mobile_client_ids (
    app_id    VARCHAR NOT NULL,
    bundle_id VARCHAR,                         -- NULL for one given with --mobile-client-id
    source    VARCHAR NOT NULL                 -- published | option
);

-- Raw Graph user objects of an incremental (delta) pull, and the delta link to save when the run
-- commits: the base the next night's delta round is applied to.
CREATE TABLE entra_user_raw (
    object_id VARCHAR NOT NULL,
    raw       JSON NOT NULL
);
CREATE TABLE graph_state_pending (
    source_key VARCHAR NOT NULL,
    delta_link VARCHAR NOT NULL
);

-- Which inputs this run read: rules list their needs in depends_on and are skipped without them.
CREATE TABLE run_inputs (
    name      VARCHAR PRIMARY KEY,            -- entra_users, entra_licenses, entra_groups, ...
    available BOOLEAN NOT NULL,
    file      VARCHAR,
    rows      BIGINT,
    note      VARCHAR,
    failed    BOOLEAN NOT NULL DEFAULT false   -- extraction failed: rules needing it are skipped, the run is partial
);

-- The run's findings, filled by the rule runner (reconcile/rules.py) in the findings contract.
CREATE TABLE findings (
    run_id              VARCHAR NOT NULL,
    rule_id             VARCHAR NOT NULL,
    severity            VARCHAR NOT NULL,
    subject_type        VARCHAR NOT NULL,
    entra_object_id     VARCHAR,
    mattermost_user_id  VARCHAR,
    user_principal_name VARCHAR,
    email               VARCHAR,
    observed            VARCHAR,
    expected            VARCHAR,
    predicted_error     VARCHAR,
    remediation         VARCHAR,
    status              VARCHAR NOT NULL DEFAULT 'open',  -- open | accepted (sql/exceptions/10_cover.sql)
    exception_reason    VARCHAR,
    exception_owner     VARCHAR,
    exception_expires   DATE
);

-- The run's exceptions file, as validated by reconcile/exceptions.py (value in normal form: GUIDs
-- lowercase hyphenated, UPNs and Mattermost ids lowercase; NULL for subject = config).
CREATE TABLE exception_entries (
    position  INTEGER PRIMARY KEY,   -- the n-th [[exception]]
    line      INTEGER,               -- the line of its header
    rule_id   VARCHAR NOT NULL,
    subject   VARCHAR NOT NULL,      -- entra_object_id | mattermost_user_id | user_principal_name | group | config
    value     VARCHAR,
    reason    VARCHAR NOT NULL,
    owner     VARCHAR NOT NULL,
    expires   DATE NOT NULL,         -- valid through that day (UTC)
    expired   BOOLEAN NOT NULL,      -- the run's date is after expires
    file      VARCHAR NOT NULL
);

-- Which live entry covers which finding (rowid of findings), and how many findings each entry covers:
-- filled by sql/exceptions/10_cover.sql; empty until the exceptions are applied.
CREATE TABLE exception_cover (finding_row BIGINT NOT NULL, position INTEGER NOT NULL);
CREATE TABLE exception_use (position INTEGER NOT NULL, findings BIGINT NOT NULL);

-- Whether each rule of the first pass ran (EXCEPTION_UNUSED only judges entries whose rule ran).
CREATE TABLE rule_runs (
    rule_id VARCHAR PRIMARY KEY,
    status  VARCHAR NOT NULL         -- ran | skipped
);

-- Every rule of the run and how its findings weigh on a person's readiness.
CREATE TABLE rule_meta (
    rule_id   VARCHAR PRIMARY KEY,
    severity  VARCHAR NOT NULL,
    readiness VARCHAR NOT NULL,    -- severity | not_evaluated
    stage     INTEGER NOT NULL,    -- where the user meets it (reconcile/rules.py OPTIONAL_KEYS)
    owner     VARCHAR NOT NULL     -- who carries out the fix, as readiness.csv names them
);

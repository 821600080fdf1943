-- Raw tables: each source lands its records here as read, one column per field the rules need,
-- values untouched (text as written, LDAP values as bytes). sql/stage/ checks them and fills
-- the staging tables (staging.sql) with the normal forms, once over each whole table.
-- source_ref names the record for error messages ("entra_users.json: page 3, value[17]").

CREATE TABLE raw_entra_users (      -- Graph user objects: GET /users, the CSV download, /users/delta
    id                   VARCHAR,        -- JSON scalars arrive as their text (true -> 'true')
    user_principal_name  VARCHAR,
    mail                 VARCHAR,
    immutable_id         VARCHAR,        -- onPremisesImmutableId
    account_enabled      VARCHAR,        -- 'true' / 'false' (any case), or NULL
    user_type            VARCHAR,
    display_name         VARCHAR,
    other_mails          VARCHAR[],
    has_assigned_plans   BOOLEAN NOT NULL, -- the record carries assignedPlans (NULL plan status otherwise)
    intune_statuses      VARCHAR[],      -- capabilityStatus of each assigned plan that is Intune's
    source_ref           VARCHAR
);

CREATE TABLE raw_entra_group_members (  -- GET /groups/{id}/transitiveMembers/microsoft.graph.user
    group_id             VARCHAR NOT NULL,     -- canonical: from the file name or the pull
    id                   VARCHAR,
    user_principal_name  VARCHAR,
    source_ref           VARCHAR
);

CREATE TABLE raw_mm_users (         -- mmctl user list --all --json, GET /api/v4/users, the Users table
    id                   VARCHAR,
    username             VARCHAR,
    email                VARCHAR,
    auth_service         VARCHAR,
    auth_data            VARCHAR,
    delete_at            VARCHAR,        -- milliseconds as text; '' or NULL = 0
    is_bot               VARCHAR,        -- 'true' / 'false', or NULL
    source_ref           VARCHAR
);

CREATE TABLE raw_ldap_users (       -- LDIF export or live search: the first value of each attribute
    dn                   VARCHAR NOT NULL,
    aad_object_id        BLOB,           -- msDS-aadObjectId: GUID text, or 16 bytes
    object_guid          BLOB,           -- objectGUID: 16 bytes, or GUID text
    user_principal_name  BLOB,
    mail                 BLOB,
    sam_account_name     BLOB,
    id_attribute         BLOB,           -- the attribute LdapSettings.IdAttribute names
    id_attribute_name    VARCHAR,        -- that name, lowercased (objectguid is stored as \\xx hex)
    source_ref           VARCHAR
);

CREATE TABLE raw_intune_registrations (  -- GET /deviceAppManagement/managedAppRegistrations (issue 15)
    id                   VARCHAR,
    user_id              VARCHAR,        -- userId: the Entra objectId of the user who registered
    app_type             VARCHAR,        -- appIdentifier's @odata.type: #microsoft.graph.iosMobileAppIdentifier ...
    bundle_id            VARCHAR,        -- appIdentifier.bundleId (iOS), else packageId (Android)
    created              VARCHAR,        -- createdDateTime, as Graph writes it (seven fractional digits)
    last_sync            VARCHAR,        -- lastSyncDateTime
    application_version  VARCHAR,
    platform_version     VARCHAR,
    device_name          VARCHAR,
    flagged_reasons      VARCHAR[],      -- none | rootedDevice | androidBootloaderUnlocked | ...
    source_ref           VARCHAR
);

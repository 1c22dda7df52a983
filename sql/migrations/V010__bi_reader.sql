-- dialect: postgresql
-- The read-only BI role (SPEC 13): bi_reader owns nothing and can read only the bi views.
-- PostgreSQL only (DuckDB has no roles: the first line makes Warehouse._dialect_sql skip this
-- file there). NOLOGIN: give it to a login user with `grant bi_reader to metabase`.
-- Roles are cluster-wide: the role is created if missing (a DBA may create it beforehand when
-- the migrating user lacks CREATEROLE; then this migration only grants). Views run with their
-- owner's rights (security_invoker is off), so no grant on marts / audit / staging is needed
-- or given. Each DO block is one statement on purpose (the DDL splitter cuts at a semicolon
-- that ends a line).

do $$ begin if not exists (select 1 from pg_roles where rolname = 'bi_reader') then create role bi_reader nologin; end if; exception when duplicate_object or unique_violation then null; when insufficient_privilege then raise warning 'chatkpi: role bi_reader is missing and this user may not create roles; ask a DBA to run: create role bi_reader nologin'; end $$;

do $$ begin if exists (select 1 from pg_roles where rolname = 'bi_reader') then execute 'grant usage on schema bi to bi_reader'; execute 'grant select on all tables in schema bi to bi_reader'; execute 'alter default privileges in schema bi grant select on tables to bi_reader'; execute 'revoke all on all tables in schema marts, audit, staging from bi_reader'; end if; end $$;

comment on schema bi is 'BI views (bi.v_*): customer phone numbers and e-mail addresses masked. Readable by the role bi_reader, which can read nothing else.';

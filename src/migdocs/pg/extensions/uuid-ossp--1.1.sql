-- uuid-ossp 1.1 for migdocs' replay server: every function of contrib/uuid-ossp with its
-- signature, on core functions. Values are real UUIDs of the right version where core can
-- make them (v4 random, v3 from MD5, v1/v1mc as time-ordered random ones); v5 needs SHA-1,
-- which core lacks: it raises a clear error (replay such a history with --scratch-url).

CREATE FUNCTION uuid_nil() RETURNS uuid
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT '00000000-0000-0000-0000-000000000000'::uuid $$;

CREATE FUNCTION uuid_ns_dns() RETURNS uuid
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::uuid $$;

CREATE FUNCTION uuid_ns_url() RETURNS uuid
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT '6ba7b811-9dad-11d1-80b4-00c04fd430c8'::uuid $$;

CREATE FUNCTION uuid_ns_oid() RETURNS uuid
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT '6ba7b812-9dad-11d1-80b4-00c04fd430c8'::uuid $$;

CREATE FUNCTION uuid_ns_x500() RETURNS uuid
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT '6ba7b814-9dad-11d1-80b4-00c04fd430c8'::uuid $$;

CREATE FUNCTION uuid_generate_v1() RETURNS uuid
    LANGUAGE sql VOLATILE STRICT PARALLEL SAFE
    AS $$ SELECT pg_catalog.uuidv7() $$;

CREATE FUNCTION uuid_generate_v1mc() RETURNS uuid
    LANGUAGE sql VOLATILE STRICT PARALLEL SAFE
    AS $$ SELECT pg_catalog.uuidv7() $$;

CREATE FUNCTION uuid_generate_v3(namespace uuid, name text) RETURNS uuid
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT pg_catalog.encode(
        pg_catalog.set_byte(
            pg_catalog.set_byte(
                d, 6, (pg_catalog.get_byte(d, 6) & 15) | 48),
            8, (pg_catalog.get_byte(d, 8) & 63) | 128),
        'hex')::uuid
    FROM (SELECT pg_catalog.decode(
        pg_catalog.md5(pg_catalog.decode(pg_catalog.replace(namespace::text, '-', ''), 'hex')
                       || pg_catalog.convert_to(name, 'UTF8')),
        'hex') AS d) AS digest
    $$;

CREATE FUNCTION uuid_generate_v4() RETURNS uuid
    LANGUAGE sql VOLATILE STRICT PARALLEL SAFE
    AS $$ SELECT pg_catalog.gen_random_uuid() $$;

CREATE FUNCTION uuid_generate_v5(namespace uuid, name text) RETURNS uuid
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    BEGIN
        RAISE EXCEPTION 'uuid_generate_v5() needs SHA-1, which migdocs'' replay package of '
            'uuid-ossp cannot compute: replay on a server with uuid-ossp (--scratch-url)';
    END
    $$;

-- pgjwt 0.2.0 for migdocs' replay server, written for migdocs: the functions of pgjwt
-- (https://github.com/michelp/pgjwt, MIT licence) with the same names, signatures and
-- behaviour — HS256/HS384/HS512 JSON Web Tokens, base64url without padding, `verify` valid
-- while the signature matches and now lies between `nbf` and `exp` — on pgcrypto's hmac().

CREATE FUNCTION url_encode(data bytea) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT pg_catalog.rtrim(
        pg_catalog.translate(pg_catalog.encode(data, 'base64'), E'+/\n', '-_'), '=')
    $$;

CREATE FUNCTION url_decode(data text) RETURNS bytea
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT pg_catalog.decode(
        pg_catalog.rpad(
            pg_catalog.translate(data, '-_', '+/'),
            (pg_catalog.length(data) + 3) / 4 * 4,
            '='),
        'base64')
    $$;

CREATE FUNCTION algorithm_sign(signables text, secret text, algorithm text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    -- hmac() on bytea: it names only pg_catalog's functions, whatever the search path.
    SELECT @extschema@.url_encode(@extschema:pgcrypto@.hmac(
        pg_catalog.convert_to(signables, 'UTF8'),
        pg_catalog.convert_to(secret, 'UTF8'),
        CASE algorithm WHEN 'HS256' THEN 'sha256' WHEN 'HS384' THEN 'sha384'
            WHEN 'HS512' THEN 'sha512' ELSE '' END))
    $$;

CREATE FUNCTION sign(payload json, secret text, algorithm text DEFAULT 'HS256') RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    WITH parts AS (
        SELECT @extschema@.url_encode(pg_catalog.convert_to(
                   '{"alg":"' || algorithm || '","typ":"JWT"}', 'UTF8'))
               || '.' || @extschema@.url_encode(pg_catalog.convert_to(payload::text, 'UTF8'))
               AS signables
    )
    SELECT signables || '.' || @extschema@.algorithm_sign(signables, secret, algorithm)
    FROM parts
    $$;

CREATE FUNCTION try_cast_double(inp text) RETURNS double precision
    LANGUAGE plpgsql IMMUTABLE
    AS $$
    BEGIN
        RETURN inp::double precision;
    EXCEPTION WHEN OTHERS THEN
        RETURN NULL;
    END
    $$;

CREATE FUNCTION verify(token text, secret text, algorithm text DEFAULT 'HS256')
    RETURNS TABLE(header json, payload json, valid boolean)
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT
        pg_catalog.convert_from(@extschema@.url_decode(part[1]), 'UTF8')::json,
        pg_catalog.convert_from(@extschema@.url_decode(part[2]), 'UTF8')::json,
        part[3] = @extschema@.algorithm_sign(part[1] || '.' || part[2], secret, algorithm)
        AND pg_catalog.tstzrange(
            pg_catalog.to_timestamp(@extschema@.try_cast_double(
                pg_catalog.convert_from(@extschema@.url_decode(part[2]), 'UTF8')::json ->> 'nbf')),
            pg_catalog.to_timestamp(@extschema@.try_cast_double(
                pg_catalog.convert_from(@extschema@.url_decode(part[2]), 'UTF8')::json ->> 'exp'))
        ) @> CURRENT_TIMESTAMP
    FROM pg_catalog.regexp_split_to_array(token, '\.') AS part
    $$;
